"""eBay's OAuth: the consent page (auto-approved) and the token endpoint (never faulted).

Consent: GET /oauth2/authorize?client_id&redirect_uri=<RuName>&response_type=code&scope&state →
302 to the accept URL registered for that RuName with `state`, `code` (URL-encoded) and
`expires_in`. Like eBay, a redirect_uri that is a URL rather than a known RuName is refused; the
RuName → accept URL mapping is the developer portal's, here EbayConfig.accept_url or
POST /_sandbox/runame.

Token: POST /identity/v1/oauth2/token with Basic base64(client_id:client_secret);
authorization_code (code + redirect_uri=RuName) → user token 7200 s + refresh token ~18 months;
refresh_token (+ scope ⊆ granted) → a new access token only (eBay does not rotate it);
client_credentials → an application token. Sources: CHANNELS.md 6.1,
https://developer.ebay.com/api-docs/static/oauth-refresh-token-request.html.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import timedelta
from urllib.parse import quote, urlencode

from flask import Flask, Response, redirect, request

from channel_sandboxes.common import json_response
from channel_sandboxes.ebay.sandbox import EbaySandbox
from channel_sandboxes.ebay.state import Grant, now_utc

APPLICATION_SCOPE = "https://api.ebay.com/oauth/api_scope"


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def _client_ok(sandbox: EbaySandbox) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        client_id, _, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    cfg = sandbox.config
    return secrets.compare_digest(client_id, cfg.client_id) and secrets.compare_digest(
        secret, cfg.client_secret
    )


def register_oauth_routes(app: Flask, sandbox: EbaySandbox) -> None:
    cfg, state = sandbox.config, sandbox.state

    @app.get("/oauth2/authorize")
    def authorize() -> Response:
        args = request.args
        if args.get("client_id") != cfg.client_id:
            return _oauth_error("invalid_client", "client authentication failed")
        if args.get("response_type") != "code":
            return _oauth_error("unsupported_response_type", "response_type must be code")
        ru_name = args.get("redirect_uri", "")
        accept_url = sandbox.ru_names.get(ru_name, "")
        if not accept_url:
            return _oauth_error(
                "invalid_request",
                "redirect_uri must be a RuName of this app with an accept URL (POST /_sandbox/runame)",
            )
        scopes = tuple(args.get("scope", "").split())
        code = "v^1.1#i^1#r^1#I^3#f^0#p^3#t^" + secrets.token_urlsafe(24)
        with state.lock:
            state.codes[code] = Grant(scopes, now_utc() + timedelta(seconds=299), ru_name)
        query = urlencode({"state": args.get("state", ""), "code": code, "expires_in": 299}, quote_via=quote)
        separator = "&" if "?" in accept_url else "?"
        return redirect(f"{accept_url}{separator}{query}", 302)

    @app.post("/identity/v1/oauth2/token")
    def token() -> Response:
        if not _client_ok(sandbox):
            return _oauth_error("invalid_client", "client authentication failed", 401)
        form = request.form
        grant_type = form.get("grant_type", "")
        now = now_utc()
        with state.lock:
            if grant_type == "authorization_code":
                grant = state.codes.pop(form.get("code", ""), None)
                if grant is None or (grant.expires_at and grant.expires_at < now):
                    return _oauth_error(
                        "invalid_grant",
                        "the provided authorization grant code is invalid or was issued to another client",
                    )
                if form.get("redirect_uri") != grant.ru_name:
                    return _oauth_error(
                        "invalid_grant",
                        "the provided authorization grant code was issued to another redirect_uri",
                    )
                access, refresh = (
                    "v^1.1#i^1#f^0#sandbox-user-" + secrets.token_urlsafe(24),
                    "v^1.1#i^1#r^1#sandbox-refresh-" + secrets.token_urlsafe(24),
                )
                state.access[access] = Grant(grant.scopes, now + timedelta(seconds=cfg.token_ttl))
                state.refresh[refresh] = Grant(grant.scopes, now + timedelta(seconds=cfg.refresh_token_ttl))
                return json_response(
                    {
                        "access_token": access,
                        "expires_in": cfg.token_ttl,
                        "refresh_token": refresh,
                        "refresh_token_expires_in": cfg.refresh_token_ttl,
                        "token_type": "User Access Token",
                    }
                )
            if grant_type == "refresh_token":
                grant = state.refresh.get(form.get("refresh_token", ""))
                if grant is None or (grant.expires_at and grant.expires_at < now):
                    return _oauth_error(
                        "invalid_grant",
                        "the provided authorization refresh token is invalid or was issued to another client",
                    )
                asked = tuple(form.get("scope", "").split()) or grant.scopes
                if not set(asked) <= set(grant.scopes):
                    return _oauth_error(
                        "invalid_scope",
                        "the requested scope is invalid, unknown, malformed, or exceeds the scope granted",
                    )
                access = "v^1.1#i^1#f^0#sandbox-user-" + secrets.token_urlsafe(24)
                state.access[access] = Grant(asked, now + timedelta(seconds=cfg.token_ttl))
                return json_response(
                    {"access_token": access, "expires_in": cfg.token_ttl, "token_type": "User Access Token"}
                )
            if grant_type == "client_credentials":
                access = "v^1.1#i^1#p^1#sandbox-app-" + secrets.token_urlsafe(24)
                state.access[access] = Grant(
                    (APPLICATION_SCOPE,), now + timedelta(seconds=cfg.token_ttl), kind="application"
                )
                return json_response(
                    {
                        "access_token": access,
                        "expires_in": cfg.token_ttl,
                        "token_type": "Application Access Token",
                    }
                )
        return _oauth_error("unsupported_grant_type", "grant type not supported")
