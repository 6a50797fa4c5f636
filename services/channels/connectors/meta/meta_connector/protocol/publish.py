"""Publishing to a Meta catalog (pure): OmniStock products as items_batch CREATE/UPDATE requests,
the checks Meta's required fields need before any call, results per product, and archiving.

Graph API v25.0. One OmniStock variant = one catalog item whose retailer id (`data.id`) is the
SKU; the variants of a product share `item_group_id` (the product: the ProductUpsert's
external_id, else "os-<OmniStock product id>"). Field names are the catalog feed's, as items_batch
takes them (Meta's own plugin, facebook/facebook-for-woocommerce includes/fbproduct.php
prepare_product with PRODUCT_PREP_TYPE_ITEMS_BATCH: title, description, image_link,
additional_image_link, link, price "<amount> <ISO currency>", sale_price, availability, condition,
brand, item_group_id, visibility; includes/fbutils.php prepare_product_requests_items_batch puts
the retailer id in data.id and `condition` defaults to "new").
Required for an item (https://developers.facebook.com/docs/commerce-platform/catalog/fields/ and
…/catalog/best-practices: id, title, description, availability, condition, price, link,
image_link, plus brand or gtin/mpn): "When the method is CREATE, this object must contain all the
required fields for a product" (https://developers.facebook.com/docs/marketing-api/using-products-batch-api).
What Meta answers for a missing one is a per-item entry in check_batch_request_status `errors`
(its exact wording is [M]); this module refuses such a product before any call, naming the field.
Archive: ProductItem `visibility` is published | staging (facebook-python-business-sdk
adobjects/productitem.py ProductItem.Visibility); "staging" keeps the item and its ids in the
catalog but off the shops. (Meta's WooCommerce plugin sends "hidden" for the same purpose,
facebook-commerce.php FB_SHOP_PRODUCT_HIDDEN; which word items_batch prefers is [M].)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meta_connector.protocol.catalog import OUT_OF_STOCK, meta_price
from meta_connector.protocol.values import ItemResult, Outcome
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
    status_problem,
)

# Products one UpsertProducts call takes: their items go in one items_batch (≤ 5,000 requests).
MAX_PRODUCT_BATCH = 50
MAX_VARIANTS_PER_PRODUCT = 100
GROUP_PREFIX = "os-"
PUBLISHED = "published"
STAGING = "staging"
# OmniStock status → Meta visibility ("" = leave Meta's as it is).
VISIBILITY = {"active": PUBLISHED, "draft": STAGING, "archived": STAGING}
DEFAULT_CONDITION = "new"
# The feed's own variant fields; other options go in additional_variant_attribute "Name:Value,...".
VARIANT_FIELDS = {
    "color": "color",
    "colour": "color",
    "size": "size",
    "pattern": "pattern",
    "gender": "gender",
}
MAX_TITLE = 200
MAX_DESCRIPTION = 9999
# Connection settings for the item `link` (Meta requires one; OmniStock has no product pages).
LINK_TEMPLATE_SETTING = "product_url_template"
STORE_URL_SETTING = "store_url"


@dataclass(frozen=True)
class Prepared:
    """One product ready to send: its item group and one (sku, request) per variant."""

    product: ProductUpsert
    group_id: str
    requests: tuple[tuple[str, Mapping[str, Any]], ...]


def group_id(product: ProductUpsert) -> str:
    """The item_group_id: the product's external id when it has one, else derived from OmniStock's
    product id (stable: a retried create lands in the same group)."""
    return product.external_id or f"{GROUP_PREFIX}{product.product_id}"


def item_link(settings: Mapping[str, str], product: ProductUpsert, variant: VariantUpsert) -> str:
    """The item's `link`: the connection's product_url_template with {product_id}, {group_id},
    {sku} filled in, else its store_url; "" when it has neither (the product is then refused)."""
    template = (settings.get(LINK_TEMPLATE_SETTING) or "").strip()
    if template:
        link = (
            template.replace("{product_id}", product.product_id)
            .replace("{group_id}", group_id(product))
            .replace("{sku}", variant.sku)
        )
    else:
        link = (settings.get(STORE_URL_SETTING) or "").strip()
    return link if link.startswith(("https://", "http://")) else ""


def upsert_problem(product: ProductUpsert, settings: Mapping[str, str]) -> str | None:
    """Why Meta would refuse this product (REJECTED before any call, naming the field), or None."""
    problem = sku_problem(
        product,
        key="the Meta retailer id, data.id, unique in a catalog",
        max_variants=MAX_VARIANTS_PER_PRODUCT,
    ) or status_problem(product, VISIBILITY)
    if problem:
        return problem
    required = RequiredFields()
    need = required.need

    for variant in product.variants:
        full = product.creates(variant)
        need("title", bool(product.title.strip()), full or product.owns("title"))
        need("description", bool(product.description.strip()), full or product.owns("description"))
        need("image_link (an image URL)", bool(product.image_urls), full or product.owns("images"))
        need(
            "link (set the connection's product_url_template or store_url)",
            bool(item_link(settings, product, variant)),
            full,
        )
        need("price", variant.price is not None, full or product.owns("prices"))
        need(
            "brand (the product's vendor, or a barcode as gtin)",
            bool(product.vendor.strip() or variant.barcode.strip()),
            full,
        )
    if required.missing:
        return f"Meta requires {', '.join(required.missing)}; missing for this product"
    if adds_unowned_variants(product):
        return ADDS_UNOWNED_VARIANTS
    currencies = {v.price.currency for v in product.variants if v.price is not None}
    if len(currencies) > 1:
        return "variant prices are in more than one currency"
    for variant in product.variants:
        for amount in (variant.price, variant.compare_at):
            if amount is None:
                continue
            try:
                from_minor(amount.amount_minor, amount.currency)
            except (MoneyError, ValueError):
                return f"unsupported currency {amount.currency!r}"
            if amount.amount_minor < 0:
                return "a price cannot be negative"
    return None


def _prices(variant: VariantUpsert) -> dict[str, str]:
    """A compare-at price above the price is Meta's `price` with the selling price as sale_price."""
    price, compare = variant.price, variant.compare_at
    if price is None:
        return {}
    if (
        compare is not None
        and compare.currency == price.currency
        and compare.amount_minor > price.amount_minor
    ):
        return {"price": meta_price(compare), "sale_price": meta_price(price)}
    return {"price": meta_price(price), "sale_price": ""}


def _options(variant: VariantUpsert) -> dict[str, str]:
    data: dict[str, str] = {}
    extra: list[str] = []
    for name, value in variant.options:
        field = VARIANT_FIELDS.get(name.strip().lower())
        if field and field not in data:
            data[field] = value
        else:
            clean = lambda text: text.replace(",", " ").replace(":", " ").strip()  # noqa: E731
            extra.append(f"{clean(name)}:{clean(value)}")
    if extra:
        data["additional_variant_attribute"] = ",".join(extra)
    return data


def item_request(
    product: ProductUpsert, variant: VariantUpsert, settings: Mapping[str, str]
) -> dict[str, Any]:
    """One items_batch request: CREATE with every field for a new item (out of stock until
    PushInventory sends its quantity), UPDATE with the owned fields for an existing one."""
    create = product.creates(variant)
    data: dict[str, Any] = {"id": variant.sku, "item_group_id": group_id(product)}
    if create or product.owns("title"):
        data["title"] = product.title.strip()[:MAX_TITLE]
    if create or product.owns("description"):
        data["description"] = product.description.strip()[:MAX_DESCRIPTION]
    if create or product.owns("images"):
        data["image_link"] = product.image_urls[0] if product.image_urls else ""
        data["additional_image_link"] = ",".join(product.image_urls[1:21])
    if create or product.owns("prices"):
        data.update(_prices(variant))
    if (create or product.owns("vendor")) and product.vendor.strip():
        data["brand"] = product.vendor.strip()[:100]
    if (create or product.owns("variants")) and variant.barcode.strip():
        data["gtin"] = variant.barcode.strip()
    if create or product.owns("options"):
        data.update(_options(variant))
    if create or product.owns("status"):
        visibility = VISIBILITY.get(product.status, PUBLISHED if create else "")
        if visibility:
            data["visibility"] = visibility
    if create:
        data["link"] = item_link(settings, product, variant)
        data["condition"] = DEFAULT_CONDITION
        data["availability"] = OUT_OF_STOCK
        data["inventory"] = 0
    return {"method": "CREATE" if create else "UPDATE", "data": data}


def prepare(product: ProductUpsert, settings: Mapping[str, str]) -> Prepared:
    return Prepared(
        product,
        group_id(product),
        tuple((v.sku, item_request(product, v, settings)) for v in product.variants),
    )


def product_result(
    prepared: Prepared, items: Mapping[str, ItemResult], found: Mapping[str, Mapping[str, Any]]
) -> ProductResult:
    """A product's result from its items' results: REJECTED if Meta refused any item (naming each
    SKU), else RETRY if any is not known applied, else APPLIED with every variant's ids
    (`found`: the items read back by retailer id, for their catalog item ids)."""
    product = prepared.product
    refused = [
        (sku, items[sku].message) for sku, _ in prepared.requests if items[sku].outcome is Outcome.REJECTED
    ]
    if refused:
        words = "; ".join(f"{sku}: {message}" for sku, message in refused)
        return ProductResult(product.product_id, Outcome.REJECTED, f"Meta refused {words}", prepared.group_id)
    pending = [items[sku] for sku, _ in prepared.requests if items[sku].outcome is not Outcome.APPLIED]
    if pending:
        return ProductResult(product.product_id, Outcome.RETRY, pending[0].message, prepared.group_id)
    variants = []
    for sku, _ in prepared.requests:
        item_id = str((found.get(sku) or {}).get("id") or "")
        ids = {"retailer_id": sku, "item_group_id": prepared.group_id}
        if item_id:
            ids["product_item_id"] = item_id
        variants.append(PublishedVariant(sku, sku, ids))
    return ProductResult(product.product_id, Outcome.APPLIED, "", prepared.group_id, tuple(variants))


def archive_request(sku: str) -> dict[str, Any]:
    """Off sale, kept: UPDATE visibility=staging (the item, its ids and its stock stay)."""
    return {"method": "UPDATE", "data": {"id": sku, "visibility": STAGING}}


def group_filter(group: str) -> str:
    """The products edge `filter` for one item group (a product-set rule on the ProductItem field
    retailer_product_group_id, SDK adobjects/productitem.py; the rule operator `eq` as for
    retailer_id is [M])."""
    return json.dumps({"retailer_product_group_id": {"eq": group}}, separators=(",", ":"))


def grouped_results(
    products: Sequence[tuple[str, str, Sequence[str]]], items: Mapping[str, ItemResult]
) -> list[ProductResult]:
    """Archive results: (product_id, group, its skus) → REJECTED/RETRY/APPLIED from its items."""
    out = []
    for product_id, group, skus in products:
        refused = [f"{s}: {items[s].message}" for s in skus if items[s].outcome is Outcome.REJECTED]
        pending = [items[s] for s in skus if items[s].outcome is Outcome.RETRY]
        if refused:
            out.append(
                ProductResult(product_id, Outcome.REJECTED, "Meta refused " + "; ".join(refused), group)
            )
        elif pending:
            out.append(ProductResult(product_id, Outcome.RETRY, pending[0].message, group))
        else:
            out.append(ProductResult(product_id, Outcome.APPLIED, "", group))
    return out
