"""Publishing to TikTok Shop (API 202309, pure): OmniStock products as Create Product and Partial
Edit Product bodies, the checks TikTok's required fields need before any call, results per
product, and archiving (Deactivate Products).

Sources (lywzx/tiktok-partner-api packages/tk-origin-api/src/products/, generated from
https://partner.tiktokshop.com/docv2). Source: https://github.com/lywzx/tiktok-partner-api/tree/main/packages/tk-origin-api/src/products
- CreateProduct.ts `POST /product/202309/products`: required `title` (US/UK 1..255 characters,
  other regions 25..255), `description` (HTML, ≤ 10,000 characters, tags p img ul ol li br strong
  b i em u), `category_id` (a leaf category), `main_images[{uri}]` (1..9 URIs "returned by the
  Upload Image API"), `skus[{seller_sku ≤ 50 characters, price{amount, currency} (pre-tax),
  inventory[{warehouse_id, quantity}], sales_attributes[{name, value_name}]?,
  identifier_code{code, type GTIN|EAN|UPC|ISBN}?}]` (≤ 100 SKUs in US/UK), `package_weight{value,
  unit KILOGRAM|POUND}`; `package_dimensions{length, width, height, unit CENTIMETER|INCH}` is
  required "for local business in MY, SG, UK, and US regions"; `brand_id`, `save_mode`
  (AS_DRAFT | LISTING, default LISTING) optional. Answer `data{product_id, skus[{id, seller_sku}]}`.
- PartialEditProduct.ts `POST /product/202309/products/{product_id}/partial_edit`: only the
  fields sent change; but "the SKU ID that existed in this product previously but was not provided
  during editing will be treated as a deletion", so an edit that touches SKUs sends every SKU
  the product has (read first with Get Product), a SKU without `id` being a new one.
- DeactivateProducts.ts `POST /product/202309/products/deactivate {product_ids ≤ 20}` → the
  products become SELLER_DEACTIVATED, kept with their ids; `data.errors[{code, message,
  detail{product_id}}]`.
Images (UploadProductImage.ts `POST /product/202309/images/upload`, multipart `data` = the file
(JPG/JPEG/PNG, ≤ 5 MB), `use_case` MAIN_IMAGE → `data{uri, url}`): the product's first 9 image
URLs are fetched (the egress guard applies: public https hosts) and uploaded, and their URIs are
`main_images`. TikTok lists a product only with main_images, so an active product without images
is REJECTED before any call; a draft without images is created with save_mode AS_DRAFT (that
TikTok keeps such a draft is [M]). An update sends main_images only when `images` is owned and
the product has some.
compare_at prices have no field in 202309 SKU prices and are not sent.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omnistock_common.money import MoneyError, from_minor
from omnistock_connector_kit.publishing import (
    ADDS_UNOWNED_VARIANTS,
    ProductResult,
    ProductUpsert,
    PublishedVariant,
    RequiredFields,
    VariantUpsert,
    adds_unowned_variants,
    sku_problem,
)
from tiktok_connector.protocol.api import clean_id
from tiktok_connector.protocol.products import product_skus
from tiktok_connector.protocol.values import Outcome

# Products one UpsertProducts/ArchiveProducts call takes (Deactivate Products: ≤ 20 ids a call).
MAX_PRODUCT_BATCH = 20
MAX_SKUS = 100
MAX_SELLER_SKU = 50
MAX_TITLE = 255
MIN_TITLE_ELSEWHERE = 25
MAX_DESCRIPTION = 10_000
MAX_IMAGES = 9
MAIN_IMAGE = "MAIN_IMAGE"
# Regions whose local shops must give package dimensions (CreateProduct.ts package_dimensions).
DIMENSION_REGIONS = frozenset({"US", "GB", "UK", "MY", "SG"})
TITLE_ANY_LENGTH_REGIONS = frozenset({"US", "GB", "UK"})
AS_DRAFT, LISTING = "AS_DRAFT", "LISTING"
# OmniStock status → save_mode of a create ("" = TikTok's default, LISTING).
SAVE_MODES = {"": LISTING, "active": LISTING, "draft": AS_DRAFT, "archived": AS_DRAFT}
# Connection settings for what OmniStock does not know.
CATEGORY_SETTING = "category_id"
WAREHOUSE_SETTING = "warehouse_id"
BRAND_SETTING = "brand_id"
WEIGHT_SETTING = "package_weight_kg"
DIMENSIONS_SETTING = "package_dimensions_cm"
NO_IMAGES = (
    "TikTok lists a product only with main_images and this product has no image: add one, or "
    "publish it with status draft (a TikTok draft without images)"
)
# Barcode length → identifier_code type (CreateProduct.ts: GTIN 14 digits, EAN 8/13/14, UPC 12).
CODE_TYPES = {8: "EAN", 12: "UPC", 13: "EAN", 14: "GTIN"}


@dataclass(frozen=True)
class Shop:
    """What a body needs from the connection: settings, the warehouse new SKUs stock in, currency."""

    settings: Mapping[str, str]
    warehouse_id: str
    currency: str = ""

    @property
    def region(self) -> str:
        return str(self.settings.get("region") or "").strip().upper()


def package_weight(product: ProductUpsert, settings: Mapping[str, str]) -> dict[str, str] | None:
    """The heaviest variant's weight in kilograms, else the connection's package_weight_kg."""
    grams = [v.weight_grams for v in product.variants if v.weight_grams]
    if grams:
        return {"value": f"{max(grams) / 1000:.3f}".rstrip("0").rstrip("."), "unit": "KILOGRAM"}
    text = str(settings.get(WEIGHT_SETTING) or "").strip()
    try:
        return {"value": text, "unit": "KILOGRAM"} if text and float(text) > 0 else None
    except ValueError:
        return None


def package_dimensions(settings: Mapping[str, str]) -> dict[str, str] | None:
    """The connection's package_dimensions_cm "LxWxH" (whole centimetres), or None."""
    parts = [x.strip() for x in str(settings.get(DIMENSIONS_SETTING) or "").lower().split("x")]
    if len(parts) != 3 or not all(x.isdigit() and int(x) > 0 for x in parts):
        return None
    return {"length": parts[0], "width": parts[1], "height": parts[2], "unit": "CENTIMETER"}


def description_html(text: str) -> str:
    """TikTok takes HTML: OmniStock's HTML as it is, plain text as paragraphs."""
    text = text.strip()
    if text.startswith("<"):
        return text[:MAX_DESCRIPTION]
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)[:MAX_DESCRIPTION]


def _money_problem(variant: VariantUpsert, currency: str) -> str | None:
    if variant.price is None:
        return None
    if currency and variant.price.currency != currency:
        return f"price in {variant.price.currency}, but the shop sells in {currency}"
    if variant.price.amount_minor <= 0:
        return "TikTok needs a price above zero"
    try:
        from_minor(variant.price.amount_minor, variant.price.currency)
    except (MoneyError, ValueError):
        return f"unsupported currency {variant.price.currency!r}"
    return None


def upsert_problem(product: ProductUpsert, shop: Shop) -> str | None:
    """Why TikTok would refuse this product (REJECTED before any call, naming the field), or None."""
    problem = sku_problem(
        product, key="TikTok's seller_sku", max_length=MAX_SELLER_SKU, max_variants=MAX_SKUS
    )
    if problem:
        return problem
    if product.status not in SAVE_MODES:
        return f"unknown product status {product.status!r} (active, draft or archived)"
    if product.is_create and SAVE_MODES[product.status] == LISTING and not product.image_urls:
        return NO_IMAGES
    if adds_unowned_variants(product):
        return ADDS_UNOWNED_VARIANTS
    creating = [v for v in product.variants if product.creates(v)]
    required = RequiredFields()
    need = required.need

    title = product.title.strip()
    need("title", bool(title), product.owns("title"))
    need("description", bool(product.description.strip()), product.owns("description"))
    if product.is_create:
        need(
            "category_id (set the connection's category_id setting)",
            bool(shop.settings.get(CATEGORY_SETTING)),
            True,
        )
        need(
            "package_weight (variant weights or the connection's package_weight_kg setting)",
            package_weight(product, shop.settings) is not None,
            True,
        )
        need(
            "package_dimensions (the connection's package_dimensions_cm setting, LxWxH)",
            package_dimensions(shop.settings) is not None,
            shop.region in DIMENSION_REGIONS,
        )
    need("warehouse_id (the connection's warehouse_id setting)", bool(shop.warehouse_id), bool(creating))
    for variant in product.variants:
        need("price", variant.price is not None, product.creates(variant) or product.owns("prices"))
    if required.missing:
        return f"TikTok requires {', '.join(required.missing)}; missing for this product"
    if product.owns("title") and (
        len(title) > MAX_TITLE
        or (shop.region and shop.region not in TITLE_ANY_LENGTH_REGIONS and len(title) < MIN_TITLE_ELSEWHERE)
    ):
        return f"TikTok titles are {MIN_TITLE_ELSEWHERE}..{MAX_TITLE} characters in region {shop.region}"
    if product.owns("options") and len(product.variants) > 1 and any(not v.options for v in product.variants):
        return "TikTok tells SKUs apart by sales_attributes: every variant of a product with several needs options"
    for variant in product.variants:
        problem = _money_problem(variant, shop.currency)
        if problem:
            return f"{variant.sku}: {problem}"
    return None


def _price(variant: VariantUpsert) -> dict[str, str]:
    assert variant.price is not None
    return {
        "amount": from_minor(variant.price.amount_minor, variant.price.currency),
        "currency": variant.price.currency,
    }


def _attributes(variant: VariantUpsert) -> list[dict[str, str]]:
    return [{"name": n.strip()[:50], "value_name": v.strip()[:50]} for n, v in variant.options if n.strip()]


def _identifier(variant: VariantUpsert) -> dict[str, str] | None:
    code = variant.barcode.strip()
    kind = CODE_TYPES.get(len(code)) if code.isdigit() else None
    return {"code": code, "type": kind} if kind else None


def new_sku(variant: VariantUpsert, warehouse_id: str) -> dict[str, Any]:
    """A SKU to create: out of stock until PushInventory sends its quantity."""
    body: dict[str, Any] = {
        "seller_sku": variant.sku,
        "price": _price(variant),
        "inventory": [{"warehouse_id": warehouse_id, "quantity": 0}],
    }
    attributes = _attributes(variant)
    if attributes:
        body["sales_attributes"] = attributes
    identifier = _identifier(variant)
    if identifier:
        body["identifier_code"] = identifier
    return body


def images_to_upload(product: ProductUpsert) -> list[str]:
    """The image URLs whose uploads become main_images: on create, or when `images` is owned."""
    return list(product.image_urls[:MAX_IMAGES]) if product.owns("images") else []


def uploaded_uri(data: Any) -> str:
    """Upload Product Image's `data.uri`, or "" when the answer has none."""
    uri = data.get("uri") if isinstance(data, Mapping) else None
    return uri.strip() if isinstance(uri, str) else ""


def create_body(product: ProductUpsert, shop: Shop, image_uris: Sequence[str] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {
        "save_mode": SAVE_MODES[product.status],
        "title": product.title.strip(),
        "description": description_html(product.description),
        "category_id": str(shop.settings.get(CATEGORY_SETTING) or "").strip(),
        "package_weight": package_weight(product, shop.settings),
        "skus": [new_sku(v, shop.warehouse_id) for v in product.variants],
        "external_product_id": product.product_id,
    }
    if image_uris:
        body["main_images"] = [{"uri": uri} for uri in image_uris]
    dimensions = package_dimensions(shop.settings)
    if dimensions:
        body["package_dimensions"] = dimensions
    brand = str(shop.settings.get(BRAND_SETTING) or "").strip()
    if brand:
        body["brand_id"] = brand
    return body


def _kept_sku(sku: Mapping[str, Any]) -> dict[str, Any]:
    """A SKU the edit leaves as TikTok has it (sent only because an omitted SKU is deleted)."""
    price = sku.get("price") if isinstance(sku.get("price"), Mapping) else {}
    body: dict[str, Any] = {
        "id": str(sku.get("id") or ""),
        "seller_sku": str(sku.get("seller_sku") or ""),
        "price": {
            "amount": str(price.get("tax_exclusive_price") or price.get("sale_price") or ""),
            "currency": str(price.get("currency") or ""),
        },
        "inventory": [
            {"warehouse_id": str(lv.get("warehouse_id") or ""), "quantity": lv.get("quantity", 0)}
            for lv in sku.get("inventory") or []
            if isinstance(lv, Mapping)
        ],
    }
    attributes = [
        {k: str(a[k]) for k in ("id", "value_id", "name", "value_name") if a.get(k)}
        for a in sku.get("sales_attributes") or []
        if isinstance(a, Mapping)
    ]
    if attributes:
        body["sales_attributes"] = attributes
    return body


def _existing(variant: VariantUpsert, by_id: Mapping[str, Any], by_sku: Mapping[str, Any]) -> Any:
    return by_id.get(variant.external_id) or by_sku.get(variant.sku)


def edit_body(
    product: ProductUpsert, current: Any, shop: Shop, image_uris: Sequence[str] = ()
) -> dict[str, Any]:
    """The Partial Edit body: the owned fields; when prices, options or variants are owned, every
    SKU of the product (the request's changed, the others kept); {} = nothing to write."""
    body: dict[str, Any] = {}
    if image_uris:
        body["main_images"] = [{"uri": uri} for uri in image_uris]
    if product.owns("title"):
        body["title"] = product.title.strip()
    if product.owns("description"):
        body["description"] = description_html(product.description)
    if not any(product.owns(f) for f in ("prices", "options", "variants")):
        return body
    existing = product_skus(current)
    by_id = {str(s.get("id") or ""): s for s in existing}
    by_sku = {str(s.get("seller_sku") or ""): s for s in existing if s.get("seller_sku")}
    changed: dict[str, VariantUpsert] = {}
    added: list[dict[str, Any]] = []
    for variant in product.variants:
        found = _existing(variant, by_id, by_sku)
        if found is None:
            added.append(new_sku(variant, shop.warehouse_id))
        else:
            changed[str(found.get("id") or "")] = variant
    skus = []
    for sku in existing:
        kept = _kept_sku(sku)
        variant = changed.get(kept["id"])
        if variant is not None:
            if product.owns("prices") and variant.price is not None:
                kept["price"] = _price(variant)
            if product.owns("options") and variant.options:
                kept["sales_attributes"] = _attributes(variant)
            identifier = _identifier(variant) if product.owns("variants") else None
            if identifier:
                kept["identifier_code"] = identifier
        skus.append(kept)
    body["skus"] = skus + added
    return body


def published(product: ProductUpsert, product_id: str, current: Any) -> ProductResult:
    """APPLIED with every requested variant's ids read back from the product (the ids
    ListRemoteProducts gives: product_id, sku_id, the SKU's first warehouse_id); RETRY when a SKU
    is not there yet."""
    by_sku = {str(s.get("seller_sku") or ""): s for s in product_skus(current)}
    variants = []
    for variant in product.variants:
        sku = by_sku.get(variant.sku)
        sku_id = clean_id(sku.get("id"), 64) if sku else ""
        if not sku_id:
            return ProductResult(
                product.product_id, Outcome.RETRY, f"TikTok does not list SKU {variant.sku} yet", product_id
            )
        ids = {"product_id": product_id, "sku_id": sku_id}
        levels = [lv for lv in sku.get("inventory") or [] if isinstance(lv, Mapping)] if sku else []
        warehouse = clean_id(levels[0].get("warehouse_id"), 64) if levels else ""
        if warehouse:
            ids["warehouse_id"] = warehouse
        variants.append(PublishedVariant(variant.sku, sku_id, ids))
    return ProductResult(product.product_id, Outcome.APPLIED, "", product_id, tuple(variants))


# TikTok statuses a product is off sale in; SELLER_DEACTIVATED is the one Activate Products undoes.
OFF_SALE = frozenset({"SELLER_DEACTIVATED", "PLATFORM_DEACTIVATED", "FREEZE", "DELETED"})


def status_change(product: ProductUpsert, current_status: str) -> str:
    """What an update's status asks of TikTok: "deactivate" (archived, still on sale), "activate"
    (active, deactivated by the seller) or "". A draft stays as TikTok has it: a product that has
    been listed cannot go back to draft there, and one TikTok itself took off sale stays off."""
    if product.is_create or not product.owns("status"):
        return ""
    status = current_status.upper()
    if product.status == "archived" and status not in OFF_SALE:
        return "deactivate"
    if product.status == "active" and status == "SELLER_DEACTIVATED":
        return "activate"
    return ""


def deactivate_errors(data: Any) -> tuple[dict[str, str], str]:
    """Deactivate Products' `data.errors` as ({product_id: message}, a message naming no product)."""
    errors = data.get("errors") if isinstance(data, Mapping) else None
    by_product: dict[str, str] = {}
    general = ""
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, Mapping):
            continue
        message = str(error.get("message") or f"TikTok error {error.get('code')}")[:300]
        detail = error.get("detail") if isinstance(error.get("detail"), Mapping) else {}
        product_id = clean_id(detail.get("product_id"), 64)
        if product_id:
            by_product[product_id] = message
        else:
            general = message
    return by_product, general


def archive_results(
    refs: Sequence[tuple[str, str]], by_product: Mapping[str, str], general: str
) -> list[ProductResult]:
    """(OmniStock product id, TikTok product id) pairs → REJECTED with TikTok's words, else APPLIED."""
    out = []
    for product_id, external_id in refs:
        message = by_product.get(external_id) or general
        outcome = Outcome.REJECTED if message else Outcome.APPLIED
        out.append(
            ProductResult(product_id, outcome, f"TikTok refused: {message}" if message else "", external_id)
        )
    return out
