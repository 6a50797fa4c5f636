"""eBay OAuth (authorization code grant) pieces: consent URL, token forms, Basic auth.

Sources: CHANNELS.md 6.1; https://developer.ebay.com/api-docs/static/oauth-consent-request.html;
https://developer.ebay.com/api-docs/static/oauth-auth-code-grant-request.html;
https://developer.ebay.com/api-docs/static/oauth-refresh-token-request.html; eBay's official
client eBay/ebay-oauth-python-client (oauthclient/oauth2api.py): Basic base64(client_id:secret),
the RuName as redirect_uri, a refresh answer without a new refresh token.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import datetime
from urllib.parse import quote, unquote, urlencode

from ebay_connector.protocol.api import APPLICATION_SCOPE
from omnistock_connector_kit.oauth import TokenGrant as TokenGrant
from omnistock_connector_kit.oauth import is_invalid_grant as is_invalid_grant
from omnistock_connector_kit.oauth import parse_token_response as parse_token_response

# Warn on the connection's health when the refresh token (about 18 months) has less left.
REFRESH_WARNING_DAYS = 30


def scope_list(scopes: str | Iterable[str]) -> list[str]:
    """Scopes from a space- or comma-separated setting, or a list."""
    items = scopes.replace(",", " ").split() if isinstance(scopes, str) else list(scopes)
    return [s.strip() for s in items if s.strip()]


def authorization_url(
    auth_base: str, *, client_id: str, ru_name: str, scopes: Iterable[str], state: str
) -> str:
    """The consent page: redirect_uri is the app's RuName (eBay maps it to the accept URL set in
    the developer portal), scopes space-separated and URL-encoded."""
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": ru_name,
            "response_type": "code",
            "scope": " ".join(scopes),
            "state": state,
        },
        quote_via=quote,  # spaces as %20, as eBay's consent examples show
    )
    return f"{auth_base.rstrip('/')}/oauth2/authorize?{query}"


def basic_auth(client_id: str, client_secret: str) -> str:
    raw = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def callback_code(params: Mapping[str, str]) -> str:
    """The authorization code of the callback: eBay sends it URL-encoded, decode it once. (A
    framework that already decoded the query leaves no % escapes, and unquote is then a no-op
    for eBay's code alphabet, which holds no '%'.)"""
    return unquote(params.get("code", "").strip())


def code_exchange_form(code: str, ru_name: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": ru_name}


def refresh_form(refresh_token: str, scopes: Iterable[str]) -> dict[str, str]:
    """grant_type=refresh_token with the granted scopes (or a subset); eBay answers a new
    access token only, the refresh token stays the same."""
    return {"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": " ".join(scopes)}


def client_credentials_form() -> dict[str, str]:
    """An application token (getPublicKey needs one; CHANNELS.md 6.4)."""
    return {"grant_type": "client_credentials", "scope": APPLICATION_SCOPE}


def refresh_days_left(expires_at: datetime | None, now: datetime) -> int | None:
    """Whole days until the refresh token ends (None when unknown)."""
    if expires_at is None:
        return None
    return max(0, int((expires_at - now).total_seconds() // 86400))
