"""The TikTok Shop Partner API routes (version 202309) the connector calls.

Every call is checked as TikTok does (CHANNELS.md 4.1, 7): app_key known, `timestamp` within the
tolerance, `sign` recomputed over the query (minus sign/access_token, sorted), the path and the
raw body bytes, wrapped in app_secret, HMAC-SHA256 hex; `x-tts-access-token` live;
`shop_cipher` present on shop APIs. Failures answer HTTP 200 with a non-zero `code`, like TikTok.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

from channel_sandboxes.common import (
    decode_cursor,
    encode_cursor,
    format_retry_after,
    json_response,
)
from channel_sandboxes.tiktok.sandbox import API_VERSION, TikTokSandbox
from channel_sandboxes.tiktok.state import (
    MAX_QUANTITY,
    SHIPPING_PROVIDERS,
    UPDATABLE_STATUSES,
    OrderError,
    money,
)

# Codes (sources in tiktok_connector/protocol/api.py).
RATE_LIMITED = 36009002
SERVER_ERROR = 36009003
BAD_REQUEST = 36009004
BAD_SIGNATURE = 106001
TOKEN_INVALID = 105001
TOKEN_EXPIRED = 105002
NOT_FOUND = 12052048
SKU_REFUSED = 12052230
ORDER_REFUSED = 21011001
MAX_IDS = 50


def api_body() -> dict[str, Any]:
    """The request's JSON object read from the raw bytes (the ones that were signed), or {}."""
    try:
        data = json.loads(request.get_data() or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def envelope(data: Any = None, code: int = 0, message: str = "Success", status: int = 200) -> Response:
    body = {"code": code, "message": message, "request_id": uuid.uuid4().hex.upper()}
    if data is not None or code == 0:
        body["data"] = data if data is not None else {}
    headers = {"Retry-After": "1"} if status == 429 else None
    return json_response(body, status, headers)


def tiktok_sign(path: str, query: dict[str, str], body: bytes, app_secret: str) -> str:
    """Written apart from the connector's signer so the two can disagree."""
    text = path + "".join(f"{k}{query[k]}" for k in sorted(query) if k not in ("sign", "access_token"))
    payload = app_secret.encode() + text.encode() + body + app_secret.encode()
    return hmac.new(app_secret.encode(), payload, hashlib.sha256).hexdigest()


Route = Callable[..., Callable[[Callable[..., Response]], Callable[..., Response]]]


def register_api_routes(app: Flask, sandbox: TikTokSandbox) -> Route:
    """The Partner API routes; returns `route` (the signed-call checks around a handler) for the
    catalog routes (catalog_api.py)."""
    cfg, state = sandbox.config, sandbox.state

    def refused(operation: str, *, shop: bool) -> Response | None:
        """The answer owed instead of the call, or None to serve it."""
        sandbox.stats.record([operation])
        throttle = sandbox.take_throttle()
        if throttle is not None:
            sandbox.stats.bump("throttled")
            return envelope(code=RATE_LIMITED, message="Too many requests", status=throttle)
        fault = sandbox.faults.take([operation])
        if fault is not None:
            sandbox.stats.bump("faulted" if fault.kind != "throttle" else "throttled")
            code = RATE_LIMITED if fault.status == 429 else SERVER_ERROR
            response = envelope(code=code, message="Injected fault", status=fault.status)
            if fault.retry_after is not None:
                response.headers["Retry-After"] = format_retry_after(fault.retry_after)
            return response
        query = {k: v for k, v in request.args.items()}
        if query.get("app_key") != cfg.app_key:
            return envelope(
                code=BAD_REQUEST, message="Invalid credentials. Invalid `app_key` query parameter."
            )
        stamp = query.get("timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > cfg.timestamp_tolerance:
            return envelope(
                code=BAD_REQUEST, message="Invalid timestamp. The `timestamp` is out of tolerance."
            )
        # A multipart body (image upload) is not part of the signature (see catalog_api.py).
        body = b"" if request.mimetype == "multipart/form-data" else request.get_data()
        expected = tiktok_sign(request.path, query, body, cfg.app_secret)
        if not hmac.compare_digest(query.get("sign", ""), expected):
            return envelope(code=BAD_SIGNATURE, message="Invalid signature.")
        token = request.headers.get("x-tts-access-token", "")
        with state.lock:
            token_state = state.token_state(token) if token else "missing"
        if token_state != "ok":
            sandbox.stats.bump("unauthorized")
            if token_state == "expired":
                return envelope(code=TOKEN_EXPIRED, message="Access token is expired, please refresh it.")
            return envelope(
                code=TOKEN_INVALID, message="Invalid credentials. The `x-tts-access-token` header is invalid."
            )
        if shop and query.get("shop_cipher") != state.shop_cipher:
            return envelope(
                code=BAD_REQUEST, message="Invalid identifier. The `shop_cipher` query parameter is invalid."
            )
        if not shop and "shop_cipher" in query:
            return envelope(
                code=BAD_REQUEST,
                message="Unexpected identifier. The `shop_cipher` query parameter is not required for this request.",
            )
        return None

    def route(
        rule: str, operation: str, methods: list[str], *, shop: bool = True
    ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        def wrap(handler: Callable[..., Response]) -> Callable[..., Response]:
            def view(**kwargs: Any) -> Response:
                return refused(operation, shop=shop) or handler(**kwargs)

            view.__name__ = f"tiktok_{operation}"
            app.add_url_rule(rule, view.__name__, view, methods=methods)
            return handler

        return wrap

    def page(
        items: list[Any], size_text: str | None, token: str, kind: str
    ) -> tuple[list[Any], str] | Response:
        if size_text is None or not size_text.isdigit() or not 1 <= int(size_text) <= 100:
            return envelope(code=BAD_REQUEST, message="Invalid page_size: 1 to 100 is required.")
        start = 0
        if token:
            decoded = decode_cursor(token)
            if not decoded or decoded[0] != kind or not isinstance(decoded[1], int):
                return envelope(code=BAD_REQUEST, message="Invalid page_token.")
            start = decoded[1]
        end = start + int(size_text)
        return items[start:end], encode_cursor(kind, end) if end < len(items) else ""

    @route(f"/authorization/{API_VERSION}/shops", "get_authorized_shops", ["GET"], shop=False)
    def shops() -> Response:
        with state.lock:
            return envelope({"shops": state.shops()})

    @route(f"/product/{API_VERSION}/products/search", "search_products", ["POST"])
    def search_products() -> Response:
        with state.lock:
            products = [state.product_json(p, brief=True) for p in state.products.values()]
        paged = page(products, request.args.get("page_size"), request.args.get("page_token", ""), "products")
        if isinstance(paged, Response):
            return paged
        return envelope({"products": paged[0], "next_page_token": paged[1], "total_count": len(products)})

    @route(f"/product/{API_VERSION}/products/<product_id>", "get_product", ["GET"])
    def get_product(product_id: str) -> Response:
        with state.lock:
            product = state.products.get(product_id)
            if product is None:
                return envelope(code=NOT_FOUND, message="Product not found.")
            return envelope(state.product_json(product))

    def sku_updates(
        product_id: str, check: Callable[[Any, Any], str], apply: Callable[[Any, Any], None]
    ) -> Response:
        """Shared by inventory and price updates: per-SKU errors in data.errors, the rest applied."""
        body = api_body()
        skus = body.get("skus")
        if not isinstance(skus, list) or not skus or not all(isinstance(s, dict) for s in skus):
            return envelope(code=BAD_REQUEST, message="skus is required.")
        errors = []
        with state.lock:
            product = state.products.get(product_id)
            if product is None:
                return envelope(code=NOT_FOUND, message="Product not found.")
            by_id = {s.id: s for s in product.skus}
            for entry in skus:
                sku = by_id.get(str(entry.get("id") or ""))
                problem = "sku does not belong to the product" if sku is None else check(sku, entry)
                if not problem and product.status not in UPDATABLE_STATUSES:
                    problem = "only live or draft products can be updated"
                if problem:
                    errors.append(
                        {
                            "code": SKU_REFUSED,
                            "message": problem,
                            "detail": {"sku_id": str(entry.get("id") or "")},
                        }
                    )
                else:
                    apply(sku, entry)
        return envelope({"errors": errors} if errors else {})

    def inventory_problem(sku: Any, entry: Any) -> str:
        levels = entry.get("inventory")
        if not isinstance(levels, list) or len(levels) != 1 or not isinstance(levels[0], dict):
            return "inventory must name one warehouse level"
        level = levels[0]
        quantity = level.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 <= quantity <= MAX_QUANTITY:
            return f"quantity must be an integer from 0 to {MAX_QUANTITY}"
        if level.get("warehouse_id") not in (None, sku.warehouse_id):
            return "unknown warehouse_id"
        return ""

    def set_quantity(sku: Any, entry: Any) -> None:
        sku.quantity = entry["inventory"][0]["quantity"]

    @route(f"/product/{API_VERSION}/products/<product_id>/inventory/update", "update_inventory", ["POST"])
    def update_inventory(product_id: str) -> Response:
        return sku_updates(product_id, inventory_problem, set_quantity)

    def price_problem(sku: Any, entry: Any) -> str:
        price = entry.get("price")
        if not isinstance(price, dict) or not isinstance(price.get("amount"), str):
            return "price.amount must be a decimal string"
        if price.get("currency") != state.currency:
            return f"currency must be {state.currency}"
        try:
            return "" if float(money(price["amount"])) > 0 else "price must be above zero"
        except ValueError:
            return "price.amount must be a decimal string"

    def set_price(sku: Any, entry: Any) -> None:
        new = money(entry["price"]["amount"])
        if new != sku.price:
            state.price_writes[sku.seller_sku] += 1
        sku.price = new

    @route(f"/product/{API_VERSION}/products/<product_id>/prices/update", "update_price", ["POST"])
    def update_price(product_id: str) -> Response:
        return sku_updates(product_id, price_problem, set_price)

    @route(f"/order/{API_VERSION}/orders/search", "search_orders", ["POST"])
    def search_orders() -> Response:
        body = api_body()
        descending = request.args.get("sort_order", "ASC").upper() == "DESC"
        field = request.args.get("sort_field", "create_time")
        if field not in ("create_time", "update_time"):
            return envelope(code=BAD_REQUEST, message="Invalid sort_field.")
        with state.lock:
            orders = [state.order_json(o) for o in state.orders.values()]
        for name, keep in (("ge", lambda a, b: a >= b), ("lt", lambda a, b: a < b)):
            for column in ("create_time", "update_time"):
                bound = body.get(f"{column}_{name}")
                if isinstance(bound, int):
                    orders = [o for o in orders if keep(o[column], bound)]
        if isinstance(body.get("order_status"), str):
            orders = [o for o in orders if o["status"] == body["order_status"]]
        orders.sort(key=lambda o: (o[field], o["id"]), reverse=descending)
        paged = page(orders, request.args.get("page_size"), request.args.get("page_token", ""), "orders")
        if isinstance(paged, Response):
            return paged
        return envelope({"orders": paged[0], "next_page_token": paged[1], "total_count": len(orders)})

    @route(f"/order/{API_VERSION}/orders", "get_order_detail", ["GET"])
    def order_detail() -> Response:
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not ids or len(ids) > MAX_IDS:
            return envelope(code=BAD_REQUEST, message=f"ids: 1 to {MAX_IDS} order ids are required.")
        with state.lock:
            return envelope({"orders": [state.order_json(state.orders[i]) for i in ids if i in state.orders]})

    @route(f"/fulfillment/{API_VERSION}/orders/<order_id>/packages", "mark_package_as_shipped", ["POST"])
    def mark_shipped(order_id: str) -> Response:
        body = api_body()
        tracking, provider = body.get("tracking_number"), body.get("shipping_provider_id")
        line_ids = body.get("order_line_item_ids")
        if not isinstance(tracking, str) or not tracking or not isinstance(provider, str) or not provider:
            return envelope(
                code=BAD_REQUEST, message="tracking_number and shipping_provider_id are required."
            )
        try:
            with state.lock:
                order = state.orders.get(order_id)
                if order is None:
                    return envelope(code=NOT_FOUND, message="Order not found.")
                if not isinstance(line_ids, list) or not line_ids:
                    line_ids = [i["id"] for i in order.line_items if not i["package_id"]]
                carrier = SHIPPING_PROVIDERS.get(provider, provider)
                package = state.ship(order, [str(i) for i in line_ids], tracking, provider, carrier)
                status, updated = order.status, order.update_time
        except OrderError as exc:
            return envelope(code=ORDER_REFUSED, message=str(exc))
        sandbox.order_event(order_id, status, updated)
        return envelope({"package_id": package["id"]})

    @route(f"/return_refund/{API_VERSION}/cancellations", "cancel_order", ["POST"])
    def cancel_order() -> Response:
        body = api_body()
        order_id, reason = str(body.get("order_id") or ""), body.get("cancel_reason")
        if not isinstance(reason, str) or not reason:
            return envelope(code=BAD_REQUEST, message="cancel_reason is required.")
        try:
            with state.lock:
                order = state.orders.get(order_id)
                if order is None:
                    return envelope(code=NOT_FOUND, message="Order not found.")
                cancellation = state.cancel(order, reason)
                updated = order.update_time
        except OrderError as exc:
            return envelope(code=ORDER_REFUSED, message=str(exc))
        sandbox.order_event(order_id, "CANCELLED", updated)
        return envelope(
            {"cancel_id": cancellation["cancel_id"], "cancel_status": "CANCELLATION_REQUEST_COMPLETE"}
        )

    return route
