"""Publishing to eBay (pure): OmniStock products as Inventory API inventory items, inventory item
groups and offers; the checks eBay's publish requirements need before any call; per-product results.

Sell Inventory API v1 (https://developer.ebay.com/api-docs/sell/static/inventory/inventory-item-to-offer.html):
a single-variation listing is createOrReplaceInventoryItem → createOffer → publishOffer; a
multiple-variation listing is one inventory item per variant → createOrReplaceInventoryItemGroup
(variantSKUs, variesBy.specifications) → one offer per SKU → publishOfferByInventoryItemGroup.

Identity: a one-variant product is one SKU (its external id is the SKU); a product with more
variants is an inventory item group whose key is the product's external id, else "os-<OmniStock
product id>" (stable: a retried create lands in the same group). Each variant's ids are `sku`,
`offer_id` and, once listed, `listing_id`: exactly what ListRemoteProducts gives (protocol.inventory).

Required to publish (https://developer.ebay.com/api-docs/sell/static/inventory/publishing-offers.html):
offer categoryId, listingPolicies (fulfillment, payment and return policy ids), merchantLocationKey,
pricingSummary.price; inventory item product.title, product.description, product.imageUrls,
condition, availability. What OmniStock does not know comes from the connection's settings
(SETTINGS); a product missing any of it is refused before any call, naming the setting or field.

Both createOrReplaceInventoryItem and updateOffer replace the whole record ("all fields ... are
required in that update operation, regardless of whether their values changed", createOrReplace-
InventoryItem; https://developer.ebay.com/api-docs/sell/static/inventory/managing-offers.html for
updateOffer), so an update sends the record eBay has with the owned fields written over it, and the
item's availability (pushed by PushInventory) is never overwritten by a product update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ebay_connector.protocol.api import DEFAULT_MARKETPLACE
from ebay_connector.protocol.values import Outcome
from omnistock_common.egress import safe_text
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

# Products one UpsertProducts call takes. Each costs per-SKU calls (no bulk call is used: publishing
# is rare), about 4 per variant + 3 (estimated_calls); the products after the first that would take
# a call past CALLS_PER_REQUEST are answered RETRY and go in the next call, so one RPC stays within
# the connection bucket's burst of 50 and the channels service's 30 s connector deadline.
MAX_PRODUCT_BATCH = 10
CALLS_PER_REQUEST = 48
# Our limit per product, for the same reason (12 variants ≈ 51 calls); eBay's own limit is higher [M].
MAX_VARIANTS_PER_PRODUCT = 12
GROUP_PREFIX = "os-"
# eBay limits (Inventory API types Product and InventoryItem): title ≤ 80 characters, SKU ≤ 50,
# description ≤ 4000 characters, up to 24 image URLs (https://developer.ebay.com/api-docs/sell/inventory/types/slr:Product) [M on the figures].
MAX_TITLE = 80
MAX_SKU = 50
MAX_DESCRIPTION = 4000
MAX_IMAGES = 24
FORMAT = "FIXED_PRICE"
DEFAULT_CONDITION = "NEW"

# Connection settings publishing needs (the seller's eBay business policies, category and
# inventory location; https://developer.ebay.com/api-docs/sell/static/inventory/publishing-offers.html).
CATEGORY_SETTING = "category_id"
FULFILLMENT_POLICY_SETTING = "fulfillment_policy_id"
PAYMENT_POLICY_SETTING = "payment_policy_id"
RETURN_POLICY_SETTING = "return_policy_id"
LOCATION_SETTING = "merchant_location_key"
REQUIRED_SETTINGS = (
    CATEGORY_SETTING,
    FULFILLMENT_POLICY_SETTING,
    PAYMENT_POLICY_SETTING,
    RETURN_POLICY_SETTING,
    LOCATION_SETTING,
)
# Optional: the item condition (ConditionEnum, default NEW) and the Content-Language header.
CONDITION_SETTING = "condition"
LANGUAGE_SETTING = "content_language"

# createOrReplaceInventoryItem, createOrReplaceInventoryItemGroup, createOffer and updateOffer
# require a Content-Language header (https://developer.ebay.com/api-docs/static/rest-request-components.html#HTTP):
# the marketplace's language unless the connection sets content_language.
MARKETPLACE_LANGUAGE = {
    "EBAY_US": "en-US",
    "EBAY_MOTORS_US": "en-US",
    "EBAY_GB": "en-GB",
    "EBAY_AU": "en-AU",
    "EBAY_CA": "en-CA",
    "EBAY_IE": "en-IE",
    "EBAY_DE": "de-DE",
    "EBAY_AT": "de-AT",
    "EBAY_CH": "de-CH",
    "EBAY_FR": "fr-FR",
    "EBAY_IT": "it-IT",
    "EBAY_ES": "es-ES",
    "EBAY_NL": "nl-NL",
    "EBAY_PL": "pl-PL",
}

# updateOffer's writable fields (EbayOfferDetailsWithId,
# https://developer.ebay.com/api-docs/sell/inventory/types/slr:EbayOfferDetailsWithId): what an update
# carries over from the offer eBay has (getOffers also answers offerId, sku, status, listing, ...).
OFFER_UPDATE_FIELDS = (
    "availableQuantity",
    "categoryId",
    "charity",
    "extendedProducerResponsibility",
    "hideBuyerDetails",
    "includeCatalogProductDetails",
    "listingDescription",
    "listingDuration",
    "listingPolicies",
    "listingStartDate",
    "lotSize",
    "merchantLocationKey",
    "pricingSummary",
    "quantityLimitPerBuyer",
    "regulatory",
    "secondaryCategoryId",
    "storeCategoryNames",
    "tax",
)
# OmniStock status → whether the listing should be live ("" = leave as it is on update).
LIVE = {"active": True, "draft": False, "archived": False}
PUBLISHED = "PUBLISHED"


def marketplace_of(settings: Mapping[str, str]) -> str:
    return (settings.get("marketplace_id") or DEFAULT_MARKETPLACE).upper()


def content_language(settings: Mapping[str, str]) -> str:
    return settings.get(LANGUAGE_SETTING) or MARKETPLACE_LANGUAGE.get(marketplace_of(settings), "en-US")


def missing_settings(settings: Mapping[str, str]) -> list[str]:
    return [name for name in REQUIRED_SETTINGS if not (settings.get(name) or "").strip()]


def is_grouped(product: ProductUpsert) -> bool:
    """A product is an inventory item group unless it is one variant whose SKU is (or will be)
    the product's external id."""
    if len(product.variants) != 1:
        return True
    return bool(product.external_id) and product.external_id != product.variants[0].sku


def group_key(product: ProductUpsert) -> str:
    return product.external_id or f"{GROUP_PREFIX}{product.product_id}"


def external_id(product: ProductUpsert) -> str:
    return group_key(product) if is_grouped(product) else product.variants[0].sku


def estimated_calls(product: ProductUpsert) -> int:
    """getInventoryItem, getOffers, createOrReplaceInventoryItem and create/updateOffer per SKU;
    getInventoryItemGroup, createOrReplaceInventoryItemGroup and one publish or withdraw."""
    return 4 * len(product.variants) + 3


def upsert_problem(product: ProductUpsert, settings: Mapping[str, str]) -> str | None:
    """Why eBay would refuse to list this product (REJECTED before any call), or None."""
    missing = missing_settings(settings)
    if missing:
        return f"the eBay connection needs the setting(s) {', '.join(missing)} to publish listings"
    problem = sku_problem(
        product,
        key="the eBay inventory item's key, unique per seller",
        max_length=MAX_SKU,
        max_variants=MAX_VARIANTS_PER_PRODUCT,
    ) or status_problem(product, LIVE)
    if problem:
        return problem
    skus = [v.sku for v in product.variants]
    if product.external_id and len(product.variants) > 1 and product.external_id in skus:
        return "a single-SKU eBay listing cannot gain variants; archive it and publish the product anew"
    required = RequiredFields()
    need = required.need

    for variant in product.variants:
        full = product.creates(variant)
        need("title", bool(product.title.strip()), full or product.owns("title"))
        need("description", bool(product.description.strip()), full or product.owns("description"))
        need("imageUrls (an image URL)", bool(_images(product)), full or product.owns("images"))
        need("price", variant.price is not None, full or product.owns("prices"))
    if is_grouped(product):
        for variant in product.variants:
            need("options (the variation aspects of a multi-variant listing)", bool(variant.options), True)
    if required.missing:
        return f"eBay requires {', '.join(required.missing)} to list; missing for this product"
    if adds_unowned_variants(product):
        return ADDS_UNOWNED_VARIANTS
    for variant in product.variants:
        for amount in (variant.price, variant.compare_at):
            if amount is None:
                continue
            try:
                from_minor(amount.amount_minor, amount.currency)
            except (MoneyError, ValueError):
                return f"unsupported currency {amount.currency!r}"
            if amount.amount_minor <= 0 and amount is variant.price:
                return "an eBay price must be above zero"
    return None


def _images(product: ProductUpsert) -> list[str]:
    return [u for u in product.image_urls if u.startswith("https://")][:MAX_IMAGES] or [
        u for u in product.image_urls if u.startswith("http://")
    ][:MAX_IMAGES]


def _money(amount: Any) -> dict[str, str]:
    return {"value": str(from_minor(amount.amount_minor, amount.currency)), "currency": amount.currency}


def _identifiers(barcode: str) -> dict[str, list[str]]:
    """A 12-digit barcode is a UPC, 13 digits an EAN (Product.upc / Product.ean); else none."""
    code = barcode.strip()
    if code.isdigit() and len(code) == 12:
        return {"upc": [code]}
    if code.isdigit() and len(code) == 13:
        return {"ean": [code]}
    return {}


def _aspects(product: ProductUpsert, variant: VariantUpsert | None) -> dict[str, list[str]]:
    aspects: dict[str, list[str]] = {}
    if product.vendor.strip():
        aspects["Brand"] = [product.vendor.strip()[:65]]
    for name, value in variant.options if variant is not None else ():
        if name.strip() and value.strip():
            aspects[name.strip()] = [value.strip()]
    return aspects


def item_body(
    product: ProductUpsert,
    variant: VariantUpsert,
    current: Mapping[str, Any] | None,
    settings: Mapping[str, str],
) -> dict[str, Any]:
    """createOrReplaceInventoryItem's body: the record eBay has (if any) with the owned fields
    written over it; a new item starts at quantity 0 (PushInventory sends the real figure)."""
    body: dict[str, Any] = {
        k: v for k, v in (current or {}).items() if k not in ("sku", "groupIds", "locale")
    }
    create = current is None
    item = dict(body.get("product") or {})
    if create or product.owns("title"):
        item["title"] = product.title.strip()[:MAX_TITLE]
    if create or product.owns("description"):
        item["description"] = product.description.strip()[:MAX_DESCRIPTION]
    if create or product.owns("images"):
        item["imageUrls"] = _images(product)
    aspects = dict(item.get("aspects") or {})
    if (create or product.owns("vendor")) and product.vendor.strip():
        aspects.update(_aspects(product, None))
    if create or product.owns("options"):
        aspects.update({k: v for k, v in _aspects(product, variant).items() if k != "Brand"})
    if aspects:
        item["aspects"] = aspects
    if (create or product.owns("variants")) and _identifiers(variant.barcode):
        item.update(_identifiers(variant.barcode))
    body["product"] = item
    body.setdefault("condition", (settings.get(CONDITION_SETTING) or DEFAULT_CONDITION).upper())
    body.setdefault("availability", {"shipToLocationAvailability": {"quantity": 0}})
    if (create or product.owns("variants")) and variant.weight_grams:
        body["packageWeightAndSize"] = {
            **(body.get("packageWeightAndSize") or {}),
            "weight": {"value": variant.weight_grams, "unit": "GRAM"},
        }
    return body


def group_body(product: ProductUpsert, key: str, current: Mapping[str, Any] | None) -> dict[str, Any]:
    """createOrReplaceInventoryItemGroup's body: shared title, description, images and aspects,
    every SKU of the group (the ones eBay has plus this request's), and the variation aspects
    with their values (variesBy.specifications)."""
    body: dict[str, Any] = {k: v for k, v in (current or {}).items() if k != "inventoryItemGroupKey"}
    create = current is None
    if create or product.owns("title"):
        body["title"] = product.title.strip()[:MAX_TITLE]
    if create or product.owns("description"):
        body["description"] = product.description.strip()[:MAX_DESCRIPTION]
    if create or product.owns("images"):
        body["imageUrls"] = _images(product)
    if create or product.owns("vendor"):
        body["aspects"] = {**(body.get("aspects") or {}), **_aspects(product, None)}
    skus = list(dict.fromkeys([*(body.get("variantSKUs") or []), *(v.sku for v in product.variants)]))
    body["variantSKUs"] = skus
    specs: dict[str, list[str]] = {}
    for spec in (body.get("variesBy") or {}).get("specifications") or []:
        if isinstance(spec, Mapping) and spec.get("name"):
            specs[str(spec["name"])] = [str(v) for v in spec.get("values") or []]
    for variant in product.variants:
        for name, value in variant.options:
            values = specs.setdefault(name.strip(), [])
            if value.strip() and value.strip() not in values:
                values.append(value.strip())
    body["variesBy"] = {
        **(body.get("variesBy") or {}),
        "specifications": [{"name": n, "values": v} for n, v in specs.items()],
    }
    body["inventoryItemGroupKey"] = key
    return body


def _pricing(variant: VariantUpsert, current: Mapping[str, Any]) -> dict[str, Any]:
    """pricingSummary: the price, and a higher compare-at price as originalRetailPrice
    (strikethrough pricing, PricingSummary type) [M on eligibility per seller]."""
    pricing = {k: v for k, v in current.items() if k != "originalRetailPrice"}
    if variant.price is not None:
        pricing["price"] = _money(variant.price)
    compare = variant.compare_at
    if (
        compare is not None
        and variant.price is not None
        and compare.amount_minor > variant.price.amount_minor
    ):
        pricing["originalRetailPrice"] = _money(compare)
    return pricing


def offer_body(
    product: ProductUpsert,
    variant: VariantUpsert,
    settings: Mapping[str, str],
    current: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """createOffer's body for a new offer; updateOffer's (the offer eBay has, its writable fields,
    with the owned price written over it) for an existing one."""
    if current is None:
        return {
            "sku": variant.sku,
            "marketplaceId": marketplace_of(settings),
            "format": FORMAT,
            "categoryId": settings[CATEGORY_SETTING].strip(),
            "merchantLocationKey": settings[LOCATION_SETTING].strip(),
            "listingPolicies": {
                "fulfillmentPolicyId": settings[FULFILLMENT_POLICY_SETTING].strip(),
                "paymentPolicyId": settings[PAYMENT_POLICY_SETTING].strip(),
                "returnPolicyId": settings[RETURN_POLICY_SETTING].strip(),
            },
            "pricingSummary": _pricing(variant, {}),
        }
    body = {k: current[k] for k in OFFER_UPDATE_FIELDS if k in current}
    if product.owns("prices"):
        body["pricingSummary"] = _pricing(variant, body.get("pricingSummary") or {})
    return body


def wants_live(product: ProductUpsert) -> bool | None:
    """Whether the listing should be live after this call: a create is listed unless it is a draft
    or archived; an update changes it only when the status is owned and given."""
    if product.is_create:
        return LIVE.get(product.status, True)
    if product.owns("status") and product.status:
        return LIVE[product.status]
    return None


def errors_text(body: Any) -> str:
    """eBay's {"errors":[{errorId, message, longMessage, parameters}]} as one line."""
    parts = []
    errors = body.get("errors") if isinstance(body, Mapping) else None
    for error in errors or []:
        if isinstance(error, Mapping):
            message = error.get("longMessage") or error.get("message") or ""
            parts.append(f"{error.get('errorId', '')} {message}".strip())
    return safe_text("; ".join(parts), 500)


@dataclass(frozen=True)
class Listed:
    """One variant after the calls: its offer and, when live, its listing."""

    sku: str
    offer_id: str
    listing_id: str


def variant_ids(listed: Listed) -> dict[str, str]:
    """The ids a listing maps the SKU by: the same keys as protocol.inventory.remote_product."""
    ids = {"sku": listed.sku, "offer_id": listed.offer_id}
    if listed.listing_id:
        ids["listing_id"] = listed.listing_id
    return ids


def applied(product: ProductUpsert, listed: Sequence[Listed]) -> ProductResult:
    return ProductResult(
        product.product_id,
        Outcome.APPLIED,
        "",
        external_id(product),
        tuple(PublishedVariant(x.sku, x.sku, variant_ids(x)) for x in listed),
    )
