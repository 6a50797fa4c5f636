"""OAuth 1.0a "one-legged" request signing, which WooCommerce requires over plain HTTP.

WooCommerce REST API docs, "Authentication over HTTP"
(https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication-over-http, source
woocommerce/woocommerce-rest-api-docs source/includes/wp-api-v3/_authentication.md): HTTP Basic
auth is accepted over HTTPS only; over HTTP the consumer key is sent with `oauth_consumer_key`,
`oauth_timestamp` (unix seconds, within 15 minutes of the store's clock), `oauth_nonce` (32
characters recommended, unique per key for 15 minutes), `oauth_signature_method` (HMAC-SHA1 or
HMAC-SHA256, "the only accepted hash algorithms") and `oauth_signature`; `oauth_version` "is not
required and should be omitted". The signature base string is the uppercase method, `&`, the
percent-encoded request URL (no query string), `&`, the percent-encoded parameter string: every
query parameter and oauth_* parameter except the signature, each key and value percent-encoded
(RFC 3986), sorted by encoded key, joined `key=value` with `&`. The HMAC key is the consumer
secret followed by `&`; the signature is its base64 digest. The request body is not signed.
The server side is WC_REST_Authentication::check_oauth_signature (woocommerce/woocommerce,
plugins/woocommerce/includes/class-wc-rest-authentication.php), which rebuilds the URL from the
store's home URL: sign with the URL the store calls itself by (the docs' "use the store URL
provided by the index").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

SIGNATURE_METHODS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
DEFAULT_SIGNATURE_METHOD = "HMAC-SHA256"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding (PHP's rawurlencode): everything but A-Z a-z 0-9 - . _ ~."""
    return quote(value, safe="~")


def base_string_url(url: str) -> str:
    """The request URL as it is signed: lowercase scheme and host, no default port, the path as
    sent (percent-escapes kept), no query or fragment."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{parts.port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def signature_base_string(method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """METHOD & encoded URL & encoded `k=v&...` (keys and values encoded, sorted by encoded key)."""
    encoded = sorted((percent_encode(key), percent_encode(value)) for key, value in params)
    joined = "&".join(f"{key}={value}" for key, value in encoded)
    return "&".join((method.upper(), percent_encode(base_string_url(url)), percent_encode(joined)))


def signature(base_string: str, consumer_secret: str, method: str = DEFAULT_SIGNATURE_METHOD) -> str:
    """base64(HMAC(consumer_secret + "&", base_string)): no token, so nothing after the '&'."""
    digest = SIGNATURE_METHODS[method]
    key = f"{consumer_secret}&".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), digest).digest()).decode()


def signed_parameters(
    method: str,
    url: str,
    query: Iterable[tuple[str, str]],
    *,
    consumer_key: str,
    consumer_secret: str,
    nonce: str,
    timestamp: int,
    signature_method: str = DEFAULT_SIGNATURE_METHOD,
) -> list[tuple[str, str]]:
    """The oauth_* query parameters (signature last) to add to a request for `url` + `query`."""
    if signature_method not in SIGNATURE_METHODS:
        raise ValueError(f"WooCommerce accepts only {', '.join(SIGNATURE_METHODS)}")
    oauth = [
        ("oauth_consumer_key", consumer_key),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", signature_method),
        ("oauth_timestamp", str(timestamp)),
    ]
    base = signature_base_string(method, url, [*query, *oauth])
    return [*oauth, ("oauth_signature", signature(base, consumer_secret, signature_method))]
