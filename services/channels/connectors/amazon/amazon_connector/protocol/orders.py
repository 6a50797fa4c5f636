"""Orders v0 (models/orders-api-model/ordersV0.json; CHANNELS.md 5.5): orders and their items
into OrderData, the status map, and the confirmShipment body.

- getOrders: `MarketplaceIds` and one of CreatedAfter/LastUpdatedAfter; `NextToken` pages (the
  filters are kept by Amazon), so a cursor is the NextToken alone.
- Money is `{CurrencyCode, Amount: "12.34"}`; an item's `ItemPrice` is the line total (unit price
  x quantity), `ItemTax` its tax, `PromotionDiscount` its discount, `ShippingPrice` its shipping.
- Buyer e-mail and the full address need a Restricted Data Token; without one `ShippingAddress`
  has City, StateOrRegion, PostalCode and CountryCode only, which is what is mapped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from amazon_connector.protocol.api import is_order_id
from amazon_connector.protocol.values import (
    AddressData,
    Amount,
    OrderData,
    OrderLineData,
    UnifiedStatus,
    read_amount,
)
from omnistock_common.egress import safe_code, safe_text

# OrderStatus enum of ordersV0.json → the unified status. Unfulfillable applies to multi-channel
# fulfilment orders Amazon cannot fill (never shipped); InvoiceUnconfirmed orders are shipped but
# await the seller's invoice confirmation; PendingAvailability is a pre-order not yet charged.
STATUS_MAP: dict[str, UnifiedStatus] = {
    "Pending": UnifiedStatus.PENDING,
    "PendingAvailability": UnifiedStatus.PENDING,
    "Unshipped": UnifiedStatus.PAID,
    "PartiallyShipped": UnifiedStatus.PARTIALLY_SHIPPED,
    "Shipped": UnifiedStatus.SHIPPED,
    "InvoiceUnconfirmed": UnifiedStatus.SHIPPED,
    "Canceled": UnifiedStatus.CANCELLED,
    "Unfulfillable": UnifiedStatus.CANCELLED,
}

# FAILED_PRECONDITION reason: nothing of the order is left to ship (or the lines are unknown).
NOTHING_TO_SHIP = "NOTHING_TO_SHIP"

# carrierCode values Amazon knows by name (its carrier list); anything else is sent as "Other"
# with the carrier's own name in carrierName (ordersV0.json PackageDetail).
KNOWN_CARRIERS = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "dhl express": "DHL",
    "royal mail": "Royal Mail",
    "canada post": "Canada Post",
    "amazon shipping": "Amazon Shipping",
}


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def money(value: Any) -> Amount | None:
    if not isinstance(value, Mapping):
        return None
    return read_amount(value.get("Amount"), safe_code(str(value.get("CurrencyCode") or ""))[:3])


def _sum(amounts: Sequence[Amount | None], currency: str) -> Amount | None:
    present = [a for a in amounts if a is not None and a.currency == currency]
    return Amount(sum(a.amount_minor for a in present), currency) if present and currency else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def order_line(item: Mapping[str, Any]) -> OrderLineData:
    quantity = _count(item.get("QuantityOrdered"))
    total = money(item.get("ItemPrice"))
    unit = Amount(total.amount_minor // quantity, total.currency) if total is not None and quantity else total
    return OrderLineData(
        external_line_id=safe_text(str(item.get("OrderItemId") or ""), 64),
        sku=safe_text(str(item.get("SellerSKU") or ""), 255),
        quantity=quantity,
        title=safe_text(str(item.get("Title") or ""), 255),
        unit_price=unit,
        discount=money(item.get("PromotionDiscount")),
        tax=money(item.get("ItemTax")),
        quantity_fulfilled=_count(item.get("QuantityShipped")),
    )


def address(order: Mapping[str, Any]) -> AddressData | None:
    raw = order.get("ShippingAddress")
    if not isinstance(raw, Mapping):
        return None

    def text(name: str, limit: int = 255) -> str:
        return safe_text(str(raw.get(name) or ""), limit)

    return AddressData(
        name=text("Name"),
        company=text("CompanyName"),
        line1=text("AddressLine1"),
        line2=" ".join(x for x in (text("AddressLine2"), text("AddressLine3")) if x),
        city=text("City"),
        region=text("StateOrRegion"),
        postal_code=text("PostalCode", 32),
        country_code=safe_code(str(raw.get("CountryCode") or ""))[:2].upper(),
        phone=text("Phone", 64),
    )


def order_data(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> OrderData:
    """One order of getOrders with every item of getOrderItems; raw_json keeps both as sent."""
    raw_status = safe_code(str(order.get("OrderStatus") or ""))
    # 3-7-7 digits (client.py reads only orders whose id is_order_id); never free text.
    order_id = (
        str(order.get("AmazonOrderId") or "") if is_order_id(str(order.get("AmazonOrderId") or "")) else ""
    )
    total = money(order.get("OrderTotal"))
    currency = total.currency if total is not None else ""
    lines = tuple(order_line(item) for item in items)
    line_totals = [money(item.get("ItemPrice")) for item in items]
    discounts = [money(item.get("PromotionDiscount")) for item in items]
    subtotal = _sum(line_totals, currency)
    discount_total = _sum(discounts, currency)
    if subtotal is not None and discount_total is not None:
        subtotal = Amount(subtotal.amount_minor - discount_total.amount_minor, currency)
    buyer = order.get("BuyerInfo") if isinstance(order.get("BuyerInfo"), Mapping) else {}
    shipping_address = address(order)
    return OrderData(
        external_id=order_id,
        external_name=order_id,
        status=STATUS_MAP.get(raw_status, UnifiedStatus.PENDING),
        raw_status=raw_status,
        customer_email=safe_text(str(buyer.get("BuyerEmail") or ""), 255),
        total=total,
        lines=lines,
        created_at=parse_time(order.get("PurchaseDate")),
        updated_at=parse_time(order.get("LastUpdateDate")),
        customer_name=shipping_address.name if shipping_address else "",
        shipping_address=shipping_address,
        subtotal=subtotal,
        discount_total=discount_total,
        shipping_total=_sum([money(i.get("ShippingPrice")) for i in items], currency),
        tax_total=_sum([money(i.get("ItemTax")) for i in items], currency),
        channel_status={
            "OrderStatus": raw_status,
            "FulfillmentChannel": safe_code(str(order.get("FulfillmentChannel") or "")),
        },
        raw_json=json.dumps({"order": order, "items": list(items)}, separators=(",", ":")),
    )


def carrier_fields(carrier: str) -> dict[str, str]:
    known = KNOWN_CARRIERS.get(carrier.strip().lower())
    if known:
        return {"carrierCode": known}
    return {"carrierCode": "Other", "carrierName": carrier.strip() or "Other"}


def confirm_shipment_body(
    marketplace_id: str,
    *,
    package_reference_id: str,
    carrier: str,
    tracking_number: str,
    ship_date: str,
    order_items: Sequence[tuple[str, int]],
) -> dict[str, Any]:
    return {
        "marketplaceId": marketplace_id,
        "packageDetail": {
            "packageReferenceId": package_reference_id,
            **carrier_fields(carrier),
            "trackingNumber": tracking_number,
            "shipDate": ship_date,
            "orderItems": [{"orderItemId": item, "quantity": quantity} for item, quantity in order_items],
        },
    }


def shipment_items(
    items: Sequence[Mapping[str, Any]], wanted: Sequence[tuple[str, str, int]]
) -> tuple[list[tuple[str, int]], str]:
    """(orderItemId, quantity) to confirm, from the order's items and the requested lines
    (external_line_id, sku, quantity; none = every unshipped unit); or ([], why not)."""
    remaining = {
        str(i.get("OrderItemId")): _count(i.get("QuantityOrdered")) - _count(i.get("QuantityShipped"))
        for i in items
    }
    by_sku = {str(i.get("SellerSKU")): str(i.get("OrderItemId")) for i in items}
    if not wanted:
        chosen = [(item_id, left) for item_id, left in remaining.items() if left > 0]
        return chosen, "" if chosen else "every item of the order is already shipped"
    chosen = []
    for line_id, sku, quantity in wanted:
        item_id = line_id if line_id in remaining else by_sku.get(sku, "")
        if not item_id:
            return [], f"the order has no item {line_id or sku!r}"
        left = remaining[item_id]
        take = min(left, quantity) if quantity > 0 else left
        if take <= 0:
            continue
        remaining[item_id] -= take
        chosen.append((item_id, take))
    return chosen, "" if chosen else "the requested items are already shipped"


def package_reference_id(order_id: str, tracking_number: str) -> str:
    """A positive number (the model allows only those) that is the same for the same order and
    tracking number, so a retried confirmation is recognised."""
    digest = hashlib.sha256(f"{order_id}|{tracking_number}".encode()).hexdigest()
    return str(int(digest[:12], 16) % 999_999_999 + 1)
