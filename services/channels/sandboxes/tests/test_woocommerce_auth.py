"""WooCommerce key authentication as the store does it: Basic/query keys over HTTPS only, OAuth 1.0a
one-legged over HTTP (WC_REST_Authentication), checked against known signature vectors.

The vectors were computed with oauthlib 3.2.2 (`oauthlib.oauth1.rfc5849.signature`:
normalize_parameters, signature_base_string, sign_hmac_sha256/sign_hmac_sha1 with an empty token
secret, i.e. the key "<consumer_secret>&"), an implementation independent of this project's; the
base string of the docs' own example is WooCommerce's ("Authentication over HTTP").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import httpx
import pytest
from flask import Flask

from channel_sandboxes.common import serve
from channel_sandboxes.woocommerce import WooConfig
from channel_sandboxes.woocommerce import create_app as create_woo
from channel_sandboxes.woocommerce.oauth1 import (
    OAuthRefused,
    expected_signature,
    oauth_parameters,
    parse_header,
    signed_url,
)

API = "/wp-json/wc/v3"
KEY = "ck_" + "0" * 32 + "5a4db0c5"
SECRET = "cs_" + "0" * 32 + "5ec0e7c5"
NONCE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
TIMESTAMP = 1700000000
VECTOR_HOME = "http://127.0.0.1:8702"
VECTOR_QUERY = {"per_page": "1", "_fields": "id"}
SIGNATURES = {
    "HMAC-SHA256": "UmQZ5szpLmyBf0CsZp/quqy2C6CxHCaPUSTb3eNvC9s=",
    "HMAC-SHA1": "O1lu2TwMvVKEVIbh7fG3eKnJbMg=",
}
# POST to a store in a sub-folder, values with every character class the encoding treats apart.
SPECIAL_URL = "http://example.com/shop/wp-json/wc/v3/orders/12/notes"
SPECIAL_QUERY = {"search": "a b+c~d%e/f:g", "modified_after": "2024-05-01T10:00:00", "sku": "ÄÖ"}
SPECIAL_SIGNATURE = "dvtEGvjaAcbsVxrc40sSPYaZm5v248wp4h21Gp7SgrA="


def oauth(method: str = "HMAC-SHA256", **extra: str) -> dict[str, str]:
    return {
        "oauth_consumer_key": KEY,
        "oauth_nonce": NONCE,
        "oauth_signature_method": method,
        "oauth_timestamp": str(TIMESTAMP),
        **extra,
    }


@pytest.mark.parametrize("method", sorted(SIGNATURES))
def test_the_signature_of_a_known_vector(method: str) -> None:
    url = signed_url(VECTOR_HOME, f"{API}/products", "http")
    assert url == f"{VECTOR_HOME}{API}/products"
    assert expected_signature("GET", url, {**VECTOR_QUERY, **oauth(method)}, SECRET) == SIGNATURES[method]


def test_percent_encoding_sorting_and_a_sub_folder_store() -> None:
    url = signed_url("http://example.com/shop", "/shop/wp-json/wc/v3/orders/12/notes", "http")
    assert url == SPECIAL_URL
    params = {**SPECIAL_QUERY, **oauth(), "oauth_signature": "ignored"}
    assert expected_signature("post", url, params, SECRET) == SPECIAL_SIGNATURE


def test_the_docs_example_base_string() -> None:
    """The string WooCommerce's docs sign for GET /wp-json/wc/v3/orders with two parameters."""
    params = {"oauth_consumer_key": "abc123", "oauth_signature_method": "HMAC-SHA1"}
    docs = (
        "GET&http%3A%2F%2Fwww.example.com%2Fwp-json%2Fwc%2Fv3%2Forders"
        "&oauth_consumer_key%3Dabc123%26oauth_signature_method%3DHMAC-SHA1"
    )
    mac = hmac.new(b"secret&", docs.encode(), hashlib.sha1).digest()
    url = signed_url("http://www.example.com", "/wp-json/wc/v3/orders", "http")
    assert expected_signature("GET", url, params, "secret") == base64.b64encode(mac).decode()


def test_parameters_come_from_the_query_the_form_and_the_oauth_header() -> None:
    header = 'OAuth oauth_consumer_key="ck%5Fa", oauth_nonce="n1", oauth_signature="s%2B1"'
    assert parse_header(header) == {
        "oauth_consumer_key": "ck_a",
        "oauth_nonce": "n1",
        "oauth_signature": "s+1",
    }
    assert parse_header("Basic Y2s6Y3M=") == {}
    assert oauth_parameters({"per_page": "1"}, {}, "Basic Y2s6Y3M=") == {}
    merged = oauth_parameters(
        {"oauth_timestamp": "1", "oauth_signature_method": "HMAC-SHA1"}, {"status": "x"}, header
    )
    assert merged["oauth_consumer_key"] == "ck_a" and merged["status"] == "x"
    with pytest.raises(OAuthRefused) as caught:
        oauth_parameters({"oauth_consumer_key": KEY, "oauth_nonce": "0"}, {}, "")
    assert caught.value.code == "woocommerce_rest_authentication_missing_parameter"
    assert caught.value.message == (
        "Missing OAuth parameters oauth_timestamp, oauth_nonce, oauth_signature, oauth_signature_method"
    )


# ---------------------------------------------------------------------- over HTTP
def _serve(app: Flask) -> Iterator[httpx.Client]:
    server, _thread = serve(app)
    with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=10) as client:
        yield client
    server.shutdown()


@pytest.fixture
def store() -> Iterator[tuple[httpx.Client, Flask]]:
    """A store whose home URL is the vectors' (WordPress signs with its home URL, not the Host the
    request came in on), its clock at the vectors' timestamp."""
    app = create_woo(WooConfig(consumer_key=KEY, consumer_secret=SECRET, store_url=VECTOR_HOME))
    app.extensions["sandbox"].nonces.clock = lambda: TIMESTAMP + 60
    for client in _serve(app):
        yield client, app


def _get(client: httpx.Client, params: dict[str, str], **kwargs: object) -> httpx.Response:
    return client.get(f"{API}/products?{urlencode(params)}", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", sorted(SIGNATURES))
def test_a_known_signature_is_accepted_once(store: tuple[httpx.Client, Flask], method: str) -> None:
    client, _app = store
    signed = {**VECTOR_QUERY, **oauth(method), "oauth_signature": SIGNATURES[method]}
    assert _get(client, signed).status_code == 200
    replay = _get(client, signed)
    assert replay.status_code == 401
    assert replay.json()["message"] == "Invalid nonce - nonce has already been used."


def test_the_signature_may_come_in_the_authorization_header(store: tuple[httpx.Client, Flask]) -> None:
    client, _app = store
    values = {**oauth(), "oauth_signature": SIGNATURES["HMAC-SHA256"]}
    header = "OAuth " + ", ".join(f'{k}="{quote(v, safe="")}"' for k, v in values.items())
    assert _get(client, VECTOR_QUERY, headers={"Authorization": header}).status_code == 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"oauth_signature": SIGNATURES["HMAC-SHA1"]},
            "Invalid signature - provided signature does not match.",
        ),
        ({"per_page": "2"}, "Invalid signature - provided signature does not match."),
        ({"oauth_consumer_key": "ck_other"}, "Consumer key is invalid."),
        ({"oauth_signature_method": "PLAINTEXT"}, "Invalid signature - signature method is invalid."),
        ({"oauth_signature_method": "HMAC-SHA512"}, "Invalid signature - signature method is invalid."),
    ],
)
def test_a_wrong_signature_is_refused_with_woocommerces_message(
    store: tuple[httpx.Client, Flask], change: dict[str, str], message: str
) -> None:
    client, _app = store
    response = _get(
        client, {**VECTOR_QUERY, **oauth(), "oauth_signature": SIGNATURES["HMAC-SHA256"], **change}
    )
    assert response.status_code == 401
    assert response.json() == {
        "code": "woocommerce_rest_authentication_error",
        "message": message,
        "data": {"status": 401},
    }


@pytest.mark.parametrize("skew", [15 * 60 + 1, -(15 * 60 + 1)])
def test_a_timestamp_outside_fifteen_minutes_is_refused(store: tuple[httpx.Client, Flask], skew: int) -> None:
    """The store's clock `skew` seconds away from the request's timestamp."""
    client, app = store
    app.extensions["sandbox"].nonces.clock = lambda: TIMESTAMP + skew
    response = _get(client, {**VECTOR_QUERY, **oauth(), "oauth_signature": SIGNATURES["HMAC-SHA256"]})
    assert (response.status_code, response.json()["message"]) == (401, "Invalid timestamp.")


def test_a_partial_oauth_attempt_names_what_is_missing(store: tuple[httpx.Client, Flask]) -> None:
    client, _app = store
    partial = {k: v for k, v in oauth().items() if k != "oauth_nonce"}
    response = _get(client, {**partial, "oauth_signature": SIGNATURES["HMAC-SHA256"]})
    assert response.status_code == 401
    assert response.json()["code"] == "woocommerce_rest_authentication_missing_parameter"
    assert response.json()["message"] == "Missing OAuth parameter oauth_nonce"


def test_basic_auth_and_query_keys_are_refused_over_http(store: tuple[httpx.Client, Flask]) -> None:
    """Over plain http WooCommerce never looks at Basic or query keys: the route answers as it does
    for a caller without credentials."""
    client, _app = store
    refused = {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }
    basic = client.get(f"{API}/products", auth=(KEY, SECRET))
    query = _get(client, {"consumer_key": KEY, "consumer_secret": SECRET})
    anonymous = client.get(f"{API}/products")
    for response in (basic, query, anonymous):
        assert (response.status_code, response.json()) == (401, refused)
    edit = client.put(f"{API}/products/100", json={}, auth=(KEY, SECRET)).json()
    assert edit["code"] == "woocommerce_rest_cannot_edit"
    assert client.get("/_sandbox/calls").json()["unauthorized"] == 4


# ---------------------------------------------------------------------- over HTTPS
def test_basic_auth_and_query_keys_over_https() -> None:
    app = create_woo(WooConfig(consumer_key="ck_test", consumer_secret="cs_test"))
    client = app.test_client()
    https = {"base_url": "https://shop.test"}
    basic = {"Authorization": "Basic " + base64.b64encode(b"ck_test:cs_test").decode()}
    assert client.get(f"{API}/system_status", headers=basic, **https).status_code == 200
    query = client.get(f"{API}/system_status?consumer_key=ck_test&consumer_secret=cs_test", **https)
    assert query.status_code == 200 and query.json["security"]["secure_connection"] is True
    wrong_secret = {"Authorization": "Basic " + base64.b64encode(b"ck_test:cs_wrong").decode()}
    refused = client.get(f"{API}/products", headers=wrong_secret, **https)
    assert (refused.status_code, refused.json["message"]) == (401, "Consumer secret is invalid.")
    unknown = {"Authorization": "Basic " + base64.b64encode(b"ck_wrong:cs_test").decode()}
    assert (
        client.get(f"{API}/products", headers=unknown, **https).json["code"] == "woocommerce_rest_cannot_view"
    )


# ---------------------------------------------------------------------- a store in a sub-folder
def test_a_store_in_a_sub_folder_answers_under_it_and_signs_with_it() -> None:
    app = create_woo(WooConfig(consumer_key=KEY, consumer_secret=SECRET, home_path="/shop"))
    for client in _serve(app):
        port = client.base_url.port
        config = client.get("/_sandbox/config").json()
        assert config["store_url"] == f"http://127.0.0.1:{port}/shop"
        assert config["api_base"] == f"http://127.0.0.1:{port}/shop{API}"
        assert client.get("/wp-json/").status_code == 404
        assert client.get("/shop/wp-json/").json()["url"] == f"http://127.0.0.1:{port}/shop"
        app.extensions["sandbox"].nonces.clock = lambda: TIMESTAMP
        # Signed with the checker's own function (its vectors are above): what matters here is
        # which URL is signed, the store's home URL with its sub-folder.
        url = f"http://127.0.0.1:{port}/shop{API}/products"
        params = {**VECTOR_QUERY, **oauth()}
        params["oauth_signature"] = expected_signature("GET", url, params, SECRET)
        assert client.get(f"/shop{API}/products", params=params).status_code == 200
        wrong_home = {**params, "oauth_nonce": "another"}
        wrong_home["oauth_signature"] = expected_signature(
            "GET", f"http://127.0.0.1:{port}{API}/products", wrong_home, SECRET
        )
        refused = client.get(f"/shop{API}/products", params=wrong_home)
        assert refused.json()["message"] == "Invalid signature - provided signature does not match."
