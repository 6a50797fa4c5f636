"""Orders from Shopify (GraphQL polling and REST webhook payloads): money, times, addresses, every
ChannelOrder field. The status rule is status_map.py."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from omnistock_common.egress import safe_text
from omnistock_common.money import MoneyError, exponent, from_minor
from shopify_connector.protocol.api import numeric_id
from shopify_connector.protocol.status_map import channel_status, map_order_status, raw_status
from shopify_connector.protocol.values import AddressData, Amount, OrderData, OrderLineData, UnifiedStatus


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


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------
# Field names: the GraphQL Order object
# (https://shopify.dev/docs/api/admin-graphql/2025-07/objects/Order: displayFinancialStatus,
# displayFulfillmentStatus, cancelledAt, shippingAddress, billingAddress, subtotalPriceSet,
# totalDiscountsSet, totalShippingPriceSet, totalTaxSet, totalPriceSet; LineItem.discountAllocations
# [DiscountAllocation.allocatedAmountSet] and LineItem.taxLines [TaxLine.priceSet]) and the REST
# order of webhook bodies (https://shopify.dev/docs/api/admin-rest/2025-07/resources/order:
# financial_status, fulfillment_status, cancelled_at, customer, shipping_address, subtotal_price,
# total_discounts, total_shipping_price_set, total_tax, total_price; line_items[].discount_allocations
# [].amount and line_items[].tax_lines[].price).


def _text(value: Any, limit: int = 255) -> str:
    return safe_text(value, limit) if value not in (None, "") else ""


def _shop_money(money_set: Any) -> tuple[Any, str]:
    shop = (money_set or {}).get("shopMoney") or {}
    return shop.get("amount"), shop.get("currencyCode") or ""


def _rest_set_amount(money_set: Any) -> Any:
    """The shop-currency amount of a REST `*_set` ({"shop_money": {"amount", "currency_code"}})."""
    return ((money_set or {}).get("shop_money") or {}).get("amount")


def _sum(amounts: Iterable[Any], currency: str) -> Amount | None:
    """The sum of decimal amounts; None when one is unreadable (or there is no currency)."""
    total = Decimal(0)
    for amount in amounts:
        try:
            total += Decimal(str(amount))
        except InvalidOperation:
            return None
    return money(total, currency)


def _address(fields: Mapping[str, Any]) -> AddressData | None:
    """An address from already-renamed fields (see the two callers); None when it is empty."""
    address = AddressData(**{name: _text(value) for name, value in fields.items()})
    return address if address != AddressData() else None


def address_from_graphql(node: Mapping[str, Any] | None) -> AddressData | None:
    """A GraphQL MailingAddress (name, company, address1/2, city, provinceCode, zip, countryCodeV2, phone)."""
    if not node:
        return None
    return _address(
        {
            "name": node.get("name"),
            "company": node.get("company"),
            "line1": node.get("address1"),
            "line2": node.get("address2"),
            "city": node.get("city"),
            "region": node.get("provinceCode") or node.get("province"),
            "postal_code": node.get("zip"),
            "country_code": node.get("countryCodeV2"),
            "phone": node.get("phone"),
        }
    )


def address_from_rest(payload: Mapping[str, Any] | None) -> AddressData | None:
    """A REST address (name, company, address1/2, city, province_code, zip, country_code, phone)."""
    if not payload:
        return None
    name = payload.get("name") or " ".join(
        str(part) for part in (payload.get("first_name"), payload.get("last_name")) if part
    )
    return _address(
        {
            "name": name,
            "company": payload.get("company"),
            "line1": payload.get("address1"),
            "line2": payload.get("address2"),
            "city": payload.get("city"),
            "region": payload.get("province_code") or payload.get("province"),
            "postal_code": payload.get("zip"),
            "country_code": payload.get("country_code"),
            "phone": payload.get("phone"),
        }
    )


def _fulfilled(current: Any, left: Any) -> int:
    """Units shipped = units still ordered minus units still to fulfil (never below 0)."""
    try:
        return max(0, int(current) - int(left))
    except (TypeError, ValueError):
        return 0


def _graphql_line(line: Mapping[str, Any], currency: str) -> OrderLineData:
    # LineItem (Admin GraphQL 2025-10): currentQuantity = units ordered excluding refunded and
    # removed ones; unfulfilledQuantity = units not yet fulfilled
    # (https://shopify.dev/docs/api/admin-graphql/latest/objects/LineItem).
    unit_amount, unit_currency = _shop_money(line.get("originalUnitPriceSet"))
    discounts = [_shop_money(d.get("allocatedAmountSet"))[0] for d in line.get("discountAllocations") or []]
    taxes = [_shop_money(t.get("priceSet"))[0] for t in line.get("taxLines") or []]
    return OrderLineData(
        external_line_id=numeric_id(line.get("id")),
        sku=str(line.get("sku") or ""),
        quantity=int(line.get("quantity") or 0),
        title=_text(line.get("title")),
        unit_price=money(unit_amount, unit_currency or currency),
        discount=_sum(discounts, currency),
        tax=_sum(taxes, currency),
        quantity_fulfilled=_fulfilled(
            line.get("currentQuantity", line.get("quantity")), line.get("unfulfilledQuantity", 0)
        )
        if "unfulfilledQuantity" in line
        else 0,
    )


def order_from_graphql(node: Mapping[str, Any], extra_lines: Sequence[Mapping[str, Any]] = ()) -> OrderData:
    """A GraphQL Order node; `extra_lines` are line items fetched past the first page."""
    cancelled_at = node.get("cancelledAt")
    financial, fulfillment = node.get("displayFinancialStatus"), node.get("displayFulfillmentStatus")
    amount, currency = _shop_money(node.get("totalPriceSet"))
    raw_lines = [*((node.get("lineItems") or {}).get("nodes") or []), *extra_lines]
    shipping = address_from_graphql(node.get("shippingAddress"))
    # Order.customer would need the read_customers scope; the addresses come with read_orders.
    customer = (shipping.name if shipping else "") or (node.get("billingAddress") or {}).get("name")
    totals = {}
    for field_name, key in (
        ("subtotal", "subtotalPriceSet"),
        ("discount_total", "totalDiscountsSet"),
        ("shipping_total", "totalShippingPriceSet"),
        ("tax_total", "totalTaxSet"),
    ):
        value, code = _shop_money(node.get(key))
        totals[field_name] = money(value, code or currency)
    raw = dict(node)
    if extra_lines:
        raw["lineItems"] = {**(node.get("lineItems") or {}), "nodes": raw_lines}
    return OrderData(
        external_id=str(node.get("legacyResourceId") or numeric_id(node.get("id"))),
        external_name=str(node.get("name") or ""),
        status=map_order_status(financial, fulfillment, bool(cancelled_at)),
        raw_status=raw_status(financial, fulfillment, bool(cancelled_at)),
        customer_email=_text(node.get("email")),
        total=money(amount, currency),
        lines=tuple(_graphql_line(line, currency) for line in raw_lines),
        created_at=parse_time(node.get("createdAt")),
        updated_at=parse_time(node.get("updatedAt")),
        customer_name=_text(customer),
        shipping_address=shipping,
        channel_status=channel_status(financial, fulfillment, cancelled_at),
        raw_json=json.dumps(raw, separators=(",", ":")),
        **totals,
    )


def _rest_fulfilled(line: Mapping[str, Any]) -> int:
    """Units shipped of a REST line item (webhook bodies): its `fulfillment_status` is null
    (nothing shipped), `fulfilled` or `partial`; `current_quantity` (REST 2024-01+, units after
    removals: https://shopify.dev/changelog/addition-of-lineitem-current_quantity-on-admin-rest-api)
    less `fulfillable_quantity` (units left to fulfil) is what shipped of a partial one."""
    status = line.get("fulfillment_status")
    current = line.get("current_quantity", line.get("quantity"))
    if status == "fulfilled":
        return _fulfilled(current, 0)
    if status == "partial":
        return _fulfilled(current, line.get("fulfillable_quantity", 0))
    return 0


def _rest_line(line: Mapping[str, Any], currency: str) -> OrderLineData:
    return OrderLineData(
        external_line_id=numeric_id(line.get("id")),
        sku=str(line.get("sku") or ""),
        quantity=int(line.get("quantity") or 0),
        title=_text(line.get("title")),
        unit_price=money(line.get("price"), currency),
        discount=_sum([d.get("amount") for d in line.get("discount_allocations") or []], currency),
        tax=_sum([t.get("price") for t in line.get("tax_lines") or []], currency),
        quantity_fulfilled=_rest_fulfilled(line),
    )


def order_from_rest(payload: Mapping[str, Any], raw_json: str = "") -> OrderData:
    """An order in the REST shape (webhook bodies); `raw_json` is the body exactly as received."""
    cancelled_at = payload.get("cancelled_at")
    financial, fulfillment = payload.get("financial_status"), payload.get("fulfillment_status")
    currency = str(payload.get("currency") or "")
    shipping = address_from_rest(payload.get("shipping_address"))
    billing = address_from_rest(payload.get("billing_address"))
    person = payload.get("customer") or {}
    customer = " ".join(str(part) for part in (person.get("first_name"), person.get("last_name")) if part)
    customer = customer or (shipping.name if shipping else "") or (billing.name if billing else "")
    return OrderData(
        external_id=numeric_id(payload.get("id")),
        external_name=str(payload.get("name") or ""),
        status=map_order_status(financial, fulfillment, bool(cancelled_at)),
        raw_status=raw_status(financial, fulfillment, bool(cancelled_at)),
        customer_email=_text(payload.get("email") or payload.get("contact_email")),
        total=money(payload.get("total_price"), currency),
        lines=tuple(_rest_line(line, currency) for line in payload.get("line_items") or []),
        created_at=parse_time(payload.get("created_at")),
        updated_at=parse_time(payload.get("updated_at")),
        customer_name=_text(customer),
        shipping_address=shipping,
        subtotal=money(payload.get("subtotal_price"), currency),
        discount_total=money(payload.get("total_discounts"), currency),
        shipping_total=money(_rest_set_amount(payload.get("total_shipping_price_set")), currency),
        tax_total=money(payload.get("total_tax"), currency),
        channel_status=channel_status(financial, fulfillment, cancelled_at),
        raw_json=raw_json or json.dumps(payload, separators=(",", ":")),
    )


def deleted_order(order: OrderData) -> OrderData:
    """An orders/delete delivery: the order is gone, so its stock is released like a cancellation."""
    return replace(
        order,
        status=UnifiedStatus.CANCELLED,
        raw_status="deleted",
        channel_status={**order.channel_status, "deleted": "true"},
    )


def orders_search(updated_since: datetime | None) -> str | None:
    """Shopify search syntax for the polling window (inclusive: the caller overlaps windows)."""
    if updated_since is None:
        return None
    return f"updated_at:>='{graphql_time(updated_since)}'"
