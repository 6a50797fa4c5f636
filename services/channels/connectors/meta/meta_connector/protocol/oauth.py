"""Facebook Login for the Meta connector (pure): consent URL, token requests, callback checks.

Manual login flow (https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow):
the dialog https://www.facebook.com/v25.0/dialog/oauth?client_id&redirect_uri&state&scope&response_type=code
redirects back with `code` & `state` (or `error`, `error_reason`, `error_description`); the code is
exchanged at GET /oauth/access_token (client_id, client_secret, redirect_uri, code) for a
short-lived user token, then for a long-lived one (~60 days) with grant_type=fb_exchange_token
(https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived; CHANNELS.md 3.2).
There is no refresh token: a still-valid long-lived token is re-exchanged before it expires.

Permissions (https://developers.facebook.com/docs/commerce-platform/api-setup and
https://developers.facebook.com/docs/permissions): catalog_management (items_batch, products),
business_management (the businesses and their catalogs), pages_show_list + pages_read_engagement
(the Page and its token), commerce_account_read_settings (the commerce merchant settings),
commerce_account_manage_orders (orders: list, acknowledge, ship, cancel); for Instagram also
instagram_basic and instagram_shopping_tag_products.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from meta_connector.protocol.api import DIALOG_PATH

BASE_SCOPES = (
    "catalog_management",
    "business_management",
    "pages_show_list",
    "pages_read_engagement",
    "commerce_account_read_settings",
    "commerce_account_manage_orders",
)
INSTAGRAM_SCOPES = ("instagram_basic", "instagram_shopping_tag_products")


def scopes_for(channel_type: str, configured: str = "") -> tuple[str, ...]:
    """The permissions asked for: the configured comma list, else the base set (+ Instagram's)."""
    if configured.strip():
        return tuple(s.strip() for s in configured.split(",") if s.strip())
    return BASE_SCOPES + (INSTAGRAM_SCOPES if channel_type == "instagram" else ())


def authorization_url(
    dialog_base: str, *, app_id: str, redirect_uri: str, state: str, scopes: tuple[str, ...]
) -> str:
    query = urlencode(
        {
            "client_id": app_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "response_type": "code",
            "scope": ",".join(scopes),
        }
    )
    return f"{dialog_base.rstrip('/')}{DIALOG_PATH}?{query}"


def code_exchange_params(app_id: str, app_secret: str, redirect_uri: str, code: str) -> dict[str, str]:
    return {"client_id": app_id, "client_secret": app_secret, "redirect_uri": redirect_uri, "code": code}


def long_lived_params(app_id: str, app_secret: str, token: str) -> dict[str, str]:
    return {
        "grant_type": "fb_exchange_token",
        "client_id": app_id,
        "client_secret": app_secret,
        "fb_exchange_token": token,
    }


def callback_problem(params: Mapping[str, str]) -> str | None:
    """Why the dialog's redirect cannot be exchanged (the user declined, no code), else None.
    (The channels service checks `state` against the one it issued.)"""
    if params.get("error") or params.get("error_reason"):
        reason = params.get("error_description") or params.get("error_reason") or params.get("error")
        return f"the user did not grant access ({reason})"
    if not params.get("code"):
        return "the callback has no code"
    return None
