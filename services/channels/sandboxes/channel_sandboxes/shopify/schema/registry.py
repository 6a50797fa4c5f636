"""The whole schema: every area's types and resolvers merged, plus scalars, connections and interfaces.

Each area module (shop, nodes, products, inventory, inventory_mutations, orders, fulfillments,
webhooks) declares its own object types, its root fields (under "QueryRoot"/"Mutation") and their
resolvers; this module only puts them together, so adding a field touches one area module.
"""

from __future__ import annotations

from channel_sandboxes.shopify.schema import (
    fulfillments,
    inventory,
    inventory_mutations,
    nodes,
    order_cancel,
    orders,
    product_set,
    products,
    shop,
    webhooks,
)
from channel_sandboxes.shopify.schema.context import Resolver

AREAS = (
    shop,
    nodes,
    products,
    product_set,
    inventory,
    inventory_mutations,
    orders,
    order_cancel,
    fulfillments,
    webhooks,
)

LEAF_TYPES = {
    "ID",
    "String",
    "Int",
    "Float",
    "Boolean",
    "DateTime",
    "Money",
    "Decimal",
    "URL",
    "UnsignedInt64",
    "CurrencyCode",
    "ProductStatus",
    "HTML",
    "MediaContentType",
    "WeightUnit",
    "ProductVariantInventoryPolicy",
    "OrderDisplayFinancialStatus",
    "OrderDisplayFulfillmentStatus",
    "FulfillmentOrderStatus",
    "FulfillmentDisplayStatus",
    "FulfillmentStatus",
    "WebhookSubscriptionTopic",
    "WebhookSubscriptionFormat",
    "CountryCode",
    "OrderCancelReason",
    "OrderCancelUserErrorCode",
    "InventorySetQuantitiesUserErrorCode",
    "InventoryAdjustQuantitiesUserErrorCode",
    "ProductVariantsBulkUpdateUserErrorCode",
    "ProductSetUserErrorCode",
}

# Abstract types: the concrete type comes from the resolved value (see `Typed`).
ABSTRACT_TYPES = {"Node", "WebhookSubscriptionEndpoint"}

# Types that have a `<Type>Connection` and `<Type>Edge`.
CONNECTION_NODES = (
    "Location",
    "Product",
    "ProductVariant",
    "InventoryItem",
    "InventoryLevel",
    "Order",
    "LineItem",
    "FulfillmentOrder",
    "FulfillmentOrderLineItem",
    "WebhookSubscription",
)

# Implementations of Node (every connection node, plus Fulfillment), for fragments and `__typename`.
NODE_TYPES = {*CONNECTION_NODES, "Fulfillment"}
POSSIBLE_TYPES = {
    "Node": NODE_TYPES,
    "Media": {"MediaImage"},
    "WebhookSubscriptionEndpoint": {"WebhookHttpEndpoint"},
}


def _merge(tables: list[dict[str, dict]]) -> dict[str, dict]:
    """Union of per-area {type: {field: ...}} tables; a field declared twice is a programming error."""
    merged: dict[str, dict] = {}
    for table in tables:
        for type_name, fields in table.items():
            target = merged.setdefault(type_name, {})
            clash = set(target) & set(fields)
            if clash:
                raise RuntimeError(f"{type_name} fields declared twice: {sorted(clash)}")
            target.update(fields)
    return merged


TYPES: dict[str, dict[str, str]] = _merge([area.TYPES for area in AREAS])
for _node in CONNECTION_NODES:
    TYPES[f"{_node}Connection"] = {
        "edges": f"[{_node}Edge!]!",
        "nodes": f"[{_node}!]!",
        "pageInfo": "PageInfo!",
    }
    TYPES[f"{_node}Edge"] = {"cursor": "String!", "node": f"{_node}!"}

RESOLVERS: dict[str, dict[str, Resolver]] = _merge([getattr(area, "RESOLVERS", {}) for area in AREAS])
