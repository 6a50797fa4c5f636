"""OAuth 1.0a one-legged signing over plain HTTP, against known vectors.

The expected signatures were computed with oauthlib 3.2.2 (`oauthlib.oauth1.rfc5849.signature`:
normalize_parameters, signature_base_string, sign_hmac_sha256 / sign_hmac_sha1 with an empty
token secret, i.e. the key "<consumer_secret>&"), an implementation independent of this one; the
base string of the docs' example is WooCommerce's own ("Authentication over HTTP").
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.egress import AllowList, EgressPolicy
from omnistock_connector_kit.channel_http import InMemoryTokenBucket, RetryPolicy
from omnistock_connector_kit.clients import ChannelHttpFactory
from woocommerce_connector.client import ClientFactory, OAuth1Signing
from woocommerce_connector.protocol import oauth1

KEY = "ck_" + "0" * 32 + "5a4db0c5"
SECRET = "cs_" + "0" * 32 + "5ec0e7c5"
NONCE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
TIMESTAMP = 1700000000
PRODUCTS = "http://127.0.0.1:8702/wp-json/wc/v3/products"
SIGNATURES = {
    "HMAC-SHA256": "UmQZ5szpLmyBf0CsZp/quqy2C6CxHCaPUSTb3eNvC9s=",
    "HMAC-SHA1": "O1lu2TwMvVKEVIbh7fG3eKnJbMg=",
}


@pytest.mark.parametrize("method", sorted(SIGNATURES))
def test_known_vectors(method: str) -> None:
    added = oauth1.signed_parameters(
        "GET",
        PRODUCTS,
        [("per_page", "1"), ("_fields", "id")],
        consumer_key=KEY,
        consumer_secret=SECRET,
        nonce=NONCE,
        timestamp=TIMESTAMP,
        signature_method=method,
    )
    assert added == [
        ("oauth_consumer_key", KEY),
        ("oauth_nonce", NONCE),
        ("oauth_signature_method", method),
        ("oauth_timestamp", str(TIMESTAMP)),
        ("oauth_signature", SIGNATURES[method]),
    ]


def test_encoding_sorting_and_url_normalisation_vector() -> None:
    """Spaces, '+', '~', '%', '/', ':' and non-ASCII in values; an explicit default port and an
    upper-case host in the URL; a store in a sub-folder."""
    query = [("search", "a b+c~d%e/f:g"), ("modified_after", "2024-05-01T10:00:00"), ("sku", "ÄÖ")]
    added = oauth1.signed_parameters(
        "POST",
        "http://Example.COM:80/shop/wp-json/wc/v3/orders/12/notes",
        query,
        consumer_key=KEY,
        consumer_secret=SECRET,
        nonce=NONCE,
        timestamp=TIMESTAMP,
    )
    assert dict(added)["oauth_signature"] == "dvtEGvjaAcbsVxrc40sSPYaZm5v248wp4h21Gp7SgrA="


def test_the_docs_example_base_string() -> None:
    params = [("oauth_consumer_key", "abc123"), ("oauth_signature_method", "HMAC-SHA1")]
    assert oauth1.signature_base_string("get", "http://www.example.com/wp-json/wc/v3/orders", params) == (
        "GET&http%3A%2F%2Fwww.example.com%2Fwp-json%2Fwc%2Fv3%2Forders"
        "&oauth_consumer_key%3Dabc123%26oauth_signature_method%3DHMAC-SHA1"
    )


def test_only_the_methods_woocommerce_accepts() -> None:
    with pytest.raises(ValueError, match="HMAC-SHA1, HMAC-SHA256"):
        oauth1.signed_parameters(
            "GET",
            PRODUCTS,
            [],
            consumer_key=KEY,
            consumer_secret=SECRET,
            nonce=NONCE,
            timestamp=1,
            signature_method="PLAINTEXT",
        )


def test_the_httpx_auth_signs_the_query_it_sends() -> None:
    auth = OAuth1Signing(KEY, SECRET, clock=lambda: TIMESTAMP, nonce=lambda: NONCE)
    request = httpx.Request("GET", PRODUCTS, params={"per_page": "1", "_fields": "id"})
    signed = next(auth.auth_flow(request))
    sent = dict(parse_qsl(signed.url.query.decode()))
    assert sent["oauth_signature"] == SIGNATURES["HMAC-SHA256"]
    assert sent["per_page"] == "1" and sent["oauth_consumer_key"] == KEY
    assert "authorization" not in signed.headers


# ---- which auth a connection gets ---------------------------------------------------------
def _sent_by(settings: dict[str, str]) -> list[httpx.Request]:
    """The requests of one listing call: the first answered 503, so the second is its retry."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) == 1 else 200, json=[])

    factory = ClientFactory(
        ChannelHttpFactory(
            limiter=InMemoryTokenBucket(100, 100),
            retry=RetryPolicy(max_attempts=2, base_delay=0.0),
            sleep=lambda _s: None,
            transport=lambda: httpx.MockTransport(handler),
            egress=EgressPolicy(allowed=AllowList.parse("127.0.0.1:*")),
        )
    )
    ctx = pb.ConnectionContext(
        connection_id="c1",
        tenant_id="t1",
        channel_type="woocommerce",
        settings=settings,
        credentials=pb.Credentials(secrets={"consumer_key": KEY, "consumer_secret": SECRET}),
    )
    with factory.open(ctx) as client:
        client.list_products("", 10)
    assert len(seen) == 2
    return seen


def test_a_plain_http_store_gets_signed_requests_and_no_basic_auth() -> None:
    first, sent = _sent_by({"store_url": "https://example.com/shop", "api_base_url": "http://127.0.0.1:8702"})
    assert str(sent.url).startswith("http://127.0.0.1:8702/shop/wp-json/wc/v3/products?")
    query = dict(parse_qsl(sent.url.query.decode()))
    assert query["oauth_consumer_key"] == KEY and query["oauth_signature_method"] == "HMAC-SHA256"
    assert "authorization" not in sent.headers and "consumer_secret" not in query
    # The retry is signed afresh: WooCommerce refuses a nonce it has seen.
    assert dict(parse_qsl(first.url.query.decode()))["oauth_nonce"] != query["oauth_nonce"]


def test_an_https_store_gets_basic_auth() -> None:
    _first, sent = _sent_by({"store_url": "https://127.0.0.1:8443"})
    assert sent.headers["authorization"] == httpx.BasicAuth(KEY, SECRET)._auth_header
    assert "oauth_signature" not in sent.url.query.decode()
