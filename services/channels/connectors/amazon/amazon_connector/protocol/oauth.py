"""LWA (Login with Amazon) for the SP-API website authorization workflow (CHANNELS.md 5.1):

- consent: `https://sellercentral.amazon.com/apps/authorize/consent?application_id&state
  [&redirect_uri][&version=beta]` (version=beta only while the app is a draft), then Amazon
  redirects with `spapi_oauth_code`, `selling_partner_id` and `state`
  (https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow);
- `POST https://api.amazon.com/auth/o2/token`, form-encoded: `grant_type=authorization_code`
  (code, redirect_uri, client_id, client_secret) or `grant_type=refresh_token` (refresh_token,
  client_id, client_secret) → {access_token, refresh_token, token_type, expires_in: 3600}. The
  refresh token is long-lived and not rotated; `invalid_grant` means re-authorize
  (clients/sellingpartner-api-aa-javascript/src/helper/LwaAuthClient.mjs in the models repo).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

# selling_partner_id is Amazon's merchant token (e.g. A3FHEXAMPLEYWS): upper-case letters/digits.
MAX_PARTNER_ID = 32
MAX_CODE = 512


def consent_url(base: str, *, application_id: str, state: str, redirect_uri: str, beta: bool) -> str:
    query = {"application_id": application_id, "state": state, "redirect_uri": redirect_uri}
    if beta:
        query["version"] = "beta"
    return f"{base}?{urlencode(query)}"


def callback_problem(params: Mapping[str, str]) -> str:
    """Why a consent callback cannot be exchanged ("" when it can). `state` was checked by channels."""
    code = params.get("spapi_oauth_code", "")
    partner = params.get("selling_partner_id", "")
    if not code or len(code) > MAX_CODE:
        return "the callback has no spapi_oauth_code"
    if not partner or len(partner) > MAX_PARTNER_ID or not partner.isalnum():
        return "the callback has no valid selling_partner_id"
    return ""


def code_exchange_form(client_id: str, client_secret: str, code: str, redirect_uri: str) -> dict[str, str]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    return form


def refresh_form(client_id: str, client_secret: str, refresh_token: str) -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
    }
