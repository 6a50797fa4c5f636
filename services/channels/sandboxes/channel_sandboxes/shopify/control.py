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
