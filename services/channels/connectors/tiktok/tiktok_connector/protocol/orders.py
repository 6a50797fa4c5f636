"""Orders (API 202309; CHANNELS.md 4.4, lywzx/tiktok-partner-api orders/GetOrderList.ts):
the search request, the status map, and an order's JSON → OrderData.

TikTok's line items carry no quantity: an order has ONE line item PER UNIT, so lines are counted
by `sku_id` into one OrderLineData per SKU (external_line_id = the sku_id; CreateFulfillment finds
the unit line item ids again from the order). Amounts are decimal strings in
`payment.currency`; times are Unix seconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from omnistock_common.egress import safe_text
from tiktok_connector.protocol.api import MAX_ORDERS_PAGE, clean_id
from tiktok_connector.protocol.values import (
    AddressData,
    Amount,
    OrderData,
    OrderLineData,
    UnifiedStatus,
    read_amount,
)

# TikTok order status → unified status (CHANNELS.md 4.4 lists the statuses).
ORDER_STATUS: dict[str, UnifiedStatus] = {
    "UNPAID": UnifiedStatus.PENDING,
    "ON_HOLD": UnifiedStatus.PAID,
    "AWAITING_SHIPMENT": UnifiedStatus.PAID,
    "PARTIALLY_SHIPPING": UnifiedStatus.PARTIALLY_SHIPPED,
    "AWAITING_COLLECTION": UnifiedStatus.SHIPPED,
    "IN_TRANSIT": UnifiedStatus.SHIPPED,
    "DELIVERED": UnifiedStatus.DELIVERED,
    "COMPLETED": UnifiedStatus.DELIVERED,
    "CANCELLED": UnifiedStatus.CANCELLED,
}
# A line item in one of these display statuses has left the warehouse.
SHIPPED_LINE_STATUSES = frozenset({"AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"})
# Statuses an order may still be shipped from (CreateFulfillment refuses the others).
SHIPPABLE_STATUSES = frozenset({"AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"})


def unified_status(status: str) -> UnifiedStatus:
    """Unknown statuses read as PAID only if TikTok invents new in-flight ones; PENDING is safer:
    OmniStock then does not ship what may not be paid."""
    return ORDER_STATUS.get(status.strip().upper(), UnifiedStatus.PENDING)


def search_query(page_size: int, page_token: str) -> dict[str, str]:
    """Query of POST /order/202309/orders/search: oldest update first, so a cursor walk ends."""
    query = {
        "page_size": str(max(1, min(page_size or MAX_ORDERS_PAGE, MAX_ORDERS_PAGE))),
        "sort_field": "update_time",
        "sort_order": "ASC",
    }
    if page_token:
        query["page_token"] = page_token
    return query


def search_body(updated_since: datetime | None) -> dict[str, Any]:
    return {"update_time_ge": int(updated_since.timestamp())} if updated_since is not None else {}


def _time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    return None


def _amount(value: Any, currency: str) -> Amount | None:
    return read_amount(value, currency) if currency else None


def _address(raw: Any) -> AddressData | None:
    if not isinstance(raw, Mapping):
        return None
    districts = {
        str(d.get("address_level_name") or "").lower(): str(d.get("address_name") or "")
        for d in raw.get("district_info") or []
        if isinstance(d, Mapping)
    }
    text = lambda key, limit=255: safe_text(raw.get(key) or "", limit)  # noqa: E731
    line2 = " ".join(t for t in (text("address_line2"), text("address_line3"), text("address_line4")) if t)
    return AddressData(
        name=text("name"),
        line1=text("address_line1") or text("address_detail"),
        line2=safe_text(line2, 255),
        city=safe_text(districts.get("city", ""), 255),
        region=safe_text(districts.get("state", "") or districts.get("province", ""), 255),
        postal_code=text("postal_code", 32),
        country_code=clean_id(raw.get("region_code"), 2).upper(),
        phone=text("phone_number", 64),
    )


def order_lines(line_items: Any, currency: str) -> tuple[OrderLineData, ...]:
    """One line per SKU: the unit line items counted, their shipped units counted too."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for item in line_items if isinstance(line_items, list) else []:
        if isinstance(item, Mapping):
            key = clean_id(item.get("sku_id"), 64) or clean_id(item.get("id"), 64)
            if key:
                grouped.setdefault(key, []).append(item)
    lines = []
    for sku_id, units in grouped.items():
        first = units[0]
        line_currency = str(first.get("currency") or currency)
        title = " - ".join(
            t
            for t in (
                safe_text(first.get("product_name") or "", 200),
                safe_text(first.get("sku_name") or "", 100),
            )
            if t
        )
        shipped = sum(1 for u in units if str(u.get("display_status") or "").upper() in SHIPPED_LINE_STATUSES)
        lines.append(
            OrderLineData(
                external_line_id=sku_id,
                sku=safe_text(first.get("seller_sku") or "", 255),
                quantity=len(units),
                title=title,
                unit_price=_amount(first.get("sale_price"), line_currency),
                quantity_fulfilled=shipped,
            )
        )
    return tuple(lines)


def order_from_json(order: Mapping[str, Any]) -> OrderData:
    payment = order.get("payment") if isinstance(order.get("payment"), Mapping) else {}
    currency = str(payment.get("currency") or "")
    status = str(order.get("status") or "")
    address = _address(order.get("recipient_address"))
    channel_status = {"status": status}
    if order.get("cancel_reason"):
        channel_status["cancel_reason"] = safe_text(order["cancel_reason"], 200)
    order_id = clean_id(order.get("id"), 64)
    return OrderData(
        external_id=order_id,
        external_name=order_id,
        status=unified_status(status),
        raw_status=status,
        customer_email=safe_text(order.get("buyer_email") or "", 255),
        total=_amount(payment.get("total_amount"), currency),
        lines=order_lines(order.get("line_items"), currency),
        created_at=_time(order.get("create_time")),
        updated_at=_time(order.get("update_time")),
        customer_name=address.name if address else "",
        shipping_address=address,
        subtotal=_amount(payment.get("sub_total"), currency),
        shipping_total=_amount(payment.get("shipping_fee"), currency),
        tax_total=_amount(payment.get("tax"), currency),
        channel_status=channel_status,
        raw_json=json.dumps(order, separators=(",", ":"), sort_keys=True),
    )


def orders_from_data(data: Any) -> tuple[list[OrderData], str]:
    """(orders, next_page_token) of a search or detail answer; orders without an id are skipped."""
    if not isinstance(data, Mapping):
        return [], ""
    orders = [
        order_from_json(o)
        for o in data.get("orders") or []
        if isinstance(o, Mapping) and clean_id(o.get("id"), 64)
    ]
    return orders, str(data.get("next_page_token") or "")


def unit_line_ids(order: Mapping[str, Any], wanted: Mapping[str, int] | None) -> list[str]:
    """The unit line item ids to ship: for each wanted sku_id (or seller_sku) that many units not
    shipped yet; `wanted` None means every unit not shipped yet."""
    remaining = dict(wanted) if wanted is not None else None
    ids = []
    for item in order.get("line_items") or []:
        if (
            not isinstance(item, Mapping)
            or str(item.get("display_status") or "").upper() in SHIPPED_LINE_STATUSES
        ):
            continue
        line_id = clean_id(item.get("id"), 64)
        if not line_id:
            continue
        if remaining is None:
            ids.append(line_id)
            continue
        for key in (clean_id(item.get("sku_id"), 64), str(item.get("seller_sku") or "")):
            if key and remaining.get(key, 0) > 0:
                remaining[key] -= 1
                ids.append(line_id)
                break
    return ids


def shipping_provider_id(carrier: str, providers: str, default: str) -> str:
    """TikTok's shipping_provider_id for OmniStock's carrier when the connection decides it: the
    carrier itself when it is a TikTok id (digits), else its entry in the connection's
    `shipping_providers` setting ("UPS=7117858858072016686,USPS=..."; names compared
    case-insensitively); without a carrier, the connection's default `shipping_provider_id`.
    "" = look the carrier's name up among TikTok's providers (client.provider_for)."""
    carrier = carrier.strip()
    if carrier.isdigit():
        return carrier
    table = {}
    for pair in providers.split(","):
        name, _, provider = pair.partition("=")
        if name.strip() and provider.strip().isdigit():
            table[name.strip().lower()] = provider.strip()
    if carrier:
        return table.get(carrier.lower(), "")
    return default.strip() if default.strip().isdigit() else ""
