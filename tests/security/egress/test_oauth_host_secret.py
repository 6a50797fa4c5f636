"""Issue 12, item 1: the Shopify app's client secret only ever goes to the shop's own host
(https://{shop}.myshopify.com) or to a host the operator allows in CHANNEL_ALLOWED_HOSTS.

The attack: a tenant starts OAuth with its own server as `api_base_url` and a real shop; Shopify
signs the callback, every check passes, and the connector posts client_id + client_secret + code
to the tenant's server. Here the tenant's server is a recording HTTP server on 127.0.0.1, and the
connector runs with the real network path (egress guard included). The same goes for
RefreshCredentials, which any caller of the connector could point at its own base URL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import httpx
import pytest

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.egress import HOST_NOT_ALLOWED
from omnistock_common.errors import InvalidArgument
from omnistock_connector_kit.channel_http import InMemoryTokenBucket
from omnistock_connector_kit.composition import Seams
from omnistock_connector_kit.connector_base import HOST_NOT_ALLOWED_REASON
from shopify_connector import protocol as p
from shopify_connector.config import load_settings
from shopify_connector.server import make_servicer
from shopify_connector.servicer import ShopifyConnectorServicer

from .conftest import StubResolver

APP_SECRET = "app-secret-that-must-never-leave-" + "s" * 16
SHOP = "victim-shop.myshopify.com"


class _Recorder(BaseHTTPRequestHandler):
    """Plays a token endpoint and records every byte it is sent."""

    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Recorder.received.append((self.path, body))
        if self.path == p.TOKEN_PATH:
            answer = {"access_token": "shpat_recorded", "scope": "read_products"}
        else:
            answer = {"data": {"shop": {"name": "x", "myshopifyDomain": SHOP, "currencyCode": "EUR"}}}
        raw = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.received = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def servicer(allowed: str = "", **kwargs: object) -> ShopifyConnectorServicer:
    settings = load_settings(
        {"SHOPIFY_CLIENT_ID": "app-id", "SHOPIFY_CLIENT_SECRET": APP_SECRET, "CHANNEL_ALLOWED_HOSTS": allowed}
    )
    seams = Seams(
        limiter=InMemoryTokenBucket(1e6, 1e6), sleep=lambda s: None, resolver=StubResolver(), **kwargs
    )
    return make_servicer(settings, seams)


def callback() -> dict[str, str]:
    """A callback exactly as Shopify would sign it for the victim shop."""
    params = {"code": "real-code", "shop": SHOP, "state": "s", "timestamp": str(int(time.time()))}
    return {**params, "hmac": p.query_hmac(params, APP_SECRET)}


def exchange(service: ShopifyConnectorServicer, base_url: str) -> pb.ExchangeCodeResponse:
    settings = {"shop_domain": SHOP, **({"api_base_url": base_url} if base_url else {})}
    return service.ExchangeCode(
        pb.ExchangeCodeRequest(
            connection=pb.ConnectionContext(
                connection_id="c", tenant_id="t", channel_type="shopify", settings=settings
            ),
            callback_params=callback(),
            redirect_uri="http://gateway.test/api/v1/channels/oauth/callback",
        ),
        None,
    )


def refresh(service: ShopifyConnectorServicer, base_url: str) -> None:
    service.RefreshCredentials(
        pb.RefreshCredentialsRequest(
            connection=pb.ConnectionContext(
                connection_id="c",
                tenant_id="t",
                channel_type="shopify",
                settings={"shop_domain": SHOP, "api_base_url": base_url},
                credentials=pb.Credentials(secrets={"access_token": "a", "refresh_token": "r"}),
            )
        ),
        None,
    )


def _leaked() -> bool:
    return any(APP_SECRET.encode() in body or b"real-code" in body for _, body in _Recorder.received)


@pytest.mark.parametrize("operation", [exchange, refresh])
def test_the_secret_never_reaches_a_host_that_is_not_allowed(recorder: str, operation: object) -> None:
    for allowed in ("", "127.0.0.1:1", "localhost:*"):  # nothing, another port, another name
        with pytest.raises(InvalidArgument) as caught:
            operation(servicer(allowed), recorder)  # type: ignore[operator]
        assert (caught.value.message, caught.value.reason) == (HOST_NOT_ALLOWED, HOST_NOT_ALLOWED_REASON)
    assert _Recorder.received == [] and not _leaked()


def test_an_allowed_test_server_gets_the_exchange(recorder: str) -> None:
    # Proof that the recorder would have caught the secret: allowed, it arrives.
    reply = exchange(servicer("127.0.0.1:*"), recorder)
    assert reply.credentials.secrets["access_token"] == "shpat_recorded"
    (path, body), *_ = _Recorder.received
    assert path == p.TOKEN_PATH and parse_qs(body.decode())["client_secret"] == [APP_SECRET]


def test_without_a_base_url_the_secret_goes_to_the_shops_own_host() -> None:
    # No network at all: the transport records where the connector sends the form.
    seen: list[httpx.Request] = []

    def shopify(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == p.TOKEN_PATH:
            return httpx.Response(200, json={"access_token": "shpat_real", "scope": "read_products"})
        return httpx.Response(200, json={"data": {"shop": {"name": "Victim"}}})

    reply = exchange(servicer("", transport=lambda: httpx.MockTransport(shopify)), "")
    assert reply.credentials.secrets["access_token"] == "shpat_real"
    token_call = seen[0]
    assert str(token_call.url) == f"https://{SHOP}{p.TOKEN_PATH}"
    assert parse_qs(token_call.content.decode())["client_secret"] == [APP_SECRET]
    assert {r.url.host for r in seen} == {SHOP}


def test_the_derived_host_is_guarded_too(recorder: str) -> None:
    # The shop's own name "resolving" to a private address (stub DNS) is refused before any
    # connection; the shop domain pattern already keeps the name on myshopify.com.
    from .conftest import STUB_DNS

    STUB_DNS[SHOP] = ["10.20.30.40"]
    try:
        with pytest.raises(InvalidArgument) as caught:
            exchange(servicer(""), "")
    finally:
        del STUB_DNS[SHOP]
    assert caught.value.message == HOST_NOT_ALLOWED
    assert _Recorder.received == []
