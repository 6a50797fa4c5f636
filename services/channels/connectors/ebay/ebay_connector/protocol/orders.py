"""eBay Fulfillment API orders → the kit's OrderData (CHANNELS.md 6.3; Fulfillment contract
1.11.0, https://developer.ebay.com/api-docs/sell/fulfillment/resources/order/methods/getOrders).

getOrders: filter=lastmodifieddate:[<iso>..] with the brackets percent-encoded (%5B, %5D), limit,
offset (0-based); answer {total, limit, offset, next, orders[]}. Status: cancelStatus.cancelState
CANCELED → CANCELLED; orderPaymentStatus FULLY_REFUNDED → REFUNDED; orderFulfillmentStatus
FULFILLED → SHIPPED, IN_PROGRESS → PARTIALLY_SHIPPED; orderPaymentStatus PAID (or
PARTIALLY_REFUNDED) → PAID; otherwise PENDING.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ebay_connector.protocol.values import (
    AddressData,
    Amount,
    OrderData,
    OrderLineData,
    UnifiedStatus,
    read_amount,
)
from omnistock_common.egress import safe_text


def iso_millis(moment: datetime) -> str:
    """eBay's timestamp form: 2024-05-15T08:25:43.511Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def orders_query(since: datetime | None, *, offset: int, limit: int) -> str:
    """The query string, built by hand so the filter's brackets are %5B/%5D and its colon stays."""
    parts = [f"limit={limit}", f"offset={offset}"]
    if since is not None:
        value = quote(f"lastmodifieddate:[{iso_millis(since)}..]", safe=":")
        parts.insert(0, f"filter={value}")
    return "&".join(parts)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def unified_status(order: Mapping[str, Any]) -> UnifiedStatus:
    cancel = (order.get("cancelStatus") or {}).get("cancelState", "")
    payment = str(order.get("orderPaymentStatus") or "")
    fulfillment = str(order.get("orderFulfillmentStatus") or "")
    if cancel == "CANCELED":
        return UnifiedStatus.CANCELLED
    if payment == "FULLY_REFUNDED":
        return UnifiedStatus.REFUNDED
    if fulfillment == "FULFILLED":
        return UnifiedStatus.SHIPPED
    if fulfillment == "IN_PROGRESS":
        return UnifiedStatus.PARTIALLY_SHIPPED
    if payment in ("PAID", "PARTIALLY_REFUNDED"):
        return UnifiedStatus.PAID
    return UnifiedStatus.PENDING


def _amount(node: Any) -> Amount | None:
    if not isinstance(node, Mapping):
        return None
    return read_amount(node.get("value"), str(node.get("currency") or ""))


def _address(order: Mapping[str, Any]) -> AddressData | None:
    for step in order.get("fulfillmentStartInstructions") or []:
        ship_to = ((step or {}).get("shippingStep") or {}).get("shipTo") or {}
        contact = ship_to.get("contactAddress") or {}
        if not contact:
            continue
        phone = (ship_to.get("primaryPhone") or {}).get("phoneNumber") or ""
        return AddressData(
            name=safe_text(str(ship_to.get("fullName") or ""), 255),
            line1=safe_text(str(contact.get("addressLine1") or ""), 255),
            line2=safe_text(str(contact.get("addressLine2") or ""), 255),
            city=safe_text(str(contact.get("city") or ""), 255),
            region=safe_text(str(contact.get("stateOrProvince") or ""), 255),
            postal_code=safe_text(str(contact.get("postalCode") or ""), 64),
            country_code=safe_text(str(contact.get("countryCode") or ""), 2),
            phone=safe_text(str(phone), 64),
        )
    return None


def _line(line: Mapping[str, Any]) -> OrderLineData:
    quantity = int(line.get("quantity") or 0)
    cost = _amount(line.get("lineItemCost"))
    unit = Amount(cost.amount_minor // quantity, cost.currency) if cost and quantity else cost
    shipped = quantity if line.get("lineItemFulfillmentStatus") == "FULFILLED" else 0
    return OrderLineData(
        external_line_id=safe_text(str(line.get("lineItemId") or ""), 64),
        sku=safe_text(str(line.get("sku") or ""), 100),
        quantity=quantity,
        title=safe_text(str(line.get("title") or ""), 255),
        unit_price=unit,
        quantity_fulfilled=shipped,
    )


def parse_order(order: Mapping[str, Any]) -> OrderData:
    pricing = order.get("pricingSummary") or {}
    buyer = order.get("buyer") or {}
    email = ((buyer.get("buyerRegistrationAddress") or {}).get("email")) or ""
    return OrderData(
        external_id=safe_text(str(order.get("orderId") or ""), 64),
        external_name=safe_text(str(order.get("orderId") or ""), 64),
        status=unified_status(order),
        raw_status=safe_text(
            f"{order.get('orderFulfillmentStatus') or ''}/{order.get('orderPaymentStatus') or ''}", 64
        ),
        customer_email=safe_text(str(email), 255),
        customer_name=safe_text(str(buyer.get("username") or ""), 255),
        total=_amount(pricing.get("total")),
        subtotal=_amount(pricing.get("priceSubtotal")),
        discount_total=_amount(pricing.get("priceDiscount")),
        shipping_total=_amount(pricing.get("deliveryCost")),
        tax_total=_amount(pricing.get("tax")),
        lines=tuple(_line(x) for x in order.get("lineItems") or [] if isinstance(x, Mapping)),
        created_at=parse_time(order.get("creationDate")),
        updated_at=parse_time(order.get("lastModifiedDate")),
        shipping_address=_address(order),
        channel_status={
            "orderFulfillmentStatus": str(order.get("orderFulfillmentStatus") or ""),
            "orderPaymentStatus": str(order.get("orderPaymentStatus") or ""),
            "cancelState": str((order.get("cancelStatus") or {}).get("cancelState") or ""),
        },
        raw_json=json.dumps(order, separators=(",", ":"), sort_keys=True),
    )


def orders_page(body: Mapping[str, Any], offset: int, limit: int) -> tuple[list[OrderData], str]:
    orders = [parse_order(o) for o in body.get("orders") or [] if isinstance(o, Mapping) and o.get("orderId")]
    return orders, str(offset + limit) if body.get("next") else ""


def fulfillment_body(
    lines: list[tuple[str, int]], *, carrier: str, tracking_number: str, shipped_at: datetime
) -> dict[str, Any]:
    """createShippingFulfillment's body (Fulfillment contract 1.11.0, ShippingFulfillmentDetails)."""
    return {
        "lineItems": [{"lineItemId": line_id, "quantity": quantity} for line_id, quantity in lines],
        "shippedDate": iso_millis(shipped_at),
        "shippingCarrierCode": carrier,
        "trackingNumber": tracking_number,
    }


def fulfillment_id_from_location(location: str) -> str:
    """The Location header ends in /shipping_fulfillment/{fulfillmentId}."""
    marker = "/shipping_fulfillment/"
    if marker not in location:
        return ""
    return safe_text(location.rsplit(marker, 1)[1].split("?")[0].strip("/"), 128)
