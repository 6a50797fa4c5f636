"""Inventory and price pushes: mutation inputs and per-item outcomes from the answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from omnistock_common.egress import safe_code
from shopify_connector.protocol.orders import decimal_string
from shopify_connector.protocol.values import Outcome, PriceInput


def inventory_set_input(quantities: Sequence[tuple[str, str, int]], *, reference: str) -> dict[str, Any]:
    """Variables for inventorySetQuantities: absolute "available" quantities.

    ignoreCompareQuantity: OmniStock is the source of truth and overwrites whatever the channel
    holds (reconciliation logs the drift), so no compare-and-set.
    """
    return {
        "input": {
            "name": "available",
            "reason": "correction",
            "referenceDocumentUri": reference,
            "ignoreCompareQuantity": True,
            "quantities": [
                {"inventoryItemId": item, "locationId": location, "quantity": int(qty)}
                for item, location, qty in quantities
            ],
        }
    }


def user_error_index(field: Any, container: str) -> int | None:
    """Index of the input element a userError points at: ["input","quantities","3",...] → 3."""
    if not isinstance(field, list):
        return None
    for position, part in enumerate(field):
        if part == container and position + 1 < len(field):
            try:
                return int(field[position + 1])
            except (TypeError, ValueError):
                return None
    return None


def error_message(error: Mapping[str, Any]) -> str:
    """A userError in fixed words: Shopify's error code (an enum such as INVALID_QUANTITY) when it
    has one. The free-text message is not passed on: whatever a remote server writes there must
    not reach a tenant (egress.py)."""
    code = safe_code(error.get("code"))
    return f"rejected by Shopify ({code})" if code else "rejected by Shopify"


def item_outcomes(
    count: int, user_errors: Sequence[Mapping[str, Any]], *, container: str, applied: bool
) -> list[tuple[Outcome, str]]:
    """(outcome, message) per input element from a bulk mutation's userErrors.

    Elements a userError points at are REJECTED (retrying the same value will not help). When
    the mutation applied nothing but the remaining elements were fine, they are RETRY so the
    next flush sends them without the bad ones. An error that names no element rejects them all.
    """
    errors_by_index: dict[int, list[str]] = {}
    general: list[str] = []
    for error in user_errors:
        index = user_error_index(error.get("field"), container)
        if index is not None and 0 <= index < count:
            errors_by_index.setdefault(index, []).append(error_message(error))
        else:
            general.append(error_message(error))
    results: list[tuple[Outcome, str]] = []
    for index in range(count):
        if index in errors_by_index:
            results.append((Outcome.REJECTED, "; ".join(errors_by_index[index])))
        elif general and not applied:
            results.append((Outcome.REJECTED, "; ".join(general)))
        elif applied:
            results.append((Outcome.APPLIED, ""))
        else:
            results.append((Outcome.RETRY, "not applied: another item in the same call was rejected"))
    return results


def price_problem(item: PriceInput, shop_currency: str) -> str | None:
    """Why this price cannot be sent to the shop (REJECTED before any call), or None."""
    if not item.ids.get("product_id") or not item.ids.get("variant_id"):
        return "no Shopify product_id/variant_id mapping for this SKU"
    if not item.price.currency:
        return "price has no currency"
    if shop_currency and item.price.currency != shop_currency:
        return f"price is in {item.price.currency} but the shop sells in {shop_currency}"
    if item.compare_at and item.compare_at.currency != item.price.currency:
        return "compare_at_price currency differs from price currency"
    return None


def variant_price_input(variant_id: str, item: PriceInput) -> dict[str, Any]:
    """The variant's price and compare-at price. No compare-at price is an explicit null, which
    clears the one a sale left (an omitted field would keep it: the sale's "was" price would stay
    struck through after the sale ended). ProductVariantsBulkInput.compareAtPrice is a nullable
    Money: https://shopify.dev/docs/api/admin-graphql/2025-04/input-objects/ProductVariantsBulkInput"""
    return {
        "id": variant_id,
        "price": decimal_string(item.price),
        "compareAtPrice": decimal_string(item.compare_at) if item.compare_at else None,
    }
