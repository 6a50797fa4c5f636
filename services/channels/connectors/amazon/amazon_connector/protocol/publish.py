"""Publishing to Amazon (pure): OmniStock products as Listings Items submissions, the checks
Amazon's requirements need before any call, results per product, and archiving.

Listings Items API 2021-08-01 (Source: https://developer-docs.amazon.com/sp-api/docs/listings-items-api-v2021-08-01-model;
amzn/selling-partner-api-models models/listings-items-api-model/listingsItems_2021-08-01.json):
putListingsItem `PUT /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=` with
{productType, requirements (LISTING | LISTING_PRODUCT_ONLY | LISTING_OFFER_ONLY), attributes}
creates or fully replaces a listing; patchListingsItem changes named attributes. Both answer
{sku, status ACCEPTED | INVALID, submissionId, issues[{code, message, severity, attributeNames}],
identifiers[{marketplaceId, asin}]}. A JSON_LISTINGS_FEED UPDATE message carries the same
productType / requirements / attributes (schemas/feeds/listings-feed-message-schema-v2.json).

One OmniStock variant = one listing, keyed by its SKU. Two kinds of listing:
- an offer on an item already in Amazon's catalog (requirements LISTING_OFFER_ONLY, the default):
  the variant's barcode as `externally_assigned_product_identifier` [{type upc|ean|gtin, value}]
  lets Amazon match the catalog item ([M]: the attribute's name and shape come from the product
  type definitions as listing tools use them, not from a developer-docs page), with
  `condition_type` new_new (Source: https://developer-docs.amazon.com/sp-api/docs/submit-listings-data,
  which also shows `merchant_suggested_asin` and `main_product_image_locator`.media_location),
  `purchasable_offer` (our_price) and `fulfillment_availability` quantity 0 until PushInventory
  sends the stock (Source: https://developer-docs.amazon.com/sp-api/docs/manage-purchasable-offer);
- a full listing (requirements LISTING) when the connection's `product_type` setting names the
  Amazon product type (e.g. PRODUCT): the offer attributes plus item_name, brand,
  product_description, main_product_image_locator, other_product_image_locator_1..8 and, for
  options named colour/size, color / size ([M]: names as in the product type definitions; which
  attributes a product type requires beyond these is its definition's, which OmniStock does not
  read, so Amazon's issues answer for the rest).
Variation families (a non-buyable parent SKU, child_parent_sku_relationship and a
variation_theme per product type) are not created: the developer docs do not describe them for
the Listings Items API and each product type has its own themes. A multi-variant product is
published as one listing per variant; the import groups Amazon's own families by parent SKU.

Updates (a variant with an external id) are patchListingsItem `replace` patches of the owned
attributes only: a put would replace the whole listing and drop what the merchant keeps in Seller
Central (its stock included). An offer-only listing's product facts are Amazon's: only its price
is written. OmniStock's status has no Amazon counterpart (a listing is buyable when it has stock
and an offer): it is not written; ArchiveProducts takes products off sale.

Ids: a variant's listing ids are {seller_id, sku} (+ product_type of a full listing, + asin when
Amazon's answer names one): what ListRemoteProducts gives for the SKU (listings.remote_product),
so auto-mapping by SKU keeps working. The product's external id is its parent SKU when Amazon has
a family (import), the SKU of a one-variant product, else "skus:" + its URL-encoded SKUs
(ArchiveProducts only gets this id back, and Amazon has no product object to find them by).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from amazon_connector.protocol.api import DEFAULT_PRODUCT_TYPE
from amazon_connector.protocol.feeds import FeedMessage
from amazon_connector.protocol.listings import price_patch, price_problem, quantity_patch
from amazon_connector.protocol.values import Outcome
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

# Products per UpsertProducts / ArchiveProducts call; more than PATCH_THRESHOLD listings go as one
# JSON_LISTINGS_FEED (bulk.send_listings).
MAX_PRODUCT_BATCH = 50
MAX_VARIANTS_PER_PRODUCT = 50
# Seller SKUs are at most 40 characters ([M]: Seller Central's inventory file rule).
MAX_SKU = 40
MAX_EXTERNAL_ID = 255
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
# One main image and other_product_image_locator_1..8.
MAX_IMAGES = 9
SKU_LIST_PREFIX = "skus:"
PRODUCT_TYPE_SETTING = "product_type"
LANGUAGE_SETTING = "language_tag"
# The brand of full listings whose product names no vendor (OmniStock's catalog has none of its
# own: imported products carry the channel's).
BRAND_SETTING = "brand"
DEFAULT_LANGUAGE = "en_US"
FULL = "LISTING"
OFFER_ONLY = "LISTING_OFFER_ONLY"
CONDITION_NEW = "new_new"
STATUSES = ("active", "draft", "archived")
# Option names written as their own attribute on a full listing ([M]).
OPTION_ATTRIBUTES = {"color": "color", "colour": "color", "size": "size"}


@dataclass(frozen=True)
class Prepared:
    """One product ready to send: its mode, external id and one message per variant that has
    something to write (an update writing nothing has no message)."""

    product: ProductUpsert
    requirements: str
    product_type: str
    external_id: str
    messages: tuple[FeedMessage, ...]


def product_type_of(settings: Mapping[str, str]) -> str:
    """The connection's `product_type` setting: full listings; "" = offers on catalog items."""
    return (settings.get(PRODUCT_TYPE_SETTING) or "").strip().upper()


def barcode_type(code: str) -> str:
    """upc (12 digits), ean (8 or 13), gtin (14) for the identifier attribute; "" otherwise."""
    digits = code.strip()
    if not digits.isdigit():
        return ""
    return {12: "upc", 13: "ean", 8: "ean", 14: "gtin"}.get(len(digits), "")


def sku_list(external_id: str) -> list[str] | None:
    """The SKUs an OmniStock-made external id names; None for a SKU (a single or parent SKU)."""
    if not external_id.startswith(SKU_LIST_PREFIX):
        return None
    return [unquote(part) for part in external_id[len(SKU_LIST_PREFIX) :].split(",") if part]


def product_external_id(product: ProductUpsert) -> str:
    """The product's id on Amazon (module doc): a parent SKU stays; otherwise the SKU of a single
    variant, or every SKU it has had (an update names only some variants; the others stay)."""
    skus = [v.sku for v in product.variants]
    known = sku_list(product.external_id)
    if product.external_id and known is None and product.external_id not in skus:
        return product.external_id
    merged = list(dict.fromkeys([*(known or []), *skus]))
    if len(merged) == 1 and not merged[0].startswith(SKU_LIST_PREFIX):
        return merged[0]
    return SKU_LIST_PREFIX + ",".join(quote(sku, safe="") for sku in merged)


def upsert_problem(product: ProductUpsert, settings: Mapping[str, str], currency: str) -> str | None:
    """Why Amazon would refuse this product (REJECTED before any call, naming the field), or None."""
    problem = sku_problem(
        product,
        key="the Amazon seller SKU of its own listing",
        max_length=MAX_SKU,
        max_variants=MAX_VARIANTS_PER_PRODUCT,
    ) or status_problem(product, STATUSES)
    if problem:
        return problem
    full = bool(product_type_of(settings))
    required = RequiredFields()
    need = required.need

    for variant in product.variants:
        new = product.creates(variant)
        need(
            "barcode (a UPC, EAN or GTIN: Amazon matches the catalog item by it)",
            bool(barcode_type(variant.barcode)),
            new,
        )
        need("price (purchasable_offer)", variant.price is not None, new or product.owns("prices"))
        if full:
            need("title (item_name)", bool(product.title.strip()), new or product.owns("title"))
            need(
                "vendor (brand), or the connection's brand setting",
                bool(brand_of(product, settings)),
                new or product.owns("vendor"),
            )
            need(
                "an image (main_product_image_locator)",
                bool(_images(product)),
                new or product.owns("images"),
            )
    if required.missing:
        kind = f"a {product_type_of(settings)} listing" if full else "an offer on an Amazon catalog item"
        return f"Amazon requires {', '.join(required.missing)} for {kind}; missing for this product"
    if adds_unowned_variants(product):
        return ADDS_UNOWNED_VARIANTS
    for variant in product.variants:
        if variant.price is not None:
            problem = price_problem(variant.price.currency, currency, variant.price.amount_minor)
            if problem:
                return problem
    if len(product_external_id(product)) > MAX_EXTERNAL_ID:
        return (
            "Amazon lists each variant on its own and this product's SKUs do not fit in "
            f"{MAX_EXTERNAL_ID} characters; use shorter SKUs or fewer variants"
        )
    return None


def brand_of(product: ProductUpsert, settings: Mapping[str, str]) -> str:
    """The product's vendor, else the connection's brand setting."""
    return (product.vendor.strip() or (settings.get(BRAND_SETTING) or "").strip())[:100]


def _images(product: ProductUpsert) -> list[str]:
    return [u for u in product.image_urls if u.startswith(("https://", "http://"))][:MAX_IMAGES]


def _text(value: str, marketplace_id: str, language: str) -> list[dict[str, Any]]:
    return [{"value": value, "language_tag": language, "marketplace_id": marketplace_id}]


def _facts(
    product: ProductUpsert, settings: Mapping[str, str], marketplace_id: str, language: str, create: bool
) -> dict[str, Any]:
    """The product facts of a full listing (all on create, the owned ones on update)."""
    attrs: dict[str, Any] = {}
    if create or product.owns("title"):
        attrs["item_name"] = _text(product.title.strip()[:MAX_TITLE], marketplace_id, language)
    if create or product.owns("vendor"):
        attrs["brand"] = _text(brand_of(product, settings), marketplace_id, language)
    if (create or product.owns("description")) and product.description.strip():
        attrs["product_description"] = _text(
            product.description.strip()[:MAX_DESCRIPTION], marketplace_id, language
        )
    if create or product.owns("images"):
        images = _images(product)
        if images:
            attrs["main_product_image_locator"] = [
                {"media_location": images[0], "marketplace_id": marketplace_id}
            ]
        for n, url in enumerate(images[1:], start=1):
            attrs[f"other_product_image_locator_{n}"] = [
                {"media_location": url, "marketplace_id": marketplace_id}
            ]
    return attrs


def _options(variant: VariantUpsert, marketplace_id: str, language: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for name, value in variant.options:
        attribute = OPTION_ATTRIBUTES.get(name.strip().lower())
        if attribute and attribute not in attrs and value.strip():
            attrs[attribute] = _text(value.strip(), marketplace_id, language)
    return attrs


def listing_attributes(
    product: ProductUpsert, variant: VariantUpsert, settings: Mapping[str, str], marketplace_id: str
) -> dict[str, Any]:
    """The attributes of a new listing (putListingsItem / feed UPDATE)."""
    language = (settings.get(LANGUAGE_SETTING) or DEFAULT_LANGUAGE).strip()
    code = variant.barcode.strip()
    attrs: dict[str, Any] = {
        "condition_type": [{"value": CONDITION_NEW, "marketplace_id": marketplace_id}],
        "externally_assigned_product_identifier": [
            {"type": barcode_type(code), "value": code, "marketplace_id": marketplace_id}
        ],
        "fulfillment_availability": quantity_patch(0)["value"],
    }
    if variant.price is not None:
        attrs["purchasable_offer"] = price_patch(
            marketplace_id, variant.price.amount_minor, variant.price.currency
        )["value"]
    if product_type_of(settings):
        attrs.update(_facts(product, settings, marketplace_id, language, create=True))
        attrs.update(_options(variant, marketplace_id, language))
    return attrs


def update_patches(
    product: ProductUpsert, variant: VariantUpsert, settings: Mapping[str, str], marketplace_id: str
) -> list[dict[str, Any]]:
    """`replace` patches of the owned attributes of an existing listing (none: nothing to send)."""
    patches: list[dict[str, Any]] = []
    if product.owns("status") and product.status == "archived":
        # Amazon has no listing status a seller sets: archived is off sale as archive_message is.
        patches.append(quantity_patch(0))
    if product.owns("prices") and variant.price is not None:
        patches.append(price_patch(marketplace_id, variant.price.amount_minor, variant.price.currency))
    if product_type_of(settings):
        language = (settings.get(LANGUAGE_SETTING) or DEFAULT_LANGUAGE).strip()
        for name, value in _facts(product, settings, marketplace_id, language, create=False).items():
            patches.append({"op": "replace", "path": f"/attributes/{name}", "value": value})
    return patches


def prepare(product: ProductUpsert, settings: Mapping[str, str], marketplace_id: str) -> Prepared:
    full_type = product_type_of(settings)
    requirements = FULL if full_type else OFFER_ONLY
    product_type = full_type or DEFAULT_PRODUCT_TYPE
    messages = []
    for variant in product.variants:
        if product.creates(variant):
            attrs = listing_attributes(product, variant, settings, marketplace_id)
            messages.append(
                FeedMessage(
                    variant.sku,
                    product_type,
                    operation_type="UPDATE",
                    requirements=requirements,
                    attributes=attrs,
                )
            )
            continue
        patches = update_patches(product, variant, settings, marketplace_id)
        if patches:
            messages.append(FeedMessage(variant.sku, product_type, patches))
    return Prepared(product, requirements, full_type, product_external_id(product), tuple(messages))


def listing_ids(seller_id: str, sku: str, product_type: str, asin: str) -> dict[str, str]:
    """The ids ListRemoteProducts gives for this SKU (listings.remote_product)."""
    ids = {"seller_id": seller_id, "sku": sku}
    if asin:
        ids["asin"] = asin
    if product_type:
        ids["product_type"] = product_type
    return ids


def product_result(
    prepared: Prepared,
    outcomes: Mapping[str, tuple[Outcome, str]],
    seller_id: str,
    asins: Mapping[str, str],
) -> ProductResult:
    """REJECTED if Amazon refused any listing (naming each SKU), else RETRY if any is not known
    accepted, else APPLIED with every variant's ids (a variant with nothing to write counts as
    applied: it is as OmniStock wants it)."""
    product = prepared.product
    sent = [m.sku for m in prepared.messages]
    refused = [f"{sku}: {outcomes[sku][1]}" for sku in sent if outcomes[sku][0] is Outcome.REJECTED]
    if refused:
        return ProductResult(
            product.product_id, Outcome.REJECTED, "Amazon refused " + "; ".join(refused), prepared.external_id
        )
    pending = [outcomes[sku][1] for sku in sent if outcomes[sku][0] is not Outcome.APPLIED]
    if pending:
        return ProductResult(product.product_id, Outcome.RETRY, pending[0], prepared.external_id)
    variants = tuple(
        PublishedVariant(
            v.sku, v.sku, listing_ids(seller_id, v.sku, prepared.product_type, asins.get(v.sku, ""))
        )
        for v in product.variants
    )
    return ProductResult(product.product_id, Outcome.APPLIED, "", prepared.external_id, variants)


def archive_message(sku: str) -> FeedMessage:
    """Off sale, kept: the seller-fulfilled quantity becomes 0 (the listing, its SKU, ASIN and
    offer stay, so publishing again or a stock push brings it back). deleteListingsItem would
    remove the SKU from the seller's catalog, which ArchiveProducts must not do (connector.v1:
    "keeping them and their ids")."""
    return FeedMessage(sku, DEFAULT_PRODUCT_TYPE, [quantity_patch(0)])


def grouped_results(
    products: Sequence[tuple[str, str, Sequence[str]]], outcomes: Mapping[str, tuple[Outcome, str]]
) -> list[ProductResult]:
    """Archive results: (product_id, external id, its SKUs) → REJECTED/RETRY/APPLIED."""
    out = []
    for product_id, external_id, skus in products:
        refused = [f"{s}: {outcomes[s][1]}" for s in skus if outcomes[s][0] is Outcome.REJECTED]
        pending = [outcomes[s][1] for s in skus if outcomes[s][0] is Outcome.RETRY]
        if refused:
            message = "Amazon refused " + "; ".join(refused)
            out.append(ProductResult(product_id, Outcome.REJECTED, message, external_id))
        elif pending:
            out.append(ProductResult(product_id, Outcome.RETRY, pending[0], external_id))
        else:
            out.append(ProductResult(product_id, Outcome.APPLIED, "", external_id))
    return out
