"""The OAuth session cookie that binds a callback to the browser that started the flow, and who
asks: a browser's navigation or a script.

OAuth start leaves a random nonce in the browser (HttpOnly, SameSite=Lax, only sent to the
callback); the signed state carries its SHA-256, so only that browser can complete the flow.

A fetch cannot read a redirect's body, so start answers 200 with the consent URL to a script that
asks for JSON only; the callback, reached by the channel's redirect of the merchant's browser,
sends that browser back to the dashboard (303) instead of showing it JSON.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlencode

from flask import request
from werkzeug.http import dump_cookie

from gateway.api import API_PREFIX, Reply, deps
from gateway.errors import ApiProblem

OAUTH_COOKIE = "omnistock_oauth"
OAUTH_CALLBACK_PATH = API_PREFIX + "/channels/oauth/callback"
OAUTH_COOKIE_MAX_AGE = 3600  # >= the state's own lifetime (CHANNELS_OAUTH_STATE_TTL_SECONDS)
# The dashboard's Channels page (web/src/pages/Channels.tsx reads `connected` / `connect_error`).
DASHBOARD_CHANNELS_PATH = "/channels"
_REASON = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def session_binding(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def oauth_cookie(nonce: str, max_age: int = OAUTH_COOKIE_MAX_AGE) -> str:
    return dump_cookie(
        OAUTH_COOKIE,
        nonce,
        max_age=max_age,
        path=OAUTH_CALLBACK_PATH,
        secure=deps().settings.public_base_url.startswith("https://"),
        httponly=True,
        samesite="Lax",  # the channel's redirect back is a top-level GET: Lax still sends it
    )


def browser_navigation() -> bool:
    """A browser's top-level navigation names text/html in Accept (web.client_route's test);
    fetch, curl and API clients send */* or application/json and keep the JSON answer."""
    return "text/html" in request.headers.get("Accept", "")


def wants_json_only() -> bool:
    """A script that asks for JSON and not HTML (the dashboard's fetch): no redirect for it."""
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def failure_slug(problem: ApiProblem) -> str:
    """The problem's machine reason in lower-kebab (OAUTH_STATE_REUSED -> oauth-state-reused),
    else its type slug (invalid-request, unavailable...): what the dashboard puts in words."""
    reason = problem.extensions.get("reason")
    if isinstance(reason, str) and _REASON.fullmatch(reason):
        return reason.lower().replace("_", "-")
    return problem.slug


def back_to_dashboard(**params: str) -> Reply:
    """303 to the dashboard's Channels page on this gateway (a fixed path: no open redirect)."""
    return Reply(status=303, headers={"Location": f"{DASHBOARD_CHANNELS_PATH}?{urlencode(params)}"})
