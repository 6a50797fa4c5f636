"""Variations (`/products/{id}/variations[/{vid}|/batch]`): the product rules, under a variable parent."""

from __future__ import annotations

from flask import Flask, Response

from channel_sandboxes.common import json_response
from channel_sandboxes.woocommerce.products import (
    create_product,
    product_or_404,
    run_batch,
    update_and_render,
)
from channel_sandboxes.woocommerce.sandbox import API, WooSandbox
from channel_sandboxes.woocommerce.state import WooProduct, WooStore
from channel_sandboxes.woocommerce.wp_rest import (
    ORDERBY_POSTS,
    WooError,
    api_guard,
    ordered,
    paged,
    sku_include_filter,
)


def variation_of(store: WooStore, parent_id: int, variation_id: int, status: int = 404) -> WooProduct:
    product_or_404(store, parent_id)
    variation = product_or_404(store, variation_id, "product_variation", status)
    if variation.parent_id != parent_id:
        raise WooError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", status)
    return variation


def register_variation_routes(app: Flask, sandbox: WooSandbox) -> None:
    store = sandbox.store
    api = api_guard(sandbox)
    path = f"{API}/products/<int:product_id>/variations"

    @app.get(path)
    @api("variations/list", "list")
    def list_variations(product_id: int) -> Response:
        with store.lock:
            parent = product_or_404(store, product_id)
            items = [store.products[v] for v in parent.variation_ids]
        items = sku_include_filter(items)
        return paged(ordered(items, "date", ORDERBY_POSTS), sandbox.product_json, store.lock)

    @app.get(f"{path}/<int:variation_id>")
    @api("variations/get", "view")
    def get_variation(product_id: int, variation_id: int) -> Response:
        with store.lock:
            return json_response(sandbox.product_json(variation_of(store, product_id, variation_id)))

    @app.route(f"{path}/<int:variation_id>", methods=["PUT", "PATCH", "POST"])
    @api("variations/update", "edit")
    def update_variation(product_id: int, variation_id: int) -> Response:
        return update_and_render(sandbox, lambda: variation_of(store, product_id, variation_id, status=400))

    @app.post(f"{path}/batch")
    @api("variations/batch", "batch")
    def variations_batch(product_id: int) -> Response:
        with store.lock:
            parent = product_or_404(store, product_id)
        return run_batch(
            sandbox,
            lambda vid: variation_of(store, product_id, vid, status=400),
            lambda item: create_product(store, item, parent.name, parent),
        )
