"""Fixtures: each sandbox served on 127.0.0.1:0 in-process, plus a webhook receiver that records raw bytes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote

import httpx
import pytest
from flask import Flask, Response, request
from werkzeug.datastructures import Headers

from channel_sandboxes.amazon import AmazonConfig
from channel_sandboxes.amazon import create_app as create_amazon
from channel_sandboxes.common import serve
from channel_sandboxes.ebay import EbayConfig
from channel_sandboxes.ebay import create_app as create_ebay
from channel_sandboxes.meta import MetaConfig
from channel_sandboxes.meta import create_app as create_meta
from channel_sandboxes.shopify import ShopifyConfig
from channel_sandboxes.shopify import create_app as create_shopify
from channel_sandboxes.tiktok import TikTokConfig
from channel_sandboxes.tiktok import create_app as create_tiktok
from channel_sandboxes.woocommerce import WooConfig
from channel_sandboxes.woocommerce import create_app as create_woo


@dataclass
class Received:
    path: str
    headers: Headers  # case-insensitive, as an HTTP receiver must treat them
    body: bytes


@dataclass
class Receiver:
    """Collects webhook deliveries exactly as they arrived (raw body, headers)."""

    url: str
    calls: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.calls)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = Flask("receiver")
    box: list[Receiver] = []

    @app.post("/hooks/<path:name>")
    def hook(name: str) -> Response:
        with box[0].lock:
            box[0].calls.append(Received(name, Headers(request.headers), request.get_data()))
        return Response("ok", 200)

    server, _thread = serve(app)
    box.append(Receiver(f"http://127.0.0.1:{server.server_port}/hooks"))
    yield box[0]
    server.shutdown()


def _client(app: Flask, auth: httpx.Auth | None = None) -> Iterator[httpx.Client]:
    server, _thread = serve(app)
    base_url = f"http://127.0.0.1:{server.server_port}"
    with httpx.Client(base_url=base_url, timeout=10, auth=auth) as client:
        yield client
    server.shutdown()


SHOPIFY_CONFIG = ShopifyConfig(client_id="test-client", client_secret="test-secret-hush")


@pytest.fixture
def shopify_config() -> ShopifyConfig:
    return SHOPIFY_CONFIG


@pytest.fixture
def shopify(shopify_config: ShopifyConfig) -> Iterator[httpx.Client]:
    yield from _client(create_shopify(shopify_config))


@pytest.fixture
def meta() -> Iterator[httpx.Client]:
    """The Meta sandbox (Graph API under /v25.0 and the control API)."""
    yield from _client(create_meta(MetaConfig()))


@pytest.fixture
def tiktok() -> Iterator[httpx.Client]:
    """The TikTok Shop sandbox with its default app (API calls are signed by the caller)."""
    yield from _client(create_tiktok(TikTokConfig()))


@pytest.fixture
def amazon() -> Iterator[httpx.Client]:
    """The Amazon SP-API sandbox (no auth on the client: tests send x-amz-access-token themselves)."""
    yield from _client(create_amazon(AmazonConfig(order_items_page=2)))


@pytest.fixture
def woo() -> Iterator[httpx.Client]:
    """The WooCommerce sandbox over plain http; every request is OAuth 1.0a-signed with its keys,
    the only way WooCommerce accepts keys over http (pass auth=None for an anonymous call)."""
    app = create_woo(WooConfig(consumer_key="ck_test", consumer_secret="cs_test"))
    yield from _client(app, SignedKeys())


@pytest.fixture
def ebay() -> Iterator[httpx.Client]:
    """The eBay sandbox; its RuName's accept URL is one nothing listens on: the tests read its redirects."""
    yield from _client(create_ebay(EbayConfig(accept_url="http://127.0.0.1:9/callback")))


class SignedKeys(httpx.Auth):
    """OAuth 1.0a one-legged signing as WooCommerce's docs describe it for plain HTTP ("Authentication
    over HTTP"), written here apart from the sandbox's checker so that the two can disagree."""

    def __init__(self, key: str = "ck_test", secret: str = "cs_test", method: str = "HMAC-SHA256") -> None:
        self.key, self.secret, self.method = key, secret, method

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        oauth = {
            "oauth_consumer_key": self.key,
            "oauth_nonce": secrets.token_hex(16),
            "oauth_signature_method": self.method,
            "oauth_timestamp": str(int(time.time())),
        }
        params = [*parse_qsl(request.url.query.decode(), keep_blank_values=True), *oauth.items()]
        encoded = sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in params)
        url = f"{request.url.scheme}://{request.url.netloc.decode()}{request.url.path}"
        base = "&".join(
            [request.method, quote(url, safe="~"), quote("&".join(f"{k}={v}" for k, v in encoded), safe="~")]
        )
        digest = hashlib.sha256 if self.method == "HMAC-SHA256" else hashlib.sha1
        mac = hmac.new(f"{self.secret}&".encode(), base.encode(), digest).digest()
        oauth["oauth_signature"] = base64.b64encode(mac).decode()
        request.url = request.url.copy_merge_params(oauth)
        yield request
