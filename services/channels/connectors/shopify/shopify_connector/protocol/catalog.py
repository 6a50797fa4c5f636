"""Whole products for the onboarding import: the `products` query and its nodes as plain values.

Admin GraphQL 2025-07 (protocol.api.API_VERSION):
- `products(first, after)`: cursor paging, `first` at most 250
  (https://shopify.dev/docs/api/admin-graphql/2025-07/queries/products).
- Product: title, descriptionHtml, status, vendor, tags, media (MediaImage.image.url)
  (https://shopify.dev/docs/api/admin-graphql/2025-07/objects/Product).
- ProductVariant: sku, barcode, price (decimal in the shop currency), selectedOptions {name value},
  inventoryItem.measurement.weight {unit value}, inventoryItem.inventoryLevels ->
  quantities(names: ["available"])
  (https://shopify.dev/docs/api/admin-graphql/2025-07/objects/ProductVariant,
  https://shopify.dev/docs/api/admin-graphql/2025-07/objects/InventoryLevel).
Shopify refuses a query whose *requested* cost exceeds 1,000 points: objects cost 1, a connection
2 + first x its child (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits, "Cost
calculation"). One product with 10
variants at 2 locations and 3 images requests about 147 points, so a page holds MAX_CATALOG_PAGE
products; a product with more variants has the rest read by PRODUCT_VARIANTS_QUERY, 50 a call.
Only the first LEVELS_PER_VARIANT locations of a variant are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from omnistock_connector_kit.catalog_import import CatalogProductData, CatalogVariantData, LevelData
from shopify_connector.protocol.orders import money

VARIANTS_PER_PRODUCT = 10
LEVELS_PER_VARIANT = 2
MEDIA_PER_PRODUCT = 3
MAX_CATALOG_PAGE = 6
CATALOG_QUERY_COST_PER_PRODUCT = 150.0
MORE_VARIANTS_PAGE = 50
MORE_VARIANTS_COST = 2.0 + MORE_VARIANTS_PAGE * 13

_VARIANT_FIELDS = f"""
          id
          title
          sku
          barcode
          price
          selectedOptions {{ name value }}
          inventoryItem {{
            id
            measurement {{ weight {{ unit value }} }}
            inventoryLevels(first: {LEVELS_PER_VARIANT}) {{
              nodes {{ location {{ id name }} quantities(names: ["available"]) {{ name quantity }} }}
            }}
          }}"""

CATALOG_QUERY = f"""
query OmniStockCatalog($first: Int!, $after: String) {{
  products(first: $first, after: $after, sortKey: ID) {{
    nodes {{
      id
      title
      descriptionHtml
      status
      vendor
      tags
      media(first: {MEDIA_PER_PRODUCT}) {{ nodes {{ ... on MediaImage {{ image {{ url }} }} }} }}
      variants(first: {VARIANTS_PER_PRODUCT}) {{
        nodes {{{_VARIANT_FIELDS}
        }}
        pageInfo {{ hasNextPage endCursor }}
      }}
    }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

PRODUCT_VARIANTS_QUERY = f"""
query OmniStockProductVariants($id: ID!, $after: String) {{
  product(id: $id) {{
    variants(first: {MORE_VARIANTS_PAGE}, after: $after) {{
      nodes {{{_VARIANT_FIELDS}
      }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""

# WeightUnit -> grams (https://shopify.dev/docs/api/admin-graphql/2025-07/enums/WeightUnit).
GRAMS_PER_UNIT = {
    "GRAMS": Decimal(1),
    "KILOGRAMS": Decimal(1000),
    "OUNCES": Decimal("28.349523125"),
    "POUNDS": Decimal("453.59237"),
}


def weight_grams(weight: Any) -> int | None:
    """A Weight {unit, value} in whole grams; None when absent or unreadable."""
    if not isinstance(weight, Mapping):
        return None
    factor = GRAMS_PER_UNIT.get(str(weight.get("unit") or ""))
    try:
        value = Decimal(str(weight.get("value")))
    except (InvalidOperation, ValueError):
        return None
    if factor is None or not value.is_finite() or value < 0:
        return None
    return int((value * factor).to_integral_value())


def _nodes(connection: Any) -> list[Mapping[str, Any]]:
    nodes = (connection or {}).get("nodes") if isinstance(connection, Mapping) else None
    return [n for n in nodes or [] if isinstance(n, Mapping)]


def _options(selected: Any) -> list[tuple[str, str]]:
    """selectedOptions as (name, value); a product without options has Shopify's one placeholder
    option Title = "Default Title", which is no option at all."""
    options = [
        (str(o.get("name") or ""), str(o.get("value") or ""))
        for o in selected or []
        if isinstance(o, Mapping) and o.get("name")
    ]
    return [] if options == [("Title", "Default Title")] else options


def _levels(item: Mapping[str, Any]) -> tuple[LevelData, ...]:
    """A variant's available quantity at each of its first LEVELS_PER_VARIANT locations, named."""
    out = []
    for level in _nodes(item.get("inventoryLevels")):
        location = level.get("location") or {}
        available = next(
            (q.get("quantity") for q in level.get("quantities") or [] if q.get("name") == "available"), None
        )
        if location.get("id") and isinstance(available, int):
            out.append(
                LevelData(
                    location_id=str(location["id"]),
                    available=available,
                    location_name=str(location.get("name") or ""),
                )
            )
    return tuple(out)


def more_variants_cursor(node: Mapping[str, Any]) -> str:
    """Where the rest of a product's (or a `product` query's) variants start; "" when read whole."""
    page = ((node.get("variants") or {}).get("pageInfo")) or {}
    return str(page.get("endCursor") or "") if page.get("hasNextPage") else ""


def catalog_variants(product_id: str, variants: Any, currency: str) -> list[CatalogVariantData]:
    """A `variants` connection's nodes as CatalogVariants with the ids a listing maps them by."""
    out = []
    for v in _nodes(variants):
        item = v.get("inventoryItem") or {}
        levels = _levels(item)
        ids = {
            "product_id": product_id,
            "variant_id": str(v.get("id") or ""),
            "inventory_item_id": str(item.get("id") or ""),
            "location_id": levels[0].location_id if levels else "",
        }
        out.append(
            CatalogVariantData(
                external_id=str(v.get("id") or ""),
                ids={k: x for k, x in ids.items() if x},
                sku=str(v.get("sku") or "").strip(),
                title=str(v.get("title") or ""),
                barcode=str(v.get("barcode") or ""),
                options=tuple(_options(v.get("selectedOptions"))),
                price=money(v.get("price"), currency),
                weight_grams=weight_grams((item.get("measurement") or {}).get("weight")),
                levels=levels,
            )
        )
    return out


def catalog_product(
    node: Mapping[str, Any], currency: str, more: list[CatalogVariantData] | None = None
) -> CatalogProductData:
    """A `products` node as a CatalogProduct (`more`: its variants past the first page)."""
    product_id = str(node.get("id") or "")
    variants = catalog_variants(product_id, node.get("variants"), currency) + list(more or [])
    return CatalogProductData(
        external_id=product_id,
        title=str(node.get("title") or ""),
        description=str(node.get("descriptionHtml") or ""),
        status=str(node.get("status") or ""),
        vendor=str(node.get("vendor") or ""),
        tags=tuple(str(t) for t in node.get("tags") or []),
        image_urls=tuple(
            str(m["image"]["url"])
            for m in _nodes(node.get("media"))
            if isinstance(m.get("image"), Mapping) and m["image"].get("url")
        ),
        variants=tuple(variants),
    )
