"""putListingsItem (and JSON_LISTINGS_FEED UPDATE messages) as the sandbox checks and applies them.

`PUT /listings/2021-08-01/items/{sellerId}/{sku}` {productType, requirements, attributes} creates
or fully replaces a listing (listingsItems_2021-08-01.json ListingsItemPutRequest; requirements
LISTING | LISTING_PRODUCT_ONLY | LISTING_OFFER_ONLY). What the sandbox requires (Amazon's own
requirements are each product type's definition; these are the ones every type has):
- every listing with an offer: condition_type and purchasable_offer (our_price, marketplace currency);
- LISTING_OFFER_ONLY: a catalog item to sell, matched by merchant_suggested_asin or by
  externally_assigned_product_identifier's value against the seeded catalog
  (`POST /_sandbox/catalog-items`);
- LISTING / LISTING_PRODUCT_ONLY: item_name, brand, main_product_image_locator and a product
  identifier (externally_assigned_product_identifier or merchant_suggested_asin).
A missing attribute is an ERROR issue with code 90220, attributeNames and the MISSING_ATTRIBUTE
category (Issue.categories in the model); the submission is then INVALID and nothing changes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from channel_sandboxes.amazon.state import (
    AmazonState,
    CatalogItem,
    Listing,
    _price_of,
    _quantity_of,
    first_value,
    issue,
)
from channel_sandboxes.common import utcnow

REQUIREMENTS = ("LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY")
OPTION_ATTRIBUTES = ("color", "size")


def _missing(name: str) -> dict[str, Any]:
    found = issue("90220", f"'{name}' is required but not supplied.", attribute=name)
    found["categories"] = ["MISSING_ATTRIBUTE"]
    return found


def _catalog_match(state: AmazonState, attributes: dict[str, Any]) -> CatalogItem | None:
    asin = first_value(attributes, "merchant_suggested_asin")
    code = first_value(attributes, "externally_assigned_product_identifier")
    for item in state.catalog_items.values():
        if (asin and item.asin == asin) or (code and item.barcode == code):
            return item
    return None


def put_issues(
    state: AmazonState, sku: str, product_type: str, requirements: str, attributes: Any, *, apply: bool
) -> list[dict[str, Any]]:
    """Check (and with `apply`, perform) a put; the issues Amazon would report (callers hold the lock)."""
    if requirements not in REQUIREMENTS:
        return [issue("4000001", f"'requirements' must be one of {', '.join(REQUIREMENTS)}.")]
    if not isinstance(attributes, dict) or not attributes:
        return [issue("4000001", "'attributes' must be a non-empty object.")]
    issues: list[dict[str, Any]] = []
    offer = requirements != "LISTING_PRODUCT_ONLY"
    price = None
    if offer:
        if not first_value(attributes, "condition_type"):
            issues.append(_missing("condition_type"))
        if "purchasable_offer" not in attributes:
            issues.append(_missing("purchasable_offer"))
        else:
            price, problem = _price_of(attributes["purchasable_offer"], state.currency)
            if problem:
                issues.append(issue("99022", problem, attribute="purchasable_offer"))
    match = _catalog_match(state, attributes)
    if requirements == "LISTING_OFFER_ONLY":
        if match is None:
            found = issue(
                "8541",
                "No catalog item matches the product identifier or ASIN supplied for this offer.",
                attribute="externally_assigned_product_identifier",
            )
            issues.append(found)
    else:
        for name in ("item_name", "brand"):
            if not first_value(attributes, name):
                issues.append(_missing(name))
        if not first_value(attributes, "main_product_image_locator", "media_location"):
            issues.append(_missing("main_product_image_locator"))
        if not (
            first_value(attributes, "externally_assigned_product_identifier")
            or first_value(attributes, "merchant_suggested_asin")
        ):
            issues.append(_missing("externally_assigned_product_identifier"))
    if issues or not apply:
        return issues
    _apply(state, sku, product_type, requirements, attributes, price, match)
    return []


def _apply(
    state: AmazonState,
    sku: str,
    product_type: str,
    requirements: str,
    attributes: dict[str, Any],
    price: Any,
    match: CatalogItem | None,
) -> None:
    """A put replaces the listing's attributes; its ASIN stays (a new one is the match's or new)."""
    existing = state.listings.get(sku)
    quantity = _quantity_of(attributes.get("fulfillment_availability")) or 0
    images = [first_value(attributes, "main_product_image_locator", "media_location")]
    images += [
        first_value(attributes, f"other_product_image_locator_{n}", "media_location") for n in range(1, 9)
    ]
    title = first_value(attributes, "item_name") or (match.title if match else sku)
    listing = Listing(
        sku,
        existing.asin if existing else (match.asin if match else f"B0{state.next_number():08d}"),
        title,
        quantity,
        price if price is not None else (existing.price if existing else Decimal(0)),
        product_type=match.product_type if match and requirements == "LISTING_OFFER_ONLY" else product_type,
        created=existing.created if existing else utcnow(),
        barcode=first_value(attributes, "externally_assigned_product_identifier"),
        brand=first_value(attributes, "brand"),
        description=first_value(attributes, "product_description"),
        images=[u for u in images if u],
        options={n: first_value(attributes, n) for n in OPTION_ATTRIBUTES if first_value(attributes, n)},
        requirements=requirements,
        parent_sku=existing.parent_sku if existing else "",
    )
    state.listings[sku] = listing
    state.put_writes[sku] += 1


def delete_issues(state: AmazonState, sku: str) -> list[dict[str, Any]]:
    """deleteListingsItem: the listing is gone (its children lose their parent)."""
    if sku not in state.listings:
        return [issue("NOT_FOUND", f"SKU '{sku}' does not exist in the selling partner's catalog.")]
    del state.listings[sku]
    for child in state.children(sku):
        child.parent_sku = ""
    state.deleted.append(sku)
    return []
