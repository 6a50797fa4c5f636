"""Connecting a store that is already connected re-authorises that connection instead of adding a
second one.

A merchant re-runs OAuth for a shop whose token was revoked (the connection is `disconnected`),
or posts new API keys for a WooCommerce store: the connection keeps its id, its listing mappings
and its sync history; it gets the new credentials (credentials_version + 1, so a refresh racing
with it loses), the settings it was given (over the ones it had), status `connected` and its
error counters reset.

Which store a connection is: its type, the store the merchant named (Shopify's shop domain;
WooCommerce's store URL, or the store of an `api_base_url` that is a `/wp-json/wc/v3` REST root,
as older settings had it; else the channel's own id of it that the connector learnt while
connecting, `store_id`: Meta's catalog id, TikTok's shop id) and where it is reached (the origin
of `api_base_url`, when set). Settings that name no store always get a new connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from channels.domain import Connection, ConnectionStatus, Credentials, Health
from channels.repository import Repository

_DEFAULT_PORTS = {"http": 80, "https": 443}
_WOO_REST_ROOT = "/wp-json/wc/v3"

Encrypt = Callable[[str], bytes]  # connection id -> credential blob bound to it


def _normal_url(url: str, *, keep_path: bool) -> str:
    """scheme://host[:port][/path] lowercased where URLs are case-blind, default port and
    trailing slash dropped; "" for anything that is not an absolute http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return ""
    netloc = parts.hostname.lower().rstrip(".")
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/") if keep_path else ""
    return f"{scheme}://{netloc}{path}"


def store_key(channel_type: str, settings: Mapping[str, str]) -> tuple[str, str, str] | None:
    """(type, named store, origin of api_base_url or "") or None when the settings name no store."""
    shop = settings.get("shop_domain", "").strip().lower()
    store = shop
    if not store:
        url = settings.get("store_url", "").strip()
        if not url:
            base = settings.get("api_base_url", "").strip().rstrip("/")
            url = base[: -len(_WOO_REST_ROOT)] if base.endswith(_WOO_REST_ROOT) else ""
        store = _normal_url(url, keep_path=True)
    if not store:
        store_id = settings.get("store_id", "").strip()
        store = f"id:{store_id}" if store_id else ""
    if not store:
        return None
    return channel_type, store, _normal_url(settings.get("api_base_url", ""), keep_path=False)


def find_connected_store(
    repo: Repository, tenant_id: str, channel_type: str, settings: Mapping[str, str]
) -> Connection | None:
    """The tenant's connection to the store these settings name, if it has one (oldest first)."""
    key = store_key(channel_type, settings)
    if key is None:
        return None
    for stored in repo.list_connections(tenant_id):
        if store_key(stored.connection.type, stored.connection.settings) == key:
            return stored.connection
    return None


def reauthorise(
    repo: Repository,
    existing: Connection,
    *,
    name: str,
    settings: Mapping[str, str],
    creds: Credentials,
    encrypt: Encrypt,
    now: datetime,
) -> Connection | None:
    """Give `existing` new credentials and settings in place; its listings are not touched.
    `name` "" keeps the name it has. None when it was deleted meanwhile."""
    current = repo.get_connection(existing.tenant_id, existing.id, lock=True)
    if current is None:
        return None
    existing = current.connection
    connection = replace(
        existing,
        name=name or existing.name,
        settings={**existing.settings, **settings},
        health=Health(ConnectionStatus.CONNECTED, "", now, now, 0, ""),
        token_expires_at=creds.access_token_expires_at,
        credentials_version=existing.credentials_version + 1,
        updated_at=now,
    )
    repo.reauthorise_connection(connection, encrypt(existing.id))
    return connection
