"""Whole products for the onboarding import (pure): catalog items read from the products edge,
grouped into products by their item group.

Graph API v25.0: GET /{catalog_id}/products with `fields`, `limit` and cursor paging (`after`;
SDK adobjects/productcatalog.py get_products). ProductItem fields (SDK adobjects/productitem.py):
id (the catalog item id), retailer_id (our SKU), retailer_product_group_id (the item_group_id the
item was sent with), name, description, brand, price / sale_price (Graph formats them, e.g.
"$9.99" [M]) with currency, inventory, availability, image_url, additional_image_urls, url,
visibility (published | staging), color, size, gtin.
Paging is per item, so `limit` counts items; a product's items on one page become one
CatalogProduct. Items of one group that Meta lists on different pages arrive as two CatalogProducts
with the same external_id (the importer merges them by external_id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from meta_connector.protocol.catalog import read_meta_price
from omnistock_common.egress import safe_text
from omnistock_connector_kit.catalog_import import CatalogProductData, CatalogVariantData, single_level

CATALOG_FIELDS = (
    "id,retailer_id,retailer_product_group_id,name,description,brand,price,sale_price,currency,"
    "inventory,availability,image_url,additional_image_urls,url,visibility,color,size,gtin"
)


def _quantity(value: Any) -> int | None:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return None


def catalog_variant(item: Mapping[str, Any]) -> CatalogVariantData:
    """One item as a variant; with a sale price, the selling price is sale_price and the "was"
    price is price (as remote_price reads them)."""
    currency = str(item.get("currency") or "").upper()
    price = read_meta_price(item.get("price"), currency)
    sale = read_meta_price(item.get("sale_price"), currency)
    compare = None
    if price is not None and sale is not None and sale.amount_minor < price.amount_minor:
        price, compare = sale, price
    retailer_id = safe_text(str(item.get("retailer_id") or ""), 255)
    group = str(item.get("retailer_product_group_id") or "")
    ids = {"product_item_id": str(item.get("id") or ""), "retailer_id": retailer_id, "item_group_id": group}
    options = [(name.title(), str(item[name])) for name in ("color", "size") if item.get(name)]
    return CatalogVariantData(
        external_id=retailer_id,
        ids={k: v for k, v in ids.items() if v},
        sku=retailer_id,
        title=safe_text(str(item.get("name") or ""), 255),
        barcode=str(item.get("gtin") or ""),
        options=tuple(options),
        price=price,
        compare_at=compare,
        # The item's `inventory`; Meta has no locations (one level, location_id "").
        levels=single_level(_quantity(item.get("inventory"))),
    )


def _images(item: Mapping[str, Any]) -> list[str]:
    urls = [str(item.get("image_url") or "")]
    extra = item.get("additional_image_urls")
    if isinstance(extra, list):
        urls.extend(str(u) for u in extra)
    return [u for u in urls if u.startswith(("https://", "http://"))]


def catalog_products(items: Sequence[Mapping[str, Any]]) -> list[CatalogProductData]:
    """A page's items grouped by item group (an item without one is a product of its own), in the
    order their first item came; the product reads its title, text and images from that item."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        if not item.get("retailer_id"):
            continue
        key = str(item.get("retailer_product_group_id") or "") or f"item:{item.get('retailer_id')}"
        groups.setdefault(key, []).append(item)
    out = []
    for key, members in groups.items():
        first = members[0]
        out.append(
            CatalogProductData(
                external_id=key if not key.startswith("item:") else str(first.get("retailer_id")),
                title=safe_text(str(first.get("name") or ""), 255),
                description=str(first.get("description") or ""),
                status=str(first.get("visibility") or ""),
                vendor=safe_text(str(first.get("brand") or ""), 255),
                image_urls=tuple(_images(first)),
                variants=tuple(catalog_variant(m) for m in members),
            )
        )
    return out
