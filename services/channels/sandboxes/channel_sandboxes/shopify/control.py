"""The control routes only the Shopify sandbox has: orders, token expiry and minting, throttle, subscriptions.

Ours and stable, since other components' tests drive them. Reset, config, seeding, stock, faults,
deliveries and call counters are shared with WooCommerce: see `channel_sandboxes.control`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response

from channel_sandboxes.common import json_body, json_response
from channel_sandboxes.control import order_lines_error, register_common_control_routes
from channel_sandboxes.shopify.models import OrderError, Subscription, gid
from channel_sandboxes.shopify.sandbox import ShopifySandbox
from channel_sandboxes.shopify.schema import TOPIC_ENUMS, WEBHOOK_TOPICS

# Optional order details of `POST /_sandbox/orders` (see OrderBook.place_order).
ORDER_DETAILS = ("customer", "shipping_address", "billing_address", "shipping")


def register_control_routes(app: Flask, sandbox: ShopifySandbox) -> None:
    cfg, state = sandbox.config, sandbox.state

    @app.post("/_sandbox/orders")
    def place_order() -> Response:
        data = json_body()
        lines = data.get("lines")
        error = order_lines_error(lines)
        if error is not None:
            return error
        try:
            with state.lock:
                order, events = state.place_order(
                    lines,
                    data.get("email"),
                    str(data.get("financial_status") or "paid"),
                    bool(data.get("allow_oversell")),
                    details={
                        k: data[k] for k in ORDER_DETAILS if isinstance(data.get(k), dict | str | int | float)
                    },
                )
                rest = state.order_rest(order)
        except OrderError as exc:
            return json_response({"error": str(exc)}, 422)
        deliveries = sandbox.emit(events)
        sandbox.webhooks.wait(deliveries)
        return json_response(
            {
                "id": gid("Order", order.id),
                "legacy_id": order.id,
                "name": order.name,
                "order": rest,
                "fulfillment_order_ids": [gid("FulfillmentOrder", f) for f in order.fulfillment_order_ids],
                "deliveries": [d.describe() for d in deliveries],
            },
            201,
        )

    @app.get("/_sandbox/orders/<int:order_id>")
    def order_view(order_id: int) -> Response:
        """The order as the merchant sees it: its REST form, fulfillments with their tracking, and
        the cancellation (what a test asserts after OmniStock fulfilled or cancelled it)."""
        with state.lock:
            order = state.orders.get(order_id)
            if order is None:
                return json_response({"error": "unknown order"}, 404)
            return json_response(
                {
                    "order": state.order_rest(order),
                    "fulfillments": [
                        state.fulfillment_rest(state.fulfillments[f]) for f in order.fulfillment_ids
                    ],
                    "cancelled": order.cancelled_at is not None,
                    "cancel_reason": order.cancel_reason,
                    "staff_note": order.staff_note,
                }
            )

    @app.post("/_sandbox/orders/<int:order_id>")
    def order_change(order_id: int) -> Response:
        """What a merchant does in the Shopify admin: {"action": "pay"} marks it paid, {"action":
        "cancel", "reason"?, "restock"?, "refund"?} cancels it; each fires the orders/* webhooks."""
        data = json_body()
        action = data.get("action")
        try:
            with state.lock:
                order = state.orders.get(order_id)
                if order is None:
                    return json_response({"error": "unknown order"}, 404)
                if action == "pay":
                    events = state.mark_paid(order)
                elif action == "cancel":
                    reason = str(data.get("reason") or "OTHER")
                    _, events = state.cancel(
                        order,
                        reason,
                        refund=bool(data.get("refund", True)),
                        restock=bool(data.get("restock")),
                        staff_note=None,
                    )
                else:
                    return json_response({"error": "action must be pay or cancel"}, 400)
                rest = state.order_rest(order)
        except OrderError as exc:
            return json_response({"error": str(exc), "code": exc.code}, 422)
        deliveries = sandbox.emit(events)
        sandbox.webhooks.wait(deliveries)
        return json_response({"order": rest, "deliveries": [d.describe() for d in deliveries]})

    @app.post("/_sandbox/expire-tokens")
    def expire_tokens() -> Response:
        with state.lock:
            count = state.expire_tokens()
        return json_response({"expired": count})

    @app.post("/_sandbox/tokens")
    def mint_token() -> Response:
        """Shortcut for tests that are not about OAuth: a token as the code exchange would return."""
        scope = str(json_body().get("scope") or cfg.scopes)
        with state.lock:
            return json_response(state.issue_tokens(scope, cfg.token_ttl, cfg.refresh_token_ttl, None), 201)

    @app.post("/_sandbox/throttle")
    def throttle() -> Response:
        data = json_body()
        sandbox.bucket.configure(
            _number(data.get("maximum_available")),
            _number(data.get("restore_rate")),
            _number(data.get("currently_available")),
        )
        return json_response(sandbox.bucket.status())

    @app.post("/_sandbox/webhooks")
    def subscribe() -> Response:
        data = json_body()
        topic = str(data.get("topic", ""))
        topic = WEBHOOK_TOPICS.get(topic, topic)
        address = data.get("address")
        if topic not in TOPIC_ENUMS:
            return json_response({"error": f"unsupported topic; one of {sorted(TOPIC_ENUMS)}"}, 400)
        if not isinstance(address, str) or not address.startswith(("http://", "https://")):
            return json_response({"error": "address must be an http(s) URL"}, 400)
        with state.lock:
            sub = Subscription(state.new_id(), topic, address)
            state.subscriptions[sub.id] = sub
        return json_response(
            {"id": gid("WebhookSubscription", sub.id), "topic": topic, "address": address, "format": "JSON"},
            201,
        )

    @app.get("/_sandbox/webhooks")
    def subscriptions() -> Response:
        with state.lock:
            subs = [
                {"id": gid("WebhookSubscription", s.id), "topic": s.topic, "address": s.address}
                for s in state.subscriptions.values()
            ]
        return json_response({"subscriptions": subs, "deliveries": sandbox.webhooks.list()})

    register_common_control_routes(app, sandbox)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
