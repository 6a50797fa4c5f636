"""Channels domain: channel types, connections and their health, credentials (OAuth states are
oauth_state.py, re-exported here).

Pure Python (no SQL, no gRPC calls): every rule here is unit-tested without I/O. Breaking a rule
raises an omnistock_common DomainError, which the server interceptor maps to a gRPC status.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlparse

# Signed OAuth states live in oauth_state.py; these names stay importable from the domain.
from channels.oauth_state import InvalidState as InvalidState
from channels.oauth_state import OAuthState as OAuthState
from channels.oauth_state import check_session_binding as check_session_binding
from channels.oauth_state import sign_state as sign_state
from channels.oauth_state import validate_session_binding as validate_session_binding
from channels.oauth_state import verify_state as verify_state
from omnistock_common.egress import safe_text
from omnistock_common.errors import (
    Code,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
)
from omnistock_common.timestamps import iso_utc

# Consecutive failures after which a degraded connection is reported as in error.
ERROR_THRESHOLD = 5
MAX_SETTINGS = 50
MAX_SETTING_KEY = 64
MAX_SETTING_VALUE = 2048
MAX_NAME = 200
MAX_LAST_ERROR = 2000
# Setting names that smell like secrets: they belong in `credentials`, which is encrypted and
# never returned, not in `settings`, which every viewer of the connection can read.
_SECRET_WORDS = ("secret", "token", "password", "consumer_key", "api_key", "apikey", "private")


class ConnectionStatus(StrEnum):
    CONNECTED = "connected"
    DEGRADED = "degraded"
    ERROR = "error"
    DISCONNECTED = "disconnected"


class AuthKind(StrEnum):
    OAUTH = "oauth"
    API_KEY = "api_key"


class SyncScope(StrEnum):
    INVENTORY = "inventory"
    PRICES = "prices"
    ORDERS = "orders"
    CATALOG = "catalog"
    ALL = "all"


class SyncOutcome(StrEnum):
    OK = "ok"
    RETRY = "retry"
    ERROR = "error"
    CONFLICT = "conflict"
    # operation increase_hold: increases started / stopped waiting for other channels' orders.
    HELD = "held"
    RELEASED = "released"


class ChannelUnavailable(DomainError):
    """The channel (or its connector service) failed after the connector's own retries."""

    code = Code.UNAVAILABLE


class ChannelRateLimited(DomainError):
    """The channel is still rate limiting after the connector's retries."""

    code = Code.RESOURCE_EXHAUSTED


# ------------------------------------------------------------------------------ channel types
@dataclass(frozen=True)
class ChannelType:
    type: str
    display_name: str
    auth: AuthKind
    capabilities: tuple[str, ...]
    # False: listed so clients can show it, but no connector exists yet; connecting one is refused.
    available: bool
    # Credential fields an API-key connection must supply (checked before the connector is asked).
    required_credentials: tuple[str, ...] = ()
    # How stale the channel's orders may be when the increase gate asks for them: a channel whose
    # order API cannot be read more often (Amazon's getOrders: 0.0167 requests/s after a burst of
    # 20, so one read a minute) counts as current for this long after its last completed poll, or
    # every restock on every channel would wait for the increase hold (sync/increase_hold.py).
    order_feed_lag: timedelta = timedelta(0)
    # Settings the merchant may change after connecting (PATCH /channels/{id}): what the channel
    # needs to publish or fulfil that OmniStock cannot know (a category, policies, a carrier
    # table). Never what identifies the store or where the API is (store_id, shop_domain,
    # api_base_url): changing those is a new connection.
    editable_settings: tuple[str, ...] = ()


# Meta items' `link`: a template with {product_id}, {group_id}, {sku} (else the store_url given
# at connect, which is not editable: it names the store, reconnect.store_key).
META_EDITABLE_SETTINGS = ("product_url_template",)

# Everything a connector can do (the Shopify and WooCommerce connectors do all of it).
ALL_CAPABILITIES = ("inventory", "prices", "orders", "fulfillment", "webhooks", "catalog")

CHANNEL_TYPES: dict[str, ChannelType] = {
    t.type: t
    for t in (
        ChannelType(
            "shopify",
            "Shopify",
            AuthKind.OAUTH,
            ALL_CAPABILITIES,
            available=True,
            # "false": cancelling an order does not refund it (Shopify's orderCancel refund flag).
            editable_settings=("cancel_refund",),
        ),
        ChannelType(
            "woocommerce",
            "WooCommerce",
            AuthKind.API_KEY,
            ALL_CAPABILITIES,
            available=True,
            required_credentials=("consumer_key", "consumer_secret"),
            editable_settings=("shipment_tracking", "weight_unit"),
        ),
        ChannelType(
            "facebook",
            "Facebook Shop",
            AuthKind.OAUTH,
            ("inventory", "prices", "orders", "fulfillment", "webhooks", "catalog"),
            available=True,
            editable_settings=META_EDITABLE_SETTINGS,
        ),
        ChannelType(
            "instagram",
            "Instagram Shopping",
            AuthKind.OAUTH,
            ("inventory", "prices", "orders", "fulfillment", "webhooks", "catalog"),
            available=True,
            editable_settings=META_EDITABLE_SETTINGS,
        ),
        ChannelType(
            "tiktok",
            "TikTok Shop",
            AuthKind.OAUTH,
            ("inventory", "prices", "orders", "fulfillment", "webhooks", "catalog"),
            available=True,
            editable_settings=(
                "category_id",
                "warehouse_id",
                "package_weight_kg",
                "package_dimensions_cm",
                "brand_id",
                "shipping_providers",
                "cancel_reason",
            ),
        ),
        ChannelType(
            "amazon",
            "Amazon",
            AuthKind.OAUTH,
            ("inventory", "prices", "orders", "fulfillment", "catalog"),
            available=True,
            order_feed_lag=timedelta(seconds=60),
            editable_settings=("product_type", "brand", "language_tag", "cancel_reason"),
        ),
        ChannelType(
            "ebay",
            "eBay",
            AuthKind.OAUTH,
            ("inventory", "prices", "orders", "fulfillment", "webhooks", "catalog"),
            available=True,
            editable_settings=(
                "category_id",
                "fulfillment_policy_id",
                "payment_policy_id",
                "return_policy_id",
                "merchant_location_key",
                "condition",
                "content_language",
            ),
        ),
    )
}


def channel_type(name: str, *, auth: AuthKind | None = None, field_name: str = "type") -> ChannelType:
    """The registered, available type `name`; a listed-but-unbuilt type is FAILED_PRECONDITION."""
    found = CHANNEL_TYPES.get(name)
    if found is None:
        raise InvalidArgument(
            f"unknown channel type {name!r}",
            violations=[FieldViolation(field_name, f"must be one of {', '.join(CHANNEL_TYPES)}")],
        )
    if not found.available:
        raise FailedPrecondition(
            f"{found.display_name} ({found.type}) is not available yet: OmniStock has no connector "
            "for it in this release",
            reason="CHANNEL_TYPE_NOT_AVAILABLE",
        )
    if auth is not None and found.auth is not auth:
        how = "the OAuth flow (oauth/start)" if found.auth is AuthKind.OAUTH else "API keys (POST /channels)"
        raise FailedPrecondition(f"{found.display_name} connects through {how}", reason="WRONG_AUTH_FLOW")
    return found


# ------------------------------------------------------------------------------ settings
def validate_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME:
        raise InvalidArgument(
            "invalid connection name",
            violations=[FieldViolation("name", f"must be 1..{MAX_NAME} characters")],
        )
    return cleaned


def validate_settings(settings: Mapping[str, str]) -> dict[str, str]:
    """Non-secret settings; `api_base_url` (every type) must be an absolute http(s) URL."""
    violations: list[FieldViolation] = []
    if len(settings) > MAX_SETTINGS:
        violations.append(FieldViolation("settings", f"at most {MAX_SETTINGS} entries"))
    out: dict[str, str] = {}
    for key, value in settings.items():
        path = f"settings.{key}"
        if not key or len(key) > MAX_SETTING_KEY:
            violations.append(FieldViolation(path, f"names are 1..{MAX_SETTING_KEY} characters"))
            continue
        if any(word in key.lower() for word in _SECRET_WORDS):
            violations.append(
                FieldViolation(path, "looks like a secret: pass it in credentials, which are encrypted")
            )
            continue
        if len(value) > MAX_SETTING_VALUE:
            violations.append(FieldViolation(path, f"at most {MAX_SETTING_VALUE} characters"))
            continue
        out[key] = value.strip()
    poll = out.get(ORDER_POLL_INTERVAL_SETTING)
    if poll is not None and order_poll_interval(out, timedelta(0)) == timedelta(0):
        violations.append(
            FieldViolation(
                f"settings.{ORDER_POLL_INTERVAL_SETTING}",
                f"seconds between order polls: {MIN_ORDER_POLL_SECONDS}..{MAX_ORDER_POLL_SECONDS}",
            )
        )
    base = out.get("api_base_url")
    if base is not None:
        parsed = urlparse(base)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            violations.append(FieldViolation("settings.api_base_url", "must be an absolute http(s) URL"))
    if violations:
        raise InvalidArgument("invalid connection settings", violations=violations)
    return out


# Per-connection order poll interval (seconds); the worker looks every minute, so less is refused.
ORDER_POLL_INTERVAL_SETTING = "order_poll_interval_seconds"
MIN_ORDER_POLL_SECONDS = 60
MAX_ORDER_POLL_SECONDS = 7 * 24 * 3600


def order_poll_interval(settings: Mapping[str, str], default: timedelta) -> timedelta:
    """How often the connection's orders are polled: its `order_poll_interval_seconds` setting when
    that is a whole number of seconds in range, else `default` (CHANNELS_ORDER_POLL_INTERVAL_SECONDS)."""
    raw = str(settings.get(ORDER_POLL_INTERVAL_SETTING, "")).strip()
    if not raw.isdigit() or not MIN_ORDER_POLL_SECONDS <= int(raw) <= MAX_ORDER_POLL_SECONDS:
        return default
    return timedelta(seconds=int(raw))


# ------------------------------------------------------------------------------ remote values
def is_clean_identifier(value: str, limit: int = 128) -> bool:
    """A value from a channel (SKU, id) fit to store and show: 1..limit characters, no surrounding
    spaces, no control/format characters (bidi overrides, zero-width, NUL...)."""
    return (
        0 < len(value) <= limit
        and value == value.strip()
        and not any(unicodedata.category(ch)[0] == "C" for ch in value)
    )


def remote_ids(ids: Mapping[str, str]) -> dict[str, str]:
    """A channel's listing ids, keeping only well-formed entries (what validate_external_ids allows)."""
    return {
        k: v for k, v in list(ids.items())[:20] if is_clean_identifier(k, 64) and is_clean_identifier(v, 255)
    }


def remote_settings(learnt: Mapping[str, str], *, exclude: Mapping[str, str]) -> dict[str, str]:
    """Settings a connector learnt from the channel (shop domain, currency...): remote text, so
    bounded like a tenant's own settings, cleaned, never overriding what the tenant set, and never
    a secret-looking name."""
    out: dict[str, str] = {}
    for key, value in learnt.items():
        if len(out) >= MAX_SETTINGS or key in exclude or not is_clean_identifier(key, MAX_SETTING_KEY):
            continue
        if any(word in key.lower() for word in _SECRET_WORDS):
            continue
        cleaned = safe_text(value, MAX_SETTING_VALUE)
        if cleaned:
            out[key] = cleaned
    return out


def validate_credentials_input(kind: ChannelType, credentials: Mapping[str, str]) -> dict[str, str]:
    missing = [name for name in kind.required_credentials if not credentials.get(name, "").strip()]
    if missing:
        raise InvalidArgument(
            f"{kind.display_name} needs {', '.join(kind.required_credentials)}",
            violations=[FieldViolation(f"credentials.{name}", "required") for name in missing],
        )
    return {key: value.strip() for key, value in credentials.items() if value.strip()}


# ------------------------------------------------------------------------------ credentials
@dataclass(frozen=True)
class Credentials:
    """Decrypted credentials. repr() never shows a secret, so logging one by mistake is harmless."""

    secrets: Mapping[str, str] = field(default_factory=dict)
    access_token_expires_at: datetime | None = None
    refresh_token_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        names = ", ".join(sorted(self.secrets))
        return f"Credentials(secrets=<redacted: {names}>, expires_at={self.access_token_expires_at})"

    __str__ = __repr__

    def to_bytes(self) -> bytes:
        doc: dict[str, Any] = {
            "secrets": dict(self.secrets),
            "access_token_expires_at": iso_utc(self.access_token_expires_at),
            "refresh_token_expires_at": iso_utc(self.refresh_token_expires_at),
            "scopes": list(self.scopes),
        }
        return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Credentials:
        doc = json.loads(raw)
        return cls(
            secrets=dict(doc.get("secrets") or {}),
            access_token_expires_at=_parse_iso(doc.get("access_token_expires_at")),
            refresh_token_expires_at=_parse_iso(doc.get("refresh_token_expires_at")),
            scopes=tuple(doc.get("scopes") or ()),
        )

    def secret_values(self) -> list[str]:
        return [value for value in self.secrets.values() if value]


def _parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


# A token no refresh token can replace once it has died (Meta's ~60-day user token, renewed only by
# exchanging it while it still works) is renewed this long before its end, so a connection that
# is called only by the hourly order poll still renews it in time.
RENEW_AHEAD_WITHOUT_REFRESH_TOKEN = timedelta(days=7)


def needs_proactive_refresh(
    expires_at: datetime | None, now: datetime, skew: timedelta, *, has_refresh_token: bool = True
) -> bool:
    """Refresh before the token dies (CHANNELS.md 0.2): expiring tokens only, `skew` early, or
    RENEW_AHEAD_WITHOUT_REFRESH_TOKEN early when nothing could bring the token back after."""
    if expires_at is None:
        return False
    ahead = skew if has_refresh_token else max(skew, RENEW_AHEAD_WITHOUT_REFRESH_TOKEN)
    return expires_at - ahead <= now


# ------------------------------------------------------------------------------ health
@dataclass(frozen=True)
class Health:
    status: ConnectionStatus = ConnectionStatus.CONNECTED
    status_reason: str = ""
    last_sync_at: datetime | None = None
    last_success_at: datetime | None = None
    error_count: int = 0
    last_error: str = ""
    # Set while the sync engine holds this connection's stock increases until every connection's
    # orders are known current (channels.sync.increase_hold); written only by that module.
    increases_held_since: datetime | None = None
    increases_held_reason: str = ""
    # The channel's quotas as its connector last reported them with a push (eBay: revisions left
    # on the most-revised listing today), and when; written only with a push's outcome.
    channel_limits: Mapping[str, str] = field(default_factory=dict)
    channel_limits_at: datetime | None = None


MAX_CHANNEL_LIMITS = 20
_LIMIT_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")


def clean_channel_limits(reported: Mapping[str, str]) -> dict[str, str]:
    """A connector's quota figures, as remote text: at most MAX_CHANNEL_LIMITS, snake_case keys
    (they become labels), short clean values."""
    out: dict[str, str] = {}
    for key, value in sorted(reported.items()):
        if len(out) >= MAX_CHANNEL_LIMITS or not _LIMIT_KEY.fullmatch(key):
            continue
        cleaned = safe_text(value, 200)
        if cleaned:
            out[key] = cleaned
    return out


def after_success(health: Health, now: datetime) -> Health:
    """A call the channel answered: error streak over, connected again (unless disconnected,
    which only a new authorization lifts)."""
    if health.status is ConnectionStatus.DISCONNECTED:
        return replace(health, last_sync_at=now)
    return replace(
        health,
        status=ConnectionStatus.CONNECTED,
        status_reason="",
        last_sync_at=now,
        last_success_at=now,
        error_count=0,
        last_error="",
    )


def after_failure(health: Health, now: datetime, error: str) -> Health:
    """One more consecutive failure: degraded at once, error after ERROR_THRESHOLD in a row."""
    count = health.error_count + 1
    # What a channel or connector said reaches every viewer of the connection: cleaned, bounded.
    message = safe_text(error, MAX_LAST_ERROR)
    if health.status is ConnectionStatus.DISCONNECTED:
        status = ConnectionStatus.DISCONNECTED
        reason = health.status_reason
    else:
        status = ConnectionStatus.ERROR if count >= ERROR_THRESHOLD else ConnectionStatus.DEGRADED
        reason = message
    return replace(
        health, status=status, status_reason=reason, last_sync_at=now, error_count=count, last_error=message
    )


def disconnected(health: Health, now: datetime, reason: str) -> Health:
    """The credentials are dead (revoked, refresh refused): nothing works until re-authorized."""
    cleaned = safe_text(reason, MAX_LAST_ERROR)
    return replace(
        health,
        status=ConnectionStatus.DISCONNECTED,
        status_reason=cleaned,
        last_sync_at=now,
        error_count=health.error_count + 1,
        last_error=cleaned,
    )


# The outbox event of a connection whose status moved (connected, degraded, error,
# disconnected): what the dashboard's live updates listen for (docs/decisions/0012). One per
# change of status, not one per call, so a busy connection adds no events while it stays well.
CONNECTION_HEALTH_CHANGED = "channels.connection_health_changed"


def health_changed_payload(connection: Connection, before: Health, after: Health) -> dict[str, str] | None:
    """The payload of CONNECTION_HEALTH_CHANGED when `after` has another status than `before`,
    else None. No error text: the event only says that the connection's health is worth reading."""
    if before.status is after.status:
        return None
    return {
        "connection_id": connection.id,
        "channel_type": connection.type,
        "status": after.status.value,
        "previous_status": before.status.value,
    }


_SEVERITY = {
    ConnectionStatus.CONNECTED: 0,
    ConnectionStatus.DEGRADED: 1,
    ConnectionStatus.ERROR: 2,
    ConnectionStatus.DISCONNECTED: 3,
}


def got_worse(before: ConnectionStatus, after: ConnectionStatus) -> bool:
    """True when a notification is due: one per step down, not one per failed call."""
    return _SEVERITY[after] > _SEVERITY[before]


@dataclass(frozen=True)
class Connection:
    """A connection as callers may see it: settings and health, never a credential."""

    id: str
    tenant_id: str
    type: str
    name: str
    settings: Mapping[str, str]
    health: Health
    token_expires_at: datetime | None
    credentials_version: int
    created_at: datetime
    updated_at: datetime

    @property
    def status(self) -> ConnectionStatus:
        return self.health.status


# ------------------------------------------------------------------------------ listings / webhooks
@dataclass(frozen=True)
class Listing:
    connection_id: str
    sku: str
    external_ids: Mapping[str, str]
    updated_at: datetime
    last_pushed_quantity: int | None = None
    last_pushed_version: int | None = None
    # Its product is archived on this connection: the sync engine shows 0 here (publishing).
    off_sale: bool = False


def validate_external_ids(ids: Mapping[str, str]) -> dict[str, str]:
    cleaned = {k.strip(): v.strip() for k, v in ids.items() if k.strip() and v.strip()}
    if not cleaned:
        raise InvalidArgument(
            "a listing needs at least one external id",
            violations=[FieldViolation("external_ids", "e.g. inventory_item_id or product_id")],
        )
    if len(cleaned) > 20 or any(len(k) > 64 or len(v) > 255 for k, v in cleaned.items()):
        raise InvalidArgument(
            "external ids are too many or too long",
            violations=[FieldViolation("external_ids", "at most 20 entries, names <= 64, values <= 255")],
        )
    return cleaned


def validate_sku(sku: str, field_name: str = "sku") -> str:
    if not sku or len(sku) > 128 or sku != sku.strip():
        raise InvalidArgument(
            "invalid SKU", violations=[FieldViolation(field_name, "1..128 characters, no surrounding spaces")]
        )
    return sku


@dataclass(frozen=True)
class AutoMapResult:
    mapped: int
    unmapped_skus: list[str]
    unknown_remote_skus: list[str]


@dataclass(frozen=True)
class SyncLogEntry:
    id: str
    at: datetime
    operation: str
    skus: list[str]
    outcome: str
    message: str
    latency_ms: int
    calls: int


@dataclass(frozen=True)
class WebhookReceipt:
    accepted: bool
    delivery_id: str


@dataclass(frozen=True)
class ChallengeAnswer:
    """What a channel's webhook-endpoint check gets back (Meta: the echoed hub.challenge)."""

    content_type: str
    body: bytes
