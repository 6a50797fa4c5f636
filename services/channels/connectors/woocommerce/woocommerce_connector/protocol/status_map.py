"""WooCommerce's order statuses → the unified order status: one table.

The statuses are WooCommerce core's (`wc_get_order_statuses()`, as the REST API's `status` reports
them without the `wc-` prefix: pending, processing, on-hold, completed, cancelled, refunded, failed;
https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties), plus `checkout-draft`
(the block checkout's draft) and `trash`. Every row answers "what should OmniStock do with this
order's stock?". Documented in docs/orders.md ("Status mapping").
"""

from __future__ import annotations

from enum import Enum


class UnifiedStatus(Enum):
    """The unified order statuses (connector.v1.OrderStatus), mirrored by name in mapping.py."""

    UNSPECIFIED = "UNSPECIFIED"
    PENDING = "PENDING"
    PAID = "PAID"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


ORDER_STATUS_MAP: dict[str, UnifiedStatus] = {
    # Created, awaiting payment: the customer has not paid yet, stock is only held.
    "pending": UnifiedStatus.PENDING,
    # Block checkout's draft before the order is placed; same as an unpaid order.
    "checkout-draft": UnifiedStatus.PENDING,
    # Payment received (or COD accepted) and awaiting fulfilment: Woo's "paid, ship it" state.
    "processing": UnifiedStatus.PAID,
    # Awaiting manual confirmation of payment (BACS, cheque): not paid yet, so PENDING.
    "on-hold": UnifiedStatus.PENDING,
    # The merchant marked the order done; Woo has no separate shipped/delivered state and
    # completing is how shops mark shipment (CreateFulfillment does exactly that).
    "completed": UnifiedStatus.SHIPPED,
    # Cancelled by the merchant or the customer: stock goes back.
    "cancelled": UnifiedStatus.CANCELLED,
    # Fully refunded: Woo's terminal money-back state.
    "refunded": UnifiedStatus.REFUNDED,
    # Payment failed or was declined: the sale did not happen, like a cancellation.
    "failed": UnifiedStatus.CANCELLED,
    # Moved to the bin: the order no longer counts; treat as cancelled rather than lose it.
    "trash": UnifiedStatus.CANCELLED,
}


def map_order_status(raw: str) -> UnifiedStatus:
    """Unified status of a Woo status; plugin-defined statuses stay UNSPECIFIED (raw kept)."""
    return ORDER_STATUS_MAP.get(raw.strip().lower().removeprefix("wc-"), UnifiedStatus.UNSPECIFIED)
