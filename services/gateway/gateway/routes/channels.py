"""Channels REST endpoints (API.md "Channels") ↔ the channels gRPC service.

Channel types, connections (API keys, OAuth start/callback), listings and auto-mapping, sync
requests, the sync log, notification settings, and the public webhook receiver. Views translate
JSON to protobuf and back and call one RPC each; every rule lives in the channels service.

Two endpoints take no JWT because a channel, not a user, calls them: the OAuth callback (the
signed `state` identifies tenant and flow) and `POST /webhooks/{type}/{connection_id}`, which
passes the RAW body bytes and headers on untouched so the channel's HMAC can be verified.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Literal

import grpc
from flask import current_app, g, request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from werkzeug.http import dump_cookie

from gateway.api import API_PREFIX, ApiModule, Reply, call_context
from gateway.deps import ChannelsClient, Deps
from gateway.domain import Permission
from gateway.errors import ApiProblem
from gateway.schemas import OutModel, StrictModel
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock.channels.v1 import channels_service_pb2_grpc as pb_grpc
from omnistock.common.v1 import common_pb2
from omnistock_common.context import CallContext
from omnistock_common.timestamps import from_timestamp

api = ApiModule("channels", tag="Channels")

_STATUS = {
    pb.CONNECTION_STATUS_CONNECTED: "connected",
    pb.CONNECTION_STATUS_DEGRADED: "degraded",
    pb.CONNECTION_STATUS_ERROR: "error",
    pb.CONNECTION_STATUS_DISCONNECTED: "disconnected",
}
ScopeName = Literal["inventory", "prices", "orders", "catalog", "all"]
_SCOPES: dict[str, int] = {
    name: pb.SyncScope.Value(f"SYNC_SCOPE_{name.upper()}") for name in ScopeName.__args__
}
# Never stored with a webhook delivery: they are the caller's, not the channel's.
_DROPPED_WEBHOOK_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_ID = Field(min_length=1, max_length=64)
# OAuth start leaves a random nonce in the browser (HttpOnly, SameSite=Lax, only sent to the
# callback); the signed state carries its SHA-256, so only that browser can complete the flow.
OAUTH_COOKIE = "omnistock_oauth"
OAUTH_CALLBACK_PATH = API_PREFIX + "/channels/oauth/callback"
OAUTH_COOKIE_MAX_AGE = 3600  # >= the state's own lifetime (CHANNELS_OAUTH_STATE_TTL_SECONDS)


def _client() -> ChannelsClient:
    deps: Deps = current_app.extensions["omnistock"]
    if deps.channels is None:
        raise ApiProblem(503, "the channels service is not configured")
    return deps.channels


def _channels() -> pb_grpc.ChannelsServiceStub:
    return _client().rpc.call(call_context())


def _session_binding(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _oauth_cookie(nonce: str, max_age: int = OAUTH_COOKIE_MAX_AGE) -> str:
    deps: Deps = current_app.extensions["omnistock"]
    return dump_cookie(
        OAUTH_COOKIE,
        nonce,
        max_age=max_age,
        path=OAUTH_CALLBACK_PATH,
        secure=deps.settings.public_base_url.startswith("https://"),
        httponly=True,
        samesite="Lax",  # the channel's redirect back is a top-level GET: Lax still sends it
    )


def _public_context() -> CallContext:
    """No tenant: the channels service identifies it from the connection / the signed state."""
    return CallContext(tenant_id="", request_id=getattr(g, "request_id", ""))


# ------------------------------------------------------------------------------ models
class ChannelTypeOut(OutModel):
    type: str
    auth: Literal["oauth", "api_key"]
    capabilities: list[str]


class ChannelTypeList(OutModel):
    items: list[ChannelTypeOut]


class HealthOut(OutModel):
    last_sync_at: datetime | None
    last_success_at: datetime | None
    error_count: int
    last_error: str
    token_expires_at: datetime | None


class ConnectionOut(OutModel):
    """A connection: settings and health, never a credential."""

    id: str
    type: str
    name: str
    status: Literal["connected", "degraded", "error", "disconnected"]
    status_reason: str
    settings: dict[str, str]
    health: HealthOut
    created_at: datetime | None


class ConnectionList(OutModel):
    items: list[ConnectionOut]
    next_cursor: str | None = None


class ConnectionIn(StrictModel):
    type: str = Field(min_length=1, max_length=32, examples=["woocommerce"])
    name: str = Field("", max_length=200)
    settings: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "non-secret settings; WooCommerce: store_url (https), whose REST root is "
            "<store_url>/wp-json/wc/v3; api_base_url points the connection at a sandbox/test "
            "server and is refused unless the operator lists its host:port in CHANNEL_ALLOWED_HOSTS"
        ),
        examples=[{"store_url": "https://shop.example", "api_base_url": "http://127.0.0.1:8702"}],
    )
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="secrets (e.g. consumer_key, consumer_secret); encrypted at rest, never returned",
    )


# Shopify's anchored shop-domain pattern (see shopify_connector.protocol.SHOP_DOMAIN_RE): the
# connector derives the API host from it, so a malformed value is refused here, before anything.
_SHOP_DOMAIN = r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$"


class OAuthStartQuery(StrictModel):
    name: str = Field("", max_length=200)
    shop_domain: str | None = Field(
        None, max_length=255, pattern=_SHOP_DOMAIN, description="Shopify: <shop>.myshopify.com"
    )
    shop: str | None = Field(
        None, max_length=255, pattern=_SHOP_DOMAIN, description="alias of shop_domain (Shopify's own name)"
    )
    api_base_url: str | None = Field(
        None,
        max_length=2048,
        description=(
            "sandbox or test server instead of the vendor; refused unless the operator lists its "
            "host:port in CHANNEL_ALLOWED_HOSTS (the shop's API host is https://<shop_domain>)"
        ),
    )
    store_url: str | None = Field(None, max_length=2048)
    location_id: str | None = Field(None, max_length=255)
    currency: str | None = Field(None, max_length=3)

    def settings(self) -> dict[str, str]:
        values = self.model_dump(exclude={"name", "shop"}, exclude_none=True)
        if self.shop and "shop_domain" not in values:
            values["shop_domain"] = self.shop
        return values


class OAuthStartOut(OutModel):
    authorization_url: str
    state_expires_at: datetime | None


class SyncIn(StrictModel):
    scope: ScopeName = "all"


class JobOut(OutModel):
    job_id: str


class ListingOut(OutModel):
    sku: str
    external_ids: dict[str, str]
    updated_at: datetime | None
    last_pushed_quantity: int | None


class ListingPage(OutModel):
    items: list[ListingOut]
    next_cursor: str | None


class PageQuery(StrictModel):
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2048)


class ListingIn(BaseModel):
    """Either `{"external_ids": {...}}` or the ids themselves, e.g. `{"product_id": "7"}`."""

    model_config = ConfigDict(extra="allow")

    external_ids: dict[str, str] | None = Field(None, examples=[{"product_id": "7", "variation_id": "12"}])

    def ids(self) -> dict[str, str]:
        if self.external_ids is not None:
            return self.external_ids
        extra = self.model_extra or {}
        bad = [key for key, value in extra.items() if not isinstance(value, str | int)]
        if bad:
            raise ApiProblem(
                400,
                "external ids must be strings",
                errors=[{"field": key, "message": "expected a string"} for key in bad],
            )
        return {key: str(value) for key, value in extra.items()}


class AutoMapIn(StrictModel):
    skus: list[str] = Field(default_factory=list, max_length=100_000, description="empty: every catalog SKU")


class AutoMapOut(OutModel):
    mapped: int
    unmapped_skus: list[str]
    unknown_remote_skus: list[str]


class SyncLogQuery(StrictModel):
    limit: int = Field(50, ge=1, le=500)


class SyncLogEntryOut(OutModel):
    id: str
    at: datetime | None
    operation: str
    skus: list[str]
    outcome: str
    message: str
    latency_ms: int
    calls: int


class SyncLogList(OutModel):
    items: list[SyncLogEntryOut]


class NotificationsIn(StrictModel):
    webhook_url: str = Field("", max_length=2048, description="sync failures are POSTed here; empty disables")

    @field_validator("webhook_url")
    @classmethod
    def _trim(cls, value: str) -> str:
        return value.strip()


class NotificationsOut(OutModel):
    webhook_url: str


class WebhookAckOut(OutModel):
    accepted: bool = Field(description="false when this delivery id was already received")
    delivery_id: str


def _connection(conn: pb.Connection) -> ConnectionOut:
    h = conn.health
    return ConnectionOut(
        id=conn.id,
        type=conn.type,
        name=conn.name,
        status=_STATUS.get(conn.status, "error"),  # type: ignore[arg-type]
        status_reason=conn.status_reason,
        settings=dict(conn.settings),
        health=HealthOut(
            last_sync_at=from_timestamp(h.last_sync_at),
            last_success_at=from_timestamp(h.last_success_at),
            error_count=h.error_count,
            last_error=h.last_error,
            token_expires_at=from_timestamp(h.token_expires_at),
        ),
        created_at=from_timestamp(conn.created_at),
    )


def _listing(item: pb.Listing) -> ListingOut:
    return ListingOut(
        sku=item.sku,
        external_ids=dict(item.external_ids),
        updated_at=from_timestamp(item.updated_at),
        last_pushed_quantity=item.last_pushed_quantity if item.HasField("last_pushed_quantity") else None,
    )


# ------------------------------------------------------------------------------ types + connections
@api.route(
    "GET",
    "/channel-types",
    summary="List channel types",
    permission=Permission.CHANNELS_READ,
    response=ChannelTypeList,
)
def list_channel_types() -> ChannelTypeList:
    """Every channel OmniStock knows, with its auth kind and capabilities."""
    reply = _channels().ListChannelTypes(pb.ListChannelTypesRequest())
    return ChannelTypeList(
        items=[
            ChannelTypeOut(type=t.type, auth=t.auth, capabilities=list(t.capabilities)) for t in reply.types
        ]  # type: ignore[arg-type]
    )


@api.route(
    "POST",
    "/channels",
    summary="Connect an API-key channel",
    permission=Permission.CHANNELS_MANAGE,
    body=ConnectionIn,
    response=ConnectionOut,
    status=201,
    problems=(409, 503),
)
def create_connection(body: ConnectionIn) -> ConnectionOut:
    """The keys are tested against the channel first; wrong keys are a 400 and nothing is stored."""
    reply = _channels().CreateConnection(
        pb.CreateConnectionRequest(
            type=body.type, name=body.name, settings=body.settings, credentials=body.credentials
        )
    )
    return _connection(reply.connection)


@api.route(
    "GET",
    "/channels/<channel_type>/oauth/start",
    summary="Start connecting an OAuth channel",
    permission=Permission.CHANNELS_MANAGE,
    query=OAuthStartQuery,
    response=OAuthStartOut,
    status=302,
    problems=(409, 503),
    response_headers={"Location": "the channel's consent page (carries a signed, expiring state)"},
)
def start_oauth(channel_type: str, query: OAuthStartQuery) -> Reply:
    """Redirects to the channel's consent page; the body repeats the URL for XHR clients. Sets the
    HttpOnly cookie that binds the callback to this browser: open the consent page in it."""
    nonce = secrets.token_urlsafe(32)
    reply = _channels().StartOAuth(
        pb.StartOAuthRequest(
            type=channel_type,
            name=query.name,
            settings=query.settings(),
            session_binding=_session_binding(nonce),
        )
    )
    body = OAuthStartOut(
        authorization_url=reply.authorization_url, state_expires_at=from_timestamp(reply.state_expires_at)
    )
    return Reply(
        body=body,
        status=302,
        headers={
            "Location": reply.authorization_url,
            "Set-Cookie": _oauth_cookie(nonce),
        },
    )


@api.route(
    "GET",
    "/channels/oauth/callback",
    summary="Finish connecting an OAuth channel",
    permission=None,
    response=ConnectionOut,
    problems=(400, 401, 403, 409, 503),
)
def oauth_callback() -> ConnectionOut:
    """Called by the channel's redirect: verifies the state and the channel's HMAC, stores the token.
    403 unless it arrives in the browser that started the flow (the cookie set by oauth/start)."""
    params = {key: request.args.get(key, "") for key in request.args}
    nonce = request.cookies.get(OAUTH_COOKIE, "")
    reply = (
        _client()
        .rpc.call(_public_context())
        .CompleteOAuth(
            pb.CompleteOAuthRequest(
                callback_params=params, session_binding=_session_binding(nonce) if nonce else ""
            )
        )
    )
    # The cookie stays until it expires: a reload of this page then hears "already used".
    return _connection(reply.connection)


@api.route(
    "GET",
    "/channels",
    summary="List connections",
    permission=Permission.CHANNELS_READ,
    response=ConnectionList,
)
def list_connections() -> ConnectionList:
    reply = _channels().ListConnections(pb.ListConnectionsRequest())
    return ConnectionList(items=[_connection(c) for c in reply.connections])


@api.route(
    "PUT",
    "/channels/notification-settings",
    summary="Set the sync-failure webhook",
    permission=Permission.CHANNELS_MANAGE,
    body=NotificationsIn,
    response=NotificationsOut,
)
def set_notifications(body: NotificationsIn) -> NotificationsOut:
    """Where sync failures are POSTed (best effort, in addition to the service log)."""
    reply = _channels().SetNotificationSettings(
        pb.SetNotificationSettingsRequest(webhook_url=body.webhook_url)
    )
    return NotificationsOut(webhook_url=reply.webhook_url)


@api.route(
    "GET",
    "/channels/<connection_id>",
    summary="Get a connection",
    permission=Permission.CHANNELS_READ,
    response=ConnectionOut,
)
def get_connection(connection_id: str) -> ConnectionOut:
    reply = _channels().GetConnection(pb.GetConnectionRequest(connection_id=connection_id))
    return _connection(reply.connection)


@api.route(
    "DELETE",
    "/channels/<connection_id>",
    summary="Disconnect and delete a connection",
    permission=Permission.CHANNELS_MANAGE,
    status=204,
)
def delete_connection(connection_id: str) -> Reply:
    _channels().DeleteConnection(pb.DeleteConnectionRequest(connection_id=connection_id))
    return Reply(status=204)


@api.route(
    "POST",
    "/channels/<connection_id>/sync",
    summary="Request a sync",
    permission=Permission.CHANNELS_WRITE,
    body=SyncIn,
    response=JobOut,
    status=202,
)
def request_sync(connection_id: str, body: SyncIn) -> JobOut:
    """Queued for the sync engine; the job id shows up in the sync log."""
    reply = _channels().RequestSync(
        pb.RequestSyncRequest(connection_id=connection_id, scope=_SCOPES[body.scope])
    )
    return JobOut(job_id=reply.job_id)


# ------------------------------------------------------------------------------ listings + log
@api.route(
    "GET",
    "/channels/<connection_id>/listings",
    summary="List listing mappings",
    permission=Permission.CHANNELS_READ,
    query=PageQuery,
    response=ListingPage,
)
def list_listings(connection_id: str, query: PageQuery) -> ListingPage:
    reply = _channels().ListListings(
        pb.ListListingsRequest(
            connection_id=connection_id,
            page=common_pb2.PageRequest(limit=query.limit, cursor=query.cursor or ""),
        )
    )
    return ListingPage(
        items=[_listing(i) for i in reply.listings], next_cursor=reply.page.next_cursor or None
    )


@api.route(
    "POST",
    "/channels/<connection_id>/listings/auto-map",
    summary="Map listings by SKU",
    permission=Permission.CHANNELS_WRITE,
    body=AutoMapIn,
    response=AutoMapOut,
    problems=(409, 429, 503),
)
def auto_map(connection_id: str, body: AutoMapIn) -> AutoMapOut:
    """Matches the channel's catalogue to OmniStock SKUs; SKUs without a match are reported."""
    reply = _channels().AutoMapListings(
        pb.AutoMapListingsRequest(connection_id=connection_id, skus=body.skus)
    )
    return AutoMapOut(
        mapped=reply.mapped,
        unmapped_skus=list(reply.unmapped_skus),
        unknown_remote_skus=list(reply.unknown_remote_skus),
    )


@api.route(
    "PUT",
    "/channels/<connection_id>/listings/<path:sku>",
    summary="Map one SKU to the channel's ids",
    permission=Permission.CHANNELS_WRITE,
    body=ListingIn,
    response=ListingOut,
)
def put_listing(connection_id: str, sku: str, body: ListingIn) -> ListingOut:
    reply = _channels().PutListing(
        pb.PutListingRequest(connection_id=connection_id, sku=sku, external_ids=body.ids())
    )
    return _listing(reply.listing)


@api.route(
    "GET",
    "/channels/<connection_id>/sync-log",
    summary="Recent pushes and pulls",
    permission=Permission.CHANNELS_READ,
    query=SyncLogQuery,
    response=SyncLogList,
)
def sync_log(connection_id: str, query: SyncLogQuery) -> SyncLogList:
    reply = _channels().ListSyncLog(pb.ListSyncLogRequest(connection_id=connection_id, limit=query.limit))
    return SyncLogList(
        items=[
            SyncLogEntryOut(
                id=e.id,
                at=from_timestamp(e.at),
                operation=e.operation,
                skus=list(e.skus),
                outcome=e.outcome,
                message=e.message,
                latency_ms=e.latency_ms,
                calls=e.calls,
            )
            for e in reply.entries
        ]
    )


# ------------------------------------------------------------------------------ webhooks
_WEBHOOK_READ_CHUNK = 64 * 1024
# The channels service refuses every bad delivery with UNAUTHENTICATED; NOT_FOUND is mapped the same
# way in case an older channels service still answers it for unknown connection ids.
_WEBHOOK_REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND)


def _webhook_rejected() -> ApiProblem:
    """The one answer to an unknown connection, a bad signature, another shop, a stale delivery...:
    the same status and body, so the endpoint tells nobody which connection ids exist."""
    return ApiProblem(401, "the webhook was rejected")


def _too_large(limit: int) -> ApiProblem:
    return ApiProblem(413, f"webhook bodies are limited to {limit} bytes")


def _webhook_body(limit: int) -> bytes:
    """The raw body, never reading more than `limit` + 1 bytes: a declared Content-Length over the
    limit is refused unread, and a chunked body is read piece by piece until it passes the limit."""
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    stream = request.stream
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(min(_WEBHOOK_READ_CHUNK, limit + 1 - total)):
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _limit_webhooks(deps: Deps, connection_id: str) -> None:
    """Per connection id, before any backend call; unknown ids count alike (no existence oracle)."""
    if deps.webhook_limiter is None:
        return
    settings = deps.settings
    key = "webhook:" + hashlib.sha256(connection_id.encode()).hexdigest()[:32]
    retry = deps.webhook_limiter.attempt(
        key, settings.webhook_rate_limit, settings.webhook_rate_window_seconds
    )
    if retry:
        raise ApiProblem(
            429, "too many webhook deliveries for this connection", headers={"Retry-After": str(retry)}
        )


@api.route(
    "POST",
    "/webhooks/<channel_type>/<connection_id>",
    summary="Receive a channel webhook",
    permission=None,
    response=WebhookAckOut,
    problems=(401, 413, 429, 503),
    request_content={
        "application/json": {"schema": {"description": "the channel's payload, verified on the raw bytes"}},
        "application/x-www-form-urlencoded": {
            "schema": {"description": "WooCommerce's unsigned creation ping"}
        },
    },
)
def receive_webhook(channel_type: str, connection_id: str) -> WebhookAckOut:
    """Size and rate checked before the body is read; signature, shop/store, topic, payload shape
    and age checked by the channels service and the connector; a repeated delivery is 200 too."""
    deps: Deps = current_app.extensions["omnistock"]
    if request.content_length is not None and request.content_length > deps.settings.webhook_max_body_bytes:
        raise _too_large(deps.settings.webhook_max_body_bytes)
    _limit_webhooks(deps, connection_id)
    raw_body = _webhook_body(deps.settings.webhook_max_body_bytes)
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() not in _DROPPED_WEBHOOK_HEADERS}
    try:
        reply = (
            _client()
            .webhooks.call(_public_context())
            .IngestWebhook(
                pb.IngestWebhookRequest(
                    channel_type=channel_type,
                    connection_id=connection_id,
                    headers=headers,
                    raw_body=raw_body,
                )
            )
        )
    except grpc.RpcError as err:
        if isinstance(err, grpc.Call) and err.code() in _WEBHOOK_REFUSED:
            raise _webhook_rejected() from None
        raise
    return WebhookAckOut(accepted=reply.accepted, delivery_id=reply.delivery_id)
