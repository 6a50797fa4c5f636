"""Orders from WooCommerce (status mapping, parsing) and fulfillment notes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from typing import Any

from omnistock_common.money import MoneyError, exponent, to_minor

log = logging.getLogger(__name__)


class UnifiedStatus(Enum):
    """The unified order statuses (connector.v1.OrderStatus), mirrored by name in the servicer."""

    UNSPECIFIED = "UNSPECIFIED"
    PENDING = "PENDING"
    PAID = "PAID"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


# Woo order status → unified status (CHANNELS.md 2.3). Every mapping answers "what should
# OmniStock do with the stock of this order?".
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


@dataclass(frozen=True)
class Amount:
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class OrderLineData:
    external_line_id: str
    sku: str
    quantity: int
    unit_price: Amount | None
    title: str


@dataclass(frozen=True)
class OrderData:
    external_id: str
    external_name: str
    status: UnifiedStatus
    raw_status: str
    customer_email: str
    total: Amount | None
    lines: tuple[OrderLineData, ...]
    created_at: datetime | None
    updated_at: datetime | None


def parse_woo_datetime(value: Any) -> datetime | None:
    """Woo dates are ISO 8601 without an offset; the *_gmt fields are UTC (CHANNELS.md 2.3)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_woo_datetime(value: datetime) -> str:
    """A UTC datetime as Woo's offset-less ISO 8601 (sent with dates_are_gmt=true)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat()


def _amount(value: Any, currency: str) -> Amount | None:
    """A Woo money value (a decimal string, or a JSON number on line prices) in minor units.

    Line `price` is a computed float that can carry more decimals than the currency (tax
    exclusive prices), so it is rounded half-up to the currency; order totals are exact strings.
    An unsupported currency or garbage value gives None: the order still imports without prices,
    which beats dropping an order.
    """
    if value is None or value == "" or not currency:
        return None
    try:
        digits = exponent(currency)
        quantum = Decimal(1).scaleb(-digits)
        rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
        return Amount(to_minor(rounded, currency), currency)
    except (MoneyError, InvalidOperation):
        log.warning("unparseable WooCommerce amount", extra={"currency": currency})
        return None


def _line(raw: Mapping[str, Any], currency: str) -> OrderLineData:
    quantity = int(raw.get("quantity") or 0)
    price: Any = raw.get("price")
    if price in (None, "") and quantity:
        subtotal = raw.get("subtotal")
        try:
            price = Decimal(str(subtotal)) / quantity if subtotal not in (None, "") else None
        except InvalidOperation:
            price = None
    return OrderLineData(
        external_line_id=str(raw.get("id", "")),
        sku=str(raw.get("sku") or ""),
        quantity=quantity,
        unit_price=_amount(price, currency),
        title=str(raw.get("name") or ""),
    )


def parse_order(raw: Mapping[str, Any]) -> OrderData:
    """One wc/v3 order resource (REST GET or webhook body) → order data."""
    currency = str(raw.get("currency") or "").upper()
    raw_status = str(raw.get("status") or "")
    billing = raw.get("billing") if isinstance(raw.get("billing"), Mapping) else {}
    number = raw.get("number") or raw.get("id") or ""
    lines = raw.get("line_items") if isinstance(raw.get("line_items"), list) else []
    return OrderData(
        external_id=str(raw.get("id", "")),
        external_name=f"#{number}" if number != "" else "",
        status=map_order_status(raw_status),
        raw_status=raw_status,
        customer_email=str(billing.get("email") or ""),
        total=_amount(raw.get("total"), currency),
        lines=tuple(_line(line, currency) for line in lines if isinstance(line, Mapping)),
        created_at=parse_woo_datetime(raw.get("date_created_gmt"))
        or parse_woo_datetime(raw.get("date_created")),
        updated_at=parse_woo_datetime(raw.get("date_modified_gmt"))
        or parse_woo_datetime(raw.get("date_modified")),
    )


# --------------------------------------------------------------------------------------------
# Fulfillment
# --------------------------------------------------------------------------------------------


def fulfillment_note(carrier: str, tracking_number: str, tracking_url: str, lines: Sequence[str] = ()) -> str:
    """The customer-visible order note carrying the tracking details.

    Woo core has no tracking fields (that needs a plugin, CHANNELS.md 2.3), so the note is the
    only place a customer sees them.
    """
    parts = ["Shipped"]
    if carrier:
        parts.append(f"via {carrier}")
    text = " ".join(parts) + "."
    if tracking_number:
        text += f" Tracking number: {tracking_number}."
    if tracking_url:
        text += f" Track it at {tracking_url}"
    if lines:
        text += " Items: " + ", ".join(lines) + "."
    return text.strip()


def covers_whole_order(order: Mapping[str, Any], shipped: Mapping[str, int]) -> bool:
    """True when `shipped` ({line id or sku: qty}) covers every line of the order.

    Woo has no partial shipment: completing an order tells the customer everything shipped, so a
    fulfillment of only some lines must not complete it.
    """
    for line in order.get("line_items") or []:
        if not isinstance(line, Mapping):
            continue
        needed = int(line.get("quantity") or 0)
        by_id = shipped.get(f"id:{line.get('id')}", 0)
        by_sku = shipped.get(f"sku:{line.get('sku')}", 0) if line.get("sku") else 0
        if max(by_id, by_sku) < needed:
            return False
    return True
