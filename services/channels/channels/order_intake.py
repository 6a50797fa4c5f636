"""Orders from the channels into OmniStock: every state a channel reports becomes a
`channels.order_received` event (the orders service's answer, `orders.order_imported`, is
handled by sync/settlement.py).

Why an event and not a call: the channels side must never wait for (or lose an order to) the
orders service. `record_orders` runs inside the SAME transaction that stores the order's
commitments (webhook intake, order poll), so the commitment and the event are written together or
not at all, and the relay (channels.events) publishes the event, signed, once the broker confirms.
Payload, exactly as docs/architecture.md ("Order events") fixes it: tenant_id, connection_id,
channel_type, via (webhook | poll), received_at, order (the ChannelOrder as proto JSON with proto
field names).

A state already published (a poll re-reading its overlap window, a webhook and a poll reporting the
same change) is not published again: order_versions keeps the last published digest per order.
A plain function over the caller's Repository; nothing here knows nameko.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from channels import mapping
from channels.repository import Repository
from omnistock_common.timestamps import iso_z

log = logging.getLogger(__name__)

ORDER_RECEIVED_EVENT = "channels.order_received"
VIA_WEBHOOK = "webhook"
VIA_POLL = "poll"


def record_orders(
    repo: Repository,
    tenant_id: str,
    connection_id: str,
    orders: Iterable[mapping.ChannelOrder],
    *,
    via: str,
    now: datetime,
    channel_type: str = "",
) -> int:
    """Add one `channels.order_received` to the outbox, in the caller's transaction, for each order
    whose state differs from the last one published; returns how many were added."""
    kind = channel_type
    published = 0
    for order in orders:
        if not order.external_id:
            continue
        fresh = repo.record_order_version(
            tenant_id,
            connection_id,
            order.external_id[:255],
            digest=mapping.order_digest(order),
            order_updated_at=mapping.order_updated_at(order),
            now=now,
        )
        if not fresh:
            continue
        if not kind:
            stored = repo.get_connection(tenant_id, connection_id)
            kind = stored.connection.type if stored else ""
        repo.add_event(
            tenant_id,
            ORDER_RECEIVED_EVENT,
            {
                "tenant_id": tenant_id,
                "connection_id": connection_id,
                "channel_type": kind,
                "via": via,
                "received_at": iso_z(now),
                "order": mapping.order_json(order),
            },
        )
        published += 1
    return published


__all__ = [
    "ORDER_RECEIVED_EVENT",
    "VIA_POLL",
    "VIA_WEBHOOK",
    "record_orders",
]
