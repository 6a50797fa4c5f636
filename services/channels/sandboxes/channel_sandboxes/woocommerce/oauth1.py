"""WooCommerce's key authentication over plain HTTP: OAuth 1.0a "one-legged", checked as the store
checks it.

A transcription of WC_REST_Authentication (woocommerce/woocommerce,
plugins/woocommerce/includes/class-wc-rest-authentication.php): `authenticate` tries HTTP Basic
(or consumer_key/consumer_secret in the query) only when `is_ssl()`; otherwise, and when Basic
found no key, `perform_oauth_authentication`:
- `get_oauth_parameters`: $_GET + $_POST + the `Authorization: OAuth ...` header's oauth_*
  values; none of the five (oauth_consumer_key, oauth_timestamp, oauth_nonce, oauth_signature,
  oauth_signature_method) means "not OAuth" (no error: the route's own permission check answers
  401); some but not all is 401 woocommerce_rest_authentication_missing_parameter.
- unknown key: "Consumer key is invalid.".
- `check_oauth_signature`: the URL is the store's home URL + the request path (the home path
  stripped from REQUEST_URI's path), with the scheme of the request; every parameter but the
  signature, sorted by raw key (strcmp), keys and values rawurlencoded, each `k=v` rawurlencoded
  again and joined with %26; HMAC-SHA1/SHA256 keyed by consumer_secret + "&", base64; anything
  else "Invalid signature - signature method is invalid."; a mismatch "Invalid signature -
  provided signature does not match.".
- `check_oauth_timestamp_and_nonce`: the timestamp within 15 minutes either way, else "Invalid
  timestamp."; a nonce already used with this key within the window, "Invalid nonce - nonce has
  already been used." (the used nonces are kept per key, keyed by their timestamp).
WooCommerce REST API docs, "Authentication over HTTP": woocommerce/woocommerce-rest-api-docs,
source/includes/wp-api-v3/_authentication.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

VALID_WINDOW_SECONDS = 15 * 60
REQUIRED = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
_ALGORITHMS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
# WC_REST_Authentication::parse_header's pattern (from the OAuth PHP library), verbatim.
_HEADER_PARAM = re.compile(r'(oauth_[a-z_-]*)=(:?"([^"]*)"|([^,]*))')


class OAuthRefused(Exception):
    """An OAuth attempt WooCommerce answers with a 401 `{code, message}`."""

    def __init__(self, message: str, code: str = "woocommerce_rest_authentication_error") -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _empty(value: str | None) -> bool:
    """PHP's empty() for a request string: missing, "" and "0"."""
    return value is None or value in ("", "0")


def rawurlencode(value: str) -> str:
    """wc_rest_urlencode_rfc3986: PHP's rawurlencode (RFC 3986 unreserved characters kept)."""
    return quote(value, safe="~")


def parse_header(header: str) -> dict[str, str]:
    """The oauth_* values of an `Authorization: OAuth k="v", ...` header (urldecoded)."""
    if not header.startswith("OAuth "):
        return {}
    params: dict[str, str] = {}
    for match in _HEADER_PARAM.finditer(header):
        quoted, bare = match.group(3), match.group(4)
        params[match.group(1)] = unquote_plus((bare or "") if _empty(quoted) else quoted)
    return params


def oauth_parameters(query: Mapping[str, str], form: Mapping[str, str], header: str) -> dict[str, str]:
    """The parameters WooCommerce signs, or {} when the request does not try OAuth at all."""
    params = {**query, **form, **parse_header(header.strip())}
    missing = [name for name in REQUIRED if _empty(params.get(name))]
    if len(missing) == len(REQUIRED):
        return {}
    if missing:
        noun = "parameter" if len(missing) == 1 else "parameters"
        raise OAuthRefused(
            f"Missing OAuth {noun} {', '.join(missing)}", "woocommerce_rest_authentication_missing_parameter"
        )
    return params


def signed_url(home_url: str, request_path: str, scheme: str) -> str:
    """get_home_url(null, $request_path, scheme), with the home path stripped from the request
    path first (a store installed in a sub-folder)."""
    home = urlsplit(home_url.rstrip("/"))
    wp_base = home.path.rstrip("/") + "/"
    path = request_path[len(wp_base) :] if request_path.startswith(wp_base) else request_path
    url = urlunsplit((scheme, home.netloc, home.path.rstrip("/"), "", ""))
    return f"{url}/{path.lstrip('/')}" if path else url


def expected_signature(method: str, url: str, params: Mapping[str, str], consumer_secret: str) -> str:
    """The signature WooCommerce computes for these parameters (oauth_signature excluded)."""
    ordered = sorted(
        ((key, value) for key, value in params.items() if key != "oauth_signature"),
        key=lambda item: item[0].encode(),
    )
    joined = "%26".join(rawurlencode(f"{rawurlencode(k)}={rawurlencode(v)}") for k, v in ordered)
    string_to_sign = f"{method.upper()}&{rawurlencode(url)}&{joined}"
    algorithm = _ALGORITHMS.get(params.get("oauth_signature_method", ""))
    if algorithm is None:
        raise OAuthRefused("Invalid signature - signature method is invalid.")
    key = f"{consumer_secret}&".encode()
    return base64.b64encode(hmac.new(key, string_to_sign.encode(), algorithm).digest()).decode()


@dataclass
class NonceLedger:
    """The nonces each key used in the last 15 minutes (WooCommerce stores them on the key row)."""

    clock: Callable[[], float] = time.time
    used: dict[str, dict[int, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check_and_record(self, consumer_key: str, timestamp: str, nonce: str) -> None:
        now = int(self.clock())
        try:
            moment = int(timestamp)
        except ValueError:
            raise OAuthRefused("Invalid timestamp.") from None
        if moment < now - VALID_WINDOW_SECONDS or moment > now + VALID_WINDOW_SECONDS:
            raise OAuthRefused("Invalid timestamp.")
        with self.lock:
            used = self.used.setdefault(consumer_key, {})
            if nonce in used.values():
                raise OAuthRefused("Invalid nonce - nonce has already been used.")
            used[moment] = nonce
            for stamp in [s for s in used if s < now - VALID_WINDOW_SECONDS]:
                del used[stamp]

    def reset(self) -> None:
        with self.lock:
            self.used.clear()


def verify(
    *,
    method: str,
    home_url: str,
    request_path: str,
    scheme: str,
    params: Mapping[str, str],
    consumer_key: str,
    consumer_secret: str,
    nonces: NonceLedger,
) -> None:
    """perform_oauth_authentication for the sandbox's one key pair: returns when the request is
    authenticated, raises OAuthRefused with WooCommerce's message otherwise."""
    if not hmac.compare_digest(params["oauth_consumer_key"], consumer_key):
        raise OAuthRefused("Consumer key is invalid.")
    provided = unquote(params["oauth_signature"].replace(" ", "+"))
    url = signed_url(home_url, request_path, scheme)
    if not hmac.compare_digest(expected_signature(method, url, params, consumer_secret), provided):
        raise OAuthRefused("Invalid signature - provided signature does not match.")
    nonces.check_and_record(consumer_key, params["oauth_timestamp"], params["oauth_nonce"])
