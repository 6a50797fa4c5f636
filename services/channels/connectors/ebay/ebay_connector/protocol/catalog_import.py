"""Whole products for the onboarding import (pure): inventory items read with getInventoryItems,
their offers (getOffers per SKU) and their inventory item groups, as the kit's CatalogProductData.

getInventoryItems (https://developer.ebay.com/api-docs/sell/inventory/resources/inventory_item/methods/getInventoryItems):
`limit`/`offset`, items {sku, product{title, description, imageUrls, aspects, upc, ean, brand},
availability, groupIds}; `groupIds` names the inventory item group(s) a SKU is in (Inventory API
1.4.0, https://developer.ebay.com/news/withdraw-offers-and-manage-variation-groups-inventory-api).
getInventoryItemGroup: {title, description, imageUrls, aspects, variantSKUs, variesBy{specifications[{name, values}]}}.

A SKU in a group is a variant of the group's product (external id = the group key; options = the
item's aspects named in variesBy.specifications); a SKU in none is a product of its own (external
id = the SKU). Paging is per item, so the items of one group on two pages arrive as two
CatalogProducts with the same external_id (the importer merges them by external_id).
Status: the offer's `status` (PUBLISHED, or UNPUBLISHED: created or withdrawn, not on sale).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ebay_connector.protocol.inventory import ship_to_quantity
from ebay_connector.protocol.values import OfferData, read_amount
from omnistock_common.egress import safe_text
from omnistock_connector_kit.catalog_import import CatalogProductData, CatalogVariantData, single_level


def group_of(item: Mapping[str, Any]) -> str:
    groups = item.get("groupIds")
    return str(groups[0]) if isinstance(groups, list) and groups else ""


def _product(item: Mapping[str, Any]) -> Mapping[str, Any]:
    product = item.get("product")
    return product if isinstance(product, Mapping) else {}


def _aspects(product: Mapping[str, Any]) -> Mapping[str, Any]:
    aspects = product.get("aspects")
    return aspects if isinstance(aspects, Mapping) else {}


def _first(values: Any) -> str:
    if isinstance(values, list) and values:
        return str(values[0])
    return str(values) if isinstance(values, str) else ""


def _barcode(product: Mapping[str, Any]) -> str:
    return next((_first(product.get(k)) for k in ("upc", "ean", "isbn") if _first(product.get(k))), "")


def _images(source: Mapping[str, Any]) -> list[str]:
    urls = source.get("imageUrls")
    return (
        [str(u) for u in urls if str(u).startswith(("https://", "http://"))] if isinstance(urls, list) else []
    )


def _weight_grams(item: Mapping[str, Any]) -> int | None:
    weight = (item.get("packageWeightAndSize") or {}).get("weight") if isinstance(item, Mapping) else None
    if not isinstance(weight, Mapping):
        return None
    factor = {"GRAM": 1.0, "KILOGRAM": 1000.0, "OUNCE": 28.3495, "POUND": 453.592}.get(
        str(weight.get("unit"))
    )
    try:
        return round(float(weight.get("value")) * factor) if factor else None
    except (TypeError, ValueError):
        return None


def variation_names(group: Mapping[str, Any] | None) -> list[str]:
    specs = ((group or {}).get("variesBy") or {}).get("specifications") or []
    return [str(s["name"]) for s in specs if isinstance(s, Mapping) and s.get("name")]


def catalog_variant(
    item: Mapping[str, Any], offer: OfferData | None, names: Sequence[str]
) -> CatalogVariantData:
    sku = safe_text(str(item.get("sku") or ""), 100)
    product = _product(item)
    aspects = _aspects(product)
    ids = {"sku": sku}
    if offer is not None:
        ids["offer_id"] = offer.offer_id
        if offer.listing_id:
            ids["listing_id"] = offer.listing_id
    options = [(n, _first(aspects.get(n))) for n in names if _first(aspects.get(n))]
    return CatalogVariantData(
        external_id=sku,
        ids=ids,
        sku=sku,
        title=" / ".join(v for _, v in options) or safe_text(str(product.get("title") or ""), 255),
        barcode=_barcode(product),
        options=tuple(options),
        price=read_amount(offer.price, offer.currency) if offer is not None else None,
        weight_grams=_weight_grams(item),
        # The item's ship-to-home quantity: eBay's Inventory API has no per-location figure here
        # (one level, location_id "").
        levels=single_level(ship_to_quantity(item)),
    )


def _status(offers: Sequence[OfferData | None]) -> str:
    statuses = [o.status for o in offers if o is not None]
    if "PUBLISHED" in statuses:
        return "PUBLISHED"
    return "UNPUBLISHED"


def catalog_products(
    items: Sequence[Mapping[str, Any]],
    offers: Mapping[str, OfferData | None],
    groups: Mapping[str, Mapping[str, Any] | None],
) -> list[CatalogProductData]:
    """A page's items as products, in the order their first item came. `offers`: each SKU's offer
    on the marketplace (protocol.inventory.pick_offer); `groups`: getInventoryItemGroup per key."""
    by_key: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        if not item.get("sku"):
            continue
        key = group_of(item) or f"sku:{item['sku']}"
        by_key.setdefault(key, []).append(item)
    out = []
    for key, members in by_key.items():
        group = groups.get(key) if not key.startswith("sku:") else None
        source = group or _product(members[0])
        product = _product(members[0])
        names = variation_names(group)
        out.append(
            CatalogProductData(
                external_id=str(members[0]["sku"]) if key.startswith("sku:") else key,
                title=safe_text(str(source.get("title") or product.get("title") or ""), 255),
                description=str(source.get("description") or product.get("description") or ""),
                status=_status([offers.get(str(m["sku"])) for m in members]),
                vendor=safe_text(str(product.get("brand") or _first(_aspects(product).get("Brand"))), 255),
                image_urls=tuple(_images(source) or _images(product)),
                variants=tuple(catalog_variant(m, offers.get(str(m["sku"])), names) for m in members),
            )
        )
    return out
