"""Helpers every connector servicer (Shopify, WooCommerce, ...) shares.

A connector keeps no state: each RPC carries a `ConnectionContext` (settings + decrypted
credentials). These helpers turn that context into a rate-limited `ChannelHttpClient`, translate
channel failures into the contract's errors (see connector_service.proto), and convert
credentials between the proto and plain Python values.

Refresh design (decided for every OAuth connector): a connector NEVER refreshes a token implicitly
inside another call. When the channel says the token is bad it raises
`Unauthenticated(reason=ACCESS_TOKEN_EXPIRED)`; the channels service, which owns the per-connection
single-flight lock and persists rotated tokens atomically, calls `RefreshCredentials` and retries
once. Refreshing inside a push would rotate a Shopify refresh token behind the channels service's
back, racing the other workers that share the connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from google.protobuf import timestamp_pb2

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.egress import EgressPolicy, EgressRefused
from omnistock_common.errors import (
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from omnistock_connector_kit.channel_http import (
    ChannelHttpClient,
    ChannelHttpError,
    EgressRefusedError,
    RateLimiter,
    RateLimitTimeout,
    RedisTokenBucket,
    RetryPolicy,
)
from omnistock_connector_kit.endpoints import (
    HOST_NOT_ALLOWED_REASON,
    channel_base_url,
    host_not_allowed,
)
from omnistock_connector_kit.rate_limit import BucketLevel

__all__ = [
    "ACCESS_TOKEN_EXPIRED",
    "CHANNEL_REJECTED",
    "CHANNEL_UNAVAILABLE",
    "CREDENTIALS_MISSING",
    "CREDENTIALS_REVOKED",
    "HOST_NOT_ALLOWED_REASON",
    "RATE_LIMITED",
    "READ_ONLY_METHODS",
    "ResourceExhausted",
    "Unavailable",
    "auth_failure",
    "bucket_key",
    "build_http_client",
    "channel_base_url",
    "check_response",
    "credentials_from_dict",
    "credentials_to_dict",
    "datetime_to_timestamp",
    "expires_after",
    "host_not_allowed",
    "map_channel_error",
    "redis_limiter",
    "require_secret",
    "require_setting",
    "timestamp_to_datetime",
    "translate_channel_errors",
]

CONNECTOR_SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ConnectorService"].full_name
# ConnectorService RPCs that change nothing (any role may call them); the others (ExchangeCode,
# RefreshCredentials, PushInventory, PushPrices, CreateFulfillment) need a writing role. Every
# connector server passes this set to build_server.
READ_ONLY_METHODS = frozenset(
    f"/{CONNECTOR_SERVICE_NAME}/{name}"
    for name in (
        "Describe",
        "BuildAuthorizationUrl",
        "ValidateCredentials",
        "FetchOrders",
        "ParseWebhook",
        "ReadInventory",
        "ReadPrices",
        "ListRemoteProducts",
    )
)

# ErrorInfo reasons the channels service acts on.
ACCESS_TOKEN_EXPIRED = "ACCESS_TOKEN_EXPIRED"  # call RefreshCredentials (single-flight), retry once
CREDENTIALS_REVOKED = "CREDENTIALS_REVOKED"  # the connection needs re-authorization
CREDENTIALS_MISSING = "CREDENTIALS_MISSING"  # the context lacks a secret the channel needs
RATE_LIMITED = "RATE_LIMITED"  # RESOURCE_EXHAUSTED: come back after RetryInfo.retry_delay
CHANNEL_UNAVAILABLE = "CHANNEL_UNAVAILABLE"  # UNAVAILABLE: 5xx / timeouts after retries
CHANNEL_REJECTED = "CHANNEL_REJECTED"  # FAILED_PRECONDITION: the channel refused the request


# --------------------------------------------------------------------------------------------
# Context → client
# --------------------------------------------------------------------------------------------


def bucket_key(connection: Any) -> str:
    """Rate-limit bucket per connection: every replica of every connector shares it via Redis."""
    return f"connector:{connection.channel_type}:{connection.connection_id}"


def require_setting(connection: Any, name: str) -> str:
    value = connection.settings.get(name, "")
    if not value:
        raise InvalidArgument(
            f"connection setting {name!r} is required",
            violations=[FieldViolation(f"connection.settings.{name}", "required")],
        )
    return value


def require_secret(connection: Any, name: str) -> str:
    """A credential the call needs; its absence means the connection must be re-authorized."""
    value = connection.credentials.secrets.get(name, "")
    if not value:
        raise Unauthenticated(f"the connection has no {name}", reason=CREDENTIALS_MISSING)
    return value


def build_http_client(
    connection: Any,
    *,
    base_url: str,
    egress: EgressPolicy | None,
    limiter: RateLimiter,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass
    timeout: float = 10.0,
    auth: httpx.Auth | None = None,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
    throttle_delay: Callable[[httpx.Response], float | None] | None = None,
    max_wait: float = 30.0,
    bucket_observer: Callable[[httpx.Response], BucketLevel | float | None] | None = None,
    deadline: float | None = None,
) -> ChannelHttpClient:
    """A ChannelHttpClient on `base_url` (from `channel_base_url`), bucket per connection.

    `egress` None is only for a caller-supplied test transport; otherwise the guard applies.
    """
    kwargs: dict[str, Any] = {}
    if sleep is not None:
        kwargs["sleep"] = sleep
    if egress is not None:
        kwargs["egress"] = egress
    return ChannelHttpClient(
        base_url=base_url,
        limiter=limiter,
        bucket_key=bucket_key(connection),
        retry=retry,
        timeout=timeout,
        auth=auth,
        headers=headers,
        transport=transport,
        throttle_delay=throttle_delay,
        max_wait=max_wait,
        bucket_observer=bucket_observer,
        deadline=deadline,
        **kwargs,
    )


def redis_limiter(redis_url: str, *, capacity: float, refill_per_second: float) -> RedisTokenBucket:
    """The production limiter: one Redis bucket per connection, sized to the channel's limits."""
    import redis

    return RedisTokenBucket(
        redis.Redis.from_url(redis_url, socket_timeout=5, health_check_interval=30),
        capacity=capacity,
        refill_per_second=refill_per_second,
    )


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def auth_failure(message: str, *, refreshable: bool) -> Unauthenticated:
    """The channel's token-bad signal: refreshable (the caller refreshes and retries) or not."""
    return Unauthenticated(message, reason=ACCESS_TOKEN_EXPIRED if refreshable else CREDENTIALS_REVOKED)


def map_channel_error(error: ChannelHttpError) -> DomainError:
    """ChannelHttpError → the contract's status: 429/bucket → RESOURCE_EXHAUSTED, 5xx → UNAVAILABLE,
    a refused destination → INVALID_ARGUMENT (always the same message)."""
    if isinstance(error, EgressRefusedError):
        return host_not_allowed("api_base_url")
    if isinstance(error, RateLimitTimeout) or error.status == 429:
        return ResourceExhausted(
            f"channel rate limit: {error.message}",
            reason=RATE_LIMITED,
            retry_after=error.retry_after if error.retry_after is not None else 1.0,
        )
    if error.retryable:
        return Unavailable(f"channel unavailable: {error.message}", reason=CHANNEL_UNAVAILABLE)
    return FailedPrecondition(f"channel refused the request: {error.message}", reason=CHANNEL_REJECTED)


@contextlib.contextmanager
def translate_channel_errors() -> Iterator[None]:
    """Wrap a connector operation so ChannelHttpError leaves as the contract's DomainError."""
    try:
        yield
    except ChannelHttpError as error:
        raise map_channel_error(error) from None
    except EgressRefused:
        raise host_not_allowed("api_base_url") from None


def check_response(response: httpx.Response, *, refreshable: bool, what: str) -> httpx.Response:
    """Raise the contract's error for a response the HTTP layer returned but the call cannot use.

    401 is the token-bad signal; 403 means the token is valid but lacks a permission (scope),
    which re-authorizing, not refreshing, fixes; other 4xx are refusals; a 5xx that reached here
    (non-idempotent request, not retried) is UNAVAILABLE.
    """
    status = response.status_code
    if status < 400:
        return response
    if status == 401:
        raise auth_failure(f"{what}: the channel rejected the access token", refreshable=refreshable)
    if status == 403:
        raise Unauthenticated(
            f"{what}: the channel denied access (missing scope?)", reason=CREDENTIALS_REVOKED
        )
    if status == 429:
        raise ResourceExhausted(f"{what}: rate limited", reason=RATE_LIMITED, retry_after=1.0)
    if status >= 500:
        raise Unavailable(f"{what}: channel error HTTP {status}", reason=CHANNEL_UNAVAILABLE)
    raise FailedPrecondition(f"{what}: channel refused the request (HTTP {status})", reason=CHANNEL_REJECTED)


# --------------------------------------------------------------------------------------------
# Credentials and time
# --------------------------------------------------------------------------------------------


def timestamp_to_datetime(ts: timestamp_pb2.Timestamp | None) -> datetime | None:
    """Unset (zero) timestamps mean "unknown/never", not 1970."""
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return ts.ToDatetime(tzinfo=UTC)


def datetime_to_timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: OmniStock times are timezone-aware UTC")
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def expires_after(seconds: float | int | str | None, *, now: datetime | None = None) -> datetime | None:
    """Absolute expiry from a relative `expires_in` (stored absolute, per CHANNELS.md 0.2)."""
    if seconds is None or seconds == "":
        return None
    base = now or datetime.now(UTC)
    return base + timedelta(seconds=float(seconds))


def credentials_to_dict(credentials: Any) -> dict[str, Any]:
    """Credentials proto → {secrets, access_token_expires_at, refresh_token_expires_at, scopes}."""
    has = credentials.HasField
    return {
        "secrets": dict(credentials.secrets),
        "access_token_expires_at": (
            timestamp_to_datetime(credentials.access_token_expires_at)
            if has("access_token_expires_at")
            else None
        ),
        "refresh_token_expires_at": (
            timestamp_to_datetime(credentials.refresh_token_expires_at)
            if has("refresh_token_expires_at")
            else None
        ),
        "scopes": list(credentials.scopes),
    }


def credentials_from_dict(data: Mapping[str, Any]) -> Any:
    """The inverse of credentials_to_dict; None/empty values leave the proto fields unset."""
    message = pb.Credentials(
        secrets={k: str(v) for k, v in (data.get("secrets") or {}).items() if v is not None and v != ""},
        scopes=[str(s) for s in (data.get("scopes") or [])],
    )
    for name in ("access_token_expires_at", "refresh_token_expires_at"):
        ts = datetime_to_timestamp(data.get(name))
        if ts is not None:
            getattr(message, name).CopyFrom(ts)
    return message
