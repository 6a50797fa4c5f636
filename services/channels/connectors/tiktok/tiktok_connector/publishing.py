"""UpsertProducts and ArchiveProducts over a TikTokClient (API 202309; payloads in
protocol.publish): the product's images uploaded (Upload Product Image, one call each), then one
Create Product or Partial Edit call per product (and, when an update's status asks it, Deactivate
or Activate Products: archived takes it off sale, active puts a seller-deactivated one back), each
product read back with Get Product for its SKU ids, and one Deactivate Products call per
ArchiveProducts.

A product TikTok's required fields would refuse is REJECTED before any call and the others still
go; a product TikTok refuses is REJECTED with TikTok's words. A transient failure before anything
was applied is raised (RESOURCE_EXHAUSTED/UNAVAILABLE with RetryInfo), as the pushes do; after
that, the products not yet done are RETRY.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from omnistock_common.errors import FailedPrecondition, ResourceExhausted, Unavailable
from omnistock_connector_kit.publishing import ProductRef, ProductResult, ProductUpsert
from tiktok_connector import protocol as p
from tiktok_connector.client import TikTokClient
from tiktok_connector.protocol import publish as pub

log = logging.getLogger(__name__)


def _shop(tiktok: TikTokClient, products: Sequence[ProductUpsert], settings: Mapping[str, str]) -> pub.Shop:
    """The connection's warehouse_id, else (only when some SKU is to be created) the shop's default
    sales warehouse; "" when TikTok names none (those products are then refused)."""
    warehouse = p.clean_id(settings.get(pub.WAREHOUSE_SETTING, ""), 64)
    creates = any(
        product.is_create or any(not v.external_id for v in product.variants) for product in products
    )
    if not warehouse and creates:
        try:
            warehouse = tiktok.default_warehouse()
        except FailedPrecondition as exc:
            log.info("no default warehouse: %s", exc)
    return pub.Shop(settings, warehouse, str(settings.get("currency") or "").strip().upper())


def _publish_one(tiktok: TikTokClient, product: ProductUpsert, shop: pub.Shop) -> ProductResult:
    what = f"publish product {product.product_id}"
    if product.is_create:
        uris = [tiktok.upload_image(url) for url in pub.images_to_upload(product)]
        product_id = tiktok.create_product(pub.create_body(product, shop, uris), what)
    else:
        product_id = p.clean_id(product.external_id, 64)
        current = tiktok.product(product_id) if product_id else None
        if current is None:
            return ProductResult(
                product.product_id,
                p.Outcome.REJECTED,
                f"TikTok has no product {product.external_id!r}",
                product.external_id,
            )
        uris = [tiktok.upload_image(url) for url in pub.images_to_upload(product)]
        body = pub.edit_body(product, current, shop, uris)
        if body:
            tiktok.edit_product(product_id, body, what)
        change = pub.status_change(product, str(current.get("status") or ""))
        if change:
            answer = (
                tiktok.activate([product_id]) if change == "activate" else tiktok.deactivate([product_id])
            )
            by_product, general = pub.deactivate_errors(answer)
            refused = by_product.get(product_id) or general
            if refused:
                return ProductResult(
                    product.product_id,
                    p.Outcome.REJECTED,
                    f"TikTok refused to {change} it: {refused}",
                    product_id,
                )
    current = tiktok.product(product_id)
    if current is None:
        return ProductResult(
            product.product_id, p.Outcome.RETRY, "TikTok does not show the product yet", product_id
        )
    return pub.published(product, product_id, current)


def upsert_products(
    tiktok: TikTokClient, products: Sequence[ProductUpsert], settings: Mapping[str, str]
) -> list[ProductResult]:
    """One result per product, in order."""
    shop = _shop(tiktok, products, settings)
    results: dict[int, ProductResult] = {}
    seen: set[str] = set()
    applied_any = False
    stopped = ""
    for index, product in enumerate(products):
        problem = pub.upsert_problem(product, shop)
        if problem is None and seen.intersection(v.sku for v in product.variants):
            problem = "a SKU of this product is also in another product of this call"
        if problem:
            results[index] = ProductResult(
                product.product_id, p.Outcome.REJECTED, problem, product.external_id
            )
            continue
        seen.update(v.sku for v in product.variants)
        if stopped:
            results[index] = ProductResult(product.product_id, p.Outcome.RETRY, stopped, product.external_id)
            continue
        try:
            results[index] = _publish_one(tiktok, product, shop)
        except (ResourceExhausted, Unavailable) as error:
            if not applied_any:
                raise
            stopped = str(error)
            results[index] = ProductResult(product.product_id, p.Outcome.RETRY, stopped, product.external_id)
            continue
        except FailedPrecondition as error:
            results[index] = ProductResult(
                product.product_id, p.Outcome.REJECTED, str(error), product.external_id
            )
            continue
        applied_any = applied_any or results[index].outcome is p.Outcome.APPLIED
    return [results[index] for index in range(len(products))]


def archive_products(tiktok: TikTokClient, refs: Sequence[ProductRef]) -> list[ProductResult]:
    """Deactivate Products for every product with a TikTok id: off sale, kept with its ids
    (status SELLER_DEACTIVATED). A call TikTok refuses as a whole rejects every product of it."""
    results: dict[int, ProductResult] = {}
    wanted: dict[int, tuple[str, str]] = {}
    for index, ref in enumerate(refs):
        product_id = p.clean_id(ref.external_id, 64)
        if product_id:
            wanted[index] = (ref.product_id, product_id)
        else:
            results[index] = ProductResult(ref.product_id, p.Outcome.REJECTED, "no TikTok product id")
    if wanted:
        ids = list(dict.fromkeys(product_id for _, product_id in wanted.values()))
        try:
            by_product, general = pub.deactivate_errors(tiktok.deactivate(ids))
        except FailedPrecondition as error:
            by_product, general = {}, str(error)
        for index, result in zip(
            wanted, pub.archive_results(list(wanted.values()), by_product, general), strict=True
        ):
            results[index] = result
    return [results[index] for index in range(len(refs))]
