"""Reading eBay's inventory items and offers (reconciliation and auto-map).

getInventoryItem GET /sell/inventory/v1/inventory_item/{sku} → {sku, availability
{shipToLocationAvailability{quantity}}, product{title}}; getInventoryItems GET
/sell/inventory/v1/inventory_item?limit&offset → {inventoryItems[], total, next}; getOffers GET
/sell/inventory/v1/offer?sku=… → {offers[{offerId, sku, marketplaceId, status, availableQuantity,
pricingSummary{price{value, currency}}, listing{listingId}}]} (Inventory contract 1.13.0,
https://developer.ebay.com/api-docs/sell/inventory/resources/offer/methods/getOffers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ebay_connector.protocol.values import OfferData, RemoteProductData
from omnistock_common.egress import safe_text


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def ship_to_quantity(item: Mapping[str, Any]) -> int | None:
    availability = item.get("availability") or {}
    ship_to = (
        availability.get("shipToLocationAvailability") or {} if isinstance(availability, Mapping) else {}
    )
    return _int(ship_to.get("quantity")) if isinstance(ship_to, Mapping) else None


def parse_offers(body: Mapping[str, Any]) -> list[OfferData]:
    out = []
    for offer in body.get("offers") or []:
        if not isinstance(offer, Mapping) or not offer.get("offerId"):
            continue
        price = ((offer.get("pricingSummary") or {}).get("price")) or {}
        listing = offer.get("listing") or {}
        out.append(
            OfferData(
                offer_id=safe_text(str(offer["offerId"]), 64),
                sku=safe_text(str(offer.get("sku") or ""), 100),
                marketplace_id=str(offer.get("marketplaceId") or ""),
                listing_id=safe_text(str(listing.get("listingId") or ""), 64),
                status=str(offer.get("status") or ""),
                available_quantity=_int(offer.get("availableQuantity")),
                price=str(price.get("value") or ""),
                currency=str(price.get("currency") or ""),
            )
        )
    return out


def pick_offer(offers: Sequence[OfferData], marketplace_id: str) -> OfferData | None:
    """The SKU's offer on the connection's marketplace, a published one first."""
    mine = [
        o for o in offers if not marketplace_id or not o.marketplace_id or o.marketplace_id == marketplace_id
    ]
    mine.sort(key=lambda o: o.status != "PUBLISHED")
    return mine[0] if mine else None


def remote_product(item: Mapping[str, Any], offer: OfferData | None) -> RemoteProductData:
    ids = {"sku": str(item.get("sku") or "")}
    if offer is not None:
        ids["offer_id"] = offer.offer_id
        if offer.listing_id:
            ids["listing_id"] = offer.listing_id
    product = item.get("product") or {}
    return RemoteProductData(
        sku=ids["sku"],
        title=safe_text(str(product.get("title") or ""), 255) if isinstance(product, Mapping) else "",
        ids=ids,
        quantity=ship_to_quantity(item) or 0,
    )


def inventory_page(body: Mapping[str, Any], offset: int, limit: int) -> tuple[list[Mapping[str, Any]], str]:
    """The items of one getInventoryItems page and the next cursor (the next offset), "" at the end."""
    items = [i for i in body.get("inventoryItems") or [] if isinstance(i, Mapping) and i.get("sku")]
    has_next = bool(body.get("next"))
    total = _int(body.get("total"))
    if total is not None and offset + limit >= total:
        has_next = False
    return items, str(offset + limit) if has_next else ""


def offset_cursor(cursor: str) -> int:
    """Our cursors are eBay offsets; anything else starts over."""
    value = _int(cursor)
    return value if value is not None and value >= 0 else 0
