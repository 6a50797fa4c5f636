"""UpsertProducts and ArchiveProducts over an EbayClient (Sell Inventory API v1), one product at a
time with per-SKU calls (publishing is rare; the bulk calls bulkCreateOrReplaceInventoryItem /
bulkCreateOffer / bulkPublishOffer are not used, so a product's calls stay in one simple order):

1. read what eBay has: getInventoryItem and getOffers per SKU, getInventoryItemGroup for a group;
2. count the revisions the live listing will take (below) — none left: RETRY, no call made;
3. createOrReplaceInventoryItem per SKU (the record eBay has with the owned fields over it),
   createOrReplaceInventoryItemGroup for a group, createOffer or updateOffer per SKU;
4. publishOffer / publishOfferByInventoryItemGroup when the listing should be live and is not
   (or a group gained an unpublished offer), withdrawOffer / withdrawOfferByInventoryItemGroup
   when an owned status says draft or archived.

Revision budget: "Each listing can be revised up to 250 times in one calendar day" is stated on
createOrReplaceInventoryItem, updateOffer and publishOffer
(https://developer.ebay.com/api-docs/sell/inventory/resources/inventory_item/methods/createOrReplaceInventoryItem),
and an update of a published offer or of an item in a live listing revises that listing in real time
(https://developer.ebay.com/api-docs/sell/static/inventory/managing-offers.html). So each such call on
a live listing counts one revision of that listing (listing_id, as the pushes count) in the ledger,
admitted as a price change is (deferred within the reserve); whether eBay counts every call or one
per change is [M], counting each is the safe side. Creating and publishing a new listing, and
withdrawing one, revise nothing.

A product refused up front (settings, required fields) or by eBay (ChannelRefusal) is REJECTED, and
the others still go. Products after the first that would take the call past CALLS_PER_REQUEST eBay
calls are RETRY, unsent (the channels service sends them again). A transient failure (429/5xx after retries) on the first product is raised as
the pushes do; on a later one that product is RETRY.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ebay_connector import protocol as p
from ebay_connector.client import ChannelRefusal, EbayClient
from ebay_connector.protocol import publish as pub
from ebay_connector.pushing import Budget
from omnistock_common.errors import DomainError, ResourceExhausted, Unavailable
from omnistock_connector_kit.channel_http import ChannelHttpError
from omnistock_connector_kit.connector_base import map_channel_error
from omnistock_connector_kit.publishing import ProductRef, ProductResult, ProductUpsert

log = logging.getLogger(__name__)


def _transient(error: ChannelHttpError | DomainError) -> DomainError | None:
    """The contract's error when it is worth trying again later (429/bucket, 5xx), else None."""
    mapped = map_channel_error(error) if isinstance(error, ChannelHttpError) else error
    return mapped if isinstance(mapped, (ResourceExhausted, Unavailable)) else None


@dataclass
class _State:
    """What eBay has for one product before the calls."""

    items: dict[str, dict[str, Any] | None]
    offers: dict[str, dict[str, Any] | None]
    group: dict[str, Any] | None


def _offer(records: Sequence[Mapping[str, Any]], marketplace: str) -> dict[str, Any] | None:
    mine = [dict(o) for o in records if str(o.get("marketplaceId") or marketplace) == marketplace]
    mine.sort(key=lambda o: o.get("status") != pub.PUBLISHED)
    return mine[0] if mine else None


def _listing(offer: Mapping[str, Any] | None) -> str:
    if not offer or offer.get("status") != pub.PUBLISHED:
        return ""
    return str((offer.get("listing") or {}).get("listingId") or "")


def _read(ebay: EbayClient, product: ProductUpsert, marketplace: str) -> _State:
    skus = [v.sku for v in product.variants]
    return _State(
        items={sku: ebay.inventory_item(sku) for sku in skus},
        offers={sku: _offer(ebay.offer_records(sku, marketplace), marketplace) for sku in skus},
        group=ebay.group(pub.group_key(product)) if pub.is_grouped(product) else None,
    )


def _revisions(product: ProductUpsert, state: _State) -> dict[str, int]:
    """Calls of this upsert that revise a live listing, per listing id."""
    out: dict[str, int] = {}
    for variant in product.variants:
        listing = _listing(state.offers[variant.sku])
        if listing:
            out[listing] = out.get(listing, 0) + 2  # the item replaced, the offer updated
    if pub.is_grouped(product) and out:
        unlisted = any(not _listing(state.offers[v.sku]) for v in product.variants)
        for listing in list(out):
            out[listing] += 1 + int(unlisted)  # the group replaced; a new variant published into it
    return out


def _admit(budget: Budget, revisions: Mapping[str, int]) -> str:
    """Count the revisions; "" when all were admitted, else why not (nothing stays counted)."""
    taken: list[str] = []
    for listing, count in revisions.items():
        for _ in range(count):
            decision = budget.admit(listing, p.Change.PRICE)
            if decision.verdict is not p.Verdict.SEND:
                for back in taken:
                    budget.give_back(back)
                if decision.verdict is p.Verdict.PARK:
                    budget.give_back(listing)
                return decision.message
            taken.append(listing)
    return ""


def _upsert_one(
    ebay: EbayClient, budget: Budget, product: ProductUpsert, settings: Mapping[str, str]
) -> ProductResult:
    marketplace, language = pub.marketplace_of(settings), pub.content_language(settings)
    grouped, key = pub.is_grouped(product), pub.group_key(product)
    state = _read(ebay, product, marketplace)
    deferred = _admit(budget, _revisions(product, state))
    if deferred:
        return ProductResult(product.product_id, p.Outcome.RETRY, deferred, pub.external_id(product))
    for variant in product.variants:
        ebay.put_item(
            variant.sku, pub.item_body(product, variant, state.items[variant.sku], settings), language
        )
    if grouped:
        ebay.put_group(key, pub.group_body(product, key, state.group), language)
    offer_ids: dict[str, str] = {}
    for variant in product.variants:
        current = state.offers[variant.sku]
        body = pub.offer_body(product, variant, settings, current)
        if current is None:
            offer_ids[variant.sku] = ebay.create_offer(body, language)
        else:
            offer_ids[variant.sku] = str(current["offerId"])
            ebay.update_offer(offer_ids[variant.sku], body, language)
    listings = {v.sku: _listing(state.offers[v.sku]) for v in product.variants}
    live = pub.wants_live(product)
    if live is None:  # status not ours to change: a live group lists its new variants too
        live = True if grouped and any(listings.values()) else None
    if live and not all(listings.values()):
        if grouped:
            listing_id = ebay.publish_group(key, marketplace)
            listings = dict.fromkeys(listings, listing_id)
        else:
            sku = product.variants[0].sku
            listings[sku] = ebay.publish_offer(offer_ids[sku])
    elif live is False and any(listings.values()):
        if grouped:
            ebay.withdraw_group(key, marketplace)
        else:
            ebay.withdraw_offer(offer_ids[product.variants[0].sku])
        listings = dict.fromkeys(listings, "")
    return pub.applied(product, [pub.Listed(sku, offer_ids[sku], listings[sku]) for sku in listings])


def upsert_products(
    ebay: EbayClient, budget: Budget, products: Sequence[ProductUpsert], settings: Mapping[str, str]
) -> list[ProductResult]:
    """One result per product, in order."""
    results: list[ProductResult] = []
    seen: set[str] = set()
    attempted = False
    for product in products:
        problem = pub.upsert_problem(product, settings)
        if problem is None and seen.intersection(v.sku for v in product.variants):
            problem = "a SKU of this product is also in another product of this call"
        if problem:
            results.append(
                ProductResult(product.product_id, p.Outcome.REJECTED, problem, product.external_id)
            )
            continue
        seen.update(v.sku for v in product.variants)
        if attempted and ebay.calls + pub.estimated_calls(product) > pub.CALLS_PER_REQUEST:
            results.append(
                ProductResult(
                    product.product_id,
                    p.Outcome.RETRY,
                    f"not sent: this call's budget of {pub.CALLS_PER_REQUEST} eBay calls is spent; it goes in the next",
                    product.external_id,
                )
            )
            continue
        try:
            results.append(_upsert_one(ebay, budget, product, settings))
        except ChannelRefusal as refused:
            results.append(
                ProductResult(
                    product.product_id, p.Outcome.REJECTED, refused.message, pub.external_id(product)
                )
            )
        except (ChannelHttpError, ResourceExhausted, Unavailable) as error:
            transient = _transient(error)
            if not attempted or transient is None:
                raise
            results.append(
                ProductResult(
                    product.product_id, p.Outcome.RETRY, transient.message, pub.external_id(product)
                )
            )
        attempted = True
    return results


def archive_products(
    ebay: EbayClient, refs: Sequence[ProductRef], settings: Mapping[str, str]
) -> list[ProductResult]:
    """Each product's listing ends (withdraw: the offers stay, unpublished, with their ids; publishing
    again relists). A group key ends the multi-variation listing; anything else is read as a SKU."""
    marketplace = pub.marketplace_of(settings)
    results: list[ProductResult] = []
    for index, ref in enumerate(refs):
        if not ref.external_id:
            results.append(ProductResult(ref.product_id, p.Outcome.REJECTED, "no eBay SKU or group key"))
            continue
        try:
            results.append(_archive_one(ebay, ref, marketplace))
        except ChannelRefusal as refused:
            results.append(
                ProductResult(ref.product_id, p.Outcome.REJECTED, refused.message, ref.external_id)
            )
        except (ChannelHttpError, ResourceExhausted, Unavailable) as error:
            transient = _transient(error)
            if index == 0 or transient is None:
                raise
            results.append(ProductResult(ref.product_id, p.Outcome.RETRY, transient.message, ref.external_id))
    return results


def _archive_one(ebay: EbayClient, ref: ProductRef, marketplace: str) -> ProductResult:
    group = ebay.group(ref.external_id)
    skus = [str(s) for s in (group or {}).get("variantSKUs") or []] if group else [ref.external_id]
    offers = [_offer(ebay.offer_records(sku, marketplace), marketplace) for sku in skus]
    if not any(offers):
        return ProductResult(
            ref.product_id,
            p.Outcome.REJECTED,
            f"eBay has no offer for {ref.external_id} on {marketplace}",
            ref.external_id,
        )
    live = [o for o in offers if o is not None and _listing(o)]
    if live and group is not None:  # none live: already withdrawn, nothing to end
        ebay.withdraw_group(ref.external_id, marketplace)
    elif live:
        ebay.withdraw_offer(str(live[0]["offerId"]))
    return ProductResult(ref.product_id, p.Outcome.APPLIED, "", ref.external_id)
