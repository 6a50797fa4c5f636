"""Inventory and price pushes: mutation inputs and per-item outcomes from the answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.egress import safe_code
from shopify_connector.protocol.orders import decimal_string


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
) -> list[tuple[int, str]]:
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
    results: list[tuple[int, str]] = []
    for index in range(count):
        if index in errors_by_index:
            results.append((pb.ITEM_OUTCOME_REJECTED, "; ".join(errors_by_index[index])))
        elif general and not applied:
            results.append((pb.ITEM_OUTCOME_REJECTED, "; ".join(general)))
        elif applied:
            results.append((pb.ITEM_OUTCOME_APPLIED, ""))
        else:
            results.append((pb.ITEM_OUTCOME_RETRY, "not applied: another item in the same call was rejected"))
    return results


def variant_price_input(variant_id: str, item: pb.PriceItem) -> dict[str, Any]:
    variant: dict[str, Any] = {"id": variant_id, "price": decimal_string(item.price)}
    if item.HasField("compare_at_price") and item.compare_at_price.currency:
        variant["compareAtPrice"] = decimal_string(item.compare_at_price)
    return variant
