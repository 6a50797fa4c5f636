"""Issue 12.3: an OAuth callback completes only in the browser session that started the flow.

Before: the signed state alone decided the tenant, so a state minted by tenant A, sent inside an
authorize link to merchant B, stored B's store token in A's tenant.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from omnistock_devtools.fake_connector import GOOD_HMAC

pytestmark = pytest.mark.redis

SHOP = "victim-store.myshopify.com"


def _start(client: Any, auth: dict[str, str]) -> str:
    query = urlencode({"shop": SHOP, "api_base_url": "http://127.0.0.1:8701", "name": "Store"})
    start = client.get(f"/api/v1/channels/shopify/oauth/start?{query}", headers=auth)
    assert start.status_code == 302, start.text
    return parse_qs(urlparse(start.headers["Location"]).query)["state"][0]


def _callback(state: str) -> str:
    # What the channel appends when it sends the merchant's browser back (Shopify signs it).
    query = urlencode({"code": "good-code", "hmac": GOOD_HMAC, "shop": SHOP, "state": state})
    return f"/api/v1/channels/oauth/callback?{query}"


def test_a_callback_carrying_another_users_state_is_refused_and_stores_nothing(
    stack: Any, browser: Any, helpers: Any
) -> None:
    base = stack.gateway()
    attacker, merchant = browser(base), browser(base)
    a = helpers.register(attacker, "Attacker", "attacker@evil.test")
    b = helpers.register(merchant, "Merchant", "owner@merchant.test")
    attackers_state = _start(attacker, helpers.bearer(a["access_token"]))
    _start(merchant, helpers.bearer(b["access_token"]))  # the merchant even has a flow of their own

    # The merchant's browser lands on the callback with the attacker's state (the link the
    # attacker sent), and a browser with no OmniStock cookie at all does the same.
    for victim in (merchant, browser(base)):
        refused = victim.get(_callback(attackers_state))
        assert refused.status_code == 403, refused.text
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert refused.json()["reason"] == "OAUTH_SESSION_MISMATCH"
        assert "session" in refused.json()["detail"]
    assert stack.connections() == 0
    assert stack.shopify.calls["ExchangeCode"] == 0  # the code was never even exchanged

    # The attacker's own browser can still finish the attacker's own flow (the refusals above did
    # not spend the state), into the attacker's tenant only.
    done = attacker.get(_callback(attackers_state))
    assert done.status_code == 200, done.text
    assert stack.connections() == 1
    listed = attacker.get("/api/v1/channels", headers=helpers.bearer(a["access_token"])).json()["items"]
    assert [c["id"] for c in listed] == [done.json()["id"]]
    assert merchant.get("/api/v1/channels", headers=helpers.bearer(b["access_token"])).json()["items"] == []


def test_the_binding_cookie_is_httponly_lax_and_scoped_to_the_callback(
    stack: Any, browser: Any, helpers: Any
) -> None:
    base = stack.gateway(public_base_url="https://omnistock.example.com")
    client = browser(base)
    owner = helpers.register(client, "Acme", "owner@acme.test")
    query = urlencode({"shop": SHOP, "api_base_url": "http://127.0.0.1:8701"})
    start = client.get(
        f"/api/v1/channels/shopify/oauth/start?{query}", headers=helpers.bearer(owner["access_token"])
    )
    cookie = start.headers["set-cookie"]
    parts = [p.strip().lower() for p in cookie.split(";")]
    assert "httponly" in parts and "secure" in parts and "samesite=lax" in parts
    assert "path=/api/v1/channels/oauth/callback" in parts
