"""The WooCommerce REST API (wc/v3) wire protocol as pure functions: no I/O, no gRPC.

Everything that can be decided without talking to the store lives here (batch planning, request
bodies, response parsing, status mapping, webhook verification, cursors), so it is unit-tested
exhaustively and client.py is only "send this, hand the answer back here".

Reference: ../shared/channels/CHANNELS.md section 2 (WooCommerce REST API, wc/v3).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from typing import Any
from urllib.parse import parse_qs, urlparse

from omnistock_common.money import MoneyError, exponent, from_minor, to_minor

log = logging.getLogger(__name__)

# The REST namespace every path below is relative to (https://store/wp-json/wc/v3/).
API_VERSION = "wc/v3"
# WooCommerce's batch endpoints accept at most 100 objects per request (create+update+delete);
# more is a 400 for the whole request (CHANNELS.md 2.2).
MAX_BATCH = 100
# WordPress core caps per_page at 100 for every collection (CHANNELS.md 2.3).
MAX_PER_PAGE = 100

SIGNATURE_HEADER = "x-wc-webhook-signature"
DELIVERY_HEADER = "x-wc-webhook-delivery-id"
TOPIC_HEADER = "x-wc-webhook-topic"
WEBHOOK_ID_HEADER = "x-wc-webhook-id"
# Also set by WC_Webhook::deliver() on every delivery (woocommerce/woocommerce,
# plugins/woocommerce/includes/class-wc-webhook.php): Source = home_url('/'), Resource and Event
# are the two halves of the topic. None of them is signed; only the body is.
SOURCE_HEADER = "x-wc-webhook-source"
RESOURCE_HEADER = "x-wc-webhook-resource"
EVENT_HEADER = "x-wc-webhook-event"


class ProtocolError(ValueError):
    """Input the connector cannot turn into a WooCommerce request (bad ids, bad cursor)."""


class Outcome(Enum):
    """Per-item outcome, mirrored 1:1 onto connector.v1.ItemOutcome by the servicer."""

    APPLIED = "applied"
    RETRY = "retry"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ItemOutcome:
    sku: str
    outcome: Outcome
    message: str = ""


# --------------------------------------------------------------------------------------------
# Remote ids
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WooTarget:
    """Where one SKU lives in the store: a simple product, or a variation under its parent."""

    product_id: int
    variation_id: int | None = None

    @property
    def is_variation(self) -> bool:
        return self.variation_id is not None


def parse_target(ids: Mapping[str, str]) -> WooTarget:
    """Turn listing-mapping ids ({product_id, variation_id?}) into a target.

    A variation must be addressed through its parent (`products/<parent>/variations/...`), so a
    variation_id without a product_id is unusable and rejected rather than guessed.
    """
    product_raw = (ids.get("product_id") or "").strip()
    variation_raw = (ids.get("variation_id") or "").strip()
    if not product_raw:
        raise ProtocolError("no WooCommerce product_id mapped for this SKU")
    product_id = _positive_int(product_raw, "product_id")
    if not variation_raw or variation_raw == "0":
        # Woo reports variation_id 0 on line items of simple products; treat it as absent.
        return WooTarget(product_id)
    return WooTarget(product_id, _positive_int(variation_raw, "variation_id"))


def _positive_int(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ProtocolError(f"{name} {raw!r} is not a WooCommerce id (integer expected)") from None
    if value <= 0:
        raise ProtocolError(f"{name} {raw!r} is not a WooCommerce id (positive integer expected)")
    return value


def remote_ids(product_id: Any, variation_id: Any = None) -> dict[str, str]:
    """Listing-mapping ids as strings, the shape RemoteIds.ids carries."""
    ids = {"product_id": str(product_id)}
    if variation_id not in (None, 0, "0", ""):
        ids["variation_id"] = str(variation_id)
    return ids


# --------------------------------------------------------------------------------------------
# Batch planning (inventory and prices)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchUpdate:
    """One update object of a batch call and the SKU it belongs to."""

    sku: str
    body: dict[str, Any]


@dataclass(frozen=True)
class BatchCall:
    """One `POST .../batch` request: the path and its update items, in request order."""

    path: str
    updates: tuple[BatchUpdate, ...]

    @property
    def body(self) -> dict[str, Any]:
        return {"update": [u.body for u in self.updates]}

    @property
    def skus(self) -> list[str]:
        return [u.sku for u in self.updates]


@dataclass
class BatchPlan:
    """The calls to make plus the items refused before any call (no ids, bad values)."""

    calls: list[BatchCall] = field(default_factory=list)
    rejected: list[ItemOutcome] = field(default_factory=list)


def _chunks(items: Sequence[BatchUpdate], size: int) -> Iterator[tuple[BatchUpdate, ...]]:
    for start in range(0, len(items), size):
        yield tuple(items[start : start + size])


def plan_batches(
    entries: Iterable[tuple[str, WooTarget, dict[str, Any]]], *, batch_size: int = MAX_BATCH
) -> list[BatchCall]:
    """Group (sku, target, fields) into batch calls of at most `batch_size` updates.

    Simple products share `products/batch`; variations can only be updated through their parent's
    `products/<parent>/variations/batch`, so they are grouped per parent. Each group is then cut
    into chunks because Woo refuses a batch of more than 100 objects outright.
    """
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be within 1..{MAX_BATCH}")
    simple: list[BatchUpdate] = []
    by_parent: dict[int, list[BatchUpdate]] = {}
    for sku, target, fields in entries:
        if target.variation_id is None:
            simple.append(BatchUpdate(sku, {"id": target.product_id, **fields}))
        else:
            by_parent.setdefault(target.product_id, []).append(
                BatchUpdate(sku, {"id": target.variation_id, **fields})
            )
    calls = [BatchCall("products/batch", chunk) for chunk in _chunks(simple, batch_size)]
    for parent, updates in by_parent.items():
        calls.extend(
            BatchCall(f"products/{parent}/variations/batch", chunk) for chunk in _chunks(updates, batch_size)
        )
    return calls


def stock_fields(quantity: int) -> dict[str, Any]:
    """The stock update of one product/variation.

    manage_stock is sent every time: a product whose stock Woo does not manage ignores
    stock_quantity silently, which would look like success while the shop keeps selling.
    A negative OmniStock figure (oversold) is sent as 0: the channel must show "none left",
    and a negative Woo stock would read as a backorder count.
    """
    return {"manage_stock": True, "stock_quantity": max(0, int(quantity))}


def plan_inventory(items: Iterable[tuple[str, int, Mapping[str, str]]]) -> BatchPlan:
    """(sku, quantity, remote ids) → batch calls; unmapped SKUs are rejected, not skipped."""
    plan = BatchPlan()
    entries = []
    for sku, quantity, ids in items:
        try:
            target = parse_target(ids)
        except ProtocolError as exc:
            plan.rejected.append(ItemOutcome(sku, Outcome.REJECTED, str(exc)))
            continue
        entries.append((sku, target, stock_fields(quantity)))
    plan.calls = plan_batches(entries)
    return plan


@dataclass(frozen=True)
class PriceInput:
    sku: str
    amount_minor: int
    currency: str
    compare_at_minor: int | None
    compare_at_currency: str
    ids: Mapping[str, str]


def price_fields(item: PriceInput, store_currency: str) -> dict[str, Any]:
    """regular_price/sale_price decimal strings for one item.

    Woo has one currency per store and stores prices as decimal strings. OmniStock's
    compare_at_price (the "was" price) is Woo's regular_price when it is higher than the selling
    price, which then goes to sale_price; otherwise the price is the regular_price and sale_price
    is cleared so an old sale does not keep undercutting the new price.
    """
    if not item.currency:
        raise ProtocolError("price has no currency")
    if store_currency and item.currency != store_currency:
        raise ProtocolError(
            f"price currency {item.currency} differs from the store currency {store_currency}"
        )
    if item.amount_minor < 0:
        raise ProtocolError("price must not be negative")
    try:
        price = from_minor(item.amount_minor, item.currency)
        if item.compare_at_minor is not None and item.compare_at_minor > item.amount_minor:
            if item.compare_at_currency and item.compare_at_currency != item.currency:
                raise ProtocolError("compare_at_price currency differs from the price currency")
            return {
                "regular_price": from_minor(item.compare_at_minor, item.currency),
                "sale_price": price,
            }
    except MoneyError as exc:
        raise ProtocolError(str(exc)) from None
    return {"regular_price": price, "sale_price": ""}


def plan_prices(items: Iterable[PriceInput], store_currency: str = "") -> BatchPlan:
    plan = BatchPlan()
    entries = []
    for item in items:
        try:
            target = parse_target(item.ids)
            fields = price_fields(item, store_currency)
        except ProtocolError as exc:
            plan.rejected.append(ItemOutcome(item.sku, Outcome.REJECTED, str(exc)))
            continue
        entries.append((item.sku, target, fields))
    plan.calls = plan_batches(entries)
    return plan


def _item_error_outcome(error: Mapping[str, Any]) -> Outcome:
    """A failed batch item is retried only when Woo says the failure was on its side."""
    data = error.get("data")
    status = data.get("status") if isinstance(data, Mapping) else None
    if isinstance(status, int) and (status == 429 or status >= 500):
        return Outcome.RETRY
    return Outcome.REJECTED


def _error_message(error: Mapping[str, Any]) -> str:
    code = str(error.get("code") or "error")
    message = str(error.get("message") or "")
    return f"{code}: {message}" if message else code


def parse_batch_response(call: BatchCall, payload: Any) -> list[ItemOutcome]:
    """Per-item results of a batch call from the response's `update` array.

    Woo answers item by item in request order; a failed item carries an `error` object
    ({code, message, data:{status}}) instead of the resource. Results are matched by position
    and cross-checked by id; an item Woo did not answer for is RETRY, never assumed applied.
    """
    answered = payload.get("update") if isinstance(payload, Mapping) else None
    answers: list[Any] = list(answered) if isinstance(answered, list) else []
    by_id: dict[str, Mapping[str, Any]] = {}
    for answer in answers:
        if isinstance(answer, Mapping) and "id" in answer:
            by_id.setdefault(str(answer["id"]), answer)
    results = []
    for index, update in enumerate(call.updates):
        wanted = str(update.body["id"])
        answer: Any = answers[index] if index < len(answers) else None
        if not (isinstance(answer, Mapping) and str(answer.get("id")) == wanted):
            answer = by_id.get(wanted)
        if answer is None:
            results.append(ItemOutcome(update.sku, Outcome.RETRY, "WooCommerce did not report on this item"))
            continue
        error = answer.get("error")
        if isinstance(error, Mapping):
            results.append(ItemOutcome(update.sku, _item_error_outcome(error), _error_message(error)))
        else:
            results.append(ItemOutcome(update.sku, Outcome.APPLIED))
    return results


def error_message(payload: Any, default: str) -> str:
    """Woo's `{code, message, data}` error body as one line, for results and exceptions."""
    if isinstance(payload, Mapping) and (payload.get("code") or payload.get("message")):
        return _error_message(payload)
    return default


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------


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
# Paging cursors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrdersCursor:
    """Where FetchOrders continues: the modified_after bound, the page under it, the page size.

    per_page travels in the cursor because page N only means the same offset at the same size.
    """

    since: datetime
    page: int = 1
    per_page: int = MAX_PER_PAGE


def _encode(payload: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _decode(cursor: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ProtocolError("cursor is not a cursor this connector issued") from None
    if not isinstance(payload, dict):
        raise ProtocolError("cursor is not a cursor this connector issued")
    return payload


def encode_orders_cursor(cursor: OrdersCursor) -> str:
    return _encode(
        {"v": 1, "since": format_woo_datetime(cursor.since), "page": cursor.page, "pp": cursor.per_page}
    )


def decode_orders_cursor(cursor: str) -> OrdersCursor:
    payload = _decode(cursor)
    since = parse_woo_datetime(payload.get("since"))
    page, per_page = payload.get("page"), payload.get("pp")
    if (
        payload.get("v") != 1
        or since is None
        or not isinstance(page, int)
        or not isinstance(per_page, int)
        or page < 1
        or not 1 <= per_page <= MAX_PER_PAGE
    ):
        raise ProtocolError("cursor is not a cursor this connector issued")
    return OrdersCursor(since, page, per_page)


def page_size(limit: int) -> int:
    """The requested limit clamped to Woo's 1..100 (0 = the maximum: fewer calls)."""
    return MAX_PER_PAGE if limit <= 0 else min(limit, MAX_PER_PAGE)


def orders_query(cursor: OrdersCursor) -> dict[str, str]:
    """Query of `GET orders` for one page, oldest modification first.

    dates_are_gmt makes Woo read modified_after as UTC instead of the store's timezone.
    """
    return {
        "modified_after": format_woo_datetime(cursor.since),
        "dates_are_gmt": "true",
        "orderby": "modified",
        "order": "asc",
        "per_page": str(cursor.per_page),
        "page": str(cursor.page),
    }


def total_pages(headers: Mapping[str, str]) -> int:
    """X-WP-TotalPages (0 when absent or garbage: then there is no known next page)."""
    raw = headers.get("x-wp-totalpages") or headers.get("X-WP-TotalPages") or ""
    try:
        return max(0, int(raw))
    except ValueError:
        return 0


def next_orders_cursor(cursor: OrdersCursor, pages: int, orders: Sequence[OrderData]) -> OrdersCursor | None:
    """The cursor after one page, or None when this was the last page.

    Page numbers are offsets: if an order on an earlier page is modified while we page, it jumps
    to the end and every later order shifts one place left, so plain page+1 would skip one.
    Whenever the page moved time forward, the next page therefore restarts at page 1 from just
    before the newest modification seen (one second earlier, because modified_after is strict and
    Woo dates have whole seconds). That re-delivers the orders of that last second (callers import
    by external id, so duplicates are harmless) but never skips one. Only when a whole page shares
    the same second does it fall back to page+1, the one case where restarting could not progress.
    """
    if cursor.page >= pages or not orders:
        return None
    stamps = [o.updated_at for o in orders if o.updated_at is not None]
    if stamps:
        restart = max(stamps) - timedelta(seconds=1)
        if restart > cursor.since:
            return OrdersCursor(restart, 1, cursor.per_page)
    return OrdersCursor(cursor.since, cursor.page + 1, cursor.per_page)


@dataclass(frozen=True)
class ProductsCursor:
    page: int = 1
    per_page: int = MAX_PER_PAGE


def encode_products_cursor(cursor: ProductsCursor) -> str:
    return _encode({"v": 1, "page": cursor.page, "pp": cursor.per_page})


def decode_products_cursor(cursor: str) -> ProductsCursor:
    payload = _decode(cursor)
    page, per_page = payload.get("page"), payload.get("pp")
    if (
        payload.get("v") != 1
        or not isinstance(page, int)
        or not isinstance(per_page, int)
        or page < 1
        or not 1 <= per_page <= MAX_PER_PAGE
    ):
        raise ProtocolError("cursor is not a cursor this connector issued")
    return ProductsCursor(page, per_page)


# --------------------------------------------------------------------------------------------
# Catalogue and stock read-back
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteProductData:
    sku: str
    title: str
    ids: dict[str, str]
    quantity: int


def stock_of(resource: Mapping[str, Any]) -> int:
    """stock_quantity of a product/variation; null (stock not managed) reads as 0."""
    raw = resource.get("stock_quantity")
    try:
        return int(raw) if raw is not None else 0
    except (TypeError, ValueError):
        return 0


def is_variable(product: Mapping[str, Any]) -> bool:
    """Variable products sell through their variations; the parent itself is not a stock unit."""
    variations = product.get("variations")
    return product.get("type") == "variable" or (isinstance(variations, list) and bool(variations))


def simple_remote_product(product: Mapping[str, Any]) -> RemoteProductData:
    return RemoteProductData(
        sku=str(product.get("sku") or ""),
        title=str(product.get("name") or ""),
        ids=remote_ids(product.get("id")),
        quantity=stock_of(product),
    )


def variation_remote_product(parent: Mapping[str, Any], variation: Mapping[str, Any]) -> RemoteProductData:
    """A variation's title is its parent's name plus its attribute options ("Tee - Red, M")."""
    options = [
        str(a.get("option"))
        for a in variation.get("attributes") or []
        if isinstance(a, Mapping) and a.get("option")
    ]
    title = str(variation.get("name") or parent.get("name") or "")
    if options and not variation.get("name"):
        title = f"{title} - {', '.join(options)}"
    return RemoteProductData(
        sku=str(variation.get("sku") or ""),
        title=title,
        ids=remote_ids(parent.get("id"), variation.get("id")),
        quantity=stock_of(variation),
    )


def group_for_read(
    items: Iterable[tuple[str, Mapping[str, str]]],
) -> tuple[dict[int, list[str]], dict[int, dict[int, list[str]]], list[str]]:
    """Split read-back items into {product_id: skus}, {parent: {variation_id: skus}}, unmapped skus."""
    simple: dict[int, list[str]] = {}
    variations: dict[int, dict[int, list[str]]] = {}
    unmapped: list[str] = []
    for sku, ids in items:
        try:
            target = parse_target(ids)
        except ProtocolError:
            unmapped.append(sku)
            continue
        if target.variation_id is None:
            simple.setdefault(target.product_id, []).append(sku)
        else:
            variations.setdefault(target.product_id, {}).setdefault(target.variation_id, []).append(sku)
    return simple, variations, unmapped


def id_chunks(ids: Iterable[int], size: int = MAX_PER_PAGE) -> Iterator[list[int]]:
    """Ids for `include=` queries, at most one page's worth each so one GET answers them all."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


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
# Webhooks
# --------------------------------------------------------------------------------------------


class WebhookKind(Enum):
    ORDER = "ORDER"
    PRODUCT = "PRODUCT"
    INVENTORY = "INVENTORY"
    PING = "PING"
    OTHER = "OTHER"


class WebhookRefused(ValueError):
    """The delivery is not one this connection's store sent us: refuse it (UNAUTHENTICATED)."""


class SignatureError(WebhookRefused):
    """The webhook's signature is missing or does not match."""


# Topics OmniStock subscribes a store to and knows how to read (CHANNELS.md 2.4); a delivery on any
# other topic is refused. A connection may narrow the set with the setting `webhook_topics`.
SUBSCRIBED_TOPICS = frozenset(
    {
        "order.created",
        "order.updated",
        "order.deleted",
        "order.restored",
        "product.created",
        "product.updated",
        "product.deleted",
        "product.restored",
        "action.woocommerce_product_set_stock",
        "action.woocommerce_variation_set_stock",
    }
)


def subscribed_topics(setting: str) -> frozenset[str]:
    """The topics this connection accepts: SUBSCRIBED_TOPICS, narrowed by its `webhook_topics`."""
    chosen = {t.strip().lower() for t in setting.split(",") if t.strip()}
    return SUBSCRIBED_TOPICS & chosen if chosen else SUBSCRIBED_TOPICS


def store_url_of(settings: Mapping[str, str]) -> str:
    """The store's own URL: `store_url`, else `api_base_url` without its /wp-json/wc/v3 tail."""
    if store := settings.get("store_url", "").strip():
        return store
    base = settings.get("api_base_url", "").strip().rstrip("/")
    suffix = "/wp-json/" + API_VERSION
    return base[: -len(suffix)] if base.endswith(suffix) else base


def _site(url: str) -> tuple[str, int | None, str] | None:
    """(host, non-default port, path) of a site URL; the scheme is left out because a WordPress
    behind a TLS proxy may report http:// for an https:// store. None when unreadable."""
    try:
        parsed = urlparse(url.strip())
        port = parsed.port
    except ValueError:
        return None
    if not parsed.hostname:
        return None
    if port == {"http": 80, "https": 443}.get(parsed.scheme):
        port = None
    return parsed.hostname.lower(), port, parsed.path.rstrip("/")


def same_store(source: str, store_url: str) -> bool:
    """Is X-WC-Webhook-Source (home_url('/')) the connection's store?"""
    theirs, ours = _site(source), _site(store_url)
    return theirs is not None and theirs == ours


def _positive_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return isinstance(value, str) and value.isdigit() and int(value) > 0


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def payload_problem(topic: str, payload: Any) -> str | None:
    """Does the signed body look like what `topic` carries (the topic header itself is unsigned)?
    Deleted resources carry only {id}; action topics carry {action, arg} (WC_Webhook::build_payload)."""
    if not isinstance(payload, Mapping):
        return "the body is not a JSON object"
    resource, _, event = topic.partition(".")
    if resource == "action":
        return None if payload.get("action") == event else "the body is not this action's payload"
    if not _positive_id(payload.get("id")):
        return f"the body has no {resource} id"
    if resource == "order" and event != "deleted":
        lines = payload.get("line_items")
        if not isinstance(lines, list) or not all(
            isinstance(line, Mapping) and _count(line.get("quantity")) for line in lines
        ):
            return "the body is not an order (line_items with quantities)"
    return None


@dataclass(frozen=True)
class WebhookData:
    delivery_id: str
    topic: str
    kind: WebhookKind
    orders: tuple[OrderData, ...] = ()


def sign(secret: str, body: bytes) -> str:
    """X-WC-Webhook-Signature: base64(HMAC-SHA256(secret, raw body)) (CHANNELS.md 2.4)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_signature(secret: str, body: bytes, signature: str) -> bool:
    """Constant-time check of the signature over the raw bytes.

    Woo signs with the HTML-entity-decoded secret (wp_specialchars_decode), so a secret stored
    with entities ("a&amp;b") is also tried decoded; both comparisons always run.
    """
    if not secret or not signature:
        return False
    candidates = {secret, html.unescape(secret)}
    matches = [hmac.compare_digest(sign(c, body).encode(), signature.strip().encode()) for c in candidates]
    return any(matches)


def ping_webhook_id(body: bytes) -> str | None:
    """The webhook id of Woo's creation ping (form body `webhook_id=<n>`), else None."""
    try:
        text = body.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    parsed = parse_qs(text, keep_blank_values=True, strict_parsing=False)
    values = parsed.get("webhook_id")
    if set(parsed) != {"webhook_id"} or not values or len(values) != 1 or not values[0].isdigit():
        return None
    return values[0]


def webhook_kind(topic: str) -> WebhookKind:
    resource = topic.split(".", 1)[0]
    if resource == "order":
        return WebhookKind.ORDER
    if resource == "product":
        return WebhookKind.PRODUCT
    if resource == "action" and "stock" in topic:
        return WebhookKind.INVENTORY
    return WebhookKind.OTHER


def parse_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    store_url: str,
    topics: frozenset[str] = SUBSCRIBED_TOPICS,
) -> WebhookData:
    """Verify, then parse one delivery (header names lower-case).

    The unsigned creation ping is the only unsigned body accepted: it carries nothing but a
    webhook id, and Woo refuses to activate a webhook whose ping is not answered 2xx. Any other
    body without a valid signature raises SignatureError before the JSON is even parsed. A signed
    delivery must then come from the connection's store (X-WC-Webhook-Source), on a topic we
    subscribe to whose resource/event headers agree with it, with a body of that topic's shape;
    otherwise WebhookRefused. WooCommerce sends no delivery timestamp, so there is no age check.
    """
    signature = headers.get(SIGNATURE_HEADER, "")
    if not signature:
        webhook_id = ping_webhook_id(body)
        if webhook_id is not None:
            return WebhookData(delivery_id=f"ping:{webhook_id}", topic="ping", kind=WebhookKind.PING)
        raise SignatureError("missing X-WC-Webhook-Signature")
    if not verify_signature(secret, body, signature):
        raise SignatureError("X-WC-Webhook-Signature does not match the body")
    if not store_url or not same_store(headers.get(SOURCE_HEADER, ""), store_url):
        raise WebhookRefused("X-WC-Webhook-Source is not the connection's store")
    topic = headers.get(TOPIC_HEADER, "").strip().lower()
    if topic not in topics:
        raise WebhookRefused(f"topic {topic[:64]!r} is not one this connection subscribed to")
    resource = headers.get(RESOURCE_HEADER, "").strip().lower()
    event = headers.get(EVENT_HEADER, "").strip().lower()
    if f"{resource}.{event}" != topic:
        raise WebhookRefused("X-WC-Webhook-Resource/Event do not match X-WC-Webhook-Topic")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused("the body is not JSON") from None
    if problem := payload_problem(topic, payload):
        raise WebhookRefused(problem)
    delivery_id = headers.get(DELIVERY_HEADER, "").strip()
    if not delivery_id:
        # No delivery id to dedupe on: fall back to a digest of what was signed, so the same
        # bytes delivered twice still dedupe.
        delivery_id = "sha256:" + hashlib.sha256(body).hexdigest()
    kind = webhook_kind(topic)
    orders: tuple[OrderData, ...] = ()
    if kind is WebhookKind.ORDER:
        order = parse_order(payload)
        if topic == "order.deleted" and not order.raw_status:
            # Deletion sends only {id}: the order is gone from the shop, so its stock is free.
            order = replace(order, status=UnifiedStatus.CANCELLED, raw_status="deleted")
        orders = (order,)
    return WebhookData(delivery_id=delivery_id, topic=topic, kind=kind, orders=orders)
