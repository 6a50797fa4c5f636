"""`/_sandbox/*` of the WooCommerce sandbox: reset, config, seeding, stock, orders, subscriptions.

Stable (other components' tests drive it); faults, deliveries and call counters come from common.py.
"""

from __future__ import annotations

from flask import Flask, Response

from channel_sandboxes.common import (
    json_response,
    order_lines_error,
    quantity_error,
    register_common_control_routes,
    seed_items_error,
)
from channel_sandboxes.woocommerce.sandbox import WooSandbox
from channel_sandboxes.woocommerce.state import ORDER_STATUSES, StockError
from channel_sandboxes.woocommerce.webhooks import new_webhook
from channel_sandboxes.woocommerce.wp_rest import API, WooError, rest_body


def register_control_routes(app: Flask, sandbox: WooSandbox) -> None:
    cfg, store = sandbox.config, sandbox.store

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
        items = rest_body().get("items")
        error = seed_items_error(items, lambda sku: store.by_sku(sku) is not None, store.lock)
        if error is not None:
            return error
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
        data = rest_body()
        error = quantity_error(data)
        if error is not None:
            return error
        quantity = data["quantity"]
        with store.lock:
            product = store.by_sku(str(data.get("sku", "")))
            if product is None or product.type == "variable":
                return json_response({"error": "unknown sku"}, 404)
            store.set_stock(product, quantity)
        sandbox.webhooks.wait(sandbox.product_events([product]))
        return json_response({product.sku: quantity})

    @app.post("/_sandbox/orders")
    def place_order() -> Response:
        data = rest_body()
        lines = data.get("lines")
        status = str(data.get("status") or "processing")
        error = order_lines_error(lines)
        if error is not None:
            return error
        if status not in ORDER_STATUSES:
            return json_response({"error": f"status must be one of {ORDER_STATUSES}"}, 400)
        try:
            with store.lock:
                order, touched = store.create_order(
                    lines, data.get("email"), status, bool(data.get("allow_oversell"))
                )
                rendered = sandbox.order_json(order)
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
        data = rest_body()
        payload = {
            "name": data.get("name") or f"sandbox {data.get('topic')}",
            "topic": data.get("topic"),
            "delivery_url": data.get("address"),
            "secret": data.get("secret") or cfg.webhook_secret,
        }
        try:
            hook = new_webhook(store, payload, cfg.webhook_secret, generate_secret=False)
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
