"""UpsertProducts and ArchiveProducts over a MetaClient (Graph API v25.0): every product's items
go in one items_batch call (MetaClient.push: ≤ 5,000 requests a call, the handle polled until
finished, per-item errors read from check_batch_request_status), and each product's result comes
from its items' (protocol.publish.product_result).

A product Meta's required fields would refuse is REJECTED before any call and the others still go.
A transient failure before anything was sent is raised (RESOURCE_EXHAUSTED/UNAVAILABLE with
RetryInfo), as the pushes do; a batch Meta had not finished within the wait is RETRY.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from meta_connector import protocol as p
from meta_connector.client import MetaClient
from meta_connector.protocol import publish as pub
from omnistock_common.errors import DomainError, ResourceExhausted, Unavailable
from omnistock_connector_kit.publishing import ProductRef, ProductResult, ProductUpsert

log = logging.getLogger(__name__)


def upsert_products(
    meta: MetaClient, catalog_id: str, products: Sequence[ProductUpsert], settings: Mapping[str, str]
) -> list[ProductResult]:
    """One result per product, in order."""
    results: dict[int, ProductResult] = {}
    prepared: dict[int, pub.Prepared] = {}
    seen: set[str] = set()
    for index, product in enumerate(products):
        problem = pub.upsert_problem(product, settings)
        if problem is None and seen.intersection(v.sku for v in product.variants):
            problem = "a SKU of this product is also in another product of this call"
        if problem:
            results[index] = ProductResult(
                product.product_id, p.Outcome.REJECTED, problem, product.external_id
            )
            continue
        seen.update(v.sku for v in product.variants)
        prepared[index] = pub.prepare(product, settings)
    requests = [request for ready in prepared.values() for request in ready.requests]
    pushed = {r.sku: r for r in meta.push(catalog_id, requests)} if requests else {}
    applied = [sku for sku, r in pushed.items() if r.outcome is p.Outcome.APPLIED]
    found = _read_back(meta, catalog_id, applied)
    for index, ready in prepared.items():
        results[index] = pub.product_result(ready, pushed, found)
    return [results[index] for index in range(len(products))]


def _read_back(meta: MetaClient, catalog_id: str, skus: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
    """The applied items' catalog item ids; the publish stands without them if the read fails."""
    if not skus:
        return {}
    try:
        return meta.read_items(catalog_id, skus)
    except DomainError as exc:
        log.info("published items not read back: %s", type(exc).__name__)
        return {}


def archive_products(meta: MetaClient, catalog_id: str, refs: Sequence[ProductRef]) -> list[ProductResult]:
    """Every item of each product's item group gets visibility=staging in one items_batch."""
    results: dict[int, ProductResult] = {}
    groups: dict[int, tuple[str, str, list[str]]] = {}
    for index, ref in enumerate(refs):
        if not ref.external_id:
            results[index] = ProductResult(ref.product_id, p.Outcome.REJECTED, "no Meta item group id")
            continue
        try:
            items = meta.group_items(catalog_id, ref.external_id)
        except (ResourceExhausted, Unavailable):
            if not groups and not results:
                raise
            results[index] = ProductResult(
                ref.product_id, p.Outcome.RETRY, "Meta could not be read", ref.external_id
            )
            continue
        skus = list(dict.fromkeys(str(i.get("retailer_id") or "") for i in items if i.get("retailer_id")))
        if not skus:
            results[index] = ProductResult(
                ref.product_id,
                p.Outcome.REJECTED,
                f"the Meta catalog has no items in item group {ref.external_id}",
                ref.external_id,
            )
            continue
        groups[index] = (ref.product_id, ref.external_id, skus)
    requests = [(sku, pub.archive_request(sku)) for _, _, skus in groups.values() for sku in skus]
    pushed = {r.sku: r for r in meta.push(catalog_id, requests)} if requests else {}
    for index, result in zip(groups, pub.grouped_results(list(groups.values()), pushed), strict=True):
        results[index] = result
    return [results[index] for index in range(len(refs))]
