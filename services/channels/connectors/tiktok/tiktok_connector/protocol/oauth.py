"""TikTok Shop authorization (CHANNELS.md 4.2; EcomPHP/tiktokshop-php src/Auth.php): the
consent URL, the token endpoints' queries, their answers as TokenGrants, and the shop choice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from omnistock_common.egress import safe_text
from tiktok_connector.protocol.api import AUTHORIZE_PATH, clean_id
from tiktok_connector.protocol.values import ShopInfo, TokenGrant

# `*_expire_in` above this is an absolute Unix time, below a duration (CHANNELS.md 4.2: SDKs
# disagree; the generated interfaces call it a timestamp).
EPOCH_THRESHOLD = 1_000_000_000


def authorization_url(base_url: str, *, service_id: str, state: str) -> str:
    """https://services.tiktokshop.com/open/authorize?service_id=...&state=... (base moved by
    api_base_url)."""
    return f"{base_url.rstrip('/')}{AUTHORIZE_PATH}?{urlencode({'service_id': service_id, 'state': state})}"


def token_get_query(app_key: str, app_secret: str, code: str) -> dict[str, str]:
    return {"app_key": app_key, "app_secret": app_secret, "auth_code": code, "grant_type": "authorized_code"}


def token_refresh_query(app_key: str, app_secret: str, refresh_token: str) -> dict[str, str]:
    return {
        "app_key": app_key,
        "app_secret": app_secret,
        "refresh_token": refresh_token,
        "grant_type": "refresh_token",
    }


def seconds_left(value: Any, now: float) -> float | None:
    """A `*_expire_in` as seconds from `now`: epoch times are converted, durations kept."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number <= 0:
        return None
    return max(0.0, number - now) if number > EPOCH_THRESHOLD else number


def grant_from_token_data(data: Any, now: float) -> TokenGrant:
    """`data` of token/get or token/refresh; ValueError when it holds no access token."""
    if not isinstance(data, Mapping):
        raise ValueError("the token response has no data")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise ValueError("the token response has no access_token")
    scopes = data.get("granted_scopes") or []
    return TokenGrant(
        access_token=token,
        refresh_token=str(data.get("refresh_token") or ""),
        expires_in=seconds_left(data.get("access_token_expire_in"), now),
        refresh_token_expires_in=seconds_left(data.get("refresh_token_expire_in"), now),
        scopes=tuple(str(s) for s in scopes if s) if isinstance(scopes, list) else (),
    )


def shops_from_data(data: Any) -> list[ShopInfo]:
    """`data.shops[{id, name, region, cipher, code}]` of GET /authorization/202309/shops; remote
    text becomes settings, so it is cleaned and bounded."""
    shops = data.get("shops") if isinstance(data, Mapping) else None
    out = []
    for shop in shops if isinstance(shops, list) else []:
        if isinstance(shop, Mapping) and clean_id(shop.get("id"), 64) and clean_id(shop.get("cipher")):
            out.append(
                ShopInfo(
                    id=clean_id(shop["id"], 64),
                    name=safe_text(str(shop.get("name") or ""), 100),
                    cipher=clean_id(shop["cipher"]),
                    region=clean_id(shop.get("region"), 8),
                    code=clean_id(shop.get("code"), 64),
                )
            )
    return out


def pick_shop(shops: Sequence[ShopInfo], store_id: str) -> ShopInfo | str:
    """The shop the connection is for: the one named by `store_id`, else the only one; otherwise
    why not (a message naming the shops)."""
    if store_id:
        for shop in shops:
            if shop.id == store_id:
                return shop
        return f"the authorization does not cover shop {store_id}; it covers: {_names(shops)}"
    if len(shops) == 1:
        return shops[0]
    if not shops:
        return "the authorization covers no shop"
    return f"the authorization covers several shops; set store_id to one of: {_names(shops)}"


def _names(shops: Sequence[ShopInfo]) -> str:
    return ", ".join(f"{s.id} ({s.name})" for s in shops) or "none"
