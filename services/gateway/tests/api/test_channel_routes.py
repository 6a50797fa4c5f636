"""Channels REST endpoints against a REAL channels gRPC server (SQLite, real Redis) whose
connectors are fakes served over gRPC (omnistock_devtools.fake_connector).

Covers API.md "Channels": channel types, API-key connect (wrong keys refused, nothing stored),
OAuth start (302, or 200 to a JSON-only fetch) + public callback (JSON, or a 303 back to the
dashboard for a browser), listings, auto-map (a job: 202, GET /jobs/{id}), sync requests,
the sync log, webhooks
(raw body, 401 on a bad signature, 200 on a repeat), roles and tenancy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from sqlalchemy import func, select

from channels import jobs, models
from channels.config import load_settings
from channels.domain import CHANNEL_TYPES
from channels.server import Channels, build
from omnistock_devtools.fake_connector import (
    DELIVERY_HEADER,
    GOOD_HMAC,
    GOOD_KEY,
    GOOD_SECRET,
    SIGNATURE_HEADER,
    VERIFY_TOKEN,
    FakeConnector,
    serve_fake,
    sign_body,
)
from omnistock_devtools.migrated import migrate

pytestmark = pytest.mark.redis

WOO_BODY = {
    "type": "woocommerce",
    "name": "Woo store",
    "settings": {"api_base_url": "http://127.0.0.1:8702"},
    "credentials": {"consumer_key": GOOD_KEY, "consumer_secret": GOOD_SECRET},
}


@dataclass
class Backend:
    channels: Channels
    shopify: FakeConnector
    woocommerce: FakeConnector

    def count(self, table: Any) -> int:
        with self.channels.parts.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def backend(tmp_path: Path, redis_url: str) -> Iterator[Backend]:
    url = f"sqlite:///{tmp_path / 'channels.db'}"
    migrate("channels", url)
    shopify, woo = FakeConnector(channel_type="shopify"), FakeConnector(channel_type="woocommerce")
    fakes = [serve_fake(shopify), serve_fake(woo)]
    channels = build(
        load_settings(
            {
                "CHANNELS_DATABASE_URL": url,
                "CHANNELS_GRPC_PORT": "0",
                "REDIS_URL": redis_url,
                "LOG_LEVEL": "WARNING",
                "OAUTH_STATE_SECRET": "gateway-test-state-secret-0123456789",
                "PUBLIC_BASE_URL": "http://gateway.test",
                "SHOPIFY_CONNECTOR_ADDR": f"127.0.0.1:{fakes[0].port}",
                "WOOCOMMERCE_CONNECTOR_ADDR": f"127.0.0.1:{fakes[1].port}",
            }
        )
    )
    yield Backend(channels, shopify, woo)
    channels.stop()
    for running in fakes:
        running.server.stop(None).wait()


@pytest.fixture
def client(app_factory: Any, sqlite_url: str, backend: Backend) -> Any:
    return app_factory(sqlite_url, channels_addr=f"127.0.0.1:{backend.channels.port}").test_client()


@pytest.fixture
def owner(client: Any, helpers: Any) -> Any:
    return helpers.register(client, "Acme", "owner@acme.test")


def member(client: Any, owner: Any, helpers: Any, role: str) -> dict[str, str]:
    email = f"{role}@acme.test"
    created = client.post(
        "/api/v1/users", json={"email": email, "password": "correct-horse", "role": role}, headers=owner.auth
    )
    assert created.status_code == 201, created.json
    return helpers.bearer(helpers.login(client, email)["access_token"])


def connect_woo(client: Any, auth: dict[str, str]) -> dict[str, Any]:
    response = client.post("/api/v1/channels", json=WOO_BODY, headers=auth)
    assert response.status_code == 201, response.json
    return response.json


def test_channel_types_list_every_channel(client: Any, owner: Any) -> None:
    response = client.get("/api/v1/channel-types", headers=owner.auth)
    assert response.status_code == 200
    types = {t["type"]: t for t in response.json["items"]}
    assert list(types) == ["shopify", "woocommerce", "facebook", "instagram", "tiktok", "amazon", "ebay"]
    assert types["shopify"]["auth"] == "oauth" and types["woocommerce"]["auth"] == "api_key"
    assert types["facebook"]["display_name"] == "Facebook Shop"
    # Each says whether this release can connect it (the domain's table decides, not the gateway).
    assert {name: t["available"] for name, t in types.items()} == {
        name: kind.available for name, kind in CHANNEL_TYPES.items()
    }


def test_api_key_connect_refuses_wrong_keys_and_never_returns_secrets(
    client: Any, owner: Any, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = {**WOO_BODY, "credentials": {"consumer_key": "ck_x", "consumer_secret": "cs_x"}}
    refused = client.post("/api/v1/channels", json=wrong, headers=owner.auth)
    assert refused.status_code == 400
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert "rejected these credentials" in refused.json["detail"]
    assert backend.count(models.connections) == 0

    created = connect_woo(client, owner.auth)
    assert created["status"] == "connected" and created["type"] == "woocommerce"
    assert created["health"]["error_count"] == 0 and created["health"]["token_expires_at"] is None
    for path in ("/api/v1/channels", f"/api/v1/channels/{created['id']}"):
        response = client.get(path, headers=owner.auth)
        assert response.status_code == 200
        assert GOOD_SECRET not in response.get_data(as_text=True) and GOOD_KEY not in response.get_data(
            as_text=True
        )
    assert [c["id"] for c in client.get("/api/v1/channels", headers=owner.auth).json["items"]] == [
        created["id"]
    ]

    # A type listed without a connector in this release (every type has one now: play one; the
    # channels server runs in this process).
    monkeypatch.setitem(CHANNEL_TYPES, "amazon", replace(CHANNEL_TYPES["amazon"], available=False))
    unbuilt = client.post("/api/v1/channels", json={**WOO_BODY, "type": "amazon"}, headers=owner.auth)
    assert unbuilt.status_code == 409 and "not available yet" in unbuilt.json["detail"]


def test_oauth_start_redirects_and_the_public_callback_connects(client: Any, owner: Any) -> None:
    query = urlencode(
        {"shop": "demo.myshopify.com", "api_base_url": "http://127.0.0.1:8701", "name": "Main shop"}
    )
    start = client.get(f"/api/v1/channels/shopify/oauth/start?{query}", headers=owner.auth)
    assert start.status_code == 302
    location = urlparse(start.headers["Location"])
    assert (
        location.netloc == "127.0.0.1:8701" and start.json["authorization_url"] == start.headers["Location"]
    )
    params = parse_qs(location.query)
    assert params["redirect_uri"] == ["http://gateway.test/api/v1/channels/oauth/callback"]
    callback = {
        "code": "good-code",
        "hmac": GOOD_HMAC,
        "shop": "demo.myshopify.com",
        "state": params["state"][0],
    }

    done = client.get(
        f"/api/v1/channels/oauth/callback?{urlencode(callback)}"
    )  # no JWT: the channel calls it
    assert done.status_code == 200, done.json
    assert (done.json["type"], done.json["name"], done.json["status"]) == (
        "shopify",
        "Main shop",
        "connected",
    )
    assert done.json["settings"]["shop_domain"] == "demo.myshopify.com"
    assert done.json["health"]["token_expires_at"].endswith("Z")

    replay = client.get(f"/api/v1/channels/oauth/callback?{urlencode(callback)}")
    assert replay.status_code == 400 and "already used" in replay.json["detail"]
    forged = client.get(f"/api/v1/channels/oauth/callback?{urlencode({**callback, 'state': 'x.y'})}")
    assert forged.status_code == 400


def _consent(start: Any) -> dict[str, str]:
    """The query the channel's consent page sends back to the callback (the fake accepts GOOD_HMAC)."""
    url = start.headers.get("Location") or start.json["authorization_url"]
    state = parse_qs(urlparse(url).query)["state"][0]
    return {"code": "good-code", "hmac": GOOD_HMAC, "shop": "demo.myshopify.com", "state": state}


def test_oauth_start_answers_a_json_only_fetch_with_200_and_no_redirect(client: Any, owner: Any) -> None:
    query = urlencode({"shop": "demo.myshopify.com", "api_base_url": "http://127.0.0.1:8701"})
    headers = {**owner.auth, "Accept": "application/json"}
    start = client.get(f"/api/v1/channels/shopify/oauth/start?{query}", headers=headers)
    assert start.status_code == 200, start.json
    assert "Location" not in start.headers
    assert urlparse(start.json["authorization_url"]).netloc == "127.0.0.1:8701"
    assert start.headers["Set-Cookie"].startswith("omnistock_oauth=")
    # The cookie binds the callback to this browser exactly as after the 302.
    done = client.get(f"/api/v1/channels/oauth/callback?{urlencode(_consent(start))}")
    assert done.status_code == 200 and done.json["status"] == "connected"


def test_oauth_callback_sends_a_browser_back_to_the_dashboard(client: Any, owner: Any) -> None:
    """A browser's navigation (Accept: text/html) lands on /channels with the outcome, success
    or failure, instead of JSON; the failure is the problem's reason as a slug."""
    html = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    query = urlencode({"shop": "demo.myshopify.com", "api_base_url": "http://127.0.0.1:8701", "name": "Main"})
    start = client.get(f"/api/v1/channels/shopify/oauth/start?{query}", headers=owner.auth)
    callback = f"/api/v1/channels/oauth/callback?{urlencode(_consent(start))}"

    done = client.get(callback, headers=html)
    assert done.status_code == 303, done.get_data(as_text=True)
    location = urlparse(done.headers["Location"])
    assert (location.netloc, location.path) == ("", "/channels")
    connection_id = parse_qs(location.query)["connected"][0]
    listed = client.get("/api/v1/channels", headers=owner.auth).json["items"]
    assert [(c["id"], c["name"], c["status"]) for c in listed] == [(connection_id, "Main", "connected")]

    replay = client.get(callback, headers=html)
    assert replay.status_code == 303
    assert replay.headers["Location"] == "/channels?connect_error=oauth-state-reused"
    forged = client.get(
        f"/api/v1/channels/oauth/callback?{urlencode({**_consent(start), 'state': 'x.y'})}", headers=html
    )
    assert forged.headers["Location"] == "/channels?connect_error=oauth-state-invalid"

    # Another browser (no cookie from oauth/start): refused, and still sent back in words.
    again = client.get(f"/api/v1/channels/shopify/oauth/start?{query}", headers=owner.auth)
    elsewhere = client.application.test_client()
    refused = elsewhere.get(f"/api/v1/channels/oauth/callback?{urlencode(_consent(again))}", headers=html)
    assert refused.headers["Location"] == "/channels?connect_error=oauth-session-mismatch"
    assert len(client.get("/api/v1/channels", headers=owner.auth).json["items"]) == 1
    # Any other client keeps the problem+json (this browser's cookie is now the second start's).
    plain = client.get(callback)
    assert plain.status_code == 403 and plain.headers["Content-Type"].startswith("application/problem+json")


def test_oauth_start_sets_an_httponly_cookie_scoped_to_the_callback(
    app_factory: Any, sqlite_url: str, backend: Backend, helpers: Any
) -> None:
    query = urlencode({"shop": "demo.myshopify.com", "api_base_url": "http://127.0.0.1:8701"})
    for base, secure in (("http://127.0.0.1:8080", False), ("https://omnistock.example.com", True)):
        client = app_factory(
            sqlite_url, channels_addr=f"127.0.0.1:{backend.channels.port}", public_base_url=base
        ).test_client()
        owner = helpers.register(client, "Acme", f"owner-{secure}@acme.test")
        start = client.get(f"/api/v1/channels/shopify/oauth/start?{query}", headers=owner.auth)
        assert start.status_code == 302
        cookie = start.headers["Set-Cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert cookie.startswith("omnistock_oauth=") and len(cookie.split(";")[0]) > 40
        assert "Path=/api/v1/channels/oauth/callback" in cookie and "SameSite=Lax" in cookie
        assert "httponly" in attributes and ("secure" in attributes) is secure


def test_webhooks_take_the_raw_body_401_on_bad_signature_and_ack_repeats(
    client: Any, owner: Any, backend: Backend
) -> None:
    conn = connect_woo(client, owner.auth)
    url = f"/api/v1/webhooks/woocommerce/{conn['id']}"
    # Deliberately not canonical JSON: re-serialising it would break the HMAC.
    raw = b'{"id":1001,  "status":"processing", "line_items":[{"sku":"TEE","quantity":1}]}'
    headers = {
        SIGNATURE_HEADER: sign_body(raw),
        DELIVERY_HEADER: "delivery-1",
        "Content-Type": "application/json",
    }

    bad = client.post(url, data=raw, headers={**headers, SIGNATURE_HEADER: sign_body(raw, "nope")})
    assert bad.status_code == 401 and bad.headers["Content-Type"].startswith("application/problem+json")
    assert backend.count(models.webhook_deliveries) == 0

    first = client.post(url, data=raw, headers=headers)
    assert first.status_code == 200 and first.json == {"accepted": True, "delivery_id": "delivery-1"}
    repeat = client.post(url, data=raw, headers=headers)
    assert repeat.status_code == 200 and repeat.json == {"accepted": False, "delivery_id": "delivery-1"}
    with backend.channels.parts.engine.connect() as db:
        stored = db.execute(select(models.webhook_deliveries)).one()
    assert bytes(stored.raw_body) == raw and json.loads(stored.headers)[DELIVERY_HEADER] == "delivery-1"

    ping = client.post(
        url, data=b"webhook_id=3", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert ping.status_code == 200 and ping.json["accepted"] is True
    # An unknown connection id answers exactly like a bad signature (no existence oracle).
    unknown = client.post("/api/v1/webhooks/woocommerce/nope", data=raw, headers=headers)
    assert unknown.status_code == 401

    def same(response: Any) -> dict[str, Any]:
        return {k: v for k, v in response.json.items() if k not in ("instance", "request_id")}

    assert same(unknown) == same(bad) and unknown.headers["Content-Type"] == bad.headers["Content-Type"]


def test_a_webhook_endpoint_check_is_answered_by_the_connector_and_refused_alike(
    client: Any, owner: Any, backend: Backend
) -> None:
    """Meta's hub.challenge GET (the fake connector plays Meta's verify-token check)."""
    conn = connect_woo(client, owner.auth)
    url = f"/api/v1/webhooks/woocommerce/{conn['id']}"
    good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}

    answered = client.get(f"{url}?{urlencode(good)}")
    assert answered.status_code == 200 and answered.data == b"1158201444"
    assert answered.headers["Content-Type"].startswith("text/plain")
    # The connector is told the public URL the channel called (eBay hashes it into its answer).
    [endpoint] = backend.woocommerce.challenge_endpoints
    assert endpoint.startswith("http") and endpoint.endswith(f"/api/v1/webhooks/woocommerce/{conn['id']}")

    wrong_token = client.get(f"{url}?{urlencode({**good, 'hub.verify_token': 'guess'})}")
    unknown = client.get(f"/api/v1/webhooks/woocommerce/nope?{urlencode(good)}")
    other_type = client.get(f"/api/v1/webhooks/shopify/{conn['id']}?{urlencode(good)}")
    for refused in (wrong_token, unknown, other_type):
        assert refused.status_code == 403
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert refused.json["detail"] == wrong_token.json["detail"]
    assert backend.count(models.webhook_deliveries) == 0


def test_listings_auto_map_sync_and_log(client: Any, owner: Any, backend: Backend) -> None:
    backend.woocommerce.remote_products = [("TEE-S", {"product_id": "1"}), ("REMOTE", {"product_id": "2"})]
    conn = connect_woo(client, owner.auth)
    base = f"/api/v1/channels/{conn['id']}"

    put = client.put(
        f"{base}/listings/MUG", json={"product_id": "9", "variation_id": "10"}, headers=owner.auth
    )
    assert put.status_code == 200 and put.json["external_ids"] == {"product_id": "9", "variation_id": "10"}
    nested = client.put(
        f"{base}/listings/CAP/RED", json={"external_ids": {"product_id": "4"}}, headers=owner.auth
    )
    assert nested.status_code == 200 and nested.json["sku"] == "CAP/RED"

    # Auto-map is a background job: 202 and a job id at once, nothing read from the channel yet.
    started = client.post(f"{base}/listings/auto-map", json={"skus": ["TEE-S", "HAT"]}, headers=owner.auth)
    assert started.status_code == 202, started.json
    job_url = f"/api/v1/jobs/{started.json['job_id']}"
    queued = client.get(job_url, headers=owner.auth)
    assert queued.status_code == 200
    assert {k: queued.json[k] for k in ("kind", "status", "progress", "result", "error")} == {
        "kind": "auto_map",
        "status": "queued",
        "progress": {"done": 0, "total": None},
        "result": None,
        "error": None,
    }
    assert backend.woocommerce.calls["ListRemoteProducts"] == 0
    assert jobs.run_job(backend.channels.parts.deps, started.json["job_id"]) == "done"  # as the worker does
    done = client.get(job_url, headers=owner.auth).json
    assert (done["status"], done["progress"], done["connection_id"]) == (
        "succeeded",
        {"done": 2, "total": 2},
        conn["id"],
    )
    assert done["result"] == {"mapped": 1, "unmapped_skus": ["HAT"], "unknown_remote_skus": ["REMOTE"]}
    assert done["finished_at"].endswith("Z")
    assert client.get("/api/v1/jobs/no-such-job", headers=owner.auth).status_code == 404

    page = client.get(f"{base}/listings?limit=2", headers=owner.auth).json
    rest = client.get(f"{base}/listings?limit=2&cursor={page['next_cursor']}", headers=owner.auth).json
    assert [i["sku"] for i in page["items"] + rest["items"]] == ["CAP/RED", "MUG", "TEE-S"]
    assert rest["next_cursor"] is None

    job = client.post(f"{base}/sync", json={"scope": "inventory"}, headers=owner.auth)
    assert job.status_code == 202 and job.json["job_id"]
    sync = client.get(f"/api/v1/jobs/{job.json['job_id']}", headers=owner.auth).json
    assert (sync["kind"], sync["status"], sync["progress"]) == ("sync", "queued", {"done": 0, "total": 1})
    assert client.post(f"{base}/sync", json={"scope": "everything"}, headers=owner.auth).status_code == 400

    log = client.get(f"{base}/sync-log?limit=5", headers=owner.auth).json["items"]
    assert log[0]["operation"] == "auto_map" and log[0]["skus"] == ["HAT"]
    assert {e["operation"] for e in log} >= {"list_remote_products", "validate_credentials"}

    assert client.delete(base, headers=owner.auth).status_code == 204
    assert client.get(base, headers=owner.auth).status_code == 404


def test_roles_and_tenancy(client: Any, owner: Any, helpers: Any) -> None:
    conn = connect_woo(client, owner.auth)
    base = f"/api/v1/channels/{conn['id']}"
    staff = member(client, owner, helpers, "staff")
    viewer = member(client, owner, helpers, "viewer")

    assert client.get("/api/v1/channels", headers=viewer).status_code == 200
    assert client.put(f"{base}/listings/A", json={"product_id": "1"}, headers=viewer).status_code == 403
    assert client.put(f"{base}/listings/A", json={"product_id": "1"}, headers=staff).status_code == 200
    assert client.post("/api/v1/channels", json=WOO_BODY, headers=staff).status_code == 403
    assert client.delete(base, headers=staff).status_code == 403
    assert (
        client.get("/api/v1/channels/shopify/oauth/start?shop=x.myshopify.com", headers=staff).status_code
        == 403
    )
    assert client.get("/api/v1/channels").status_code == 401

    job = client.post(f"{base}/listings/auto-map", json={"skus": ["A"]}, headers=staff)
    assert job.status_code == 202
    assert client.post(f"{base}/listings/auto-map", json={"skus": ["A"]}, headers=viewer).status_code == 403
    assert client.get(f"/api/v1/jobs/{job.json['job_id']}", headers=viewer).status_code == 200

    other = helpers.register(client, "Other", "owner@other.test")
    assert client.get(base, headers=other.auth).status_code == 404
    assert client.get(f"/api/v1/jobs/{job.json['job_id']}", headers=other.auth).status_code == 404
    assert client.get("/api/v1/channels", headers=other.auth).json["items"] == []


def test_notification_settings(client: Any, owner: Any) -> None:
    ok = client.put(
        "/api/v1/channels/notification-settings",
        json={"webhook_url": "https://hooks.acme.test/x"},
        headers=owner.auth,
    )
    assert ok.status_code == 200 and ok.json == {"webhook_url": "https://hooks.acme.test/x"}
    bad = client.put(
        "/api/v1/channels/notification-settings", json={"webhook_url": "ftp://x"}, headers=owner.auth
    )
    assert bad.status_code == 400


def test_a_connections_editable_settings_change_and_nothing_else_does(
    client: Any, owner: Any, helpers: Any
) -> None:
    """PATCH /channels/{id}: the type's editable_settings (listed by GET /channel-types) are set
    or removed (null); a key that is not editable (what names the store or its API) or an empty
    value is a 400 naming it that changes nothing; managers only; another tenant's is 404."""
    types = {t["type"]: t for t in client.get("/api/v1/channel-types", headers=owner.auth).json["items"]}
    assert types["woocommerce"]["editable_settings"] == list(CHANNEL_TYPES["woocommerce"].editable_settings)
    assert "category_id" in types["tiktok"]["editable_settings"]
    assert "store_id" not in types["tiktok"]["editable_settings"]
    conn = connect_woo(client, owner.auth)
    base = f"/api/v1/channels/{conn['id']}"

    changed = client.patch(
        base, json={"settings": {"weight_unit": " lb ", "shipment_tracking": "ast"}}, headers=owner.auth
    )
    assert changed.status_code == 200, changed.json
    assert (
        changed.json["settings"]["weight_unit"] == "lb"
        and changed.json["settings"]["shipment_tracking"] == "ast"
    )
    assert changed.json["settings"]["api_base_url"] == WOO_BODY["settings"]["api_base_url"]

    for bad, field in (
        ({"api_base_url": "http://127.0.0.1:9"}, "settings.api_base_url"),
        ({"store_url": "https://elsewhere.example"}, "settings.store_url"),
        ({"weight_unit": "   "}, "settings.weight_unit"),
        ({}, "settings"),
    ):
        refused = client.patch(
            base,
            json={"settings": {"weight_unit": "g", **bad}} if bad else {"settings": {}},
            headers=owner.auth,
        )
        assert refused.status_code == 400, (bad, refused.json)
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert field in json.dumps(refused.json), refused.json
    assert client.get(base, headers=owner.auth).json["settings"]["weight_unit"] == "lb"  # nothing changed

    removed = client.patch(base, json={"settings": {"shipment_tracking": None}}, headers=owner.auth)
    assert removed.status_code == 200 and "shipment_tracking" not in removed.json["settings"]
    assert removed.json["settings"]["weight_unit"] == "lb"

    staff = member(client, owner, helpers, "staff")
    assert client.patch(base, json={"settings": {"weight_unit": "g"}}, headers=staff).status_code == 403
    other = helpers.register(client, "Other", "owner@other.test")
    assert client.patch(base, json={"settings": {"weight_unit": "g"}}, headers=other.auth).status_code == 404
