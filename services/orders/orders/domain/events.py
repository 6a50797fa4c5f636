"""Payloads of the events orders publishes (docs/architecture.md, "Order events"): plain dicts
written to the outbox in the transaction of the change they announce (the repository adds the
tenant_id every payload carries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from orders.domain.model import Fulfillment, Order, OrderStatus
from orders.domain.stock import OversoldLine

ORDER_IMPORTED = "orders.order_imported"
ORDER_OVERSOLD = "orders.order_oversold"
FULFILLMENT_REQUESTED = "orders.fulfillment_requested"
CANCEL_REQUESTED = "orders.cancel_requested"
ORDER_SHIPPED = "orders.order_shipped"
ORDER_CANCELLED = "orders.order_cancelled"
ORDER_REFUNDED = "orders.order_refunded"

# The analytics events a status move announces.
STATUS_EVENTS: dict[OrderStatus, str] = {
    OrderStatus.PARTIALLY_SHIPPED: ORDER_SHIPPED,
    OrderStatus.SHIPPED: ORDER_SHIPPED,
    OrderStatus.CANCELLED: ORDER_CANCELLED,
    OrderStatus.REFUNDED: ORDER_REFUNDED,
}

Event = tuple[str, dict[str, Any]]


def _total(order: Order) -> dict[str, Any]:
    return {"amount_minor": order.totals.total, "currency": order.currency}


def _lines(order: Order) -> list[dict[str, Any]]:
    return [{"sku": line.sku, "quantity": line.quantity} for line in order.lines]


def order_imported(order: Order) -> Event:
    return ORDER_IMPORTED, {
        "order_id": order.id,
        "source": order.source,
        "connection_id": order.connection_id,
        "external_id": order.external_id,
        "status": order.status.value,
        "total": _total(order),
        "lines": _lines(order),
        "flags": sorted(flag.value for flag in order.flags),
        "created_at": order.created_at.isoformat(),
    }


def order_oversold(order: Order, lines: Sequence[OversoldLine], at: datetime) -> Event:
    """The alert of an order imported without enough stock (its available units are held)."""
    return ORDER_OVERSOLD, {
        "order_id": order.id,
        "source": order.source,
        "connection_id": order.connection_id,
        "external_id": order.external_id,
        "lines": [{"sku": x.sku, "requested": x.requested, "reserved": x.reserved} for x in lines],
        "at": at.isoformat(),
    }


def fulfillment_requested(order: Order, fulfillment: Fulfillment) -> Event:
    by_id = {line.id: line for line in order.lines}
    return FULFILLMENT_REQUESTED, {
        "order_id": order.id,
        "fulfillment_id": fulfillment.id,
        "connection_id": order.connection_id,
        "external_order_id": order.external_id,
        "carrier": fulfillment.carrier,
        "tracking_number": fulfillment.tracking_number,
        "tracking_url": fulfillment.tracking_url,
        "lines": [
            {"external_line_id": by_id[x.line_id].external_line_id, "sku": x.sku, "quantity": x.quantity}
            for x in fulfillment.lines
        ],
    }


def cancel_requested(order: Order, reason: str) -> Event:
    return CANCEL_REQUESTED, {
        "order_id": order.id,
        "connection_id": order.connection_id,
        "external_order_id": order.external_id,
        "reason": reason,
    }


def status_event(order: Order, at: datetime) -> Event | None:
    """order_shipped / order_cancelled / order_refunded for the order's (new) status."""
    event_type = STATUS_EVENTS.get(order.status)
    if event_type is None:
        return None
    return event_type, {
        "order_id": order.id,
        "source": order.source,
        "connection_id": order.connection_id,
        "status": order.status.value,
        "total": _total(order),
        "lines": _lines(order),
        "at": at.isoformat(),
    }
