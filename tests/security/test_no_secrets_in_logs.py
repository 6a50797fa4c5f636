"""Issue 12.9 acceptance: a realistic run's log holds no password, token, client secret or OAuth
code, and a %0A in a URL cannot forge a log line.

Everything is logged at DEBUG from every logger (SQLAlchemy statements and parameters, the HTTP
server's access lines, the gateway's own access log, the channels service) through the same
setup_logging() the processes use, while the gateway serves real HTTP: register, login (a wrong
password too), refresh, me, OAuth start + callback, an API-key channel connect, logout.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from omnistock_devtools.fake_connector import GOOD_HMAC, GOOD_KEY, GOOD_SECRET

pytestmark = pytest.mark.redis


def test_a_realistic_run_logs_no_secret(stack: Any, browser: Any, helpers: Any, captured_log: Any) -> None:
    base = stack.gateway()
    client = browser(base)
    secrets: dict[str, str] = {"password": helpers.password, "jwt secret": helpers.jwt_secret}

    reg = helpers.register(client, "Acme", "owner@acme.test")
    secrets |= {"register access": reg["access_token"], "register refresh": reg["refresh_token"]}
    wrong = client.post(
        "/api/v1/auth/login", json={"email": "owner@acme.test", "password": "wrong-password-x"}
    )
    assert wrong.status_code == 401
    secrets["wrong password"] = "wrong-password-x"
    login = client.post("/api/v1/auth/login", json={"email": "owner@acme.test", "password": helpers.password})
    assert login.status_code == 200
    pair = login.json()
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).json()
    secrets |= {
        "login access": pair["access_token"],
        "login refresh": pair["refresh_token"],
        "refreshed access": refreshed["access_token"],
        "refreshed refresh": refreshed["refresh_token"],
    }
    auth = helpers.bearer(refreshed["access_token"])
    assert client.get("/api/v1/me", headers=auth).status_code == 200

    # OAuth start + the channel's redirect back (code, hmac, state in the query string).
    query = urlencode({"shop": "demo.myshopify.com", "api_base_url": "http://127.0.0.1:8701"})
    start = client.get(f"/api/v1/channels/shopify/oauth/start?{query}", headers=auth)
    assert start.status_code == 302
    state = parse_qs(urlparse(start.headers["Location"]).query)["state"][0]
    nonce = client.cookies["omnistock_oauth"]
    callback = urlencode(
        {"code": "good-code", "hmac": GOOD_HMAC, "shop": "demo.myshopify.com", "state": state}
    )
    assert client.get(f"/api/v1/channels/oauth/callback?{callback}").status_code == 200
    secrets |= {
        "oauth code": "good-code",
        "oauth hmac": GOOD_HMAC,
        "oauth state": state,
        "oauth nonce": nonce,
    }
    secrets |= {
        "channel access token": stack.shopify.valid_access_token,
        "channel refresh token": stack.shopify.valid_refresh_token,
    }

    # An API-key channel: the keys travel in the JSON body and are stored encrypted.
    woo = {
        "type": "woocommerce",
        "settings": {"api_base_url": "http://127.0.0.1:8702"},
        "credentials": {"consumer_key": GOOD_KEY, "consumer_secret": GOOD_SECRET},
    }
    assert client.post("/api/v1/channels", json=woo, headers=auth).status_code == 201
    secrets |= {"consumer key": GOOD_KEY, "consumer secret": GOOD_SECRET}

    # A forged access-log line through %0A in the path.
    forged = "127.0.0.1 GET /api/v1/admin 200 FORGED"
    client.get("/api/v1/nothing%0A" + forged.replace(" ", "%20"))

    assert (
        client.post(
            "/api/v1/auth/logout", json={"refresh_token": refreshed["refresh_token"]}, headers=auth
        ).status_code
        == 204
    )

    log = captured_log.getvalue()
    # The capture saw the run: SQL statements, the HTTP server's and the gateway's access lines.
    assert "SELECT" in log and "INSERT INTO refresh_tokens" in log
    assert "/api/v1/channels/oauth/callback?" in log
    leaked = {name for name, value in secrets.items() if value and value in log}
    assert not leaked, f"secrets in the log: {sorted(leaked)}"
    assert "code=[REDACTED]" in log
    assert not re.search(r"Bearer\s+\S", log)
    assert not any(line.startswith(forged) or line.endswith(forged) for line in log.splitlines())
    assert "nothing\\x0a127.0.0.1" in log
