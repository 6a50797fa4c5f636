"""UpsertProducts and ArchiveProducts over an AmazonClient (Listings Items API 2021-08-01).

Every product's listings go out together through bulk.send_listings: up to PATCH_THRESHOLD as
putListingsItem (new listings) / patchListingsItem (updates) calls (usage plans 5/s burst 10 and
5/s burst 5), more as one JSON_LISTINGS_FEED of UPDATE / PATCH messages, whose processing report
names each refused message. Each product's result comes from its listings'
(protocol.publish.product_result).

A product Amazon's requirements would refuse is REJECTED before any call and the others still go.
A transient failure before anything was sent is raised (RESOURCE_EXHAUSTED/UNAVAILABLE with
RetryInfo), as the pushes do; later ones make the rest RETRY.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from amazon_connector import bulk
from amazon_connector import protocol as p
from amazon_connector.client import AmazonClient, require_seller
from amazon_connector.protocol import publish as pub
from omnistock_common.errors import ResourceExhausted, Unavailable
from omnistock_connector_kit.publishing import ProductRef, ProductResult, ProductUpsert

log = logging.getLogger(__name__)


def upsert_products(
    client: AmazonClient, products: Sequence[ProductUpsert], settings: Mapping[str, str]
) -> list[ProductResult]:
    """One result per product, in order."""
    seller = require_seller(client)
    results: dict[int, ProductResult] = {}
    prepared: dict[int, pub.Prepared] = {}
    seen: set[str] = set()
    for index, product in enumerate(products):
        problem = pub.upsert_problem(product, settings, seller.currency)
        if problem is None and seen.intersection(v.sku for v in product.variants):
            problem = "a SKU of this product is also in another product of this call"
        if problem:
            results[index] = ProductResult(
                product.product_id, p.Outcome.REJECTED, problem, product.external_id
            )
            continue
        seen.update(v.sku for v in product.variants)
        prepared[index] = pub.prepare(product, settings, seller.marketplace_id)
    messages = [m for ready in prepared.values() for m in ready.messages]
    asins: dict[str, str] = {}
    outcomes = bulk.send_listings(client, messages, asins) if messages else []
    by_sku = {m.sku: outcome for m, outcome in zip(messages, outcomes, strict=True)}
    for index, ready in prepared.items():
        results[index] = pub.product_result(ready, by_sku, seller.seller_id, asins)
    log.info("published %d products in %d listings", len(prepared), len(messages))
    return [results[index] for index in range(len(products))]


def archive_products(client: AmazonClient, refs: Sequence[ProductRef]) -> list[ProductResult]:
    """Every listing of each product gets quantity 0 (protocol.publish.archive_message): the SKUs
    an OmniStock id names, or a parent SKU's variation children (the SKU itself without any)."""
    require_seller(client)
    results: dict[int, ProductResult] = {}
    groups: dict[int, tuple[str, str, list[str]]] = {}
    for index, ref in enumerate(refs):
        if not ref.external_id:
            results[index] = ProductResult(
                ref.product_id, p.Outcome.REJECTED, "no Amazon SKU for this product"
            )
            continue
        skus = pub.sku_list(ref.external_id)
        if skus is None:
            try:
                skus = client.variation_children(ref.external_id) or [ref.external_id]
            except (ResourceExhausted, Unavailable):
                if not groups and not results:
                    raise
                results[index] = ProductResult(
                    ref.product_id, p.Outcome.RETRY, "Amazon could not be read", ref.external_id
                )
                continue
        groups[index] = (ref.product_id, ref.external_id, list(dict.fromkeys(skus)))
    messages = list(
        {sku: pub.archive_message(sku) for _, _, skus in groups.values() for sku in skus}.values()
    )
    outcomes = bulk.send_listings(client, messages) if messages else []
    by_sku = {m.sku: outcome for m, outcome in zip(messages, outcomes, strict=True)}
    for index, result in zip(groups, pub.grouped_results(list(groups.values()), by_sku), strict=True):
        results[index] = result
    return [results[index] for index in range(len(refs))]
