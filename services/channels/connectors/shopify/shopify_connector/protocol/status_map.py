"""Shopify's own order statuses → the unified OrderStatus: one table per status field, one rule.

Shopify reports an order's state in three fields (GraphQL names first, REST webhook names second):
- `displayFinancialStatus` / `financial_status` (OrderDisplayFinancialStatus: AUTHORIZED, EXPIRED,
  PAID, PARTIALLY_PAID, PARTIALLY_REFUNDED, PENDING, REFUNDED, VOIDED;
  https://shopify.dev/docs/api/admin-graphql/2025-07/enums/OrderDisplayFinancialStatus),
- `displayFulfillmentStatus` / `fulfillment_status` (OrderDisplayFulfillmentStatus: FULFILLED,
  IN_PROGRESS, ON_HOLD, OPEN, PARTIALLY_FULFILLED, PENDING_FULFILLMENT, REQUEST_DECLINED,
  RESTOCKED, SCHEDULED, UNFULFILLED; REST sends null, "partial", "fulfilled" or "restocked";
  https://shopify.dev/docs/api/admin-graphql/2025-07/enums/OrderDisplayFulfillmentStatus),
- `cancelledAt` / `cancelled_at` (set once the order is cancelled).

The rule, in order: a cancelled order is CANCELLED; a financial status in FINAL_FINANCIAL (the
money is gone back or was never taken) wins; then shipping progress (FULFILLMENT_STATUS, when it
says something); then payment (FINANCIAL_STATUS). Values are compared lower-case, so the GraphQL
and REST spellings of one order map alike. Documented in docs/orders.md ("Status mapping").
"""

from __future__ import annotations

from shopify_connector.protocol.values import UnifiedStatus

# Payment state → unified status (used when shipping progress says nothing).
FINANCIAL_STATUS: dict[str, UnifiedStatus] = {
    "pending": UnifiedStatus.PENDING,
    "authorized": UnifiedStatus.PENDING,
    "partially_paid": UnifiedStatus.PENDING,
    "paid": UnifiedStatus.PAID,
    "partially_refunded": UnifiedStatus.PAID,
    "refunded": UnifiedStatus.REFUNDED,
    "voided": UnifiedStatus.CANCELLED,
    "expired": UnifiedStatus.CANCELLED,
}
# Financial statuses that decide the order whatever was shipped: fully refunded, or the payment
# authorisation voided/expired (the sale did not happen).
FINAL_FINANCIAL = frozenset({"refunded", "voided", "expired"})
# Shipping progress → unified status; None: nothing shipped yet, the payment decides.
FULFILLMENT_STATUS: dict[str, UnifiedStatus | None] = {
    "fulfilled": UnifiedStatus.SHIPPED,
    "partially_fulfilled": UnifiedStatus.PARTIALLY_SHIPPED,
    "partial": UnifiedStatus.PARTIALLY_SHIPPED,
    "unfulfilled": None,
    "open": None,
    "in_progress": None,
    "on_hold": None,
    "pending_fulfillment": None,
    "request_declined": None,
    "scheduled": None,
    "restocked": None,
    "": None,
}


# REST spells two fulfillment states differently from GraphQL; channel_status and raw_status use
# the GraphQL words so a webhook and a poll of one order report the same values.
_REST_FULFILLMENT = {"": "unfulfilled", "partial": "partially_fulfilled"}


def _key(value: str | None) -> str:
    return (value or "").strip().lower()


def _fulfillment_word(value: str | None) -> str:
    key = _key(value)
    return _REST_FULFILLMENT.get(key, key)


def map_order_status(financial: str | None, fulfillment: str | None, cancelled: bool) -> UnifiedStatus:
    """The unified status of a Shopify order (see the module docstring for the rule). A status this
    table does not know counts as "nothing to say": an unknown payment state is PENDING."""
    fin, ful = _key(financial), _key(fulfillment)
    if cancelled:
        return UnifiedStatus.CANCELLED
    if fin in FINAL_FINANCIAL:
        return FINANCIAL_STATUS[fin]
    shipped = FULFILLMENT_STATUS.get(ful)
    if shipped is not None:
        return shipped
    return FINANCIAL_STATUS.get(fin, UnifiedStatus.PENDING)


def raw_status(financial: str | None, fulfillment: str | None, cancelled: bool) -> str:
    """The channel's statuses in one string, e.g. "paid/unfulfilled" or "refunded/fulfilled/cancelled"."""
    parts = [_key(financial) or "unknown", _fulfillment_word(fulfillment)]
    if cancelled:
        parts.append("cancelled")
    return "/".join(parts)


def channel_status(
    financial: str | None, fulfillment: str | None, cancelled_at: str | None
) -> dict[str, str]:
    """ChannelOrder.channel_status: the channel's own fields by their REST names, in GraphQL's words
    lower-cased (REST's null fulfillment status is "unfulfilled", its "partial" "partially_fulfilled")."""
    return {
        "financial_status": _key(financial),
        "fulfillment_status": _fulfillment_word(fulfillment),
        "cancelled_at": str(cancelled_at or ""),
    }
