"""Access scopes: which root field needs which scope, and the ACCESS_DENIED check Shopify applies."""

from __future__ import annotations

from typing import Any

from channel_sandboxes.shopify.schema.context import GraphQLError

# Root field -> scopes of which the token needs one (a write scope implies its read scope).
REQUIRED_SCOPES: dict[str, tuple[str, ...]] = {
    "products": ("read_products",),
    "product": ("read_products",),
    "productVariants": ("read_products",),
    "productVariant": ("read_products",),
    "inventoryItems": ("read_inventory",),
    "inventoryItem": ("read_inventory",),
    "inventoryLevel": ("read_inventory",),
    "locations": ("read_locations", "read_inventory"),
    "location": ("read_locations", "read_inventory"),
    "orders": ("read_orders",),
    "order": ("read_orders",),
    "fulfillmentOrder": (
        "read_merchant_managed_fulfillment_orders",
        "read_assigned_fulfillment_orders",
        "read_orders",
    ),
    "inventorySetQuantities": ("write_inventory",),
    "inventoryAdjustQuantities": ("write_inventory",),
    "productVariantsBulkUpdate": ("write_products",),
    "productSet": ("write_products",),
    "productUpdate": ("write_products",),
    "orderCancel": ("write_orders",),
    "fulfillmentCreate": (
        "write_fulfillments",
        "write_merchant_managed_fulfillment_orders",
        "write_assigned_fulfillment_orders",
        "write_third_party_fulfillment_orders",
    ),
}


def check_scopes(selections: list[Any], granted: str) -> None:
    """ACCESS_DENIED like Shopify when the token lacks the root field's scope (write implies read)."""
    scopes = {s.strip() for s in granted.split(",") if s.strip()}
    scopes |= {"read_" + s[len("write_") :] for s in scopes if s.startswith("write_")}
    for sel in selections:
        needed = REQUIRED_SCOPES.get(getattr(sel, "name", ""))
        if needed and not scopes.intersection(needed):
            raise GraphQLError(
                f"Access denied for {sel.name} field. Required access: `{needed[0]}` access scope.",
                "ACCESS_DENIED",
                [sel.name],
                documentation="https://shopify.dev/api/usage/access-scopes",
                requiredAccess=f"`{needed[0]}` access scope.",
            )
