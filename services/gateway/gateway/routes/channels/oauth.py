"""The OAuth session cookie that binds a callback to the browser that started the flow.

OAuth start leaves a random nonce in the browser (HttpOnly, SameSite=Lax, only sent to the
callback); the signed state carries its SHA-256, so only that browser can complete the flow.
"""

from __future__ import annotations

import hashlib

from werkzeug.http import dump_cookie

from gateway.api import API_PREFIX, deps

OAUTH_COOKIE = "omnistock_oauth"
OAUTH_CALLBACK_PATH = API_PREFIX + "/channels/oauth/callback"
OAUTH_COOKIE_MAX_AGE = 3600  # >= the state's own lifetime (CHANNELS_OAUTH_STATE_TTL_SECONDS)


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
