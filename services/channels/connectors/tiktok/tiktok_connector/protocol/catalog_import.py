"""Whole products for the onboarding import (pure): Get Product detail → the kit's CatalogProductData.

Search Products (`POST /product/202309/products/search`, `page_size` ≤ 100 products, cursor
`page_token` → `next_page_token`) gives a page's product ids; Get Product
(`GET /product/202309/products/{product_id}`) gives each in full (lywzx/tiktok-partner-api
src/products/GetProduct.ts): id, title, description (HTML), status (DRAFT, PENDING, FAILED,
ACTIVATE, SELLER_DEACTIVATED, PLATFORM_DEACTIVATED, FREEZE, DELETED; passed on as TikTok's word,
the channels service's status_of reads it), brand{id, name}, main_images[{uri, urls[]}],
package_weight{value, unit KILOGRAM|POUND}, skus[{id, seller_sku, price{tax_exclusive_price,
sale_price, currency}, inventory[{warehouse_id, quantity}], identifier_code{code, type},
sales_attributes[{id, name, value_id, value_name}]}].
Source: https://github.com/lywzx/tiktok-partner-api/tree/main/packages/tk-origin-api/src/products (GetProduct.ts, SearchProducts.ts).
A variant's ids are the ones ListRemoteProducts gives for its SKU (product_id, sku_id, first
warehouse_id), so a listing mapped from the import pushes stock at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from omnistock_common.egress import safe_text
from omnistock_connector_kit.catalog_import import CatalogProductData, CatalogVariantData, LevelData
from tiktok_connector.protocol.api import clean_id
from tiktok_connector.protocol.products import product_skus
from tiktok_connector.protocol.values import read_amount

# Products per import page: each costs a Get Product call, so a page (1 search + 20 details) stays
# about one burst of the connection's bucket (config.py: 20) and well inside an RPC's deadline.
MAX_CATALOG_PAGE = 20
GRAMS_PER = {"KILOGRAM": Decimal(1000), "POUND": Decimal("453.59237")}


def weight_grams(weight: Any) -> int | None:
    """package_weight in grams (TikTok weighs the package, not each SKU), or None."""
    if not isinstance(weight, Mapping):
        return None
    per = GRAMS_PER.get(str(weight.get("unit") or "").upper())
    try:
        value = Decimal(str(weight.get("value")))
    except (InvalidOperation, ValueError):
        return None
    if per is None or not value.is_finite() or value <= 0:
        return None
    return int((value * per).to_integral_value())


def _levels(sku: Mapping[str, Any]) -> tuple[LevelData, ...]:
    """A SKU's quantity per TikTok warehouse (location_id = warehouse_id, no name)."""
    out = []
    for level in sku.get("inventory") or []:
        if not isinstance(level, Mapping):
            continue
        quantity = level.get("quantity")
        if isinstance(quantity, int) and not isinstance(quantity, bool):
            out.append(
                LevelData(location_id=clean_id(level.get("warehouse_id"), 64), available=max(0, quantity))
            )
    return tuple(out)


def catalog_variant(product_id: str, sku: Mapping[str, Any], weight: int | None) -> CatalogVariantData:
    sku_id = clean_id(sku.get("id"), 64)
    price = sku.get("price") if isinstance(sku.get("price"), Mapping) else {}
    currency = str(price.get("currency") or "")
    amount = (
        read_amount(price.get("tax_exclusive_price") or price.get("sale_price"), currency)
        if currency
        else None
    )
    options = [
        (safe_text(a.get("name") or "", 100), safe_text(a.get("value_name") or "", 100))
        for a in sku.get("sales_attributes") or []
        if isinstance(a, Mapping) and a.get("name") and a.get("value_name")
    ]
    levels = _levels(sku)
    ids = {"product_id": product_id, "sku_id": sku_id}
    if levels and levels[0].location_id:
        ids["warehouse_id"] = levels[0].location_id
    code = sku.get("identifier_code") if isinstance(sku.get("identifier_code"), Mapping) else {}
    return CatalogVariantData(
        external_id=sku_id,
        ids=ids,
        sku=safe_text(sku.get("seller_sku") or "", 255),
        title=" / ".join(value for _, value in options),
        barcode=safe_text(code.get("code") or "", 64),
        options=tuple(options),
        price=amount,
        weight_grams=weight,
        levels=levels,
    )


def _images(product: Mapping[str, Any]) -> list[str]:
    urls = []
    for image in product.get("main_images") or []:
        found = image.get("urls") if isinstance(image, Mapping) else None
        first = found[0] if isinstance(found, list) and found else ""
        if isinstance(first, str) and first.startswith(("https://", "http://")):
            urls.append(first)
    return urls


def catalog_product(product: Any) -> CatalogProductData | None:
    """One product in full; None when it has no id."""
    if not isinstance(product, Mapping):
        return None
    product_id = clean_id(product.get("id"), 64)
    if not product_id:
        return None
    brand = product.get("brand") if isinstance(product.get("brand"), Mapping) else {}
    weight = weight_grams(product.get("package_weight"))
    return CatalogProductData(
        external_id=product_id,
        title=safe_text(product.get("title") or "", 255),
        description=str(product.get("description") or ""),
        status=str(product.get("status") or ""),
        vendor=safe_text(brand.get("name") or "", 255),
        image_urls=tuple(_images(product)),
        variants=tuple(
            catalog_variant(product_id, s, weight) for s in product_skus(product) if clean_id(s.get("id"), 64)
        ),
    )


def page_product_ids(data: Any) -> tuple[list[str], str]:
    """(product ids, next_page_token) of a Search Products answer, in TikTok's order."""
    products = data.get("products") if isinstance(data, Mapping) else None
    ids = [
        clean_id(p.get("id"), 64)
        for p in (products if isinstance(products, list) else [])
        if isinstance(p, Mapping) and clean_id(p.get("id"), 64)
    ]
    token = str(data.get("next_page_token") or "") if isinstance(data, Mapping) else ""
    return ids, token
