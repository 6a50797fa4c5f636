"""The Meta sandbox's own control routes (besides the shared ones in channel_sandboxes.control):
orders placed by a shopper, webhook subscriptions and the hub.challenge check, tokens, throttling
and shop settings."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
from flask import Flask, Response

from channel_sandboxes.common import WEBHOOK_TIMEOUT, json_body, json_response
from channel_sandboxes.control import order_lines_error
from channel_sandboxes.meta.sandbox import MetaSandbox
from channel_sandboxes.meta.state import CATALOG_ID


def register_control_routes(app: Flask, sandbox: MetaSandbox) -> None:
    st = sandbox.state

    @app.post("/_sandbox/orders")
    def place_order() -> Response:
        """{lines: [{sku, quantity, price?}], email?, allow_oversell?, channel?: facebook|instagram}
        → 201 a CREATED commerce order, bought on that channel (default facebook)."""
        body = json_body()
        error = order_lines_error(body.get("lines"))
        if error is not None:
            return error
        channel = str(body.get("channel") or "facebook")
        if channel not in ("facebook", "instagram"):
            return json_response({"error": "channel must be facebook or instagram"}, 400)
        made = sandbox.create_order(
            body["lines"], str(body.get("email") or ""), bool(body.get("allow_oversell")), channel
        )
        if isinstance(made, str):
            return json_response({"error": made}, 409 if "stock" in made or "checkout" in made else 400)
        with st.lock:
            return json_response(sandbox.order_view(made), 201)

    @app.get("/_sandbox/orders/<order_id>")
    def order_view(order_id: str) -> Response:
        with st.lock:
            order = st.orders.get(order_id)
            if order is None:
                return json_response({"error": "unknown order"}, 404)
            return json_response(sandbox.order_view(order))

    @app.post("/_sandbox/webhooks")
    def subscribe() -> Response:
        address = str(json_body().get("address") or "")
        if not address.startswith(("http://", "https://")):
            return json_response({"error": "address must be an http(s) URL"}, 400)
        with st.lock:
            if address not in st.webhook_addresses:
                st.webhook_addresses.append(address)
            return json_response({"addresses": list(st.webhook_addresses)}, 201)

    @app.get("/_sandbox/webhooks")
    def subscriptions() -> Response:
        with st.lock:
            return json_response({"addresses": list(st.webhook_addresses)})

    @app.post("/_sandbox/webhooks/send")
    def send() -> Response:
        """{object?, field, value?}: a signed delivery to every subscribed address (as a Page event)."""
        body = json_body()
        field = str(body.get("field") or "")
        if not field:
            return json_response({"error": "field is required"}, 400)
        deliveries = sandbox.send_webhook(str(body.get("object") or "page"), field, body.get("value", {}))
        return json_response({"deliveries": [d.describe() for d in deliveries]})

    @app.post("/_sandbox/webhooks/verify")
    def verify() -> Response:
        """{address, verify_token?}: the subscription check Meta makes, GET address?hub.mode=subscribe
        &hub.verify_token=..&hub.challenge=..; reports the answer and whether it echoed the challenge."""
        body = json_body()
        address = str(body.get("address") or "")
        if not address.startswith(("http://", "https://")):
            return json_response({"error": "address must be an http(s) URL"}, 400)
        challenge = str(st.new_id())
        query = {
            "hub.mode": "subscribe",
            "hub.verify_token": str(body.get("verify_token") or sandbox.config.verify_token),
            "hub.challenge": challenge,
        }
        separator = "&" if "?" in address else "?"
        try:
            with httpx.Client(timeout=WEBHOOK_TIMEOUT) as client:
                answer = client.get(f"{address}{separator}{urlencode(query)}")
        except httpx.HTTPError as exc:
            return json_response(
                {"verified": False, "status": None, "error": type(exc).__name__, "challenge": challenge}
            )
        text = answer.text
        return json_response(
            {
                "verified": answer.status_code == 200 and text == challenge,
                "status": answer.status_code,
                "body": text[:200],
                "content_type": answer.headers.get("content-type", ""),
                "challenge": challenge,
            }
        )

    @app.post("/_sandbox/expire-tokens")
    def expire_tokens() -> Response:
        """Every user and Page token answers 190/463 from now on (a new login issues fresh ones)."""
        with st.lock:
            st.expire_all()
            return json_response({"expired": len(st.tokens)})

    @app.post("/_sandbox/tokens")
    def token_settings() -> Response:
        """{user_token_lifetime_seconds}: the expires_in of long-lived tokens issued from now on."""
        value = json_body().get("user_token_lifetime_seconds")
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            return json_response({"error": "user_token_lifetime_seconds must be a positive number"}, 400)
        with st.lock:
            st.long_lifetime = float(value)
            return json_response({"user_token_lifetime_seconds": st.long_lifetime})

    @app.post("/_sandbox/throttle")
    def throttle() -> Response:
        """{count, estimated_time_to_regain_access (minutes, default 0), code (default 4)}: the next
        `count` Graph calls answer a rate-limit error with X-Business-Use-Case-Usage / X-App-Usage."""
        body = json_body()
        count, minutes, code = (
            body.get("count", 1),
            body.get("estimated_time_to_regain_access", 0),
            body.get("code", 4),
        )
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (count, minutes, code)):
            return json_response(
                {"error": "count, estimated_time_to_regain_access and code must be integers"}, 400
            )
        with st.lock:
            st.throttle_left, st.throttle_minutes, st.throttle_code = count, minutes, code
            return json_response({"count": count, "estimated_time_to_regain_access": minutes, "code": code})

    @app.post("/_sandbox/settings")
    def shop_settings() -> Response:
        """{onsite_checkout?, instagram_account?, extra_catalogs?: [name], batch_polls_to_finish?}."""
        body = json_body()
        with st.lock:
            if "onsite_checkout" in body:
                st.onsite_checkout = bool(body["onsite_checkout"])
            if "instagram_account" in body:
                st.instagram_account = bool(body["instagram_account"])
            extra = body.get("extra_catalogs")
            if isinstance(extra, list):
                st.extra_catalogs = {str(int(CATALOG_ID) + n + 1): str(name) for n, name in enumerate(extra)}
            polls = body.get("batch_polls_to_finish")
            if isinstance(polls, int) and not isinstance(polls, bool) and polls >= 0:
                st.polls_to_finish = polls
        return json_response(sandbox.describe_config())
