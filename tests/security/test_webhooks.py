"""Webhook spoofing (issue 12, item 5): the whole intake path, gateway → channels → real connector.

The Shopify app's one client secret signs every shop's webhooks, over the body only. A tenant who
installs the app on their own shop therefore holds genuinely signed bodies; these tests replay such
bodies against another tenant's connection with forged headers (shop, topic, timestamps) and check
that nothing changes. They also pin the gateway's own guards: the body limit enforced before the
body is read, the per-connection rate limit, and one identical answer for an unknown connection id
and a bad signature.

Everything runs in-process on 127.0.0.1:0 (gateway test client, channels gRPC, the real Shopify and
WooCommerce connector servicers); no channel host is contacted: ParseWebhook needs none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from channels import connection_setup, models
from channels.config import load_settings as channels_settings
from channels.domain import CHANNEL_TYPES, Credentials
from channels.server import Channels
from channels.server import build as build_channels
from gateway.app import create_app
from gateway.config import Settings as GatewaySettings
from omnistock_connector_kit.channel_http import InMemoryTokenBucket
from omnistock_devtools.migrated import migrate
from shopify_connector.config import load_settings as shopify_settings
from shopify_connector.server import build as build_shopify
from shopify_connector.server import with_port as shopify_port
from woocommerce_connector.config import load_settings as woo_settings
from woocommerce_connector.server import build as build_woo
from woocommerce_connector.server import with_port as woo_port

pytestmark = pytest.mark.redis

APP_SECRET = "security-test-shopify-app-secret"
VICTIM_SHOP = "victim.myshopify.com"
ATTACKER_SHOP = "attacker.myshopify.com"
WOO_STORE = "https://store.victim.example"
WOO_SECRET = "victim-woo-webhook-secret"
RATE_LIMIT = 5
MAX_BODY = 5 * 1024 * 1024


@dataclass
class Stack:
    client: Any
    channels: Channels
    shopify_id: str
    woo_id: str

    def count(self, table: Any) -> int:
        with self.channels.parts.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def snapshot(self) -> dict[str, Any]:
        """Everything a webhook could change: deliveries, commitments, events, log, statuses."""
        with self.channels.parts.engine.connect() as conn:
            statuses = sorted(
                conn.execute(select(models.connections.c.id, models.connections.c.status)).all()
            )
        tables = (
            models.webhook_deliveries,
            models.channel_commitments,
            models.outbox,
            models.sync_log,
        )
        return {"rows": [self.count(t) for t in tables], "statuses": statuses}

    def status(self, connection_id: str) -> str:
        with self.channels.parts.engine.connect() as conn:
            return str(
                conn.execute(
                    select(models.connections.c.status).where(models.connections.c.id == connection_id)
                ).scalar_one()
            )


def _connect(
    channels: Channels, tenant: str, channel_type: str, settings: dict[str, str], secrets: dict[str, str]
) -> str:
    """Store a connection the way OAuth completion / API-key connect does (no channel host needed)."""
    stored = connection_setup._store(
        channels.parts.deps,
        tenant,
        str(uuid.uuid4()),
        CHANNEL_TYPES[channel_type],
        channel_type,
        settings,
        Credentials(secrets),
        "test",
        rename=True,
    )
    return stored.id


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[Stack]:
    shopify = build_shopify(
        shopify_port(shopify_settings({"SHOPIFY_CLIENT_SECRET": APP_SECRET}), "127.0.0.1", 0),
        limiter=InMemoryTokenBucket(1e6, 1e6),
    )
    woo = build_woo(
        woo_port(woo_settings({"REDIS_URL": redis_url}), "127.0.0.1", 0),
        limiter=InMemoryTokenBucket(1e6, 1e6),
    )
    channels_db = f"sqlite:///{tmp_path / 'channels.db'}"
    migrate("channels", channels_db)
    channels = build_channels(
        channels_settings(
            {
                "CHANNELS_DATABASE_URL": channels_db,
                "CHANNELS_GRPC_PORT": "0",
                "REDIS_URL": redis_url,
                "LOG_LEVEL": "WARNING",
                "OAUTH_STATE_SECRET": "security-test-state-secret-0123456789",
                "PUBLIC_BASE_URL": "http://gateway.test",
                "SHOPIFY_CONNECTOR_ADDR": f"127.0.0.1:{shopify.port}",
                "WOOCOMMERCE_CONNECTOR_ADDR": f"127.0.0.1:{woo.port}",
            }
        )
    )
    gateway_db = f"sqlite:///{tmp_path / 'gateway.db'}"
    migrate("gateway", gateway_db)
    addr = f"127.0.0.1:{channels.port}"
    app = create_app(
        GatewaySettings(
            database_url=gateway_db,
            redis_url=redis_url,
            jwt_secret="security-test-" + "x" * 40,
            channels_addr=addr,
            backends={"channels": addr},
            webhook_rate_limit=RATE_LIMIT,
            webhook_max_body_bytes=MAX_BODY,
        )
    )
    app.config["TESTING"] = True
    shopify_id = _connect(
        channels,
        "tenant-victim",
        "shopify",
        {"api_base_url": f"https://{VICTIM_SHOP}", "shop_domain": VICTIM_SHOP},
        {"access_token": "shpat_victim"},
    )
    # The attacker's own, perfectly legitimate connection: the source of genuinely signed bodies.
    _connect(
        channels,
        "tenant-attacker",
        "shopify",
        {"api_base_url": f"https://{ATTACKER_SHOP}", "shop_domain": ATTACKER_SHOP},
        {"access_token": "shpat_attacker"},
    )
    woo_id = _connect(
        channels,
        "tenant-victim",
        "woocommerce",
        {"api_base_url": f"{WOO_STORE}/wp-json/wc/v3"},
        {"consumer_key": "ck_v", "consumer_secret": "cs_v", "webhook_secret": WOO_SECRET},
    )
    try:
        yield Stack(app.test_client(), channels, shopify_id, woo_id)
    finally:
        app.extensions["omnistock"].close()
        channels.stop()
        for connector in (shopify, woo):
            connector.stop()


# ------------------------------------------------------------------------------ Shopify bodies
def _now(offset: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + offset).isoformat()


def _order(updated_at: str | None = None) -> dict[str, Any]:
    return {
        "id": 820982911946154508,
        "name": "#1001",
        "currency": "USD",
        "financial_status": "paid",
        "updated_at": updated_at or _now(),
        "line_items": [{"id": 1, "sku": "TEE", "quantity": 3, "price": "10.00"}],
    }


def _shopify(
    stack: Stack,
    payload: Any,
    *,
    topic: str = "orders/create",
    shop: str | None = VICTIM_SHOP,
    triggered_at: str | None = None,
    secret: str = APP_SECRET,
    connection_id: str | None = None,
) -> Any:
    """POST a delivery signed with the app secret (what Shopify sends for ANY shop of the app)."""
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": base64.b64encode(
            hmac.new(secret.encode(), body, hashlib.sha256).digest()
        ).decode(),
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": triggered_at or _now(),
        "X-Shopify-API-Version": "2025-07",
    }
    if shop is not None:
        headers["X-Shopify-Shop-Domain"] = shop
    return stack.client.post(
        f"/api/v1/webhooks/shopify/{connection_id or stack.shopify_id}", data=body, headers=headers
    )


def _refused(response: Any) -> bool:
    return (
        response.status_code == 401
        and response.headers["Content-Type"].startswith("application/problem+json")
        and response.json["detail"] == "the webhook was rejected"
    )


def test_a_genuine_delivery_is_accepted_and_counts(stack: Stack) -> None:
    """The control: the same path with the right headers changes things, so "nothing changed" below
    means the guard held, not that the harness is inert."""
    before = stack.snapshot()
    accepted = _shopify(stack, _order())
    assert accepted.status_code == 200 and accepted.json["accepted"] is True
    assert stack.snapshot() != before and stack.count(models.channel_commitments) == 1


def test_signed_delivery_without_the_shop_header_is_401_and_changes_nothing(stack: Stack) -> None:
    before = stack.snapshot()
    assert _refused(_shopify(stack, _order(), shop=None))
    assert stack.snapshot() == before


def test_signed_delivery_for_another_shop_is_401_and_changes_nothing(stack: Stack) -> None:
    before = stack.snapshot()
    assert _refused(_shopify(stack, _order(), shop=ATTACKER_SHOP))
    assert stack.snapshot() == before


def test_attackers_genuine_uninstall_body_does_not_disconnect_the_victim(stack: Stack) -> None:
    """The attacker uninstalls the app from their own shop and replays the signed shop object to the
    victim's connection, claiming the victim's shop in the (unsigned) header."""
    before = stack.snapshot()
    attacker_shop = {
        "id": 548380009,
        "name": "Attacker",
        "domain": "attacker.example",
        "myshopify_domain": ATTACKER_SHOP,
    }
    assert _refused(_shopify(stack, attacker_shop, topic="app/uninstalled"))
    # An order body relabelled as app/uninstalled is not a shop object either.
    assert _refused(_shopify(stack, _order(), topic="app/uninstalled"))
    assert stack.status(stack.shopify_id) == "connected"
    assert stack.snapshot() == before
    # The real thing (the victim's own shop object) still disconnects, so the check is not blanket.
    victim_shop = {**attacker_shop, "myshopify_domain": VICTIM_SHOP}
    assert _shopify(stack, victim_shop, topic="app/uninstalled").status_code == 200
    assert stack.status(stack.shopify_id) == "disconnected"


def test_topic_the_connection_did_not_subscribe_to_is_refused(stack: Stack) -> None:
    before = stack.snapshot()
    assert _refused(_shopify(stack, _order(), topic="customers/create"))
    assert _refused(_shopify(stack, {"id": 5, "variants": []}, topic="collections/update"))
    assert stack.snapshot() == before


def test_stale_deliveries_are_refused(stack: Stack) -> None:
    before = stack.snapshot()
    six_hours_ago = _now(-timedelta(hours=6))
    assert _refused(_shopify(stack, _order(), triggered_at=six_hours_ago))
    # Triggered-At is unsigned: a fresh header does not launder an old (signed) order body.
    assert _refused(_shopify(stack, _order(updated_at=six_hours_ago)))
    assert stack.snapshot() == before


# ------------------------------------------------------------------------------ gateway guards
class _CountingStream(io.RawIOBase):
    """A request body that is never materialised: it records how much the server reads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b"x" * n
        self.read_bytes += n
        return n


def test_six_mib_body_is_413_without_being_read(stack: Stack) -> None:
    before = stack.snapshot()
    url = f"/api/v1/webhooks/shopify/{stack.shopify_id}"
    declared = _CountingStream(6 * 1024 * 1024)
    # The WSGI input is handed over as a server would, so nothing buffers it before the app.
    response = stack.client.post(
        url,
        content_type="application/json",
        environ_overrides={"wsgi.input": declared, "CONTENT_LENGTH": str(declared.size)},
    )
    assert response.status_code == 413 and response.headers["Content-Type"].startswith(
        "application/problem+json"
    )
    assert declared.read_bytes == 0
    # Chunked (no Content-Length): read in pieces and cut off just past the limit.
    chunked = _CountingStream(6 * 1024 * 1024)
    response = stack.client.post(
        url,
        content_type="application/json",
        environ_overrides={
            "wsgi.input": chunked,
            "wsgi.input_terminated": True,
            "HTTP_TRANSFER_ENCODING": "chunked",
        },
    )
    assert response.status_code == 413
    assert MAX_BODY < chunked.read_bytes <= MAX_BODY + 64 * 1024
    # Exactly at the limit passes the size check (and is then refused for its signature).
    at_limit = _CountingStream(MAX_BODY)
    response = stack.client.post(
        url,
        content_type="application/json",
        environ_overrides={
            "wsgi.input": at_limit,
            "wsgi.input_terminated": True,
            "HTTP_TRANSFER_ENCODING": "chunked",
        },
    )
    assert response.status_code == 401 and at_limit.read_bytes == MAX_BODY
    assert stack.snapshot() == before


def test_unknown_connection_and_bad_signature_answer_identically(stack: Stack) -> None:
    bad_signature = _shopify(stack, _order(), secret="not-the-app-secret")
    unknown = _shopify(stack, _order(), connection_id=str(uuid.uuid4()))
    wrong_type = stack.client.post(
        f"/api/v1/webhooks/woocommerce/{stack.shopify_id}",
        data=b"{}",
        headers={"Content-Type": "application/json"},
    )

    def answer(response: Any) -> tuple[Any, ...]:
        body = {k: v for k, v in response.json.items() if k not in ("instance", "request_id")}
        return (
            response.status_code,
            body,
            response.headers["Content-Type"],
            response.headers.get("WWW-Authenticate"),
        )

    assert answer(bad_signature) == answer(unknown) == answer(wrong_type)
    assert answer(unknown)[0] == 401


def test_per_connection_rate_limit_answers_429(stack: Stack) -> None:
    statuses = [_shopify(stack, _order(), secret="wrong").status_code for _ in range(RATE_LIMIT)]
    assert statuses == [401] * RATE_LIMIT
    limited = _shopify(stack, _order())
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.headers["Content-Type"].startswith("application/problem+json")
    # Per connection: another id is not affected.
    assert _shopify(stack, _order(), connection_id=str(uuid.uuid4())).status_code == 401


# ------------------------------------------------------------------------------ WooCommerce
def _woo(stack: Stack, payload: Any, *, topic: str = "order.created", source: str = WOO_STORE + "/") -> Any:
    body = json.dumps(payload).encode()
    resource, _, event = topic.partition(".")
    headers = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": source,
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": base64.b64encode(
            hmac.new(WOO_SECRET.encode(), body, hashlib.sha256).digest()
        ).decode(),
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
    }
    return stack.client.post(f"/api/v1/webhooks/woocommerce/{stack.woo_id}", data=body, headers=headers)


WOO_ORDER = {
    "id": 727,
    "status": "processing",
    "currency": "USD",
    "line_items": [{"id": 1, "sku": "MUG", "quantity": 1}],
}


def test_woocommerce_source_and_topic_are_checked(stack: Stack) -> None:
    before = stack.snapshot()
    assert _refused(_woo(stack, WOO_ORDER, source="https://attacker.example/"))
    assert _refused(_woo(stack, WOO_ORDER, source=""))
    assert _refused(_woo(stack, WOO_ORDER, topic="coupon.created"))
    assert _refused(_woo(stack, {"id": 727}, topic="order.created"))  # not an order's shape
    assert stack.snapshot() == before
    accepted = _woo(stack, WOO_ORDER)
    assert accepted.status_code == 200 and accepted.json["accepted"] is True
    assert stack.count(models.channel_commitments) == 1
