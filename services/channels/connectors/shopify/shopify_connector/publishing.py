"""UpsertProducts and ArchiveProducts over a ShopifyClient: one productSet (or productUpdate) per
product, each through the client's GraphQL envelope, so the local cost bucket, THROTTLED waits and
retries are the same as for PushPrices (client.ShopifyClient.graphql).

One product's refusal (userErrors) is REJECTED for that product only. A transient failure
(exhausted retries) stops the call: that product and the ones after it are RETRY; if nothing was
applied yet the failure is raised instead (RESOURCE_EXHAUSTED/UNAVAILABLE with RetryInfo), as the
pushes do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from omnistock_connector_kit.channel_http import ChannelHttpError
from omnistock_connector_kit.connector_base import map_channel_error
from omnistock_connector_kit.publishing import ProductRef, ProductResult, ProductUpsert
from shopify_connector import protocol as p
from shopify_connector.client import ShopifyClient
from shopify_connector.protocol import publish as pub


def _variant_nodes(shopify: ShopifyClient, product_gid: str, first_page: Any) -> list[Mapping[str, Any]]:
    """Every variant node of a product: the page an answer carried, then the rest by cursor."""
    page = first_page if isinstance(first_page, Mapping) else {}
    nodes = list(page.get("nodes") or [])
    info = page.get("pageInfo") or {}
    while info.get("hasNextPage") and info.get("endCursor"):
        data = shopify.graphql(
            pub.PRODUCT_VARIANTS_FOR_SET,
            {"id": product_gid, "after": info["endCursor"]},
            cost=pub.EXISTING_VARIANTS_COST,
            what="product variants",
        )
        variants = (data.get("product") or {}).get("variants") or {}
        nodes.extend(variants.get("nodes") or [])
        info = variants.get("pageInfo") or {}
    return nodes


def _existing(shopify: ShopifyClient, product_gid: str) -> list[pub.ExistingVariant] | None:
    """The product's variants on Shopify, or None when it has no such product."""
    data = shopify.graphql(
        pub.PRODUCT_VARIANTS_FOR_SET,
        {"id": product_gid, "after": None},
        cost=pub.EXISTING_VARIANTS_COST,
        what="product variants",
    )
    product = data.get("product")
    if not product:
        return None
    return pub.existing_variants(_variant_nodes(shopify, product_gid, product.get("variants")))


def _upsert_one(
    shopify: ShopifyClient, product: ProductUpsert, location_id: str, shop_currency: str
) -> ProductResult:
    problem = pub.upsert_problem(product, shop_currency)
    if problem:
        return ProductResult(product.product_id, p.Outcome.REJECTED, problem, product.external_id)
    existing: list[pub.ExistingVariant] = []
    if not product.is_create:
        product = _with_gid(product)
        if pub.touches_variants(product):
            found = _existing(shopify, product.external_id)
            if found is None:
                return ProductResult(
                    product.product_id,
                    p.Outcome.REJECTED,
                    "rejected by Shopify (PRODUCT_DOES_NOT_EXIST)",
                    product.external_id,
                )
            product = pub.sent_variants(product, found)
            existing = found
    data = shopify.graphql(
        pub.PRODUCT_SET_MUTATION,
        pub.product_set_variables(product, existing),
        cost=pub.PRODUCT_SET_COST,
        what="productSet",
    )
    payload = data.get("productSet") or {}
    errors = payload.get("userErrors") or []
    answered = payload.get("product") or {}
    if errors or not answered.get("id"):
        return ProductResult(
            product.product_id, p.Outcome.REJECTED, pub.user_errors_message(errors), product.external_id
        )
    product_gid = str(answered["id"])
    nodes = _variant_nodes(shopify, product_gid, answered.get("variants"))
    variants, missing = pub.published_variants(product, product_gid, nodes, location_id)
    if missing and product.owns("variants"):
        # Applied, but Shopify's answer does not show these SKUs: the next call maps them. (An
        # update without `variants` adds none: a SKU Shopify lacks is then not reported at all.)
        return ProductResult(
            product.product_id,
            p.Outcome.RETRY,
            f"Shopify's answer did not show the variants {', '.join(missing)}",
            product_gid,
        )
    return ProductResult(product.product_id, p.Outcome.APPLIED, "", product_gid, tuple(variants))


def _with_gid(product: ProductUpsert) -> ProductUpsert:
    """The product with its id (and its variants' ids) as GIDs; numeric ids are accepted."""
    return replace(
        product,
        external_id=p.gid("Product", product.external_id),
        variants=tuple(
            replace(v, external_id=p.gid("ProductVariant", v.external_id) if v.external_id else "")
            for v in product.variants
        ),
    )


def upsert_products(
    shopify: ShopifyClient, products: Sequence[ProductUpsert], *, location_id: str, shop_currency: str = ""
) -> list[ProductResult]:
    """One result per product, in order (module docstring for failures)."""
    results: list[ProductResult] = []
    applied_any = False
    for index, product in enumerate(products):
        try:
            result = _upsert_one(shopify, product, location_id, shop_currency)
        except ChannelHttpError as error:
            if not applied_any:
                raise map_channel_error(error) from error
            results.extend(
                ProductResult(rest.product_id, p.Outcome.RETRY, str(error), rest.external_id)
                for rest in products[index:]
            )
            break
        applied_any = applied_any or result.outcome is p.Outcome.APPLIED
        results.append(result)
    return results


def archive_products(shopify: ShopifyClient, products: Sequence[ProductRef]) -> list[ProductResult]:
    """productUpdate status ARCHIVED per product; the product and its ids stay."""
    results: list[ProductResult] = []
    applied_any = False
    for index, ref in enumerate(products):
        if not ref.external_id:
            results.append(ProductResult(ref.product_id, p.Outcome.REJECTED, "no Shopify product id"))
            continue
        product_gid = p.gid("Product", ref.external_id)
        try:
            data = shopify.graphql(
                pub.PRODUCT_ARCHIVE_MUTATION,
                {"product": {"id": product_gid, "status": "ARCHIVED"}},
                cost=p.COST_MUTATION,
                what="productUpdate",
            )
        except ChannelHttpError as error:
            if not applied_any:
                raise map_channel_error(error) from error
            results.extend(
                ProductResult(rest.product_id, p.Outcome.RETRY, str(error), rest.external_id)
                for rest in products[index:]
            )
            break
        payload = data.get("productUpdate") or {}
        errors = payload.get("userErrors") or []
        if errors or not (payload.get("product") or {}).get("id"):
            results.append(
                ProductResult(
                    ref.product_id, p.Outcome.REJECTED, pub.user_errors_message(errors), product_gid
                )
            )
            continue
        applied_any = True
        results.append(ProductResult(ref.product_id, p.Outcome.APPLIED, "", product_gid))
    return results
