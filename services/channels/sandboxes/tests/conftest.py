"""Fixtures: each sandbox served on 127.0.0.1:0 in-process, plus a webhook receiver that records raw bytes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from flask import Flask, Response, request
from werkzeug.datastructures import Headers

from channel_sandboxes.common import serve
from channel_sandboxes.shopify import ShopifyConfig
from channel_sandboxes.shopify import create_app as create_shopify
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


def _client(app: Flask) -> Iterator[httpx.Client]:
    server, _thread = serve(app)
    with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=10) as client:
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
def woo() -> Iterator[httpx.Client]:
    yield from _client(create_woo(WooConfig(consumer_key="ck_test", consumer_secret="cs_test")))
