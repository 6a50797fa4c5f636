"""UpsertProducts and ArchiveProducts over a WooCommerceClient (protocol.publish builds the
payloads): one `products/batch` for every product of the call, then one
`products/<id>/variations/batch` (≤100 variations each) per variable product.

A product a batch item refuses is REJECTED alone. If the products batch itself fails after
retries nothing was applied and the failure is raised (RESOURCE_EXHAUSTED/UNAVAILABLE with
RetryInfo). A variations batch that fails after retries makes that product and the variable
products after it RETRY, with their product ids, so the next call updates instead of creating.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from omnistock_connector_kit.channel_http import ChannelHttpError
from omnistock_connector_kit.connector_base import map_channel_error
from omnistock_connector_kit.publishing import ProductRef, ProductResult, ProductUpsert, PublishedVariant
from woocommerce_connector import protocol as p
from woocommerce_connector.client import WooCommerceClient
from woocommerce_connector.protocol import publish as pub

REFUSED_STATUSES = (400, 404, 409, 413, 422)


def _existing(client: WooCommerceClient, products: Sequence[ProductUpsert]) -> dict[int, pub.ExistingProduct]:
    """The products an update names, as the store has them (type, attributes), read by `include`."""
    ids = sorted({i for i in (pub.product_id_of(x) for x in products if not x.is_create) if i})
    found: dict[int, pub.ExistingProduct] = {}
    for chunk in pub.chunked(ids, p.MAX_PER_PAGE):
        params = {"include": ",".join(map(str, chunk)), "per_page": p.MAX_PER_PAGE}
        for item in client.read_list("products", params, "reading products to update"):
            existing = pub.existing_product(item)
            found[existing.id] = existing
    return found


def _problem(product: ProductUpsert, existing: pub.ExistingProduct | None, currency: str) -> str | None:
    problem = pub.upsert_problem(product, currency)
    if problem:
        return problem
    if not product.is_create and existing is None:
        return f"WooCommerce has no product {product.external_id}"
    if pub.is_simple(product, existing):
        if len(product.variants) > 1 or (product.variants and product.variants[0].options):
            return (
                "a simple product on WooCommerce cannot take variants with options (make it variable there)"
            )
        return None
    for variant in product.variants:
        problem = pub.variation_problem(variant)
        if problem:
            return problem
    return None


def _variations(
    client: WooCommerceClient, product: ProductUpsert, product_id: int, weight_unit: str
) -> ProductResult:
    """Create/update the variations of a variable product; APPLIED with every variant's ids."""
    external_id = str(product_id)
    if not product.is_create:
        product = _known_by_sku(client, product, product_id)
    writes = [
        v
        for v in product.variants
        if (v.external_id and (product.owns("options") or product.owns("variants") or product.owns("prices")))
        or (not v.external_id and product.owns("variants"))
    ]
    published: dict[str, PublishedVariant] = {
        v.sku: PublishedVariant(v.sku, v.external_id, p.remote_ids(product_id, v.external_id))
        for v in product.variants
        if v.external_id
    }
    refused: list[str] = []
    transient = False
    for chunk in pub.chunked(writes):
        creates = [v for v in chunk if not v.external_id]
        updates = [v for v in chunk if v.external_id]
        body = {
            "create": [pub.variation_body(product, v, weight_unit=weight_unit) for v in creates],
            "update": [pub.variation_body(product, v, weight_unit=weight_unit) for v in updates],
        }
        response = client.post(f"products/{product_id}/variations/batch", body, idempotent=not creates)
        if response.status_code in REFUSED_STATUSES:
            detail = p.error_message(_json(response), f"HTTP {response.status_code}")
            return ProductResult(product.product_id, p.Outcome.REJECTED, detail, external_id)
        client.raise_for_status(response, f"POST products/{product_id}/variations/batch")
        payload = _json(response)
        for action, sent in (("create", creates), ("update", updates)):
            for variant, answer in zip(sent, pub.answers(payload, action, len(sent)), strict=True):
                outcome, message, variation_id = pub.item_outcome(answer)
                if outcome is p.Outcome.APPLIED:
                    ids = p.remote_ids(product_id, variation_id)
                    published[variant.sku] = PublishedVariant(variant.sku, str(variation_id), ids)
                else:
                    transient = transient or outcome is p.Outcome.RETRY
                    refused.append(f"{variant.sku}: {message}")
    if refused:
        outcome = p.Outcome.RETRY if transient else p.Outcome.REJECTED
        return ProductResult(product.product_id, outcome, "; ".join(refused), external_id)
    variants = tuple(published[v.sku] for v in product.variants if v.sku in published)
    return ProductResult(product.product_id, p.Outcome.APPLIED, "", external_id, variants)


def _known_by_sku(client: WooCommerceClient, product: ProductUpsert, product_id: int) -> ProductUpsert:
    """The product with the variations the store already has under a requested SKU named by id
    (read with `sku=`): a variation created by an earlier attempt whose answer was lost is then
    updated, not created again (WooCommerce would refuse the duplicated SKU)."""
    unnamed = [v.sku for v in product.variants if not v.external_id and v.sku]
    if not unnamed:
        return product
    known: dict[str, str] = {}
    for chunk in pub.chunked(unnamed, p.MAX_PER_PAGE):
        params = {"sku": ",".join(chunk), "per_page": p.MAX_PER_PAGE}
        for item in client.read_list(f"products/{product_id}/variations", params, "reading variations"):
            known[str(item.get("sku") or "")] = str(item["id"])
    return replace(
        product,
        variants=tuple(
            replace(v, external_id=known[v.sku]) if not v.external_id and v.sku in known else v
            for v in product.variants
        ),
    )


def _json(response: object) -> object:
    try:
        return response.json()  # type: ignore[attr-defined]
    except ValueError:
        return None


def upsert_products(
    client: WooCommerceClient, products: Sequence[ProductUpsert], *, store_currency: str, weight_unit: str
) -> list[ProductResult]:
    """One result per product, in order (module docstring for failures)."""
    results: list[ProductResult | None] = [None] * len(products)
    existing = _existing(client, products)
    creates: list[int] = []
    updates: list[int] = []
    for index, product in enumerate(products):
        current = existing.get(pub.product_id_of(product) or 0)
        problem = _problem(product, current, store_currency)
        if problem:
            results[index] = ProductResult(
                product.product_id, p.Outcome.REJECTED, problem, product.external_id
            )
        else:
            (creates if product.is_create else updates).append(index)
    bodies = {
        "create": [pub.product_body(products[i], None, weight_unit=weight_unit) for i in creates],
        "update": [
            pub.product_body(
                products[i], existing.get(pub.product_id_of(products[i]) or 0), weight_unit=weight_unit
            )
            for i in updates
        ],
    }
    applied: list[tuple[int, int]] = []  # (request index, WooCommerce product id)
    if creates or updates:
        try:
            response = client.post("products/batch", bodies, idempotent=not creates)
        except ChannelHttpError as error:
            raise map_channel_error(error) from error
        if response.status_code in REFUSED_STATUSES:
            detail = p.error_message(_json(response), f"HTTP {response.status_code}")
            for index in creates + updates:
                results[index] = ProductResult(products[index].product_id, p.Outcome.REJECTED, detail)
        else:
            client.raise_for_status(response, "POST products/batch")
            payload = _json(response)
            for action, indexes in (("create", creates), ("update", updates)):
                for index, answer in zip(indexes, pub.answers(payload, action, len(indexes)), strict=True):
                    outcome, message, product_id = pub.item_outcome(answer)
                    product = products[index]
                    if outcome is p.Outcome.APPLIED:
                        applied.append((index, product_id))
                    else:
                        results[index] = ProductResult(
                            product.product_id, outcome, message, product.external_id
                        )
    failed: ChannelHttpError | None = None
    for index, product_id in applied:
        product = products[index]
        current = existing.get(product_id)
        if pub.is_simple(product, current):
            variants = tuple(
                PublishedVariant(v.sku, str(product_id), p.remote_ids(product_id)) for v in product.variants
            )
            results[index] = ProductResult(
                product.product_id, p.Outcome.APPLIED, "", str(product_id), variants
            )
        elif failed is not None:
            results[index] = ProductResult(product.product_id, p.Outcome.RETRY, str(failed), str(product_id))
        else:
            try:
                results[index] = _variations(client, product, product_id, weight_unit)
            except ChannelHttpError as error:
                failed = error
                results[index] = ProductResult(
                    product.product_id, p.Outcome.RETRY, str(error), str(product_id)
                )
    return [r for r in results if r is not None]


def archive_products(client: WooCommerceClient, products: Sequence[ProductRef]) -> list[ProductResult]:
    """status `draft` per product (WooCommerce has no archived status): off sale, kept, same ids."""
    results: list[ProductResult | None] = [None] * len(products)
    sendable: list[tuple[int, int]] = []
    for index, ref in enumerate(products):
        product_id = int(ref.external_id) if ref.external_id.strip().isdigit() else 0
        if product_id <= 0:
            results[index] = ProductResult(ref.product_id, p.Outcome.REJECTED, "no WooCommerce product id")
        else:
            sendable.append((index, product_id))
    applied_any = False
    chunks = pub.chunked(sendable)
    for number, chunk in enumerate(chunks):
        body = {"update": [{"id": product_id, "status": "draft"} for _, product_id in chunk]}
        try:
            response = client.post("products/batch", body, idempotent=True)
        except ChannelHttpError as error:
            if not applied_any:
                raise map_channel_error(error) from error
            for rest in chunks[number:]:
                for index, product_id in rest:
                    results[index] = ProductResult(
                        products[index].product_id, p.Outcome.RETRY, str(error), str(product_id)
                    )
            break
        if response.status_code in REFUSED_STATUSES:
            detail = p.error_message(_json(response), f"HTTP {response.status_code}")
            for index, product_id in chunk:
                results[index] = ProductResult(
                    products[index].product_id, p.Outcome.REJECTED, detail, str(product_id)
                )
            continue
        client.raise_for_status(response, "POST products/batch")
        for (index, product_id), answer in zip(
            chunk, pub.answers(_json(response), "update", len(chunk)), strict=True
        ):
            outcome, message, _ = pub.item_outcome(answer)
            applied_any = applied_any or outcome is p.Outcome.APPLIED
            results[index] = ProductResult(products[index].product_id, outcome, message, str(product_id))
    return [r for r in results if r is not None]
