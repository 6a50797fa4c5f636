"""Login with Amazon: the token endpoint and the seller's consent page (website workflow).

- `POST /auth/o2/token` (https://api.amazon.com/auth/o2/token; form-encoded): grant_type
  `authorization_code` (code, redirect_uri, client_id, client_secret) or `refresh_token`
  (refresh_token, client_id, client_secret) → `{access_token, refresh_token, token_type: bearer,
  expires_in: 3600}`. A bad client is 401 `invalid_client`; a spent, unknown or revoked code or
  refresh token is 400 `invalid_grant` (CHANNELS.md 5.1).
- `GET /apps/authorize/consent?application_id&state&redirect_uri[&version=beta]`
  (https://sellercentral.amazon.com/apps/authorize/consent): approves at once and answers 302 to
  `redirect_uri?state&selling_partner_id&spapi_oauth_code`
  (https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, redirect, request

from channel_sandboxes.amazon.sandbox import AmazonSandbox
from channel_sandboxes.common import json_response


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response({"error_description": description, "error": error}, status)


def register_lwa_routes(app: Flask, sandbox: AmazonSandbox) -> None:
    cfg, state = sandbox.config, sandbox.state

    @app.post("/auth/o2/token")
    def token() -> Response:
        form = request.form if request.form else (request.get_json(silent=True) or {})
        sandbox.stats.record(["lwaToken"])
        client_ok = hmac.compare_digest(
            str(form.get("client_id", "")), cfg.client_id
        ) and hmac.compare_digest(str(form.get("client_secret", "")), cfg.client_secret)
        if not client_ok:
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = str(form.get("code", ""))
            with state.lock:
                expected_redirect = state.codes.pop(code, None)
            if expected_redirect is None:
                return _oauth_error(400, "invalid_grant", "The request has an invalid grant parameter : code")
            if form.get("redirect_uri") and form.get("redirect_uri") != expected_redirect:
                return _oauth_error(
                    400, "invalid_grant", "The redirect_uri does not match the one of the consent"
                )
            return json_response(sandbox.issue_tokens())
        if grant == "refresh_token":
            refresh = str(form.get("refresh_token", ""))
            with state.lock:
                known = refresh in state.refresh_tokens
            if not known:
                return _oauth_error(
                    400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
                )
            return json_response(sandbox.issue_tokens(refresh))
        return _oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported")

    @app.get("/apps/authorize/consent")
    def consent() -> Response:
        args = request.args
        if args.get("application_id") != cfg.app_id:
            return Response("Unknown application_id (MD1000)", 400, mimetype="text/plain")
        redirect_uri = args.get("redirect_uri", "")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            return Response("redirect_uri is required (MD9100)", 400, mimetype="text/plain")
        code = "ANDsandbox" + secrets.token_urlsafe(16)
        with state.lock:
            state.codes[code] = redirect_uri
        query = urlencode(
            {"state": args.get("state", ""), "selling_partner_id": cfg.seller_id, "spapi_oauth_code": code}
        )
        separator = "&" if "?" in redirect_uri else "?"
        return redirect(f"{redirect_uri}{separator}{query}", 302)

    @app.post("/_sandbox/tokens")
    def mint() -> Response:
        """A token pair without the consent dance, for tests that are not about OAuth."""
        return json_response(sandbox.issue_tokens())

    @app.post("/_sandbox/expire-tokens")
    def expire() -> Response:
        """Every access token issued so far answers 403 Unauthorized; refresh tokens stay valid."""
        return json_response({"expired": sandbox.expire_tokens()})
