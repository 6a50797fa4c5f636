"""The control routes only the TikTok sandbox has: orders, webhook addresses, token expiry and
minting, throttling by rate-limit code, extra authorized shops.

Ours and stable, since other components' tests drive them. Reset, config, seeding, stock, faults,
deliveries and call counters are shared: see `channel_sandboxes.control`.
"""

from __future__ import annotations

from flask import Flask, Response

from channel_sandboxes.common import json_body, json_response
from channel_sandboxes.control import order_lines_error, register_common_control_routes
from channel_sandboxes.tiktok.sandbox import TikTokSandbox
from channel_sandboxes.tiktok.state import STANDARD_DELIVERY_OPTION, OrderError, png

ORDER_STATUSES = ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT")


def register_control_routes(app: Flask, sandbox: TikTokSandbox) -> None:
    cfg, state = sandbox.config, sandbox.state

    @app.post("/_sandbox/orders")
    def place_order() -> Response:
        """{lines: [{sku, quantity, price?}], email?, allow_oversell?, status?,
        delivery_option_id?} → 201; the API answers one line item per unit; stock goes down;
        registered addresses get a webhook. delivery_option_id "" = an order without one."""
        data = json_body()
        error = order_lines_error(data.get("lines"))
        if error is not None:
            return error
        option = data.get("delivery_option_id", STANDARD_DELIVERY_OPTION)
        if not isinstance(option, str):
            return json_response({"error": "delivery_option_id must be a string"}, 400)
        status = str(data.get("status") or "AWAITING_SHIPMENT")
        if status not in ORDER_STATUSES:
            return json_response({"error": f"status must be one of {', '.join(ORDER_STATUSES)}"}, 400)
        try:
            with state.lock:
                order = state.place_order(
                    data["lines"],
                    str(data.get("email") or "buyer@example.test"),
                    bool(data.get("allow_oversell")),
                    status,
                )
                order.delivery_option_id = option
                body = state.order_json(order)
        except (OrderError, ValueError) as exc:
            return json_response({"error": str(exc)}, 422)
        deliveries = sandbox.order_event(order.id, order.status, order.update_time)
        sandbox.webhooks.wait(deliveries)
        return json_response(
            {
                "id": order.id,
                "name": order.id,
                "order": body,
                "deliveries": [d.describe() for d in deliveries],
            },
            201,
        )

    @app.get("/_sandbox/orders/<order_id>")
    def order_view(order_id: str) -> Response:
        """The order as the seller sees it: status, shipments with carrier and tracking, cancellation."""
        with state.lock:
            order = state.orders.get(order_id)
            if order is None:
                return json_response({"error": "unknown order"}, 404)
            return json_response(
                {
                    "order": state.order_json(order),
                    "status": order.status,
                    "shipments": [dict(p) for p in order.packages],
                    "cancelled": order.cancellation is not None,
                    "cancellation": order.cancellation,
                }
            )

    @app.get("/_sandbox/images/<name>")
    def image(name: str) -> Response:
        """A merchant-hosted product image for tests: a grey PNG, 300 x 300 (`tiny-*`: 50 x 50,
        which TikTok refuses; `missing-*`: 404)."""
        if name.startswith("missing-"):
            return json_response({"error": "no such image"}, 404)
        side = 50 if name.startswith("tiny-") else 300
        return Response(png(side, side), mimetype="image/png")

    @app.post("/_sandbox/webhooks")
    def add_webhook() -> Response:
        address = json_body().get("address")
        if not isinstance(address, str) or not address.startswith(("http://", "https://")):
            return json_response({"error": "address must be an http(s) URL"}, 400)
        with state.lock:
            if address not in state.webhook_addresses:
                state.webhook_addresses.append(address)
            addresses = list(state.webhook_addresses)
        return json_response({"addresses": addresses}, 201)

    @app.get("/_sandbox/webhooks")
    def webhooks() -> Response:
        with state.lock:
            addresses = list(state.webhook_addresses)
        return json_response({"addresses": addresses, "deliveries": sandbox.webhooks.list()})

    @app.post("/_sandbox/expire-tokens")
    def expire_tokens() -> Response:
        """Every access token issued so far answers 105002 (expired) from now on."""
        with state.lock:
            return json_response({"expired": state.expire_tokens()})

    @app.post("/_sandbox/tokens")
    def mint_tokens() -> Response:
        """A token pair as token/get would answer it (tests not about OAuth); optional
        {access_token_lifetime_seconds}."""
        lifetime = json_body().get("access_token_lifetime_seconds", cfg.access_token_ttl)
        if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime < 0:
            return json_response(
                {"error": "access_token_lifetime_seconds must be a non-negative integer"}, 400
            )
        with state.lock:
            tokens = state.issue_tokens(lifetime, cfg.refresh_token_ttl)
        return json_response({**tokens, "shop_id": cfg.shop_id, "shop_cipher": state.shop_cipher}, 201)

    @app.post("/_sandbox/throttle")
    def throttle() -> Response:
        """The next `count` API calls answer the rate-limit code 36009002 (on HTTP 200, or on
        `http_status` 429)."""
        data = json_body()
        count, status = data.get("count", 1), data.get("http_status", 200)
        if not isinstance(count, int) or count < 0 or status not in (200, 429):
            return json_response(
                {"error": "count must be a non-negative integer, http_status 200 or 429"}, 400
            )
        with sandbox._throttle_lock:
            sandbox.throttle_remaining, sandbox.throttle_status = count, status
        return json_response({"count": count, "http_status": status})

    @app.post("/_sandbox/shops")
    def add_shop() -> Response:
        """Another shop the seller's authorization covers: {id, name, region?}."""
        data = json_body()
        shop_id, name = str(data.get("id") or ""), str(data.get("name") or "")
        if not shop_id.isdigit() or not name:
            return json_response({"error": "id (digits) and name are required"}, 400)
        shop = {
            "id": shop_id,
            "name": name,
            "region": str(data.get("region") or cfg.region),
            "seller_type": "LOCAL",
            "cipher": f"GCP_sandbox-{shop_id}",
            "code": f"SANDBOX{shop_id[-4:]}",
        }
        with state.lock:
            state.extra_shops.append(shop)
        return json_response(shop, 201)

    register_common_control_routes(app, sandbox)
