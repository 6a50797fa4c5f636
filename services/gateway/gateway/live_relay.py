"""The live-updates relay's one job as a plain function: a verified event becomes a notice on the
tenant's Redis pub/sub channel (gateway.live_notices; docs/decisions/0012-live-updates.md).

gateway.live_worker's nameko handlers call `forward` in one line each. Nothing here imports
nameko or eventlet. Events are checked like every other consumer checks them (signed with
INTERNAL_TOKEN_SECRET over the full event type, omnistock_common.service_auth): one that does not
verify, or that makes no notice, is logged and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from gateway.config import LiveRelaySettings
from gateway.live_notices import BadNotice, channel, notice_for
from omnistock_common.service_auth import event_signature_valid

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """What the relay uses of a Redis client."""

    def publish(self, channel: str, message: str) -> Any: ...


@dataclass
class LiveRelay:
    publisher: Publisher
    secret: str

    def forward(self, event_type: str, payload: Mapping[str, Any]) -> bool:
        """Publish the notice of one event; False when it was dropped (unsigned, forged, malformed).
        A Redis error propagates: the notice is lost (the dashboard re-reads on reconnect)."""
        if not event_signature_valid(self.secret, event_type, payload):
            log.warning(
                "dropped an unsigned or forged %s event (tenant %r)",
                event_type,
                str(payload.get("tenant_id", ""))[:64],
            )
            return False
        try:
            tenant_id, notice = notice_for(event_type, payload)
        except BadNotice as exc:
            log.warning("dropped a %s event that makes no notice: %s", event_type, exc)
            return False
        self.publisher.publish(channel(tenant_id), notice.to_json())
        return True


def build_relay(settings: LiveRelaySettings, secret: str) -> tuple[LiveRelay, redis.Redis]:
    """The relay and its Redis client (the caller closes it)."""
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5.0, socket_connect_timeout=5.0)
    return LiveRelay(client, secret), client
