"""The eBay sandbox's own `/_sandbox/*` routes, besides the shared ones (control.py of the package):
orders, token expiry and revocation, throttling, the revision ledger, the RuName's accept URL, the
account-deletion notification and endpoint challenge eBay would send, and read-only views of the
inventory items, offers, item groups and Post-Order cancellations (publishing and cancel tests)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import httpx
from flask import Flask, Response

from channel_sandboxes.common import json_body, json_response
from channel_sandboxes.control import order_lines_error, register_common_control_routes
from channel_sandboxes.ebay.api import item_json, offer_json
from channel_sandboxes.ebay.sandbox import EbaySandbox
from channel_sandboxes.ebay.state import StockError, next_pacific_midnight, now_utc, pacific_day


def _url(value: Any) -> str:
    text = str(value or "")
    return text if text.startswith(("http://", "https://")) else ""


def register_control_routes(app: Flask, sandbox: EbaySandbox) -> None:
    register_common_control_routes(app, sandbox)
    state = sandbox.state

    @app.post("/_sandbox/orders")
    def place_order() -> Response:
        data = json_body()
        lines = data.get("lines")
        error = order_lines_error(lines)
        if error is not None:
            return error
        if not all(isinstance(line, dict) for line in lines):
            return json_response({"error": "lines must be a non-empty list of {sku, quantity}"}, 400)
        try:
            with state.lock:
                order = state.place_order(
                    lines,
                    str(data.get("email") or "buyer@example.test"),
                    allow_oversell=bool(data.get("allow_oversell")),
                    currency=sandbox.config.currency,
                )
                answer = order.describe()
        except StockError as exc:
            return json_response({"error": str(exc)}, 409)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(answer, 201)

    @app.get("/_sandbox/orders/<order_id>")
    def order_view(order_id: str) -> Response:
        with state.lock:
            order = state.orders.get(order_id)
            if order is None:
                return json_response({"error": "unknown order"}, 404)
            return json_response(order.describe())

    @app.post("/_sandbox/expire-tokens")
    def expire_tokens() -> Response:
        """Every user access token issued so far answers 401 errorId 1001 from now on."""
        past = now_utc() - timedelta(seconds=1)
        with state.lock:
            expired = 0
            for grant in state.access.values():
                if grant.kind == "user":
                    grant.expires_at, expired = past, expired + 1
        return json_response({"expired": expired})

    @app.post("/_sandbox/revoke-refresh-tokens")
    def revoke_refresh_tokens() -> Response:
        """The seller revoked the app: every refresh token answers invalid_grant."""
        with state.lock:
            revoked = len(state.refresh)
            state.refresh.clear()
        return json_response({"revoked": revoked})

    @app.post("/_sandbox/throttle")
    def throttle() -> Response:
        count = json_body().get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            return json_response({"error": "count must be a non-negative integer"}, 400)
        with state.lock:
            state.throttle_remaining = count
        return json_response({"throttled_calls": count})

    @app.get("/_sandbox/revisions")
    def revisions() -> Response:
        moment = now_utc()
        day = pacific_day(moment)
        with state.lock:
            listings = {
                x.listing_id: {"sku": x.sku, "revisions": state.revisions.get((day, x.listing_id), 0)}
                for x in state.listings.values()
                if x.listing_id
            }
            return json_response(
                {
                    "day": day,
                    "resets_at": next_pacific_midnight(moment).isoformat(),
                    "listings": listings,
                    "by_sku": {
                        x.sku: state.revisions.get((day, x.listing_id), 0)
                        for x in state.listings.values()
                        if x.listing_id
                    },
                    "max_listed": dict(state.max_listed),
                }
            )

    @app.get("/_sandbox/items")
    def items_view() -> Response:
        """Every inventory item as getInventoryItem answers it, by SKU."""
        with state.lock:
            return json_response({s: item_json(x) for s, x in state.listings.items()})

    @app.get("/_sandbox/offers")
    def offers_view() -> Response:
        """Every offer as getOffers answers it, by SKU (items without an offer are left out)."""
        cfg = sandbox.config
        with state.lock:
            return json_response(
                {
                    s: offer_json(x, cfg.marketplace_id, cfg.currency)
                    for s, x in state.listings.items()
                    if x.offer_id
                }
            )

    @app.get("/_sandbox/groups")
    def groups_view() -> Response:
        with state.lock:
            return json_response({k: g.to_api() for k, g in state.groups.items()})

    @app.get("/_sandbox/cancellations")
    def cancellations_view() -> Response:
        with state.lock:
            return json_response({"cancellations": list(state.cancellations)})

    @app.post("/_sandbox/runame")
    def runame() -> Response:
        """The developer portal's RuName → accept URL (where consent redirects)."""
        data = json_body()
        ru_name, accept_url = str(data.get("ru_name") or sandbox.config.ru_name), _url(data.get("accept_url"))
        if not accept_url:
            return json_response({"error": "accept_url must be an http(s) URL"}, 400)
        sandbox.ru_names[ru_name] = accept_url
        return json_response({"ru_name": ru_name, "accept_url": accept_url})

    @app.post("/_sandbox/account-deletion")
    def account_deletion() -> Response:
        data = json_body()
        address = _url(data.get("address"))
        if not address:
            return json_response({"error": "address must be an http(s) URL"}, 400)
        delivery = sandbox.account_deletion(
            address,
            str(data.get("user_id") or sandbox.config.user_id),
            str(data.get("username") or sandbox.config.username),
        )
        sandbox.webhooks.wait([delivery])
        return json_response(delivery.describe(), 201)

    @app.post("/_sandbox/challenge")
    def challenge() -> Response:
        """eBay's endpoint check: GET address?challenge_code=…; the answer must be JSON
        {"challengeResponse": hex sha256(code + verification_token + endpoint)}."""
        data = json_body()
        address = _url(data.get("address"))
        token, endpoint = str(data.get("verification_token") or ""), str(data.get("endpoint") or address)
        if not address or not token:
            return json_response({"error": "address (http(s) URL) and verification_token are required"}, 400)
        code = secrets.token_hex(16)
        expected = hashlib.sha256((code + token + endpoint).encode()).hexdigest()
        try:
            with httpx.Client(timeout=5.0, follow_redirects=False) as client:
                answer = client.get(address, params={"challenge_code": code})
        except httpx.HTTPError as exc:
            return json_response({"ok": False, "status": None, "error": type(exc).__name__})
        try:
            got = answer.json().get("challengeResponse")
        except (ValueError, AttributeError):
            got = None
        content_type = answer.headers.get("content-type", "")
        ok = answer.status_code == 200 and got == expected and content_type.startswith("application/json")
        return json_response(
            {
                "ok": ok,
                "status": answer.status_code,
                "content_type": content_type,
                "expected": expected,
                "got": got,
            }
        )
