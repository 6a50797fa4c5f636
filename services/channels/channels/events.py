"""The channels service's events on the broker: every event it publishes is signed, every event it
consumes is checked.

Why: anyone who can publish to RabbitMQ could otherwise hand the orders service an order, or hand
channels a fulfilment to send to a shop. So the relay signs each outbox event with
INTERNAL_TOKEN_SECRET (`service_auth.sign_event`, over the full event type, as the inventory
worker does) and consumers drop what does not verify (architecture.md, "Order events";
decision 0009). Plain functions: channels.worker is the nameko edge that calls them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine

from channels import models
from omnistock_common import service_auth
from omnistock_common.outbox_relay import relay_pending

log = logging.getLogger(__name__)

# The channels service's own events go out as channels.<type> (nameko: service `channels`).
SERVICE_NAME = "channels"
RELAY_BATCH = 200
RELAY_MAX_BATCHES = 5

# Published for whoever listens (no consumer yet): reaching no queue counts as sent. Every other
# event (order_received, order_action_synced, sync_requested: the workers'; price_sync_requested:
# the pricing worker's) must be routed to a queue, else its rows stay unsent and are retried.
# The connection_* events are consumed by the live-updates relay (gateway.live_worker), whose
# queues are deleted while it is down (a notice is worth nothing later): they stay optional, or
# a stopped relay would hold them unsent for ever (docs/decisions/0012).
OPTIONAL_EVENTS = frozenset(
    {
        "channels.webhook_received",
        "channels.connection_created",
        "channels.connection_reauthorised",
        "channels.connection_deleted",
        "channels.connection_health_changed",
    }
)

# nameko's EventDispatcher bound to the `channels` service: (event name without the prefix, payload).
Dispatch = Callable[[str, dict[str, Any]], None]


def relay_outbox(sql: Engine, dispatch: Dispatch, secret: str) -> int:
    """Publish the unsent outbox rows, each signed; returns how many rows were marked sent.
    `dispatch` raises outbox_relay.Unroutable for an event no queue took."""

    def publish(event_type: str, payload: dict[str, Any]) -> None:
        signed = service_auth.sign_event(secret, event_type, payload)
        dispatch(event_type.removeprefix(f"{SERVICE_NAME}."), signed)

    return relay_pending(
        sql,
        models.outbox,
        publish,
        batch_size=RELAY_BATCH,
        max_batches=RELAY_MAX_BATCHES,
        optional=OPTIONAL_EVENTS,
    )


def verified(secret: str, event_type: str, payload: Mapping[str, Any]) -> bool:
    """True when `payload` was signed as `event_type` by an OmniStock process; anything else is
    logged and must be dropped."""
    if service_auth.event_signature_valid(secret, event_type, payload):
        return True
    log.warning(
        "dropped an unsigned or forged %s event (tenant %r)",
        event_type,
        str(payload.get("tenant_id", ""))[:64],
    )
    return False


__all__ = ["OPTIONAL_EVENTS", "SERVICE_NAME", "Dispatch", "relay_outbox", "verified"]
