"""Live-update notices: the small per-tenant message that says "this part of your data changed".

The live relay (gateway.live_worker, a nameko worker) turns the events the workers already consume
(`inventory.stock_changed`, `inventory.low_stock`, `channels.connection_*`) into a notice and
publishes it on the tenant's Redis pub/sub channel; every gateway process subscribed for that
tenant forwards it to its open `/api/v1/events` streams (gateway.live). A notice carries a topic
and, for stock, the SKUs concerned: never a figure, a name, an error text or anything else of the
event, so what crosses Redis and reaches the browser is nothing the dashboard could not read
anyway (docs/decisions/0012-live-updates.md).

Pure code: no Flask, no nameko, no Redis.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHANNEL_PREFIX = "omnistock:live:"
INVENTORY = "inventory"
CHANNELS = "channels"
ALERTS = "alerts"
TOPICS = frozenset({INVENTORY, CHANNELS, ALERTS})
# A notice names at most this many SKUs; a larger change says "inventory" without a list, which
# the dashboard reads as "everything of that topic".
MAX_SKUS = 100
MAX_SKU_CHARS = 128
# Tenant ids are UUID strings (outbox rows hold at most 64 characters): anything else is refused,
# so no event can name another tenant's channel by a pattern or an odd character.
_TENANT = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")

# The events the relay listens to, by full event type, and the topic each one announces.
EVENT_TOPICS: Mapping[str, str] = {
    "inventory.stock_changed": INVENTORY,
    "inventory.low_stock": ALERTS,
    "channels.connection_health_changed": CHANNELS,
    "channels.connection_created": CHANNELS,
    "channels.connection_reauthorised": CHANNELS,
    "channels.connection_deleted": CHANNELS,
}


class BadNotice(ValueError):
    """An event or a pub/sub message that makes no notice (missing tenant, unknown topic...)."""


def valid_tenant(tenant_id: object) -> bool:
    return isinstance(tenant_id, str) and bool(_TENANT.match(tenant_id))


def channel(tenant_id: str) -> str:
    """The tenant's Redis pub/sub channel."""
    if not valid_tenant(tenant_id):
        raise BadNotice("not a tenant id")
    return CHANNEL_PREFIX + tenant_id


@dataclass(frozen=True)
class Notice:
    """`topic` and, for stock, the SKUs (None: all of the topic)."""

    topic: str
    skus: tuple[str, ...] | None = None

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"topic": self.topic}
        if self.skus is not None:
            out["skus"] = list(self.skus)
        return out

    def to_json(self) -> str:
        return json.dumps(self.data(), separators=(",", ":"))

    @classmethod
    def parse(cls, raw: bytes | str) -> Notice:
        """A notice from its JSON (what the gateway reads from Redis); raises BadNotice."""
        try:
            value = json.loads(raw)
        except (TypeError, ValueError):
            raise BadNotice("not JSON") from None
        if not isinstance(value, dict) or value.get("topic") not in TOPICS:
            raise BadNotice("no known topic")
        skus = value.get("skus")
        if skus is None:
            return cls(value["topic"])
        return cls(value["topic"], _skus(skus))


def _skus(values: object) -> tuple[str, ...] | None:
    if not isinstance(values, list) or not all(isinstance(s, str) and s for s in values):
        raise BadNotice("skus must be a list of strings")
    unique = tuple(dict.fromkeys(s[:MAX_SKU_CHARS] for s in values))
    return unique if len(unique) <= MAX_SKUS else None


def notice_for(event_type: str, payload: Mapping[str, Any]) -> tuple[str, Notice]:
    """(tenant id, notice) of a verified event; raises BadNotice for one that makes none."""
    topic = EVENT_TOPICS.get(event_type)
    if topic is None:
        raise BadNotice(f"no notice for {event_type}")
    tenant_id = payload.get("tenant_id")
    if not valid_tenant(tenant_id):
        raise BadNotice("no valid tenant_id")
    assert isinstance(tenant_id, str)
    if event_type == "inventory.stock_changed":
        entries = payload.get("skus")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise BadNotice("stock_changed without its skus")
        return tenant_id, Notice(topic, _skus([e.get("sku") for e in entries]))
    if event_type == "inventory.low_stock":
        return tenant_id, Notice(topic, _skus([payload.get("sku")]))
    return tenant_id, Notice(topic)
