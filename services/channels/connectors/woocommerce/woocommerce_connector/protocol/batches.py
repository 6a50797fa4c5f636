"""Batch planning for inventory and price pushes, and per-item results of batch answers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from omnistock_common.egress import safe_code
from omnistock_common.money import MoneyError, from_minor
from omnistock_connector_kit.values import Amount, read_amount
from omnistock_connector_kit.values import RemotePrice as RemotePrice
from woocommerce_connector.protocol.api import (
    MAX_BATCH,
    ItemOutcome,
    Outcome,
    ProtocolError,
    WooTarget,
    parse_target,
)


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


def prices_of(item: Mapping[str, Any], currency: str) -> tuple[Amount | None, Amount | None]:
    """(price, compare-at price) a product or variation shows, the inverse of price_fields: on
    sale, `sale_price` with `regular_price` as the "was" price; else `regular_price` alone. Both
    are decimal strings in the store's currency (product and variation properties,
    https://woocommerce.github.io/woocommerce-rest-api-docs/#product-properties and
    #product-variation-properties)."""
    sale = read_amount(item.get("sale_price"), currency)
    regular = read_amount(item.get("regular_price"), currency)
    if sale is not None:
        return sale, regular
    return regular, None


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
    """Woo's error in fixed words: its `code` (woocommerce_rest_...) when it looks like one.
    The free-text `message` is not passed on: remote text never reaches a tenant (egress.py)."""
    code = safe_code(error.get("code"))
    return f"rejected by WooCommerce ({code})" if code else "rejected by WooCommerce"


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
    """Woo's `{code, message, data}` error body as one line (its code only), for results and
    exceptions."""
    if isinstance(payload, Mapping) and (payload.get("code") or payload.get("message")):
        return _error_message(payload)
    return default
