"""Shopify's OAuth code grant: authorize (auto-approved), the token endpoint, and the query HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, redirect, request

from channel_sandboxes.common import json_body, json_response
from channel_sandboxes.shopify.models import OAuthError
from channel_sandboxes.shopify.sandbox import ShopifySandbox


def shopify_query_hmac(params: Mapping[str, Any], secret: str) -> str:
    """Shopify's OAuth query-string HMAC (CHANNELS.md 1.2), over decoded parameters."""
    pairs = []
    for key, value in params.items():
        if key in ("hmac", "signature"):
            continue
        if key.endswith("[]"):
            items = value if isinstance(value, list) else [value]
            key, value = key[:-2], json.dumps([str(x) for x in items])
        key = str(key).replace("%", "%25").replace("=", "%3D")
        value = str(value).replace("%", "%25")
        pairs.append(f"{key}={value}".replace("&", "%26"))
    message = "&".join(sorted(pairs))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def register_oauth_routes(app: Flask, sandbox: ShopifySandbox) -> None:
    """`/admin/oauth/authorize` and `/admin/oauth/access_token` (never faulted, never counted)."""
    cfg, state = sandbox.config, sandbox.state

    @app.get("/admin/oauth/authorize")
    def authorize() -> Response:
        """Merchant consent, auto-approved: redirect straight back with a code and a signed query."""
        args = request.args
        if args.get("client_id") != cfg.client_id:
            return Response(
                "Oauth error invalid_request: The client_id is invalid or this app is not installable.",
                status=400,
                mimetype="text/plain",
            )
        redirect_uri = args.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return Response(
                "Oauth error invalid_request: The redirect_uri is missing or not whitelisted.",
                status=400,
                mimetype="text/plain",
            )
        scope = ",".join(s.strip() for s in (args.get("scope") or cfg.scopes).split(",") if s.strip())
        with state.lock:
            code = state.issue_code(scope)
        shop_name = cfg.shop_domain.split(".", 1)[0]
        params: dict[str, str] = {
            "code": code,
            "host": base64.b64encode(f"admin.shopify.com/store/{shop_name}".encode()).decode(),
            "shop": cfg.shop_domain,
            "timestamp": str(int(time.time())),
        }
        if "state" in args:
            params["state"] = args["state"]
        params["hmac"] = shopify_query_hmac(params, cfg.client_secret)
        separator = "&" if "?" in redirect_uri else "?"
        return redirect(redirect_uri + separator + urlencode(params), code=302)

    @app.post("/admin/oauth/access_token")
    def access_token() -> Response:
        """Code exchange and refresh; form-encoded (official library) or JSON bodies."""
        form: Mapping[str, Any] = request.form if request.form else json_body()
        try:
            if form.get("client_id") != cfg.client_id or not hmac.compare_digest(
                str(form.get("client_secret", "")), cfg.client_secret
            ):
                raise OAuthError(
                    "invalid_client",
                    "Client authentication failed due to unknown client, no client authentication included, "
                    "or unsupported authentication method.",
                )
            grant_type = form.get("grant_type") or "authorization_code"
            with state.lock:
                if grant_type == "authorization_code":
                    scope = state.redeem_code(str(form.get("code", "")))
                    parent = None
                elif grant_type == "refresh_token":
                    refresh = state.use_refresh_token(str(form.get("refresh_token", "")))
                    scope, parent = refresh.scope, refresh.token
                else:
                    raise OAuthError(
                        "unsupported_grant_type",
                        "The authorization grant type is not supported by the authorization server.",
                    )
                tokens = state.issue_tokens(scope, cfg.token_ttl, cfg.refresh_token_ttl, parent)
        except OAuthError as exc:
            return json_response({"error": exc.error, "error_description": exc.description}, 400)
        return json_response(tokens)
