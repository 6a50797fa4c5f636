"""Flask app of the WooCommerce sandbox: the `wc/v3` REST API subset connectors use, plus control API.

Vendor-facing routes keep WooCommerce's paths, auth behaviour, error bodies (`{code, message,
data:{status}}`), paging headers and webhook headers; `/_sandbox/*` is ours and stable.
"""

from __future__ import annotations

import hmac
import json
import math
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request

from channel_sandboxes.common import (
    Delivery,
    SandboxBase,
    b64_hmac_sha256,
    format_retry_after,
    json_response,
    register_common_control_routes,
)
from channel_sandboxes.demo import DEMO_CATALOGUE
from channel_sandboxes.woocommerce.state import (
    ORDER_STATUSES,
    STOCK_REDUCING_STATUSES,
    WEBHOOK_TOPICS,
    StockError,
    WooNote,
    WooOrder,
    WooProduct,
    WooStore,
    WooWebhook,
    price_string,
    wp_now,
)

API = "/wp-json/wc/v3"
USER_AGENT = "WooCommerce/9.9.0 Hookshot (WordPress/6.8.1)"
_DENIED = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "batch": (
        "woocommerce_rest_cannot_batch",
        "Sorry, you are not allowed to batch manipulate this resource.",
    ),
    "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
}
_FAULTS = {
    429: ("woocommerce_rest_too_many_requests", "Too many requests. Please slow down."),
    500: ("internal_server_error", "There has been a critical error on this website."),
    502: ("bad_gateway", "Bad gateway."),
    503: ("service_unavailable", "Briefly unavailable for scheduled maintenance. Check back in a minute."),
    504: ("gateway_timeout", "Gateway timeout."),
}


@dataclass
class WooConfig:
    """Settings of one sandbox store; `from_env` reads WOOCOMMERCE_SANDBOX_* variables."""

    consumer_key: str = "ck_" + "0" * 32 + "5a4db0c5"
    consumer_secret: str = "cs_" + "0" * 32 + "5ec0e7c5"
    # Secret for webhooks subscribed without one (the REST API would generate a random one).
    webhook_secret: str = "sandbox-woocommerce-webhook-secret"
    # Public URL of the store (X-WC-Webhook-Source, links); default: the URL the request came in on.
    store_url: str | None = None
    currency: str = "USD"
    batch_limit: int = 100
    demo: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WooConfig:
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            consumer_key=env.get("WOOCOMMERCE_SANDBOX_CONSUMER_KEY", base.consumer_key),
            consumer_secret=env.get("WOOCOMMERCE_SANDBOX_CONSUMER_SECRET", base.consumer_secret),
            webhook_secret=env.get("WOOCOMMERCE_SANDBOX_WEBHOOK_SECRET", base.webhook_secret),
            store_url=env.get("WOOCOMMERCE_SANDBOX_STORE_URL") or None,
            demo=env.get("WOOCOMMERCE_SANDBOX_DEMO", "") in ("1", "true", "yes"),
        )


class WooError(Exception):
    """A WP REST error: rendered as `{code, message, data:{status, ...}}`."""

    def __init__(self, code: str, message: str, status: int, **data: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.data = code, message, status, data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}

    def response(self) -> Response:
        return json_response(self.body(), self.status)


def invalid_param(name: str, message: str, code: str = "rest_invalid_param") -> WooError:
    """WordPress's argument-validation error (schema checks on a single request)."""
    return WooError(
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        400,
        params={name: message},
        details={name: {"code": code, "message": message, "data": None}},
    )


class WooSandbox(SandboxBase):
    def __init__(self, config: WooConfig) -> None:
        super().__init__(USER_AGENT)
        self.config = config
        self.store = WooStore(config.currency)
        if config.demo:
            self.seed([dict(item) for item in DEMO_CATALOGUE])

    def base_url(self) -> str:
        if self.config.store_url:
            return self.config.store_url.rstrip("/")
        try:
            return request.host_url.rstrip("/")
        except RuntimeError:  # outside a request (demo seeding at start-up)
            return "http://127.0.0.1"

    def seed(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        created = []
        with self.store.lock:
            for item in items:
                sku, title = str(item["sku"]), str(item.get("title") or item["sku"])
                quantity, price = int(item.get("quantity", 0)), item.get("price", "0")
                if item.get("parent_sku"):
                    product = self.store.add_variation(str(item["parent_sku"]), sku, title, quantity, price)
                    created.append(
                        {
                            "sku": sku,
                            "product_id": product.parent_id,
                            "variation_id": product.id,
                            "parent_sku": item["parent_sku"],
                            "quantity": quantity,
                            "price": product.regular_price,
                        }
                    )
                else:
                    product = self.store.add_simple(sku, title, quantity, price)
                    created.append(
                        {
                            "sku": sku,
                            "product_id": product.id,
                            "quantity": quantity,
                            "price": product.regular_price,
                        }
                    )
        return created

    def emit(self, topic: str, payload: dict[str, Any]) -> list[Delivery]:
        """Sign and queue one delivery per active webhook on `topic` (call without the store lock)."""
        with self.store.lock:
            hooks = [h for h in self.store.webhooks.values() if h.topic == topic and h.status == "active"]
        body = json.dumps(payload, separators=(",", ":")).encode()
        deliveries = []
        for hook in hooks:
            delivery_id = secrets.token_hex(16)
            headers = {
                "X-WC-Webhook-Source": self.base_url() + "/",
                "X-WC-Webhook-Topic": hook.topic,
                "X-WC-Webhook-Resource": hook.resource,
                "X-WC-Webhook-Event": hook.event,
                "X-WC-Webhook-Signature": b64_hmac_sha256(hook.secret, body),
                "X-WC-Webhook-ID": str(hook.id),
                "X-WC-Webhook-Delivery-ID": delivery_id,
            }
            deliveries.append(
                self.webhooks.enqueue(Delivery(delivery_id, hook.id, topic, hook.delivery_url, body, headers))
            )
        return deliveries

    def ping(self, hook: WooWebhook) -> Delivery:
        """WooCommerce's activation ping: form body `webhook_id=<id>`, unsigned, no X-WC headers."""
        delivery = Delivery(
            "ping-" + secrets.token_hex(8),
            hook.id,
            "ping",
            hook.delivery_url,
            urlencode({"webhook_id": hook.id}).encode(),
            {},
            content_type="application/x-www-form-urlencoded",
        )
        return self.webhooks.enqueue(delivery)

    def product_events(self, products: list[WooProduct], topic: str = "product.updated") -> list[Delivery]:
        with self.store.lock:
            payloads = [self.store.product_json(p, self.base_url()) for p in products]
        out: list[Delivery] = []
        for payload in payloads:
            out.extend(self.emit(topic, payload))
        return out

    def order_event(self, order: WooOrder, topic: str) -> list[Delivery]:
        with self.store.lock:
            payload = self.store.order_json(order, self.base_url())
        return self.emit(topic, payload)


def create_app(config: WooConfig | None = None) -> Flask:
    """Build a WooCommerce sandbox app; state lives in memory on `app.extensions["sandbox"]`."""
    sandbox = WooSandbox(config or WooConfig())
    cfg = sandbox.config
    store = sandbox.store
    app = Flask("channel_sandboxes.woocommerce")
    app.extensions["sandbox"] = sandbox

    @app.errorhandler(WooError)
    def woo_error(exc: WooError) -> Response:
        return exc.response()

    @app.after_request
    def limit_fields(response: Response) -> Response:
        """WordPress's `_fields` (rest_filter_response_fields): trim successful REST responses."""
        wanted = [f.strip() for f in request.args.get("_fields", "").split(",") if f.strip()]
        if not wanted or not request.path.startswith("/wp-json/") or response.status_code >= 300:
            return response
        payload = response.get_json(silent=True)
        if isinstance(payload, list):
            payload = [_pick(item, wanted) for item in payload]
        elif isinstance(payload, dict):
            payload = _pick(payload, wanted)
        else:
            return response
        response.set_data(json.dumps(payload, separators=(",", ":")))
        return response

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if isinstance(data, dict):
            return data
        return dict(request.form) if request.form else {}

    def authenticate(permission: str) -> WooError | None:
        """WC_REST_Authentication for HTTPS: query-string keys first, then HTTP Basic."""
        key = request.args.get("consumer_key", "")
        secret = request.args.get("consumer_secret", "")
        if not (key and secret) and request.authorization and request.authorization.type == "basic":
            key = request.authorization.username or ""
            secret = request.authorization.password or ""
        if key and secret and hmac.compare_digest(key, cfg.consumer_key):
            if hmac.compare_digest(secret, cfg.consumer_secret):
                return None
            return WooError("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)
        code, message = _DENIED[permission]
        return WooError(code, message, 401)

    def api(operation: str, permission: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """Count the call, apply an armed fault, then authenticate, before the handler runs."""

        def decorate(handler: Callable[..., Response]) -> Callable[..., Response]:
            @wraps(handler)
            def wrapper(**kwargs: Any) -> Response:
                sandbox.stats.record([operation])
                fault = sandbox.faults.take([operation])
                if fault is not None:
                    sandbox.stats.bump("faulted")
                    code, message = _FAULTS.get(fault.status, ("rest_error", "Error."))
                    headers = {}
                    if fault.retry_after is not None:
                        headers["Retry-After"] = format_retry_after(fault.retry_after)
                    return json_response(
                        {"code": code, "message": message, "data": {"status": fault.status}},
                        fault.status,
                        headers,
                    )
                denied = authenticate(permission)
                if denied is not None:
                    sandbox.stats.bump("unauthorized")
                    return denied.response()
                return handler(**kwargs)

            return wrapper

        return decorate

    # ------------------------------------------------------------------ helpers

    def int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
        raw = request.args.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type") from None
        if value < low or (high is not None and value > high):
            bounds = (
                f"between {low} (inclusive) and {high} (inclusive)"
                if high
                else f"greater than or equal to {low}"
            )
            raise invalid_param(name, f"{name} must be {bounds}", "rest_out_of_bounds")
        return value

    def date_arg(name: str) -> datetime | None:
        raw = request.args.get(name)
        if not raw:
            return None
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise invalid_param(name, "Invalid date.", "rest_invalid_date") from None
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

    def ordered(items: list[Any], default: str, allowed: set[str]) -> list[Any]:
        orderby = request.args.get("orderby", default)
        if orderby not in allowed:
            raise invalid_param(
                "orderby", f"orderby is not one of {', '.join(sorted(allowed))}.", "rest_not_in_enum"
            )
        direction = request.args.get("order", "desc")
        if direction not in ("asc", "desc"):
            raise invalid_param("order", "order is not one of asc and desc.", "rest_not_in_enum")
        getters: dict[str, Callable[[Any], Any]] = {
            "date": lambda o: o.date_created,
            "modified": lambda o: o.date_modified,
            "id": lambda o: o.id,
            "include": lambda o: o.id,
            "title": lambda o: getattr(o, "name", ""),
            "slug": lambda o: getattr(o, "name", "").lower(),
        }
        getter = getters[orderby]
        # Ties broken by id so pages are stable (WordPress leaves them to the database).
        return sorted(items, key=lambda o: (getter(o), o.id), reverse=direction == "desc")

    def paged(items: list[Any], render: Callable[[Any], dict[str, Any]]) -> Response:
        page = int_arg("page", 1, 1)
        per_page = int_arg("per_page", 10, 1, 100)
        offset = request.args.get("offset")
        start = int(offset) if offset and offset.isdigit() else (page - 1) * per_page
        total = len(items)
        pages = math.ceil(total / per_page) if total else 0
        with store.lock:
            rendered = [render(i) for i in items[start : start + per_page]]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        links = []
        params = {k: v for k, v in request.args.items() if k not in ("page",)}
        if page > 1 and pages:
            links.append(
                f'<{request.base_url}?{urlencode({**params, "page": min(page - 1, pages)})}>; rel="prev"'
            )
        if page < pages:
            links.append(f'<{request.base_url}?{urlencode({**params, "page": page + 1})}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return json_response(rendered, 200, headers)

    def product_or_404(product_id: int, kind: str = "product", status: int = 404) -> WooProduct:
        product = store.products.get(product_id)
        wanted_variation = kind == "product_variation"
        if product is None or (product.type == "variation") != wanted_variation:
            raise WooError(f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.", status)
        return product

    def variation_of(parent_id: int, variation_id: int, status: int = 404) -> WooProduct:
        product_or_404(parent_id)
        variation = product_or_404(variation_id, "product_variation", status)
        if variation.parent_id != parent_id:
            raise WooError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", status)
        return variation

    def render_product(product: WooProduct) -> dict[str, Any]:
        return store.product_json(product, sandbox.base_url())

    def render_order(order: WooOrder) -> dict[str, Any]:
        return store.order_json(order, sandbox.base_url())

    def apply_product_update(product: WooProduct, data: dict[str, Any], strict: bool) -> None:
        """WC_REST_Products_Controller::prepare_object_for_database, the stock and price part.

        `strict` applies WordPress's schema validation, which single requests get and batch items
        (dispatched internally by WC_REST_Controller::batch_items) do not.
        """
        if strict:
            for name in ("regular_price", "sale_price", "sku", "name"):
                if name in data and not isinstance(data[name], str):
                    raise invalid_param(name, f"{name} is not of type string.", "rest_invalid_type")
            if (
                "stock_quantity" in data
                and not _is_integer(data["stock_quantity"])
                and data["stock_quantity"] is not None
            ):
                raise invalid_param(
                    "stock_quantity", "stock_quantity is not of type integer.", "rest_invalid_type"
                )
            if "manage_stock" in data and not isinstance(data["manage_stock"], bool):
                raise invalid_param(
                    "manage_stock", "manage_stock is not of type boolean.", "rest_invalid_type"
                )
            if "stock_status" in data and data["stock_status"] not in (
                "instock",
                "outofstock",
                "onbackorder",
            ):
                raise invalid_param(
                    "stock_status",
                    "stock_status is not one of instock, outofstock, and onbackorder.",
                    "rest_not_in_enum",
                )
        if "sku" in data and data["sku"] != product.sku:
            other = store.by_sku(str(data["sku"]))
            if data["sku"] and other is not None and other.id != product.id:
                raise WooError("product_invalid_sku", "Invalid or duplicated SKU.", 400, resource_id=other.id)
            product.sku = str(data["sku"])
        if "name" in data:
            product.name = str(data["name"])
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
            product.manage_stock = _truthy(data["manage_stock"])
        if product.manage_stock and product.type != "variable":
            if data.get("stock_quantity") is not None:
                product.stock_quantity = _stock_amount(data["stock_quantity"])
            elif data.get("inventory_delta") is not None:
                product.stock_quantity = (product.stock_quantity or 0) + _stock_amount(
                    data["inventory_delta"]
                )
            product.sync_stock_status()
        else:
            product.stock_quantity = None
            if data.get("stock_status") in ("instock", "outofstock", "onbackorder"):
                product.stock_status = data["stock_status"]
        product.date_modified = wp_now()

    def run_batch(
        candidates: Callable[[int], WooProduct], create: Callable[[dict[str, Any]], WooProduct]
    ) -> Response:
        """WC_REST_Controller::batch_items: limit check first, then per-item results with errors inline."""
        data = body()
        total = 0
        for action in ("create", "update", "delete"):
            if action in data:
                if not isinstance(data[action], list):
                    raise invalid_param(action, f"{action} is not of type array.", "rest_invalid_type")
                total += len(data[action])
        if total > cfg.batch_limit:
            raise WooError(
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {cfg.batch_limit} items for this request.",
                413,
            )
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
                        result["create"].append({"id": 0, "error": _item_error(exc)})
                        continue
                    created.append(product)
                    result["create"].append(render_product(product))
            if "update" in data:
                result["update"] = []
                for item in data["update"]:
                    item = item if isinstance(item, dict) else {}
                    try:
                        product = candidates(_int_or_zero(item.get("id")))
                        apply_product_update(product, item, strict=False)
                    except WooError as exc:
                        result["update"].append(
                            {"id": _int_or_zero(item.get("id")), "error": _item_error(exc)}
                        )
                        continue
                    touched.append(product)
                    result["update"].append(render_product(product))
            if "delete" in data:
                result["delete"] = []
                for raw in data["delete"]:
                    try:
                        product = candidates(_int_or_zero(raw))
                    except WooError as exc:
                        result["delete"].append({"id": _int_or_zero(raw), "error": _item_error(exc)})
                        continue
                    result["delete"].append(render_product(product))
                    _delete_product(store, product)
        sandbox.product_events(created, "product.created")
        sandbox.product_events(touched)
        return json_response(result)

    def create_simple(item: dict[str, Any]) -> WooProduct:
        sku = str(item.get("sku") or "")
        if sku and store.by_sku(sku) is not None:
            raise WooError("product_invalid_sku", "Invalid or duplicated SKU.", 400)
        product = WooProduct(
            store.new_id(),
            str(item.get("name") or sku or "Product"),
            sku,
            manage_stock=False,
            stock_quantity=None,
        )
        store.products[product.id] = product
        apply_product_update(product, {k: v for k, v in item.items() if k != "sku"}, strict=False)
        return product

    # ------------------------------------------------------------------ REST API: products

    @app.get("/wp-json/")
    def wp_index() -> Response:
        """The WP REST index: public, so a connector can check the URL before the keys."""
        return json_response(
            {
                "name": "OmniStock WooCommerce Sandbox",
                "url": sandbox.base_url(),
                "namespaces": ["wp/v2", "wc/v3"],
            }
        )

    @app.get(f"{API}/system_status")
    @api("system_status", "view")
    def system_status() -> Response:
        return json_response(
            {
                "environment": {
                    "home_url": sandbox.base_url(),
                    "site_url": sandbox.base_url(),
                    "version": "9.9.0",
                    "wp_version": "6.8.1",
                    "wp_multisite": False,
                },
                "database": {},
                "active_plugins": [],
                "theme": {},
                "settings": {"api_enabled": True, "currency": cfg.currency, "currency_symbol": "$"},
                "security": {"secure_connection": request.scheme == "https"},
            }
        )

    @app.get(f"{API}/products")
    @api("products/list", "list")
    def list_products() -> Response:
        with store.lock:
            items = [p for p in store.products.values() if p.type != "variation"]
        skus = [s for s in request.args.get("sku", "").split(",") if s]
        if skus:
            items = [p for p in items if p.sku in skus]
        include = {int(i) for i in request.args.get("include", "").split(",") if i.strip().isdigit()}
        if include:
            items = [p for p in items if p.id in include]
        for name in ("type", "stock_status"):
            if request.args.get(name):
                items = [p for p in items if getattr(p, name) == request.args[name]]
        status = request.args.get("status", "any")
        if status != "any":
            items = [p for p in items if p.status == status]
        if request.args.get("search"):
            needle = request.args["search"].lower()
            items = [p for p in items if needle in p.name.lower() or needle in p.sku.lower()]
        items = _date_filters(items, date_arg)
        return paged(
            ordered(items, "date", {"date", "id", "include", "title", "slug", "modified"}), render_product
        )

    @app.get(f"{API}/products/<int:product_id>")
    @api("products/get", "view")
    def get_product(product_id: int) -> Response:
        with store.lock:
            return json_response(render_product(product_or_404(product_id)))

    @app.route(f"{API}/products/<int:product_id>", methods=["PUT", "PATCH", "POST"])
    @api("products/update", "edit")
    def update_product(product_id: int) -> Response:
        with store.lock:
            product = product_or_404(product_id, status=400)
            apply_product_update(product, body(), strict=True)
            rendered = render_product(product)
        sandbox.product_events([product])
        return json_response(rendered)

    @app.post(f"{API}/products/batch")
    @api("products/batch", "batch")
    def products_batch() -> Response:
        return run_batch(lambda pid: product_or_404(pid, status=400), create_simple)

    @app.get(f"{API}/products/<int:product_id>/variations")
    @api("variations/list", "list")
    def list_variations(product_id: int) -> Response:
        with store.lock:
            parent = product_or_404(product_id)
            items = [store.products[v] for v in parent.variation_ids]
        skus = [s for s in request.args.get("sku", "").split(",") if s]
        if skus:
            items = [p for p in items if p.sku in skus]
        include = {int(i) for i in request.args.get("include", "").split(",") if i.strip().isdigit()}
        if include:
            items = [p for p in items if p.id in include]
        return paged(
            ordered(items, "date", {"date", "id", "include", "title", "slug", "modified"}), render_product
        )

    @app.get(f"{API}/products/<int:product_id>/variations/<int:variation_id>")
    @api("variations/get", "view")
    def get_variation(product_id: int, variation_id: int) -> Response:
        with store.lock:
            return json_response(render_product(variation_of(product_id, variation_id)))

    @app.route(
        f"{API}/products/<int:product_id>/variations/<int:variation_id>", methods=["PUT", "PATCH", "POST"]
    )
    @api("variations/update", "edit")
    def update_variation(product_id: int, variation_id: int) -> Response:
        with store.lock:
            variation = variation_of(product_id, variation_id, status=400)
            apply_product_update(variation, body(), strict=True)
            rendered = render_product(variation)
        sandbox.product_events([variation])
        return json_response(rendered)

    @app.post(f"{API}/products/<int:product_id>/variations/batch")
    @api("variations/batch", "batch")
    def variations_batch(product_id: int) -> Response:
        with store.lock:
            parent = product_or_404(product_id)

        def create_variation(item: dict[str, Any]) -> WooProduct:
            sku = str(item.get("sku") or "")
            if sku and store.by_sku(sku) is not None:
                raise WooError("product_invalid_sku", "Invalid or duplicated SKU.", 400)
            variation = WooProduct(
                store.new_id(),
                parent.name,
                sku,
                type="variation",
                parent_id=parent.id,
                manage_stock=False,
                stock_quantity=None,
            )
            store.products[variation.id] = variation
            parent.variation_ids.append(variation.id)
            apply_product_update(variation, {k: v for k, v in item.items() if k != "sku"}, strict=False)
            return variation

        return run_batch(lambda vid: variation_of(product_id, vid, status=400), create_variation)

    # ------------------------------------------------------------------ REST API: orders

    @app.get(f"{API}/orders")
    @api("orders/list", "list")
    def list_orders() -> Response:
        with store.lock:
            items = list(store.orders.values())
        statuses = [s for s in request.args.get("status", "any").split(",") if s]
        for status in statuses:
            if status != "any" and status not in ORDER_STATUSES:
                raise invalid_param(
                    "status", f"status[0] is not one of any, {', '.join(ORDER_STATUSES)}.", "rest_not_in_enum"
                )
        if "any" not in statuses:
            items = [o for o in items if o.status in statuses]
        else:
            items = [o for o in items if o.status != "trash"]
        include = {int(i) for i in request.args.get("include", "").split(",") if i.strip().isdigit()}
        if include:
            items = [o for o in items if o.id in include]
        items = _date_filters(items, date_arg)
        return paged(
            ordered(items, "date", {"date", "id", "include", "title", "slug", "modified"}), render_order
        )

    def order_or_404(order_id: int, status: int = 404) -> WooOrder:
        order = store.orders.get(order_id)
        if order is None:
            raise WooError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", status)
        return order

    @app.get(f"{API}/orders/<int:order_id>")
    @api("orders/get", "view")
    def get_order(order_id: int) -> Response:
        with store.lock:
            return json_response(render_order(order_or_404(order_id)))

    @app.route(f"{API}/orders/<int:order_id>", methods=["PUT", "PATCH", "POST"])
    @api("orders/update", "edit")
    def update_order(order_id: int) -> Response:
        data = body()
        with store.lock:
            order = order_or_404(order_id, status=400)
            touched: list[WooProduct] = []
            status = data.get("status")
            if status is not None and status not in ORDER_STATUSES:
                raise invalid_param(
                    "status", f"status is not one of {', '.join(ORDER_STATUSES)}.", "rest_not_in_enum"
                )
            if data.get("set_paid") is True:
                order.date_paid = order.date_paid or wp_now()
                status = status or "processing"
            if status is not None and status != order.status:
                touched = _transition(store, order, status)
            order.date_modified = wp_now()
            rendered = render_order(order)
        sandbox.product_events(touched)
        sandbox.order_event(order, "order.updated")
        return json_response(rendered)

    @app.post(f"{API}/orders/<int:order_id>/notes")
    @api("orders/notes/create", "create")
    def add_note(order_id: int) -> Response:
        data = body()
        with store.lock:
            order = order_or_404(order_id)
            if not data.get("note"):
                raise WooError(
                    "rest_missing_callback_param", "Missing parameter(s): note", 400, params=["note"]
                )
            note = WooNote(
                store.new_id(),
                str(data["note"]),
                _truthy(data.get("customer_note", False)),
                _truthy(data.get("added_by_user", False)),
            )
            order.notes.append(note)
            return json_response(store.note_json(note), 201)

    @app.get(f"{API}/orders/<int:order_id>/notes")
    @api("orders/notes/list", "list")
    def list_notes(order_id: int) -> Response:
        with store.lock:
            order = order_or_404(order_id)
            return json_response([store.note_json(n) for n in reversed(order.notes)])

    # ------------------------------------------------------------------ REST API: webhooks

    @app.post(f"{API}/webhooks")
    @api("webhooks/create", "create")
    def create_webhook() -> Response:
        data = body()
        try:
            hook = _new_webhook(store, data, cfg.webhook_secret, generate_secret=True)
        except WooError as exc:
            return exc.response()
        if hook.status == "active":
            sandbox.webhooks.wait([sandbox.ping(hook)])
        return json_response(store.webhook_json(hook), 201)

    @app.get(f"{API}/webhooks")
    @api("webhooks/list", "list")
    def list_webhooks() -> Response:
        with store.lock:
            hooks = list(store.webhooks.values())
        return paged(ordered(hooks, "date", {"date", "id", "include", "title"}), store.webhook_json)

    @app.delete(f"{API}/webhooks/<int:hook_id>")
    @api("webhooks/delete", "delete")
    def delete_webhook(hook_id: int) -> Response:
        if request.args.get("force") not in ("true", "1"):
            raise WooError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        with store.lock:
            hook = store.webhooks.pop(hook_id, None)
        if hook is None:
            raise WooError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
        return json_response(store.webhook_json(hook))

    # ------------------------------------------------------------------ control API

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        with store.lock:
            store.reset()
        sandbox.faults.clear()
        sandbox.stats.reset()
        sandbox.webhooks.clear()
        return json_response({"ok": True})

    @app.get("/_sandbox/config")
    def config_view() -> Response:
        return json_response(
            {
                "channel": "woocommerce",
                "store_url": sandbox.base_url(),
                "api_base": sandbox.base_url() + API,
                "consumer_key": cfg.consumer_key,
                "consumer_secret": cfg.consumer_secret,
                "webhook_secret": cfg.webhook_secret,
                "batch_limit": cfg.batch_limit,
                "validate_path": f"{API}/system_status",
            }
        )

    @app.post("/_sandbox/products")
    def add_products() -> Response:
        items = body().get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("sku") for i in items):
            return json_response({"error": "items must be a list of objects with a sku"}, 400)
        with store.lock:
            clash = [i["sku"] for i in items if store.by_sku(str(i["sku"])) is not None]
        if clash:
            return json_response({"error": f"sku already exists: {', '.join(map(str, clash))}"}, 409)
        try:
            return json_response({"items": sandbox.seed(items)}, 201)
        except StockError as exc:
            return json_response({"error": str(exc)}, 409)

    @app.get("/_sandbox/inventory")
    def inventory() -> Response:
        with store.lock:
            return json_response(store.stock_by_sku())

    @app.post("/_sandbox/inventory")
    def set_inventory() -> Response:
        data = body()
        quantity = data.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            return json_response({"error": "quantity must be an integer"}, 400)
        with store.lock:
            product = store.by_sku(str(data.get("sku", "")))
            if product is None or product.type == "variable":
                return json_response({"error": "unknown sku"}, 404)
            store.set_stock(product, quantity)
        sandbox.webhooks.wait(sandbox.product_events([product]))
        return json_response({product.sku: quantity})

    @app.post("/_sandbox/orders")
    def place_order() -> Response:
        data = body()
        lines = data.get("lines")
        status = str(data.get("status") or "processing")
        if not isinstance(lines, list) or not lines:
            return json_response({"error": "lines must be a non-empty list of {sku, quantity}"}, 400)
        if status not in ORDER_STATUSES:
            return json_response({"error": f"status must be one of {ORDER_STATUSES}"}, 400)
        try:
            with store.lock:
                order, touched = store.create_order(
                    lines, data.get("email"), status, bool(data.get("allow_oversell"))
                )
                rendered = render_order(order)
        except StockError as exc:
            return json_response({"error": str(exc)}, 422)
        deliveries = sandbox.order_event(order, "order.created") + sandbox.product_events(touched)
        sandbox.webhooks.wait(deliveries)
        return json_response(
            {
                "id": order.id,
                "name": f"#{order.id}",
                "number": str(order.id),
                "order": rendered,
                "deliveries": [d.describe() for d in deliveries],
            },
            201,
        )

    @app.post("/_sandbox/webhooks")
    def subscribe() -> Response:
        data = body()
        payload = {
            "name": data.get("name") or f"sandbox {data.get('topic')}",
            "topic": data.get("topic"),
            "delivery_url": data.get("address"),
            "secret": data.get("secret") or cfg.webhook_secret,
        }
        try:
            hook = _new_webhook(store, payload, cfg.webhook_secret, generate_secret=False)
        except WooError as exc:
            return json_response({"error": exc.message}, 400)
        ping = sandbox.ping(hook)
        sandbox.webhooks.wait([ping])
        return json_response(
            {
                "id": hook.id,
                "topic": hook.topic,
                "address": hook.delivery_url,
                "secret": hook.secret,
                "ping": ping.describe(),
            },
            201,
        )

    @app.get("/_sandbox/webhooks")
    def subscriptions() -> Response:
        with store.lock:
            hooks = [
                {"id": h.id, "topic": h.topic, "address": h.delivery_url, "status": h.status}
                for h in store.webhooks.values()
            ]
        return json_response({"subscriptions": hooks, "deliveries": sandbox.webhooks.list()})

    register_common_control_routes(app, sandbox)
    return app


# ---------------------------------------------------------------------- module helpers


def _pick(item: Any, wanted: list[str]) -> Any:
    """Keep only the requested (possibly dotted, nested) fields of one object."""
    if not isinstance(item, dict):
        return item
    out: dict[str, Any] = {}
    for path in wanted:
        head, _, rest = path.partition(".")
        if head not in item:
            continue
        if rest and isinstance(item[head], dict):
            merged = out.get(head) if isinstance(out.get(head), dict) else {}
            out[head] = {**merged, **_pick(item[head], [rest])}
        else:
            out[head] = item[head]
    return out


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


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


def _int_or_zero(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _item_error(exc: WooError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "data": {"status": exc.status}}


def _delete_product(store: WooStore, product: WooProduct) -> None:
    parent = store.products.get(product.parent_id)
    if parent is not None and product.id in parent.variation_ids:
        parent.variation_ids.remove(product.id)
    for child in list(product.variation_ids):
        store.products.pop(child, None)
    store.products.pop(product.id, None)


def _date_filters(items: list[Any], date_arg: Callable[[str], datetime | None]) -> list[Any]:
    """WP date_query bounds are exclusive: `after`/`modified_after` mean strictly later."""
    bounds = {
        "after": ("date_created", 1),
        "before": ("date_created", -1),
        "modified_after": ("date_modified", 1),
        "modified_before": ("date_modified", -1),
    }
    for name, (attribute, sign) in bounds.items():
        moment = date_arg(name)
        if moment is None:
            continue
        if sign > 0:
            items = [i for i in items if getattr(i, attribute) > moment]
        else:
            items = [i for i in items if getattr(i, attribute) < moment]
    return items


def _transition(store: WooStore, order: WooOrder, status: str) -> list[WooProduct]:
    """Order status change with WooCommerce's stock side effects (reduce on paid, restore on cancel)."""
    touched: list[WooProduct] = []
    if status in STOCK_REDUCING_STATUSES:
        touched = store.reduce_stock(order)
    elif status in ("cancelled", "pending"):
        touched = store.restore_stock(order)
    if status == "completed":
        order.date_completed = wp_now()
        order.date_paid = order.date_paid or order.date_completed
    order.status = status
    return touched


def _new_webhook(
    store: WooStore, data: dict[str, Any], default_secret: str, generate_secret: bool
) -> WooWebhook:
    topic = data.get("topic")
    if topic not in WEBHOOK_TOPICS and not (isinstance(topic, str) and topic.startswith("action.")):
        raise WooError("woocommerce_rest_webhook_invalid_topic", "Webhook topic is invalid.", 400)
    url = data.get("delivery_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise WooError(
            "rest_missing_callback_param", "Missing parameter(s): delivery_url", 400, params=["delivery_url"]
        )
    secret = data.get("secret") or (secrets.token_urlsafe(37) if generate_secret else default_secret)
    status = data.get("status") or "active"
    if status not in ("active", "paused", "disabled"):
        raise WooError("rest_invalid_param", "Invalid parameter(s): status", 400)
    with store.lock:
        hook = WooWebhook(store.new_id(), str(data.get("name") or topic), topic, url, str(secret), status)
        store.webhooks[hook.id] = hook
    return hook
