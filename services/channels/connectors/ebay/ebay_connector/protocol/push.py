"""bulkUpdatePriceQuantity bodies and per-item outcomes (CHANNELS.md 6.2; Inventory contract
1.13.0, BulkPriceQuantity / PriceQuantity / BulkPriceQuantityResponse,
https://developer.ebay.com/api-docs/sell/inventory/resources/inventory_item/methods/bulkUpdatePriceQuantity).

Request: {"requests": [{sku, shipToLocationAvailability{quantity}, offers[{offerId,
availableQuantity, price{value, currency}}]}]}, at most 25 entries. Answer 200 (all applied) or 207
(mixed) with `responses[]` {statusCode, sku, offerId, errors[], warnings[]}; 400 for a malformed
call (e.g. more than 25 entries).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ebay_connector.protocol.values import InventoryInput, Outcome, PriceInput, offer_id
from omnistock_common.egress import safe_text
from omnistock_common.money import from_minor


def quantity_request(item: InventoryInput) -> dict[str, Any]:
    """The SKU's ship-to-home quantity and, when the offer is known, its availableQuantity (the
    listing shows the lower of both). Below zero is "none" to a channel."""
    quantity = max(0, item.quantity)
    entry: dict[str, Any] = {"sku": item.sku, "shipToLocationAvailability": {"quantity": quantity}}
    if offer_id(item):
        entry["offers"] = [{"offerId": offer_id(item), "availableQuantity": quantity}]
    return entry


def price_request(item: PriceInput) -> dict[str, Any]:
    """A price goes on the offer only (`sku` is needed with shipToLocationAvailability only)."""
    value = from_minor(item.price.amount_minor, item.price.currency)
    return {
        "offers": [
            {"offerId": offer_id(item), "price": {"value": str(value), "currency": item.price.currency}}
        ]
    }


def bulk_body(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"requests": list(entries)}


def _errors_text(entry: Mapping[str, Any]) -> str:
    parts = []
    for error in entry.get("errors") or []:
        if isinstance(error, Mapping):
            code = error.get("errorId", "")
            message = error.get("longMessage") or error.get("message") or ""
            parts.append(f"{code} {message}".strip())
    return safe_text("; ".join(parts), 500)


def is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def item_outcome(responses: Sequence[Any], *, sku: str, offer_id: str) -> tuple[Outcome, str]:
    """One pushed entry's outcome from the answer's `responses[]`: its entries match by offerId
    (price/quantity of an offer) or by SKU (the ship-to quantity). Any failing entry fails the
    item: REJECTED with eBay's words, or RETRY when eBay's status says try later (429/5xx). No
    matching entry at all → RETRY (eBay said nothing about it)."""
    mine = [
        r
        for r in responses
        if isinstance(r, Mapping)
        and ((offer_id and str(r.get("offerId") or "") == offer_id) or (sku and r.get("sku") == sku))
    ]
    if not mine:
        return Outcome.RETRY, "eBay's answer did not mention this item"
    for entry in mine:
        try:
            status = int(entry.get("statusCode") or 0)
        except (TypeError, ValueError):
            status = 0
        if status and 200 <= status < 300 and not entry.get("errors"):
            continue
        text = _errors_text(entry) or f"HTTP {status}"
        if is_retryable_status(status) or is_revision_cap_error(entry):
            return Outcome.RETRY, text
        return Outcome.REJECTED, text
    return Outcome.APPLIED, ""


# The per-listing daily revision cap, as a per-item error. eBay's REST error id for it is not in
# the contracts we could read; we recognise it by its words (the sandbox answers the same words).
REVISION_CAP_WORDS = ("revised up to 250 times", "revision limit", "250 times")


def is_revision_cap_error(entry: Mapping[str, Any]) -> bool:
    text = _errors_text(entry).lower()
    return any(w in text for w in REVISION_CAP_WORDS)
