"""Commerce orders (pure): the Order Management API's orders and items → OrderData, and the
bodies of acknowledge / shipments / cancellations.

Order Management API (CHANNELS.md 3.3; facebook-python-business-sdk adobjects/commerceorder.py,
commercemerchantsettings.py; https://developers.facebook.com/docs/commerce-platform/order-management):
GET /{cms_id}/commerce_orders?state=..&updated_after=<unix>&fields=.. (cursor paging),
GET /{order_id}/items, POST /{order_id}/acknowledge_order {idempotency_key, merchant_order_reference},
POST /{order_id}/shipments {items: [{retailer_id, quantity}], tracking_info: {tracking_number,
carrier, shipping_method_name}, idempotency_key}, POST /{order_id}/cancellations {cancel_reason:
{reason_code, reason_description}, restock_items, idempotency_key}, GET /{order_id}/cancellations.
Lifecycle: FB_PROCESSING → CREATED → (acknowledged) IN_PROGRESS → COMPLETED once every item is
shipped or cancelled. Money objects are {amount: "12.34", currency: "USD"} [M].
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from meta_connector.protocol.values import (
    AddressData,
    Amount,
    OrderData,
    OrderLineData,
    UnifiedStatus,
    read_amount,
)
from omnistock_common.egress import safe_code, safe_text

CREATED = "CREATED"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FB_PROCESSING = "FB_PROCESSING"

STATUS_MAP = {
    FB_PROCESSING: UnifiedStatus.PENDING,
    CREATED: UnifiedStatus.PAID,
    IN_PROGRESS: UnifiedStatus.PAID,
    COMPLETED: UnifiedStatus.SHIPPED,
}
# Meta's cancellation reason codes (commerceorder.py): we send one and a free text description.
CANCEL_REASON_CODE = "CUSTOMER_REQUESTED"


def bought_on(order: Mapping[str, Any], channel_type: str) -> bool:
    """Whether the order was placed on this connection's channel: one commerce account serves the
    Facebook and the Instagram shop, and its orders name where the buyer checked out (`channel`,
    CHANNELS.md 3.3's field list, the SDK's CommerceOrder). An order naming neither belongs to
    the Facebook connection, so no order is taken by both or by none."""
    channel = str(order.get("channel") or "").strip().lower()
    if channel_type == "instagram":
        return channel == "instagram"
    return channel != "instagram"


def order_state(order: Mapping[str, Any]) -> str:
    status = order.get("order_status")
    return str((status or {}).get("state") or "").upper() if isinstance(status, Mapping) else ""


def unified_status(state: str, *, cancelled: bool = False, refunded: bool = False) -> UnifiedStatus:
    """COMPLETED means every item was shipped or cancelled: all cancelled is CANCELLED; a refund
    reported by the caller wins over shipping."""
    if refunded:
        return UnifiedStatus.REFUNDED
    if cancelled:
        return UnifiedStatus.CANCELLED
    return STATUS_MAP.get(state, UnifiedStatus.PENDING)


def _money(value: Any) -> Amount | None:
    if not isinstance(value, Mapping):
        return None
    return read_amount(value.get("amount"), str(value.get("currency") or "").upper())


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value)
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _address(value: Any) -> AddressData | None:
    if not isinstance(value, Mapping):
        return None
    return AddressData(
        name=safe_text(str(value.get("name") or ""), 255),
        line1=safe_text(str(value.get("street1") or ""), 255),
        line2=safe_text(str(value.get("street2") or ""), 255),
        city=safe_text(str(value.get("city") or ""), 255),
        region=safe_text(str(value.get("state") or ""), 255),
        postal_code=safe_text(str(value.get("postal_code") or ""), 64),
        country_code=safe_code(str(value.get("country") or ""))[:2].upper(),
    )


def order_line(item: Mapping[str, Any]) -> OrderLineData:
    quantity = int(item.get("quantity") or 0)
    tax = item.get("tax_details") if isinstance(item.get("tax_details"), Mapping) else {}
    return OrderLineData(
        external_line_id=str(item.get("id") or ""),
        sku=safe_text(str(item.get("retailer_id") or ""), 255),
        quantity=quantity,
        title=safe_text(str(item.get("product_name") or ""), 255),
        unit_price=_money(item.get("price_per_unit")),
        tax=_money((tax or {}).get("estimated_tax")),
    )


def parse_order(
    order: Mapping[str, Any], items: Sequence[Mapping[str, Any]], *, cancelled: bool = False
) -> OrderData:
    state = order_state(order)
    payment = order.get("estimated_payment_details")
    payment = payment if isinstance(payment, Mapping) else {}
    subtotal = payment.get("subtotal") if isinstance(payment.get("subtotal"), Mapping) else {}
    buyer = order.get("buyer_details") if isinstance(order.get("buyer_details"), Mapping) else {}
    external_id = str(order.get("id") or "")
    return OrderData(
        external_id=external_id,
        external_name=safe_text(str(order.get("merchant_order_id") or external_id), 255),
        status=unified_status(state, cancelled=cancelled),
        raw_status=state,
        customer_email=safe_text(str(buyer.get("email") or ""), 255),
        customer_name=safe_text(str(buyer.get("name") or ""), 255),
        total=_money(payment.get("total_amount")),
        subtotal=_money(subtotal.get("items")),
        shipping_total=_money(subtotal.get("shipping")),
        tax_total=_money(payment.get("tax")),
        lines=tuple(order_line(i) for i in items),
        created_at=_time(order.get("created")),
        updated_at=_time(order.get("last_updated")),
        shipping_address=_address(order.get("shipping_address")),
        channel_status={"state": state, "channel": safe_code(str(order.get("channel") or ""))},
        raw_json=json.dumps({"order": order, "items": list(items)}, separators=(",", ":"), default=str),
    )


def fully_cancelled(items: Sequence[Mapping[str, Any]], cancellations: Sequence[Mapping[str, Any]]) -> bool:
    """Every unit of the order was cancelled (a COMPLETED order with nothing shipped)."""
    ordered = sum(int(i.get("quantity") or 0) for i in items)
    cancelled = 0
    for cancellation in cancellations:
        for item in (
            cancellation.get("items", {}).get("data", [])
            if isinstance(cancellation.get("items"), Mapping)
            else cancellation.get("items") or []
        ):
            if isinstance(item, Mapping):
                cancelled += int(item.get("quantity") or 0)
    return ordered > 0 and cancelled >= ordered


def idempotency_key(*parts: object) -> str:
    """A key that is the same for the same action on the same order, so a retry of a lost answer
    is not a second shipment/cancellation (Meta answers the first call's result again)."""
    digest = hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()
    return f"omnistock-{digest[:40]}"


def acknowledge_form(order_id: str, reference: str) -> dict[str, str]:
    return {"idempotency_key": idempotency_key("ack", order_id), "merchant_order_reference": reference}


def shipment_body(
    order_id: str, lines: Sequence[tuple[str, int]], *, carrier: str, tracking_number: str
) -> dict[str, Any]:
    """`lines` are (retailer_id, quantity); the carrier is Meta's carrier code when the merchant's
    carrier name is one (lower-case), else it is sent as given."""
    return {
        "items": [{"retailer_id": sku, "quantity": quantity} for sku, quantity in lines],
        "tracking_info": {
            "tracking_number": tracking_number,
            "carrier": carrier.strip().upper().replace(" ", "_") or "OTHER",
            "shipping_method_name": carrier or "Standard",
        },
        "idempotency_key": idempotency_key("ship", order_id, sorted(lines), tracking_number),
    }


def cancellation_body(order_id: str, reason: str) -> dict[str, Any]:
    return {
        "cancel_reason": {
            "reason_code": CANCEL_REASON_CODE,
            "reason_description": safe_text(reason or "Cancelled by the merchant", 255),
        },
        "restock_items": True,
        "idempotency_key": idempotency_key("cancel", order_id),
    }


def updated_after(since: datetime | None) -> str:
    return str(int(since.timestamp())) if since is not None else ""
