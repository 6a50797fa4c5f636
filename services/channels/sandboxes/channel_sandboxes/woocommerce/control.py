"""`/_sandbox/orders` and `/_sandbox/webhooks` as the WooCommerce sandbox answers them.

Stable (other components' tests drive them); the control routes both sandboxes share are in
`channel_sandboxes.control`.
"""

from __future__ import annotations

from flask import Flask, Response

from channel_sandboxes.common import json_response
from channel_sandboxes.control import order_lines_error, register_common_control_routes
from channel_sandboxes.woocommerce.sandbox import WooSandbox
from channel_sandboxes.woocommerce.state import ORDER_STATUSES, StockError
from channel_sandboxes.woocommerce.webhooks import new_webhook
from channel_sandboxes.woocommerce.wp_rest import WooError, rest_body


def register_control_routes(app: Flask, sandbox: WooSandbox) -> None:
    cfg, store = sandbox.config, sandbox.store

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
                    lines,
                    data.get("email"),
                    status,
                    bool(data.get("allow_oversell")),
                    {k: data[k] for k in ("billing", "shipping", "shipping_total") if k in data},
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

    @app.get("/_sandbox/orders/<int:order_id>")
    def order_view(order_id: int) -> Response:
        """The order as the merchant sees it in wp-admin: its REST form, its notes (newest first)
        and its Shipment Tracking items (what a test asserts after OmniStock fulfilled it)."""
        with store.lock:
            order = store.orders.get(order_id)
            if order is None:
                return json_response({"error": "unknown order"}, 404)
            return json_response(
                {
                    "order": sandbox.order_json(order),
                    "notes": [store.note_json(n) for n in reversed(order.notes)],
                    "trackings": list(order.trackings),
                }
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
