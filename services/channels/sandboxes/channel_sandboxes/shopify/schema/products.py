"""Products and variants: their types, the `products`/`productVariants` queries and productVariantsBulkUpdate."""

from __future__ import annotations

import re
from typing import Any

from channel_sandboxes.common import utcnow
from channel_sandboxes.shopify.models import Product, Variant, gid, money, parse_gid, valid_money
from channel_sandboxes.shopify.schema.context import ExecContext, GraphQLError, Resolver, Typed, user_error
from channel_sandboxes.shopify.schema.nodes import typed_lookup
from channel_sandboxes.shopify.schema.paging import page_size, paginate, search_query
from channel_sandboxes.shopify.state import ShopState

TYPES: dict[str, dict[str, str]] = {
    "QueryRoot": {
        "products": "ProductConnection!",
        "product": "Product",
        "productVariants": "ProductVariantConnection!",
        "productVariant": "ProductVariant",
    },
    "Mutation": {"productVariantsBulkUpdate": "ProductVariantsBulkUpdatePayload"},
    "Product": {
        "id": "ID!",
        "legacyResourceId": "UnsignedInt64!",
        "title": "String!",
        "handle": "String!",
        "status": "ProductStatus!",
        "totalInventory": "Int!",
        "tracksInventory": "Boolean!",
        "createdAt": "DateTime!",
        "updatedAt": "DateTime!",
        "variants": "ProductVariantConnection!",
        "variantsCount": "Count",
        "description": "String!",
        "descriptionHtml": "HTML!",
        "vendor": "String!",
        "tags": "[String!]!",
        "media": "MediaConnection!",
    },
    # Product.media (https://shopify.dev/docs/api/admin-graphql/2025-07/objects/Product#field-media):
    # the sandbox's media are images only.
    "MediaConnection": {"nodes": "[Media!]!", "pageInfo": "PageInfo!"},
    "Media": {"id": "ID!", "mediaContentType": "MediaContentType!", "alt": "String"},
    "MediaImage": {
        "id": "ID!",
        "mediaContentType": "MediaContentType!",
        "alt": "String",
        "image": "Image",
    },
    "Image": {"url": "URL!", "altText": "String"},
    "SelectedOption": {"name": "String!", "value": "String!"},
    "Count": {"count": "Int!"},
    "ProductVariant": {
        "id": "ID!",
        "legacyResourceId": "UnsignedInt64!",
        "sku": "String",
        "title": "String!",
        "displayName": "String!",
        "price": "Money!",
        "compareAtPrice": "Money",
        "inventoryQuantity": "Int",
        "inventoryPolicy": "ProductVariantInventoryPolicy!",
        "inventoryItem": "InventoryItem!",
        "barcode": "String",
        "selectedOptions": "[SelectedOption!]!",
        "product": "Product!",
        "createdAt": "DateTime!",
        "updatedAt": "DateTime!",
    },
    "ProductVariantsBulkUpdatePayload": {
        "product": "Product",
        "productVariants": "[ProductVariant!]",
        "userErrors": "[ProductVariantsBulkUpdateUserError!]!",
    },
    "ProductVariantsBulkUpdateUserError": {
        "code": "ProductVariantsBulkUpdateUserErrorCode",
        "field": "[String!]",
        "message": "String!",
    },
}


def _variant_search_values(state: ShopState, variant: Variant) -> dict[str, Any]:
    return {
        "sku": variant.sku,
        "id": variant.id,
        "product_id": variant.product_id,
        "title": variant.title,
        "updated_at": variant.updated_at,
        "created_at": variant.created_at,
        "inventory_quantity": sum(
            lv.available for lv in state.items[variant.inventory_item_id].levels.values()
        ),
    }


def _product_search_values(state: ShopState, product: Product) -> dict[str, Any]:
    return {
        "sku": [state.variants[v].sku for v in product.variant_ids],
        "id": product.id,
        "title": product.title,
        "handle": product.handle,
        "status": product.status.lower(),
        "updated_at": product.updated_at,
        "created_at": product.created_at,
    }


_q_products = search_query(
    lambda state: state.products,
    _product_search_values,
    {
        "ID": lambda p: p.id,
        "TITLE": lambda p: p.title,
        "UPDATED_AT": lambda p: p.updated_at,
        "CREATED_AT": lambda p: p.created_at,
    },
    "products",
)

_q_variants = search_query(
    lambda state: state.variants,
    _variant_search_values,
    {"ID": lambda v: v.id, "SKU": lambda v: v.sku, "TITLE": lambda v: v.title, "POSITION": lambda v: v.id},
    "productVariants",
)


def _m_variants_bulk_update(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """productVariantsBulkUpdate: one product per call, prices as decimal strings."""
    state = ctx.state
    product = state.products.get(parse_gid(args.get("productId"), "Product") or -1)
    variants_in = args.get("variants")
    if variants_in is None:
        raise GraphQLError(
            "Variable $variants of type [ProductVariantsBulkInput!]! was provided invalid value",
            "INVALID_VARIABLE",
        )
    for index, v in enumerate(variants_in):
        for money_field in ("price", "compareAtPrice"):
            if v.get(money_field) is not None and not valid_money(v[money_field]):
                raise GraphQLError(
                    f"Variable $variants of type [ProductVariantsBulkInput!]! was provided invalid value for "
                    f"{index}.{money_field} (invalid Money value)",
                    "INVALID_VARIABLE",
                )
    if product is None:
        return {
            "product": None,
            "productVariants": None,
            "userErrors": [user_error("PRODUCT_DOES_NOT_EXIST", ["productId"], "Product does not exist")],
        }
    errors = []
    updates: list[tuple[Variant, dict[str, Any]]] = []
    for index, v in enumerate(variants_in):
        if not v.get("id"):
            errors.append(
                user_error(
                    "PRODUCT_VARIANT_ID_MISSING",
                    ["variants", str(index), "id"],
                    "Product variant is missing ID attribute",
                )
            )
            continue
        variant = state.variants.get(parse_gid(v["id"], "ProductVariant") or -1)
        if variant is None or variant.product_id != product.id:
            errors.append(
                user_error(
                    "PRODUCT_VARIANT_DOES_NOT_EXIST",
                    ["variants", str(index), "id"],
                    "Product variant does not exist",
                )
            )
            continue
        updates.append((variant, v))
    if errors and not args.get("allowPartialUpdates"):
        return {"product": None, "productVariants": None, "userErrors": errors}
    now = utcnow()
    for variant, v in updates:
        if v.get("price") is not None or "compareAtPrice" in v:
            state.price_writes[variant.sku] += 1
        if v.get("price") is not None:
            variant.price = money(v["price"])
        if "compareAtPrice" in v:
            variant.compare_at_price = money(v["compareAtPrice"]) if v["compareAtPrice"] is not None else None
        if v.get("inventoryPolicy") in ("DENY", "CONTINUE"):
            variant.inventory_policy = v["inventoryPolicy"]
        variant.updated_at = now
    product.updated_at = now
    ctx.events.append(state.product_event(product))
    return {"product": product, "productVariants": [v for v, _ in updates], "userErrors": errors}


def _strip_tags(html: str) -> str:
    """Product.description: descriptionHtml without its markup."""
    return re.sub(r"<[^>]*>", "", html)


def _media(product: Product, args: dict[str, Any]) -> dict[str, Any]:
    """A MediaConnection of the product's images, `first` as Shopify bounds it (1..250)."""
    page_size(args, "media")
    images = [
        Typed(
            "MediaImage",
            {
                "id": gid("MediaImage", product.id * 100 + index),
                "mediaContentType": "IMAGE",
                "alt": None,
                "image": {"url": url, "altText": None},
            },
        )
        for index, url in enumerate(product.image_urls)
    ]
    page = images[: args.get("first") or 0]
    return {
        "nodes": page,
        "pageInfo": {
            "hasNextPage": len(images) > len(page),
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "QueryRoot": {
        "products": _q_products,
        "product": typed_lookup("Product"),
        "productVariants": _q_variants,
        "productVariant": typed_lookup("ProductVariant"),
    },
    "Mutation": {"productVariantsBulkUpdate": _m_variants_bulk_update},
    "Product": {
        "id": lambda p, _a, _c: gid("Product", p.id),
        "legacyResourceId": lambda p, _a, _c: str(p.id),
        "totalInventory": lambda p, _a, ctx: sum(
            lv.available
            for vid in p.variant_ids
            for lv in ctx.state.items[ctx.state.variants[vid].inventory_item_id].levels.values()
        ),
        "tracksInventory": lambda _p, _a, _c: True,
        "createdAt": lambda p, _a, _c: p.created_at,
        "updatedAt": lambda p, _a, _c: p.updated_at,
        "variants": lambda p, a, ctx: paginate(
            [ctx.state.variants[v] for v in p.variant_ids], a, lambda v: [v.id], "variants"
        ),
        "variantsCount": lambda p, _a, _c: {"count": len(p.variant_ids)},
        "descriptionHtml": lambda p, _a, _c: p.description,
        "description": lambda p, _a, _c: _strip_tags(p.description),
        "status": lambda p, _a, _c: p.status,
        "media": lambda p, a, _c: _media(p, a),
    },
    "ProductVariant": {
        "id": lambda v, _a, _c: gid("ProductVariant", v.id),
        "legacyResourceId": lambda v, _a, _c: str(v.id),
        "displayName": lambda v, _a, ctx: f"{ctx.state.products[v.product_id].title} - {v.title}",
        "compareAtPrice": lambda v, _a, _c: v.compare_at_price,
        "inventoryQuantity": lambda v, _a, ctx: sum(
            lv.available for lv in ctx.state.items[v.inventory_item_id].levels.values()
        ),
        "inventoryPolicy": lambda v, _a, _c: v.inventory_policy,
        "selectedOptions": lambda v, _a, _c: (
            [{"name": n, "value": x} for n, x in v.options] or [{"name": "Title", "value": "Default Title"}]
        ),
        "inventoryItem": lambda v, _a, ctx: ctx.state.items[v.inventory_item_id],
        "product": lambda v, _a, ctx: ctx.state.products[v.product_id],
        "createdAt": lambda v, _a, _c: v.created_at,
        "updatedAt": lambda v, _a, _c: v.updated_at,
    },
}
