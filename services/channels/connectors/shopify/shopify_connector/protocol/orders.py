"""Orders from Shopify (GraphQL polling and REST webhook payloads): money, times, statuses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from omnistock_common.money import MoneyError, exponent, from_minor
from shopify_connector.protocol.api import numeric_id
from shopify_connector.protocol.values import Amount, OrderData, OrderLineData, UnifiedStatus


def money(amount: Any, currency: str) -> Amount | None:
    """Shopify decimal string → Money. Rounds half-even if Shopify sends more decimals than the
    currency has (it happens with tax-inclusive arithmetic); None when it cannot be read."""
    if amount in (None, "") or not currency:
        return None
    try:
        digits = exponent(currency)
        value = Decimal(str(amount)).scaleb(digits).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    except (MoneyError, InvalidOperation):
        return None
    return Amount(amount_minor=int(value), currency=currency)


def decimal_string(value: Amount) -> str:
    return from_minor(value.amount_minor, value.currency)


def parse_time(value: Any) -> datetime | None:
    """A Shopify time (ISO 8601, `Z` or an offset; none means UTC) in UTC; None when unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def graphql_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_FULFILLMENT_ALIASES = {
    "partially_fulfilled": "partial",
    "partial": "partial",
    "fulfilled": "fulfilled",
    "shipped": "fulfilled",
    "restocked": "restocked",
}


def map_order_status(financial: str | None, fulfillment: str | None, cancelled: bool) -> UnifiedStatus:
    """Shopify (REST lower-case or GraphQL upper-case display statuses) → unified OrderStatus.

    Precedence: cancelled/voided, fully refunded, then shipping progress, then payment.
    """
    fin = (financial or "").strip().lower()
    ful = _FULFILLMENT_ALIASES.get((fulfillment or "").strip().lower(), "")
    if cancelled or fin in ("voided", "expired"):
        return UnifiedStatus.CANCELLED
    if fin == "refunded":
        return UnifiedStatus.REFUNDED
    if ful == "fulfilled":
        return UnifiedStatus.SHIPPED
    if ful == "partial":
        return UnifiedStatus.PARTIALLY_SHIPPED
    if fin in ("paid", "partially_refunded"):
        return UnifiedStatus.PAID
    return UnifiedStatus.PENDING


def raw_status(financial: str | None, fulfillment: str | None, cancelled: bool) -> str:
    parts = [(financial or "").lower() or "unknown", (fulfillment or "").lower() or "unfulfilled"]
    if cancelled:
        parts.append("cancelled")
    return "/".join(parts)


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------


def _shop_money(money_set: Any) -> tuple[Any, str]:
    shop = (money_set or {}).get("shopMoney") or {}
    return shop.get("amount"), shop.get("currencyCode") or ""


def _line(line: Mapping[str, Any], unit_price: Amount | None) -> OrderLineData:
    return OrderLineData(
        external_line_id=numeric_id(line.get("id")),
        sku=str(line.get("sku") or ""),
        quantity=int(line.get("quantity") or 0),
        title=str(line.get("title") or ""),
        unit_price=unit_price,
    )


def order_from_graphql(node: Mapping[str, Any], extra_lines: Sequence[Mapping[str, Any]] = ()) -> OrderData:
    """A GraphQL Order node; `extra_lines` are line items fetched past the first page."""
    cancelled = bool(node.get("cancelledAt"))
    financial, fulfillment = node.get("displayFinancialStatus"), node.get("displayFulfillmentStatus")
    amount, currency = _shop_money(node.get("totalPriceSet"))
    lines = []
    for line in [*((node.get("lineItems") or {}).get("nodes") or []), *extra_lines]:
        unit_amount, unit_currency = _shop_money(line.get("originalUnitPriceSet"))
        lines.append(_line(line, money(unit_amount, unit_currency or currency)))
    return OrderData(
        external_id=str(node.get("legacyResourceId") or numeric_id(node.get("id"))),
        external_name=str(node.get("name") or ""),
        status=map_order_status(financial, fulfillment, cancelled),
        raw_status=raw_status(financial, fulfillment, cancelled),
        customer_email=str(node.get("email") or ""),
        total=money(amount, currency),
        lines=tuple(lines),
        created_at=parse_time(node.get("createdAt")),
        updated_at=parse_time(node.get("updatedAt")),
    )


def order_from_rest(payload: Mapping[str, Any]) -> OrderData:
    """An order in the REST shape (webhook bodies)."""
    cancelled = bool(payload.get("cancelled_at"))
    financial, fulfillment = payload.get("financial_status"), payload.get("fulfillment_status")
    currency = str(payload.get("currency") or "")
    return OrderData(
        external_id=numeric_id(payload.get("id")),
        external_name=str(payload.get("name") or ""),
        status=map_order_status(financial, fulfillment, cancelled),
        raw_status=raw_status(financial, fulfillment, cancelled),
        customer_email=str(payload.get("email") or payload.get("contact_email") or ""),
        total=money(payload.get("total_price"), currency),
        lines=tuple(
            _line(line, money(line.get("price"), currency)) for line in payload.get("line_items") or []
        ),
        created_at=parse_time(payload.get("created_at")),
        updated_at=parse_time(payload.get("updated_at")),
    )


def deleted_order(order: OrderData) -> OrderData:
    """An orders/delete delivery: the order is gone, so its stock is released like a cancellation."""
    return replace(order, status=UnifiedStatus.CANCELLED, raw_status="deleted")


def orders_search(updated_since: datetime | None) -> str | None:
    """Shopify search syntax for the polling window (inclusive: the caller overlaps windows)."""
    if updated_since is None:
        return None
    return f"updated_at:>='{graphql_time(updated_since)}'"
