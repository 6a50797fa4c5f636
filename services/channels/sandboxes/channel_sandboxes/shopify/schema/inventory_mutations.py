"""inventorySetQuantities (2025-07 compare-and-set) and inventoryAdjustQuantities, with their payload types."""

from __future__ import annotations

from typing import Any

from channel_sandboxes.common import utcnow
from channel_sandboxes.shopify.models import InventoryItem, Location, gid, parse_gid
from channel_sandboxes.shopify.schema.context import ExecContext, GraphQLError, Resolver, user_error
from channel_sandboxes.shopify.state import ShopState

MAX_INPUT_QUANTITIES = 250

INVENTORY_REASONS = {
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_canceled",
    "movement_created",
    "movement_received",
    "movement_updated",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
}

TYPES: dict[str, dict[str, str]] = {
    "Mutation": {
        "inventorySetQuantities": "InventorySetQuantitiesPayload",
        "inventoryAdjustQuantities": "InventoryAdjustQuantitiesPayload",
    },
    "InventoryAdjustmentGroup": {
        "id": "ID!",
        "createdAt": "DateTime!",
        "reason": "String!",
        "referenceDocumentUri": "String",
        "changes": "[InventoryChange!]!",
    },
    "InventoryChange": {
        "name": "String!",
        "delta": "Int!",
        "quantityAfterChange": "Int",
        "ledgerDocumentUri": "String",
        "item": "InventoryItem",
        "location": "Location",
    },
    "InventorySetQuantitiesPayload": {
        "inventoryAdjustmentGroup": "InventoryAdjustmentGroup",
        "userErrors": "[InventorySetQuantitiesUserError!]!",
    },
    "InventorySetQuantitiesUserError": {
        "code": "InventorySetQuantitiesUserErrorCode",
        "field": "[String!]",
        "message": "String!",
    },
    "InventoryAdjustQuantitiesPayload": {
        "inventoryAdjustmentGroup": "InventoryAdjustmentGroup",
        "userErrors": "[InventoryAdjustQuantitiesUserError!]!",
    },
    "InventoryAdjustQuantitiesUserError": {
        "code": "InventoryAdjustQuantitiesUserErrorCode",
        "field": "[String!]",
        "message": "String!",
    },
}


def _require(value: Any, type_name: str, path: str) -> None:
    if value is None:
        raise GraphQLError(
            f"Variable $input of type {type_name}! was provided invalid value for {path} "
            "(Expected value to not be null)",
            "INVALID_VARIABLE",
        )


def _check_keys(obj: dict[str, Any], allowed: set[str], input_type: str, path: str) -> None:
    """Unknown input fields are a coercion error in GraphQL (e.g. 2026-01 fields on a 2025-07 call)."""
    for key in obj:
        if key not in allowed:
            raise GraphQLError(
                f"Variable $input of type {input_type}! was provided invalid value for {path}{key} "
                f"(Field is not defined on {input_type if not path else 'InventoryQuantityInput'})",
                "INVALID_VARIABLE",
            )


def _change(name: str, delta: int, after: int, item: InventoryItem, location: Location) -> dict[str, Any]:
    """One InventoryChange of an adjustment group."""
    return {"name": name, "delta": delta, "quantityAfterChange": after, "item": item, "location": location}


def _applied(state: ShopState, reason: str, data: dict[str, Any], changes: list[dict[str, Any]]) -> dict:
    """The payload of a mutation that changed something: a new adjustment group, no user errors."""
    group = {
        "id": gid("InventoryAdjustmentGroup", state.new_id()),
        "createdAt": utcnow(),
        "reason": reason,
        "referenceDocumentUri": data.get("referenceDocumentUri"),
        "changes": changes,
    }
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _coerce_set_input(args: dict[str, Any]) -> dict[str, Any]:
    """GraphQL input coercion of InventorySetQuantitiesInput: top-level errors, nothing applied."""
    data = args.get("input")
    if not isinstance(data, dict):
        raise GraphQLError(
            "Variable $input of type InventorySetQuantitiesInput! was provided invalid value",
            "INVALID_VARIABLE",
        )
    _check_keys(
        data,
        {"name", "reason", "referenceDocumentUri", "quantities", "ignoreCompareQuantity"},
        "InventorySetQuantitiesInput",
        "",
    )
    for required in ("name", "reason", "quantities"):
        _require(data.get(required), "InventorySetQuantitiesInput", required)
    quantities = data["quantities"]
    if len(quantities) > MAX_INPUT_QUANTITIES:
        raise GraphQLError(
            f"The input array size of {len(quantities)} is greater than the maximum allowed of {MAX_INPUT_QUANTITIES}.",
            "MAX_INPUT_SIZE_EXCEEDED",
            ["inventorySetQuantities", "input", "quantities"],
        )
    for index, q in enumerate(quantities):
        if not isinstance(q, dict):
            raise GraphQLError(
                "Variable $input was provided invalid value for quantities", "INVALID_VARIABLE"
            )
        _check_keys(
            q,
            {"inventoryItemId", "locationId", "quantity", "compareQuantity"},
            "InventorySetQuantitiesInput",
            f"quantities.{index}.",
        )
        for required in ("inventoryItemId", "locationId", "quantity"):
            _require(q.get(required), "InventorySetQuantitiesInput", f"quantities.{index}.{required}")
        if not isinstance(q["quantity"], int) or isinstance(q["quantity"], bool):
            raise GraphQLError(
                f"Variable $input of type InventorySetQuantitiesInput! was provided invalid value for "
                f"quantities.{index}.quantity (Could not coerce value to Int)",
                "INVALID_VARIABLE",
            )
    return data


def _set_target_error(
    state: ShopState, q: dict[str, Any], base: list[str], name: str, ignore_compare: bool, seen: set
) -> dict[str, Any] | None:
    """The user error for one entry of `quantities`, or None when it may be applied."""
    item = state.items.get(parse_gid(q["inventoryItemId"], "InventoryItem") or -1)
    location_id = parse_gid(q["locationId"], "Location")
    if item is None:
        return user_error(
            "INVALID_INVENTORY_ITEM",
            [*base, "inventoryItemId"],
            "The specified inventory item could not be found.",
        )
    if location_id not in state.locations:
        return user_error(
            "INVALID_LOCATION", [*base, "locationId"], "The specified location could not be found."
        )
    if location_id not in item.levels:
        return user_error(
            "ITEM_NOT_STOCKED_AT_LOCATION",
            [*base, "locationId"],
            "The specified inventory item is not stocked at the location.",
        )
    if (item.id, location_id) in seen:
        return user_error(
            "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
            base,
            "The combination of inventoryItemId and locationId must be unique.",
        )
    seen.add((item.id, location_id))
    if abs(q["quantity"]) > 1_000_000_000:
        return user_error(
            "INVALID_QUANTITY_TOO_HIGH" if q["quantity"] > 0 else "INVALID_QUANTITY_TOO_LOW",
            [*base, "quantity"],
            "The quantity is out of range.",
        )
    level = item.levels[location_id]
    current = level.available if name == "available" else level.available + level.committed
    if ignore_compare:
        return None
    if "compareQuantity" not in q or q["compareQuantity"] is None:
        return user_error(
            "COMPARE_QUANTITY_REQUIRED",
            [*base, "compareQuantity"],
            "The compareQuantity argument must be given to each quantity or ignored using "
            "ignoreCompareQuantity.",
        )
    if q["compareQuantity"] != current:
        return user_error(
            "COMPARE_QUANTITY_STALE",
            [*base, "compareQuantity"],
            "The compareQuantity value does not match persisted value.",
        )
    return None


def _m_inventory_set(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """inventorySetQuantities as of 2025-07: absolute quantities, compare-and-set unless ignored."""
    state = ctx.state
    data = _coerce_set_input(args)
    quantities = data["quantities"]
    name, reason = data["name"], data["reason"]
    ignore_compare = bool(data.get("ignoreCompareQuantity"))
    errors: list[dict[str, Any]] = []
    if name not in ("available", "on_hand"):
        errors.append(
            user_error(
                "INVALID_NAME",
                ["input", "name"],
                "The quantity name must be either 'available' or 'on_hand'.",
            )
        )
    if reason not in INVENTORY_REASONS:
        errors.append(user_error("INVALID_REASON", ["input", "reason"], "The specified reason is invalid."))
    targets: list[tuple[InventoryItem, int, int]] = []
    seen: set[tuple[int, int]] = set()
    for index, q in enumerate(quantities):
        error = _set_target_error(state, q, ["input", "quantities", str(index)], name, ignore_compare, seen)
        if error is not None:
            errors.append(error)
            continue
        item = state.items[parse_gid(q["inventoryItemId"], "InventoryItem") or -1]
        targets.append((item, parse_gid(q["locationId"], "Location") or -1, q["quantity"]))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes: list[dict[str, Any]] = []
    for item, location_id, quantity in targets:
        level = item.levels[location_id]
        current = level.available if name == "available" else level.available + level.committed
        delta = quantity - current
        if delta == 0:
            continue
        event = state.set_available(item, location_id, level.available + delta)
        if event is not None:
            ctx.events.append(event)
        location = state.locations[location_id]
        changes.append(_change("available", delta, level.available, item, location))
        changes.append(_change("on_hand", delta, level.available + level.committed, item, location))
    if not changes:
        return {"inventoryAdjustmentGroup": None, "userErrors": []}
    return _applied(state, reason, data, changes)


def _m_inventory_adjust(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """inventoryAdjustQuantities for `available` deltas (the only name without a ledger document)."""
    state = ctx.state
    data = args.get("input") or {}
    for required in ("name", "reason", "changes"):
        _require(data.get(required), "InventoryAdjustQuantitiesInput", required)
    errors: list[dict[str, Any]] = []
    if data["name"] != "available":
        errors.append(
            user_error("INVALID_QUANTITY_NAME", ["input", "name"], "The sandbox only adjusts 'available'.")
        )
    if data["reason"] not in INVENTORY_REASONS:
        errors.append(user_error("INVALID_REASON", ["input", "reason"], "The specified reason is invalid."))
    targets: list[tuple[InventoryItem, int, int]] = []
    for index, change in enumerate(data["changes"]):
        item = state.items.get(parse_gid(change.get("inventoryItemId"), "InventoryItem") or -1)
        location_id = parse_gid(change.get("locationId"), "Location")
        if item is None or location_id not in item.levels:
            errors.append(
                user_error(
                    "INVALID_INVENTORY_ITEM" if item is None else "ITEM_NOT_STOCKED_AT_LOCATION",
                    ["input", "changes", str(index)],
                    "The specified inventory item could not be found."
                    if item is None
                    else "The specified inventory item is not stocked at the location.",
                )
            )
            continue
        targets.append((item, location_id, int(change.get("delta", 0))))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes = []
    for item, location_id, delta in targets:
        level = item.levels[location_id]
        event = state.set_available(item, location_id, level.available + delta)
        if event is not None:
            ctx.events.append(event)
        changes.append(_change("available", delta, level.available, item, state.locations[location_id]))
    return _applied(state, data["reason"], data, changes)


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Mutation": {
        "inventorySetQuantities": _m_inventory_set,
        "inventoryAdjustQuantities": _m_inventory_adjust,
    },
}
