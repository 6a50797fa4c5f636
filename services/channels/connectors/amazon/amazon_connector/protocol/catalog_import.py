"""Whole products for the onboarding import (pure): the seller's listings read with
searchListingsItems, grouped into products by their variation family.

Listings Items API 2021-08-01 searchListingsItems `GET /listings/2021-08-01/items/{sellerId}
?marketplaceIds&includedData&pageSize(≤ 20)&pageToken` (Source:
https://developer-docs.amazon.com/sp-api/docs/listings-items-api-v2021-08-01-model;
listingsItems_2021-08-01.json): includedData summaries (asin, productType, itemName, status,
mainImage), attributes (the listing's attribute values), offers, fulfillmentAvailability and
relationships ([{marketplaceId, relationships: [{type VARIATION | PACKAGE_HIERARCHY, parentSkus,
childSkus, variationTheme {attributes, theme}}]}]).

Grouping: a listing that is a VARIATION child of a parent SKU belongs to the product whose
external id is that parent SKU (the parent, not buyable, gives the product's title, text and
images when it is on the same page); any other listing is a product of its own (external id =
its SKU). Paging is per listing, so a family whose listings span two pages arrives as two
CatalogProducts with the same external_id (the importer merges them by external_id); a parent
whose children are all on other pages is left out (it has no variant of its own).
A variant's ids are exactly ListRemoteProducts' for the SKU (listings.remote_product).
Attribute names read from `attributes` (brand, product_description, main_product_image_locator,
other_product_image_locator_N, externally_assigned_product_identifier) are [M] (publish.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from amazon_connector.protocol.listings import listing_view, remote_product
from amazon_connector.protocol.values import read_amount
from omnistock_common.egress import safe_text
from omnistock_connector_kit.catalog_import import CatalogProductData, CatalogVariantData, single_level

INCLUDED_DATA = "summaries,attributes,offers,fulfillmentAvailability,relationships"
VARIATION = "VARIATION"


def _summary(item: Mapping[str, Any], marketplace_id: str) -> Mapping[str, Any]:
    summaries = [s for s in item.get("summaries") or [] if isinstance(s, dict)]
    return next(
        (s for s in summaries if s.get("marketplaceId") == marketplace_id), summaries[0] if summaries else {}
    )


def _variation(item: Mapping[str, Any], marketplace_id: str) -> Mapping[str, Any]:
    """The item's VARIATION relationship in the marketplace ({} when it has none)."""
    for entry in item.get("relationships") or []:
        if not isinstance(entry, dict) or entry.get("marketplaceId") not in (None, marketplace_id):
            continue
        for relation in entry.get("relationships") or []:
            if isinstance(relation, dict) and relation.get("type") == VARIATION:
                return relation
    return {}


def is_variation_parent(item: Mapping[str, Any], marketplace_id: str) -> bool:
    """A listing that names VARIATION children and no parent: the family's non-buyable parent."""
    relation = _variation(item, marketplace_id)
    return bool(relation.get("childSkus")) and not relation.get("parentSkus")


def _theme(item: Mapping[str, Any], marketplace_id: str) -> list[str]:
    """The attribute names of the family's variation theme (e.g. ["color", "size"])."""
    theme = _variation(item, marketplace_id).get("variationTheme") or {}
    names = theme.get("attributes") if isinstance(theme, dict) else None
    return [str(a) for a in names or [] if a]


def _first_value(attributes: Any, name: str, key: str = "value") -> str:
    values = attributes.get(name) if isinstance(attributes, dict) else None
    if isinstance(values, list) and values and isinstance(values[0], dict):
        return str(values[0].get(key) or "")
    return ""


def _images(item: Mapping[str, Any], summary: Mapping[str, Any]) -> list[str]:
    attributes = item.get("attributes")
    urls = [_first_value(attributes, "main_product_image_locator", "media_location")]
    if not urls[0]:
        urls[0] = str((summary.get("mainImage") or {}).get("link") or "")
    urls += [
        _first_value(attributes, f"other_product_image_locator_{n}", "media_location") for n in range(1, 9)
    ]
    return [u for u in urls if u.startswith(("https://", "http://"))]


def _status(summary: Mapping[str, Any]) -> str:
    """BUYABLE when Amazon sells it, else DISCOVERABLE (or ""): Amazon's own words."""
    words = [str(s) for s in summary.get("status") or []]
    return "BUYABLE" if "BUYABLE" in words else (words[0] if words else "")


def catalog_variant(
    item: Mapping[str, Any], seller_id: str, marketplace_id: str, theme: Sequence[str]
) -> CatalogVariantData | None:
    """One buyable listing as a variant; None when it has no SKU."""
    remote = remote_product(item, seller_id, marketplace_id)
    if remote is None:
        return None
    summary = _summary(item, marketplace_id)
    attributes = item.get("attributes")
    view = listing_view(item, marketplace_id)
    price = None
    if view is not None and view.price is not None and view.currency:
        price = read_amount(view.price, view.currency)
    options = [
        (name.replace("_", " ").title(), _first_value(attributes, name))
        for name in theme
        if _first_value(attributes, name)
    ]
    return CatalogVariantData(
        external_id=remote.sku,
        ids=dict(remote.ids),
        sku=remote.sku,
        title=safe_text(str(summary.get("itemName") or ""), 255),
        barcode=_first_value(attributes, "externally_assigned_product_identifier"),
        options=tuple(options),
        price=price,
        # Its seller-fulfilled quantity; Amazon has no locations (one level, location_id "").
        levels=single_level(view.quantity if view is not None else None),
    )


def catalog_products(
    items: Sequence[Mapping[str, Any]], seller_id: str, marketplace_id: str
) -> list[CatalogProductData]:
    """A page's listings grouped by variation family, in the order their first listing came."""
    parents: dict[str, Mapping[str, Any]] = {}
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        sku = item.get("sku") if isinstance(item, dict) else None
        if not isinstance(sku, str) or not sku:
            continue
        relation = _variation(item, marketplace_id)
        parent_skus = [str(s) for s in relation.get("parentSkus") or [] if s]
        if is_variation_parent(item, marketplace_id):
            parents[sku] = item
            groups.setdefault(sku, [])
            continue
        groups.setdefault(parent_skus[0] if parent_skus else sku, []).append(item)
    out = []
    for key, members in groups.items():
        if not members:
            continue
        head = parents.get(key) or members[0]
        summary = _summary(head, marketplace_id)
        attributes = head.get("attributes")
        theme = _theme(parents[key], marketplace_id) if key in parents else []
        variants = []
        for member in members:
            member_theme = theme or _theme(member, marketplace_id)
            variant = catalog_variant(member, seller_id, marketplace_id, member_theme)
            if variant is not None:
                variants.append(variant)
        out.append(
            CatalogProductData(
                external_id=key,
                title=safe_text(str(summary.get("itemName") or key), 255),
                description=_first_value(attributes, "product_description"),
                status=_status(_summary(members[0], marketplace_id)),
                vendor=safe_text(_first_value(attributes, "brand"), 255),
                image_urls=tuple(_images(head, summary)),
                variants=tuple(variants),
            )
        )
    return out
