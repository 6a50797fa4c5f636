"""TikTok Shop authorization: the consent page (auto-approved) and the token endpoints
(`/api/v2/token/get`, `/api/v2/token/refresh`, GET with the app's key and secret in the query,
as EcomPHP/tiktokshop-php src/Auth.php calls them). Never faulted; counted as calls."""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from flask import Flask, Response, redirect, request

from channel_sandboxes.tiktok.api import envelope
from channel_sandboxes.tiktok.sandbox import TikTokSandbox
from channel_sandboxes.tiktok.state import GrantError

GRANT_REFUSED = 36004004


def register_oauth_routes(app: Flask, sandbox: TikTokSandbox) -> None:
    cfg, state = sandbox.config, sandbox.state

    @app.get("/open/authorize")
    def authorize() -> Response:
        """Seller consent, auto-approved: back to the service's redirect URL with code and state."""
        if request.args.get("service_id") != cfg.service_id:
            return Response("invalid service_id", status=400, mimetype="text/plain")
        redirect_uri = request.args.get("redirect_uri") or cfg.redirect_uri
        if not redirect_uri.startswith(("http://", "https://")):
            return Response("invalid redirect_uri", status=400, mimetype="text/plain")
        with state.lock:
            code = state.issue_code()
        params = {"code": code, "locale": "en", "app_key": cfg.app_key, "shop_region": cfg.region}
        if "state" in request.args:
            params["state"] = request.args["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return redirect(redirect_uri + separator + urlencode(params), code=302)

    def app_ok() -> bool:
        return request.args.get("app_key") == cfg.app_key and hmac.compare_digest(
            request.args.get("app_secret", ""), cfg.app_secret
        )

    @app.get("/api/v2/token/get")
    def token_get() -> Response:
        sandbox.stats.record(["token_get"])
        if not app_ok():
            return envelope(code=GRANT_REFUSED, message="invalid app_key or app_secret")
        if request.args.get("grant_type") != "authorized_code":
            return envelope(code=GRANT_REFUSED, message="grant_type must be authorized_code")
        try:
            with state.lock:
                state.redeem_code(request.args.get("auth_code", ""))
                return envelope(state.issue_tokens(cfg.access_token_ttl, cfg.refresh_token_ttl))
        except GrantError as exc:
            return envelope(code=GRANT_REFUSED, message=str(exc))

    @app.get("/api/v2/token/refresh")
    def token_refresh() -> Response:
        sandbox.stats.record(["token_refresh"])
        if not app_ok():
            return envelope(code=GRANT_REFUSED, message="invalid app_key or app_secret")
        if request.args.get("grant_type") != "refresh_token":
            return envelope(code=GRANT_REFUSED, message="grant_type must be refresh_token")
        try:
            with state.lock:
                state.use_refresh_token(request.args.get("refresh_token", ""))
                return envelope(state.issue_tokens(cfg.access_token_ttl, cfg.refresh_token_ttl))
        except GrantError as exc:
            return envelope(code=GRANT_REFUSED, message=str(exc))
