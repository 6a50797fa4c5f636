"""Orders from WooCommerce (parsing every ChannelOrder field), fulfillment notes and Shipment
Tracking items. The status table is status_map.py.

Field names are the REST API's order properties (https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties):
`status`, `currency`, `total`, `discount_total`, `shipping_total`, `total_tax`, `billing` {first_name,
last_name, email, ...}, `shipping` {first_name, last_name, company, address_1, address_2, city,
state, postcode, country, phone}, and per line item `subtotal` (before discounts), `total` (after
them), `total_tax`, `price`, `sku`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from omnistock_common.egress import safe_text
from omnistock_common.money import MoneyError, exponent, to_minor

# The order values are the connector kit's, shared by every connector (re-exported here).
from omnistock_connector_kit.values import AddressData as AddressData
from omnistock_connector_kit.values import Amount as Amount
from omnistock_connector_kit.values import OrderData as OrderData
from omnistock_connector_kit.values import OrderLineData as OrderLineData
from woocommerce_connector.protocol.status_map import UnifiedStatus as UnifiedStatus
from woocommerce_connector.protocol.status_map import map_order_status

log = logging.getLogger(__name__)


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


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _text(value: Any, limit: int = 255) -> str:
    return safe_text(value, limit) if value not in (None, "") else ""


def _line(raw: Mapping[str, Any], currency: str) -> OrderLineData:
    quantity = int(raw.get("quantity") or 0)
    price: Any = raw.get("price")
    subtotal, total = _decimal(raw.get("subtotal")), _decimal(raw.get("total"))
    if price in (None, "") and quantity and subtotal is not None:
        price = subtotal / quantity
    discount = subtotal - total if subtotal is not None and total is not None else None
    return OrderLineData(
        external_line_id=str(raw.get("id", "")),
        sku=str(raw.get("sku") or ""),
        quantity=quantity,
        unit_price=_amount(price, currency),
        title=_text(raw.get("name")),
        discount=_amount(discount, currency),
        tax=_amount(raw.get("total_tax"), currency),
    )


def _person(raw: Mapping[str, Any]) -> str:
    return " ".join(str(raw[k]).strip() for k in ("first_name", "last_name") if raw.get(k))


def parse_address(raw: Any) -> AddressData | None:
    """A Woo `shipping` (or `billing`) object; None when it names nobody and nowhere."""
    if not isinstance(raw, Mapping):
        return None
    address = AddressData(
        name=_text(_person(raw)),
        company=_text(raw.get("company")),
        line1=_text(raw.get("address_1")),
        line2=_text(raw.get("address_2")),
        city=_text(raw.get("city")),
        region=_text(raw.get("state")),
        postal_code=_text(raw.get("postcode")),
        country_code=_text(raw.get("country")),
        phone=_text(raw.get("phone")),
    )
    return address if address != AddressData() else None


def parse_order(raw: Mapping[str, Any], raw_json: str = "") -> OrderData:
    """One wc/v3 order resource (REST GET or webhook body) → order data; `raw_json` is the body
    exactly as received when there is one (webhooks), else the resource is serialised."""
    currency = str(raw.get("currency") or "").upper()
    raw_status = str(raw.get("status") or "")
    billing = raw.get("billing") if isinstance(raw.get("billing"), Mapping) else {}
    number = raw.get("number") or raw.get("id") or ""
    lines_raw = raw.get("line_items") if isinstance(raw.get("line_items"), list) else []
    lines = tuple(_line(line, currency) for line in lines_raw if isinstance(line, Mapping))
    totals = [_decimal(line.get("total")) for line in lines_raw if isinstance(line, Mapping)]
    shipping = parse_address(raw.get("shipping"))
    return OrderData(
        external_id=str(raw.get("id", "")),
        external_name=f"#{number}" if number != "" else "",
        status=map_order_status(raw_status),
        raw_status=raw_status,
        customer_email=_text(billing.get("email")),
        total=_amount(raw.get("total"), currency),
        lines=lines,
        created_at=parse_woo_datetime(raw.get("date_created_gmt"))
        or parse_woo_datetime(raw.get("date_created")),
        updated_at=parse_woo_datetime(raw.get("date_modified_gmt"))
        or parse_woo_datetime(raw.get("date_modified")),
        customer_name=_text(_person(billing)) or (shipping.name if shipping else ""),
        shipping_address=shipping,
        subtotal=_amount(sum(totals, Decimal(0)), currency) if None not in totals else None,
        discount_total=_amount(raw.get("discount_total"), currency),
        shipping_total=_amount(raw.get("shipping_total"), currency),
        tax_total=_amount(raw.get("total_tax"), currency),
        channel_status={"status": raw_status.strip().lower().removeprefix("wc-")},
        raw_json=raw_json or json.dumps(raw, separators=(",", ":")),
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


# --------------------------------------------------------------------------------------------
# Shipment Tracking (WooCommerce.com's extension; core has no tracking fields)
# --------------------------------------------------------------------------------------------

# Its REST namespace sits beside wc/v3 under the site's /wp-json/:
# POST|GET /wp-json/wc-shipment-tracking/v3/orders/<order_id>/shipment-trackings
# (https://woocommerce.com/document/shipment-tracking/shipment-tracking-rest-api-create-tracking-item/).
SHIPMENT_TRACKING_PATH = "wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings"


def tracking_item_body(
    carrier: str, tracking_number: str, tracking_url: str, shipped_on: str
) -> dict[str, str]:
    """A tracking item. With a tracking URL the carrier is a custom provider
    (`custom_tracking_provider` + `custom_tracking_link`, both required then); without one it is
    named as a predefined provider (`tracking_provider`). `date_shipped` is YYYY-MM-DD."""
    body = {"tracking_number": tracking_number, "date_shipped": shipped_on}
    if tracking_url:
        body["custom_tracking_provider"] = carrier or "Carrier"
        body["custom_tracking_link"] = tracking_url
    elif carrier:
        body["tracking_provider"] = carrier
    return body


def existing_tracking_id(items: Any, tracking_number: str) -> str:
    """The `tracking_id` of an item already carrying `tracking_number` (a retried fulfillment whose
    first attempt went through), else ""."""
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and item.get("tracking_number") == tracking_number:
            return str(item.get("tracking_id") or "")
    return ""
