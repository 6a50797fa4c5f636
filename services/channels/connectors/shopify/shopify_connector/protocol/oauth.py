"""Shopify OAuth: callback HMAC check, authorization URL, token exchange/refresh forms and answers."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from omnistock_connector_kit import oauth
from omnistock_connector_kit.oauth import TokenGrant
from shopify_connector.protocol.api import AUTHORIZE_PATH, CALLBACK_MAX_AGE_SECONDS, SHOP_DOMAIN_RE


def query_hmac(params: Mapping[str, Any], secret: str) -> str:
    """Shopify's HMAC over OAuth/install query parameters (CHANNELS.md 1.2, official algorithm)."""
    pairs = []
    for key, value in params.items():
        if key in ("hmac", "signature"):
            continue
        if key.endswith("[]"):
            values = value if isinstance(value, list | tuple) else [value]
            key, value = key[:-2], json.dumps([str(v) for v in values])
        k = str(key).replace("%", "%25").replace("=", "%3D")
        v = str(value).replace("%", "%25")
        pairs.append(f"{k}={v}".replace("&", "%26"))
    message = "&".join(sorted(pairs))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_query_hmac(params: Mapping[str, Any], secrets: Sequence[str]) -> bool:
    """Constant-time check of params["hmac"] against any of `secrets` (current, previous)."""
    received = str(params.get("hmac", ""))
    if not received:
        return False
    return any(
        hmac.compare_digest(query_hmac(params, secret).encode(), received.lower().encode())
        for secret in secrets
        if secret
    )


def callback_problem(
    params: Mapping[str, str], secrets: Sequence[str], *, expected_shop: str = "", now: float | None = None
) -> str | None:
    """Why an OAuth callback must be refused, or None when it is genuine (HMAC, shop, age, code)."""
    if not verify_query_hmac(params, secrets):
        return "the callback's hmac does not verify"
    shop = params.get("shop", "")
    if not SHOP_DOMAIN_RE.match(shop):
        return "the callback's shop is not a valid *.myshopify.com domain"
    if expected_shop and shop.lower() != expected_shop.lower():
        return "the callback's shop is not the connection's shop"
    if not params.get("code"):
        return "the callback has no code"
    timestamp = params.get("timestamp", "")
    if timestamp:
        try:
            age = (time.time() if now is None else now) - int(timestamp)
        except ValueError:
            return "the callback's timestamp is not a number"
        if age > CALLBACK_MAX_AGE_SECONDS:
            return "the callback is older than 24 hours"
    return None


def authorization_url(base_url: str, *, client_id: str, scopes: str, redirect_uri: str, state: str) -> str:
    """The consent page: https://{shop}/admin/oauth/authorize (base_url is the shop or sandbox)."""
    query = urlencode({"client_id": client_id, "scope": scopes, "redirect_uri": redirect_uri, "state": state})
    return f"{base_url.rstrip('/')}{AUTHORIZE_PATH}?{query}"


def token_exchange_form(client_id: str, client_secret: str, code: str) -> dict[str, str]:
    # expiring=1 asks for an expiring offline token (expires_in + rotating refresh_token).
    return {"client_id": client_id, "client_secret": client_secret, "code": code, "expiring": "1"}


def token_refresh_form(client_id: str, client_secret: str, refresh_token: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }


def parse_token_response(body: Mapping[str, Any]) -> TokenGrant:
    """The token endpoint's JSON (Shopify separates scopes with commas); raises ValueError when
    there is no access token."""
    return oauth.parse_token_response(body, scope_separator=",")
