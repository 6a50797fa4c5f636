"""Locations, inventory items and levels: their types and queries (reading quantities back).

The mutations that change quantities are in inventory_mutations.py.
"""

from __future__ import annotations

from typing import Any

from channel_sandboxes.shopify.models import InventoryItem, gid, parse_gid
from channel_sandboxes.shopify.schema.context import ExecContext, GraphQLError, Resolver
from channel_sandboxes.shopify.schema.nodes import LevelRef, level_id, typed_lookup
from channel_sandboxes.shopify.schema.paging import paginate, search_matches

TYPES: dict[str, dict[str, str]] = {
    "QueryRoot": {
        "locations": "LocationConnection!",
        "location": "Location",
        "inventoryItems": "InventoryItemConnection!",
        "inventoryItem": "InventoryItem",
        "inventoryLevel": "InventoryLevel",
    },
    "Location": {
        "id": "ID!",
        "legacyResourceId": "UnsignedInt64!",
        "name": "String!",
        "isActive": "Boolean!",
        "fulfillsOnlineOrders": "Boolean!",
        "inventoryLevels": "InventoryLevelConnection!",
        "inventoryLevel": "InventoryLevel",
    },
    "InventoryItem": {
        "id": "ID!",
        "legacyResourceId": "UnsignedInt64!",
        "sku": "String",
        "tracked": "Boolean!",
        "variant": "ProductVariant!",
        "inventoryLevels": "InventoryLevelConnection!",
        "inventoryLevel": "InventoryLevel",
        "measurement": "InventoryItemMeasurement!",
        "createdAt": "DateTime!",
        "updatedAt": "DateTime!",
    },
    "InventoryLevel": {
        "id": "ID!",
        "item": "InventoryItem!",
        "location": "Location!",
        "quantities": "[InventoryQuantity!]!",
        "updatedAt": "DateTime!",
        "createdAt": "DateTime!",
    },
    # InventoryItem.measurement.weight {unit value}
    # (https://shopify.dev/docs/api/admin-graphql/2025-07/objects/InventoryItemMeasurement).
    "InventoryItemMeasurement": {"id": "ID!", "weight": "Weight"},
    "Weight": {"unit": "WeightUnit!", "value": "Float!"},
    "InventoryQuantity": {"id": "ID!", "name": "String!", "quantity": "Int!", "updatedAt": "DateTime"},
}


def _weight(grams: float | None) -> dict[str, Any] | None:
    return None if grams is None else {"unit": "GRAMS", "value": float(grams)}


def _quantities(ref: LevelRef, args: dict[str, Any]) -> list[dict[str, Any]]:
    level = ref.item.levels[ref.location_id]
    figures = {
        "available": level.available,
        "committed": level.committed,
        "on_hand": level.available + level.committed,
        "incoming": 0,
        "reserved": 0,
        "damaged": 0,
        "safety_stock": 0,
        "quality_control": 0,
    }
    names = args.get("names") or []
    out = []
    for name in names:
        if name not in figures:
            raise GraphQLError(f"Invalid quantity name '{name}'", "BAD_REQUEST")
        out.append(
            {
                "id": f"gid://shopify/InventoryQuantity/{ref.location_id}?inventory_item_id={ref.item.id}&name={name}",
                "name": name,
                "quantity": figures[name],
                "updatedAt": level.updated_at,
            }
        )
    return out


def _levels(item: InventoryItem, args: dict[str, Any]) -> dict:
    refs = [LevelRef(item, loc) for loc in item.levels]
    return paginate(refs, args, lambda r: [r.location_id, r.item.id], "inventoryLevels")


def _item_level(item: InventoryItem, args: dict[str, Any]) -> LevelRef | None:
    location_id = parse_gid(args.get("locationId"), "Location")
    return LevelRef(item, location_id) if location_id in item.levels else None


def _q_items(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict:
    items = [
        i
        for i in ctx.state.items.values()
        if search_matches(args.get("query"), {"sku": i.sku, "id": i.id, "updated_at": i.updated_at})
    ]
    return paginate(items, args, lambda i: [i.id], "inventoryItems")


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "QueryRoot": {
        "locations": lambda _s, a, ctx: paginate(
            list(ctx.state.locations.values()), a, lambda x: [x.id], "locations"
        ),
        "location": typed_lookup("Location"),
        "inventoryItems": _q_items,
        "inventoryItem": typed_lookup("InventoryItem"),
        "inventoryLevel": typed_lookup("InventoryLevel"),
    },
    "Location": {
        "id": lambda loc, _a, _c: gid("Location", loc.id),
        "legacyResourceId": lambda loc, _a, _c: str(loc.id),
        "isActive": lambda _l, _a, _c: True,
        "fulfillsOnlineOrders": lambda _l, _a, _c: True,
        "inventoryLevels": lambda loc, a, ctx: paginate(
            [LevelRef(i, loc.id) for i in ctx.state.items.values() if loc.id in i.levels],
            a,
            lambda r: [r.item.id],
            "inventoryLevels",
        ),
        "inventoryLevel": lambda loc, a, ctx: (
            LevelRef(ctx.state.items[iid], loc.id)
            if (iid := parse_gid(a.get("inventoryItemId"), "InventoryItem")) in ctx.state.items
            and loc.id in ctx.state.items[iid].levels
            else None
        ),
    },
    "InventoryItem": {
        "id": lambda i, _a, _c: gid("InventoryItem", i.id),
        "legacyResourceId": lambda i, _a, _c: str(i.id),
        "variant": lambda i, _a, ctx: ctx.state.variants[i.variant_id],
        "inventoryLevels": lambda i, a, _c: _levels(i, a),
        "measurement": lambda i, _a, ctx: {
            "id": gid("InventoryItemMeasurement", i.id),
            "weight": _weight(ctx.state.variants[i.variant_id].weight_grams),
        },
        "inventoryLevel": lambda i, a, _c: _item_level(i, a),
        "createdAt": lambda i, _a, _c: i.created_at,
        "updatedAt": lambda i, _a, _c: i.updated_at,
    },
    "InventoryLevel": {
        "id": lambda r, _a, _c: level_id(r.location_id, r.item.id),
        "item": lambda r, _a, _c: r.item,
        "location": lambda r, _a, ctx: ctx.state.locations[r.location_id],
        "quantities": lambda r, a, _c: _quantities(r, a),
        "updatedAt": lambda r, _a, _c: r.item.levels[r.location_id].updated_at,
        "createdAt": lambda r, _a, _c: r.item.created_at,
    },
}
