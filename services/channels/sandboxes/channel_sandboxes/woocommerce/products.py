"""Products (`/products`, `/products/batch`): listing, reads, updates with core's stock rules, batches.

`apply_product_update` and `run_batch` serve variations too (variations.py): WooCommerce's
variation controller extends the product controller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

from channel_sandboxes.common import json_response
from channel_sandboxes.woocommerce.sandbox import API, WooSandbox
from channel_sandboxes.woocommerce.state import WooProduct, WooStore, price_string, wp_now
from channel_sandboxes.woocommerce.wp_rest import (
    ORDERBY_POSTS,
    WooError,
    api_guard,
    date_filters,
    int_or_zero,
    invalid_param,
    ordered,
    paged,
    rest_body,
    sku_include_filter,
    truthy,
)

STOCK_STATUSES = ("instock", "outofstock", "onbackorder")
# Product statuses a write may set (https://woocommerce.github.io/woocommerce-rest-api-docs/#product-properties).
PRODUCT_STATUSES = ("draft", "pending", "private", "publish")


def product_or_404(store: WooStore, product_id: int, kind: str = "product", status: int = 404) -> WooProduct:
    product = store.products.get(product_id)
    wanted_variation = kind == "product_variation"
    if product is None or (product.type == "variation") != wanted_variation:
        raise WooError(f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.", status)
    return product


def _is_integer(value: Any) -> bool:
    """WordPress's rest_is_integer: ints and integral numeric strings."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.lstrip("-").isdigit()


def _stock_amount(value: Any) -> int:
    """wc_stock_amount: intval semantics (junk becomes 0, floats truncate)."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _validate_schema(data: dict[str, Any]) -> None:
    """WordPress's schema validation of a single request's product fields."""
    for name in ("regular_price", "sale_price", "sku", "name"):
        if name in data and not isinstance(data[name], str):
            raise invalid_param(name, f"{name} is not of type string.", "rest_invalid_type")
    if (
        "stock_quantity" in data
        and not _is_integer(data["stock_quantity"])
        and data["stock_quantity"] is not None
    ):
        raise invalid_param("stock_quantity", "stock_quantity is not of type integer.", "rest_invalid_type")
    if "manage_stock" in data and not isinstance(data["manage_stock"], bool):
        raise invalid_param("manage_stock", "manage_stock is not of type boolean.", "rest_invalid_type")
    if "stock_status" in data and data["stock_status"] not in STOCK_STATUSES:
        raise invalid_param(
            "stock_status",
            "stock_status is not one of instock, outofstock, and onbackorder.",
            "rest_not_in_enum",
        )


def apply_product_update(store: WooStore, product: WooProduct, data: dict[str, Any], strict: bool) -> None:
    """WC_REST_Products_Controller::prepare_object_for_database, the stock and price part.

    `strict` applies WordPress's schema validation, which single requests get and batch items
    (dispatched internally by WC_REST_Controller::batch_items) do not.
    """
    if strict:
        _validate_schema(data)
    if "sku" in data and data["sku"] != product.sku:
        other = store.by_sku(str(data["sku"]))
        if data["sku"] and other is not None and other.id != product.id:
            raise WooError("product_invalid_sku", "Invalid or duplicated SKU.", 400, resource_id=other.id)
        product.sku = str(data["sku"])
    if "name" in data:
        product.name = str(data["name"])
    apply_catalog_fields(product, data)
    if "regular_price" in data or "sale_price" in data:
        store.price_writes[product.sku] += 1
    try:
        if "regular_price" in data:
            product.regular_price = price_string(data["regular_price"])
        if "sale_price" in data:
            product.sale_price = price_string(data["sale_price"])
    except ValueError as exc:
        raise WooError("woocommerce_rest_invalid_price", str(exc), 400) from None
    if "backorders" in data and data["backorders"] in ("no", "notify", "yes"):
        product.backorders = data["backorders"]
    if "manage_stock" in data:
        product.manage_stock = truthy(data["manage_stock"])
    if product.manage_stock and product.type != "variable":
        if data.get("stock_quantity") is not None:
            product.stock_quantity = _stock_amount(data["stock_quantity"])
        elif data.get("inventory_delta") is not None:
            product.stock_quantity = (product.stock_quantity or 0) + _stock_amount(data["inventory_delta"])
        elif product.stock_quantity is None:
            product.stock_quantity = 0  # managing stock starts from none (wc_stock_amount of nothing)
        product.sync_stock_status()
    else:
        product.stock_quantity = None
        if data.get("stock_status") in STOCK_STATUSES:
            product.stock_status = data["stock_status"]
    product.date_modified = wp_now()


def apply_catalog_fields(product: WooProduct, data: dict[str, Any]) -> None:
    """The catalogue part of a product or variation write (publishing): status, description,
    images, attributes, weight and GTIN, in the REST shapes
    (https://woocommerce.github.io/woocommerce-rest-api-docs/#product-properties,
    #product-variation-properties). A variable parent's `attributes` are {name, options,
    variation}; a variation's are {name, option}. Tags are taken by `id` only, as
    WC_REST_Products_Controller::save_taxonomy_terms does: the sandbox has no tag terms, so none stick."""
    if data.get("status") in PRODUCT_STATUSES:
        product.status = data["status"]
    if "description" in data:
        product.description = str(data["description"] or "")
    if "images" in data and product.type != "variation":
        product.images = [
            str(i.get("src")) for i in data["images"] or [] if isinstance(i, dict) and i.get("src")
        ]
    if isinstance(data.get("attributes"), list):
        if product.type == "variation":
            product.attributes = [
                (str(a.get("name")), [str(a.get("option") or "")])
                for a in data["attributes"]
                if isinstance(a, dict) and a.get("name")
            ]
        else:
            product.attributes = [
                (str(a.get("name")), [str(o) for o in a.get("options") or []])
                for a in data["attributes"]
                if isinstance(a, dict) and a.get("name")
            ]
    if "weight" in data:
        product.weight = str(data["weight"] or "")
    if "global_unique_id" in data:
        product.global_unique_id = str(data["global_unique_id"] or "")


def create_product(
    store: WooStore, item: dict[str, Any], name: str, parent: WooProduct | None = None
) -> WooProduct:
    """A batch `create` item: a simple or variable product, or a variation of `parent`; stock
    unmanaged until set. WooCommerce takes a product without a name (it is saved untitled:
    https://github.com/woocommerce/woocommerce/issues/33655), so a missing name is no error here."""
    sku = str(item.get("sku") or "")
    if sku and store.by_sku(sku) is not None:
        raise WooError("product_invalid_sku", "Invalid or duplicated SKU.", 400)
    product = WooProduct(store.new_id(), name, sku, manage_stock=False, stock_quantity=None)
    if parent is not None:
        product.type, product.parent_id = "variation", parent.id
        parent.variation_ids.append(product.id)
    elif item.get("type") in ("simple", "variable"):
        product.type = item["type"]
    store.products[product.id] = product
    apply_product_update(store, product, {k: v for k, v in item.items() if k != "sku"}, strict=False)
    return product


def _delete_product(store: WooStore, product: WooProduct) -> None:
    parent = store.products.get(product.parent_id)
    if parent is not None and product.id in parent.variation_ids:
        parent.variation_ids.remove(product.id)
    for child in list(product.variation_ids):
        store.products.pop(child, None)
    store.products.pop(product.id, None)


def _batch_limit_check(data: dict[str, Any], limit: int) -> None:
    total = 0
    for action in ("create", "update", "delete"):
        if action in data:
            if not isinstance(data[action], list):
                raise invalid_param(action, f"{action} is not of type array.", "rest_invalid_type")
            total += len(data[action])
    if total > limit:
        raise WooError(
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {limit} items for this request.",
            413,
        )


def run_batch(
    sandbox: WooSandbox,
    candidates: Callable[[int], WooProduct],
    create: Callable[[dict[str, Any]], WooProduct],
) -> Response:
    """WC_REST_Controller::batch_items: limit check first, then per-item results with errors inline."""
    store = sandbox.store
    data = rest_body()
    _batch_limit_check(data, sandbox.config.batch_limit)
    result: dict[str, list[dict[str, Any]]] = {}
    touched: list[WooProduct] = []
    created: list[WooProduct] = []
    with store.lock:
        if "create" in data:
            result["create"] = []
            for item in data["create"]:
                try:
                    product = create(item if isinstance(item, dict) else {})
                except WooError as exc:
                    result["create"].append({"id": 0, "error": exc.item_error()})
                    continue
                created.append(product)
                result["create"].append(sandbox.product_json(product))
        if "update" in data:
            result["update"] = []
            for item in data["update"]:
                item = item if isinstance(item, dict) else {}
                try:
                    product = candidates(int_or_zero(item.get("id")))
                    apply_product_update(store, product, item, strict=False)
                except WooError as exc:
                    result["update"].append({"id": int_or_zero(item.get("id")), "error": exc.item_error()})
                    continue
                touched.append(product)
                result["update"].append(sandbox.product_json(product))
        if "delete" in data:
            result["delete"] = []
            for raw in data["delete"]:
                try:
                    product = candidates(int_or_zero(raw))
                except WooError as exc:
                    result["delete"].append({"id": int_or_zero(raw), "error": exc.item_error()})
                    continue
                result["delete"].append(sandbox.product_json(product))
                _delete_product(store, product)
    sandbox.product_events(created, "product.created")
    sandbox.product_events(touched)
    return json_response(result)


def update_and_render(sandbox: WooSandbox, lookup: Callable[[], WooProduct]) -> Response:
    """A single PUT (schema-validated), its `product.updated` webhook, and the updated object."""
    with sandbox.store.lock:
        product = lookup()
        apply_product_update(sandbox.store, product, rest_body(), strict=True)
        rendered = sandbox.product_json(product)
    sandbox.product_events([product])
    return json_response(rendered)


def register_product_routes(app: Flask, sandbox: WooSandbox) -> None:
    store = sandbox.store
    api = api_guard(sandbox)

    @app.get(f"{API}/products")
    @api("products/list", "list")
    def list_products() -> Response:
        with store.lock:
            items = [p for p in store.products.values() if p.type != "variation"]
        items = sku_include_filter(items)
        for name in ("type", "stock_status"):
            if request.args.get(name):
                items = [p for p in items if getattr(p, name) == request.args[name]]
        status = request.args.get("status", "any")
        if status != "any":
            items = [p for p in items if p.status == status]
        if request.args.get("search"):
            needle = request.args["search"].lower()
            items = [p for p in items if needle in p.name.lower() or needle in p.sku.lower()]
        items = date_filters(items)
        return paged(ordered(items, "date", ORDERBY_POSTS), sandbox.product_json, store.lock)

    @app.get(f"{API}/products/<int:product_id>")
    @api("products/get", "view")
    def get_product(product_id: int) -> Response:
        with store.lock:
            return json_response(sandbox.product_json(product_or_404(store, product_id)))

    @app.route(f"{API}/products/<int:product_id>", methods=["PUT", "PATCH", "POST"])
    @api("products/update", "edit")
    def update_product(product_id: int) -> Response:
        return update_and_render(sandbox, lambda: product_or_404(store, product_id, status=400))

    @app.post(f"{API}/products/batch")
    @api("products/batch", "batch")
    def products_batch() -> Response:
        return run_batch(
            sandbox,
            lambda pid: product_or_404(store, pid, status=400),
            lambda item: create_product(store, item, str(item.get("name") or "")),
        )
