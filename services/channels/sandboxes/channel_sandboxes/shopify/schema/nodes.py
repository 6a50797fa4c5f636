"""Global ids: the Node interface, `node`/`nodes`, and the typed root lookups (`product(id:)`, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channel_sandboxes.shopify.models import InventoryItem, parse_gid
from channel_sandboxes.shopify.schema.context import ExecContext, Resolver, Typed
from channel_sandboxes.shopify.state import ShopState

TYPES: dict[str, dict[str, str]] = {
    "QueryRoot": {"node": "Node", "nodes": "[Node]!"},
    "Node": {"id": "ID!"},
}


@dataclass
class LevelRef:
    """An InventoryLevel node: levels have no id of their own, only (item, location)."""

    item: InventoryItem
    location_id: int


def level_id(location_id: int, item_id: int) -> str:
    return f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}"


def find_node(state: ShopState, value: Any) -> Typed | None:
    """The object behind a `gid://shopify/<Type>/<n>`, with its type; None when there is none."""
    if not isinstance(value, str) or not value.startswith("gid://shopify/"):
        return None
    kind = value[len("gid://shopify/") :].split("/", 1)[0]
    number = parse_gid(value, kind)
    if number is None:
        return None
    if kind == "InventoryLevel":
        item_id = parse_gid(
            "gid://shopify/InventoryItem/" + value.split("inventory_item_id=", 1)[-1], "InventoryItem"
        )
        item = state.items.get(item_id or -1)
        return Typed(kind, LevelRef(item, number)) if item and number in item.levels else None
    tables: dict[str, dict[int, Any]] = {
        "Location": state.locations,
        "Product": state.products,
        "ProductVariant": state.variants,
        "InventoryItem": state.items,
        "Order": state.orders,
        "FulfillmentOrder": state.fulfillment_orders,
        "Fulfillment": state.fulfillments,
        "WebhookSubscription": state.subscriptions,
    }
    table = tables.get(kind)
    found = table.get(number) if table is not None else None
    return Typed(kind, found) if found is not None else None


def typed_lookup(kind: str) -> Resolver:
    """Resolver of a root field such as `product(id:)`: the node if the id is of that type."""

    def resolve(_src: Any, args: dict[str, Any], ctx: ExecContext) -> Any:
        node = find_node(ctx.state, args.get("id"))
        return node.value if node is not None and node.type_name == kind else None

    return resolve


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "QueryRoot": {
        "node": lambda _s, a, ctx: find_node(ctx.state, a.get("id")),
        "nodes": lambda _s, a, ctx: [find_node(ctx.state, i) for i in a.get("ids") or []],
    },
}
