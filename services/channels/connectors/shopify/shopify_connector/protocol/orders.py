"""Orders from Shopify (GraphQL polling and REST webhook payloads): money, times, statuses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from google.protobuf import timestamp_pb2

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.money import MoneyError, exponent, from_minor
from shopify_connector.protocol.api import numeric_id


def money(amount: Any, currency: str) -> common_pb2.Money | None:
    """Shopify decimal string → Money. Rounds half-even if Shopify sends more decimals than the
    currency has (it happens with tax-inclusive arithmetic); None when it cannot be read."""
    if amount in (None, "") or not currency:
        return None
    try:
        digits = exponent(currency)
        value = Decimal(str(amount)).scaleb(digits).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    except (MoneyError, InvalidOperation):
        return None
    return common_pb2.Money(amount_minor=int(value), currency=currency)


def decimal_string(value: common_pb2.Money) -> str:
    return from_minor(value.amount_minor, value.currency)


def parse_time(value: Any) -> timestamp_pb2.Timestamp | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(parsed.astimezone(UTC))
    return ts


def graphql_time(ts: timestamp_pb2.Timestamp) -> str:
    return ts.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_FULFILLMENT_ALIASES = {
    "partially_fulfilled": "partial",
    "partial": "partial",
    "fulfilled": "fulfilled",
    "shipped": "fulfilled",
    "restocked": "restocked",
}


def map_order_status(financial: str | None, fulfillment: str | None, cancelled: bool) -> int:
    """Shopify (REST lower-case or GraphQL upper-case display statuses) → unified OrderStatus.

    Precedence: cancelled/voided, fully refunded, then shipping progress, then payment.
    """
    fin = (financial or "").strip().lower()
    ful = _FULFILLMENT_ALIASES.get((fulfillment or "").strip().lower(), "")
    if cancelled or fin in ("voided", "expired"):
        return pb.ORDER_STATUS_CANCELLED
    if fin == "refunded":
        return pb.ORDER_STATUS_REFUNDED
    if ful == "fulfilled":
        return pb.ORDER_STATUS_SHIPPED
    if ful == "partial":
        return pb.ORDER_STATUS_PARTIALLY_SHIPPED
    if fin in ("paid", "partially_refunded"):
        return pb.ORDER_STATUS_PAID
    return pb.ORDER_STATUS_PENDING


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


def _set_times(order: pb.ChannelOrder, created: Any, updated: Any) -> None:
    if (ts := parse_time(created)) is not None:
        order.created_at.CopyFrom(ts)
    if (ts := parse_time(updated)) is not None:
        order.updated_at.CopyFrom(ts)


def order_from_graphql(
    node: Mapping[str, Any], extra_lines: Sequence[Mapping[str, Any]] = ()
) -> pb.ChannelOrder:
    """A GraphQL Order node; `extra_lines` are line items fetched past the first page."""
    cancelled = bool(node.get("cancelledAt"))
    financial, fulfillment = node.get("displayFinancialStatus"), node.get("displayFulfillmentStatus")
    order = pb.ChannelOrder(
        external_id=str(node.get("legacyResourceId") or numeric_id(node.get("id"))),
        external_name=str(node.get("name") or ""),
        status=map_order_status(financial, fulfillment, cancelled),
        raw_status=raw_status(financial, fulfillment, cancelled),
        customer_email=str(node.get("email") or ""),
    )
    amount, currency = _shop_money(node.get("totalPriceSet"))
    if (total := money(amount, currency)) is not None:
        order.total.CopyFrom(total)
    for line in [*((node.get("lineItems") or {}).get("nodes") or []), *extra_lines]:
        unit_amount, unit_currency = _shop_money(line.get("originalUnitPriceSet"))
        out = order.lines.add(
            external_line_id=numeric_id(line.get("id")),
            sku=str(line.get("sku") or ""),
            quantity=int(line.get("quantity") or 0),
            title=str(line.get("title") or ""),
        )
        if (unit := money(unit_amount, unit_currency or currency)) is not None:
            out.unit_price.CopyFrom(unit)
    _set_times(order, node.get("createdAt"), node.get("updatedAt"))
    return order


def order_from_rest(payload: Mapping[str, Any]) -> pb.ChannelOrder:
    """An order in the REST shape (webhook bodies)."""
    cancelled = bool(payload.get("cancelled_at"))
    financial, fulfillment = payload.get("financial_status"), payload.get("fulfillment_status")
    currency = str(payload.get("currency") or "")
    order = pb.ChannelOrder(
        external_id=numeric_id(payload.get("id")),
        external_name=str(payload.get("name") or ""),
        status=map_order_status(financial, fulfillment, cancelled),
        raw_status=raw_status(financial, fulfillment, cancelled),
        customer_email=str(payload.get("email") or payload.get("contact_email") or ""),
    )
    if (total := money(payload.get("total_price"), currency)) is not None:
        order.total.CopyFrom(total)
    for line in payload.get("line_items") or []:
        out = order.lines.add(
            external_line_id=numeric_id(line.get("id")),
            sku=str(line.get("sku") or ""),
            quantity=int(line.get("quantity") or 0),
            title=str(line.get("title") or ""),
        )
        if (unit := money(line.get("price"), currency)) is not None:
            out.unit_price.CopyFrom(unit)
    _set_times(order, payload.get("created_at"), payload.get("updated_at"))
    return order


def orders_search(updated_since: timestamp_pb2.Timestamp | None) -> str | None:
    """Shopify search syntax for the polling window (inclusive: the caller overlaps windows)."""
    if updated_since is None or (updated_since.seconds == 0 and updated_since.nanos == 0):
        return None
    return f"updated_at:>='{graphql_time(updated_since)}'"
