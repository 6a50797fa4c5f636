"""Use cases of the channels service: connections (API keys and OAuth), listings, sync requests,
the sync log, webhook intake, notification settings and key rotation.

Connector calls about an existing connection go through ConnectionCaller.with_connection
(refresh, health, sync log). Three calls cannot: ValidateCredentials and ExchangeCode happen
before the connection exists (nothing is stored unless they succeed), and ParseWebhook's
UNAUTHENTICATED means "bad signature on this request", which must neither refresh a token nor
disconnect the connection.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlparse

import grpc

from channels import domain
from channels.connector_calls import ConnectionCaller
from channels.connector_clients import (
    ConnectorRegistry,
    connection_context,
    credentials_from_pb,
    failure_of,
    signature_rejected,
    to_domain_error,
)
from channels.crypto import CredentialsCorrupt, KeyRing
from channels.domain import (
    CHANNEL_TYPES,
    AuthKind,
    AutoMapResult,
    ChannelType,
    ChannelUnavailable,
    Connection,
    ConnectionStatus,
    Credentials,
    Health,
    InvalidState,
    Listing,
    SyncLogEntry,
    SyncScope,
    WebhookReceipt,
)
from channels.repository import Repository, UnitOfWork
from channels.sync import in_flight, store
from omnistock.catalog.v1 import catalog_service_pb2 as catalog_pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc as catalog_grpc
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock_common import paging
from omnistock_common.clients import DeadlineStub
from omnistock_common.context import CallContext
from omnistock_common.errors import FieldViolation, InvalidArgument, NotFound, Unauthenticated
from omnistock_connector_kit.egress import HOST_NOT_ALLOWED, EgressPolicy, EgressRefused, safe_text

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
REMOTE_PAGE = 250
# Auto-map reads at most this many pages of the channel's catalogue (x REMOTE_PAGE = 50,000
# listings, a few MB in memory); a channel that keeps answering "more" cannot hold the call, its
# thread or its memory. The sync log says when the cap cut the read short.
MAX_REMOTE_PAGES = 200
# Remote SKUs unknown to OmniStock returned by one auto-map (the count is in the sync log).
MAX_UNKNOWN_REMOTE_SKUS = 1000
OAUTH_STATE_KEY_PREFIX = "omnistock:oauth-state:"
SYNC_REQUESTED_EVENT = "channels.sync_requested"
WEBHOOK_RECEIVED_EVENT = "channels.webhook_received"

_WEBHOOK_KINDS = {
    cpb.WEBHOOK_KIND_ORDER: "order",
    cpb.WEBHOOK_KIND_PRODUCT: "product",
    cpb.WEBHOOK_KIND_INVENTORY: "inventory",
    cpb.WEBHOOK_KIND_APP_UNINSTALLED: "app_uninstalled",
    cpb.WEBHOOK_KIND_OTHER: "other",
}


# Connector answers to ParseWebhook that mean "not a delivery we accept" (see ingest_webhook).
_WEBHOOK_REFUSALS = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT})
# Verifies nothing: unknown connection ids are checked against it (see _refuse_unknown_webhook).
_DUMMY_WEBHOOK_SECRET = secrets.token_urlsafe(32)
# Connectors refuse calls without a tenant; this one owns nothing.
_NO_TENANT = "webhook-without-connection"
WEBHOOK_REJECTED = "WEBHOOK_REJECTED"


def webhook_rejected() -> Unauthenticated:
    """The one answer to every refused webhook, whatever the reason (logged, never returned)."""
    return Unauthenticated("webhook rejected", reason=WEBHOOK_REJECTED)


class CatalogPort(Protocol):
    def all_skus(self, ctx: CallContext) -> list[str]: ...


class GrpcCatalog:
    """Every SKU of the caller's tenant, paged through catalog.ListProducts."""

    def __init__(self, stub: DeadlineStub[catalog_grpc.CatalogServiceStub]) -> None:
        self._stub = stub

    def all_skus(self, ctx: CallContext) -> list[str]:
        skus: list[str] = []
        cursor = ""
        try:
            while True:
                reply = self._stub.call(ctx).ListProducts(
                    catalog_pb.ListProductsRequest(
                        page=common_pb2.PageRequest(limit=MAX_LIMIT, cursor=cursor)
                    )
                )
                skus.extend(v.sku for p in reply.products for v in p.variants)
                cursor = reply.page.next_cursor
                if not cursor:
                    return skus
        except grpc.RpcError as err:
            failure = failure_of(err)
            raise ChannelUnavailable(
                f"the catalog could not list SKUs ({failure.code.name}); pass the SKUs explicitly or retry",
                reason="CATALOG_UNAVAILABLE",
            ) from None


class SetNxRedis(Protocol):
    def set(self, name: str, value: str, *, nx: bool = ..., ex: int | None = ...) -> object: ...


@dataclass(frozen=True)
class OAuthConfig:
    state_secret: bytes
    default_redirect_uri: str
    state_ttl: timedelta = timedelta(minutes=10)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _encode_cursor(value: str) -> str:
    return paging.encode_cursor([value])


def _decode_cursor(cursor: str) -> str | None:
    if not cursor:
        return None
    key = paging.decode_cursor(cursor, arity=1)
    if key is not None and isinstance(key[0], str):
        return key[0]
    raise InvalidArgument(
        "invalid cursor", violations=[FieldViolation("page.cursor", "not a cursor we issued")]
    )


def _limit(raw: int, field_name: str = "page.limit") -> int:
    if raw < 0 or raw > MAX_LIMIT:
        raise InvalidArgument("invalid limit", violations=[FieldViolation(field_name, f"0..{MAX_LIMIT}")])
    return raw or DEFAULT_LIMIT


def _label(kind: ChannelType) -> str:
    return kind.display_name


class ChannelsService:
    """The use cases. Stateless apart from its collaborators, so one instance serves all threads."""

    def __init__(
        self,
        uow: UnitOfWork,
        keyring: KeyRing,
        connectors: ConnectorRegistry,
        caller: ConnectionCaller,
        redis: SetNxRedis,
        oauth: OAuthConfig,
        catalog: CatalogPort | None = None,
        clock: Callable[[], datetime] = _utcnow,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.uow = uow
        self.keyring = keyring
        self.connectors = connectors
        self.caller = caller
        self.redis = redis
        self.oauth = oauth
        self.catalog = catalog
        self.clock = clock
        # Where tenant-typed URLs (the notification webhook) may point: CHANNEL_ALLOWED_HOSTS,
        # else https:443 on public addresses (omnistock_connector_kit.egress).
        self.egress = egress or EgressPolicy()

    # ------------------------------------------------------------------ types
    @staticmethod
    def list_channel_types() -> list[ChannelType]:
        return list(CHANNEL_TYPES.values())

    # ------------------------------------------------------------------ API-key connections
    def create_connection(
        self,
        ctx: CallContext,
        channel_type: str,
        name: str,
        settings: Mapping[str, str],
        credentials: Mapping[str, str],
    ) -> Connection:
        """Validate the keys with a real call first; nothing is stored unless the channel agrees."""
        kind = domain.channel_type(channel_type, auth=AuthKind.API_KEY)
        clean_settings = domain.validate_settings(settings)
        creds = Credentials(secrets=domain.validate_credentials_input(kind, credentials))
        connection_id = str(uuid.uuid4())
        request = cpb.ValidateCredentialsRequest(
            connection=connection_context(
                connection_id=connection_id,
                tenant_id=ctx.tenant_id,
                channel_type=kind.type,
                settings=clean_settings,
                credentials=creds,
            )
        )
        try:
            reply = self.connectors.get(kind.type).call(ctx).ValidateCredentials(request)
        except grpc.RpcError as err:
            failure = failure_of(err)
            if failure.code is grpc.StatusCode.UNAUTHENTICATED:
                raise InvalidArgument(
                    f"{_label(kind)} rejected these credentials ({safe_text(failure.message)}); "
                    "nothing was saved",
                    reason="CREDENTIALS_REJECTED",
                    violations=[FieldViolation("credentials", "the channel refused them")],
                ) from None
            if failure.code is grpc.StatusCode.NOT_FOUND:
                # A 404 here is the store's URL, not a missing OmniStock resource.
                raise InvalidArgument(
                    f"{_label(kind)}: {safe_text(failure.message)}; check the store URL; nothing was saved",
                    reason="CHANNEL_URL_NOT_FOUND",
                    violations=[FieldViolation("settings.api_base_url", "no store API answers there")],
                ) from None
            raise to_domain_error(failure, _label(kind)) from None
        learnt = domain.remote_settings(reply.settings, exclude=clean_settings)
        final_name = domain.validate_name(
            name or safe_text(reply.account_name, domain.MAX_NAME) or kind.display_name
        )
        return self._store_new(
            ctx.tenant_id,
            connection_id,
            kind,
            final_name,
            {**clean_settings, **learnt},
            creds,
            "validate_credentials",
        )

    # ------------------------------------------------------------------ OAuth connections
    def start_oauth(
        self,
        ctx: CallContext,
        channel_type: str,
        name: str,
        settings: Mapping[str, str],
        redirect_uri: str,
        session_binding: str = "",
    ) -> tuple[str, datetime]:
        """The consent URL with a signed, expiring state bound to tenant, user, type, settings and
        the caller's browser session (`session_binding`, required)."""
        kind = domain.channel_type(channel_type, auth=AuthKind.OAUTH)
        binding = domain.validate_session_binding(session_binding)
        clean_settings = domain.validate_settings(settings)
        final_name = domain.validate_name(name or kind.display_name)
        redirect = redirect_uri or self.oauth.default_redirect_uri
        if urlparse(redirect).scheme not in ("http", "https"):
            raise InvalidArgument(
                "invalid redirect_uri", violations=[FieldViolation("redirect_uri", "must be an http(s) URL")]
            )
        token, state = domain.sign_state(
            self.oauth.state_secret,
            tenant_id=ctx.tenant_id,
            user_id=ctx.user_id,
            channel_type=kind.type,
            name=final_name,
            settings=clean_settings,
            redirect_uri=redirect,
            now=self.clock(),
            ttl=self.oauth.state_ttl,
            binding=binding,
        )
        request = cpb.BuildAuthorizationUrlRequest(
            connection=connection_context(
                connection_id="",
                tenant_id=ctx.tenant_id,
                channel_type=kind.type,
                settings=clean_settings,
                credentials=None,
            ),
            state=token,
            redirect_uri=redirect,
        )
        try:
            reply = self.connectors.get(kind.type).call(ctx).BuildAuthorizationUrl(request)
        except grpc.RpcError as err:
            raise to_domain_error(failure_of(err), _label(kind)) from None
        return reply.authorization_url, state.expires_at

    def complete_oauth(
        self, callback_params: Mapping[str, str], redirect_uri: str, session_binding: str = ""
    ) -> Connection:
        """Tenantless: the tenant comes from the signed state, which is usable exactly once, and
        only in the browser session that started the flow (checked before the state is spent)."""
        token = callback_params.get("state", "")
        if not token:
            raise InvalidState("the OAuth callback has no state", reason="OAUTH_STATE_INVALID")
        state = domain.verify_state(self.oauth.state_secret, token, self.clock())
        domain.check_session_binding(state, session_binding)
        kind = domain.channel_type(state.channel_type, auth=AuthKind.OAUTH)
        ttl = int(self.oauth.state_ttl.total_seconds()) + 60
        if not self.redis.set(OAUTH_STATE_KEY_PREFIX + state.nonce, "1", nx=True, ex=ttl):
            raise InvalidState(
                "this OAuth state was already used: start the connection again", reason="OAUTH_STATE_REUSED"
            )
        ctx = CallContext(tenant_id=state.tenant_id, user_id=state.user_id)
        connection_id = str(uuid.uuid4())
        request = cpb.ExchangeCodeRequest(
            connection=connection_context(
                connection_id=connection_id,
                tenant_id=state.tenant_id,
                channel_type=kind.type,
                settings=state.settings,
                credentials=None,
            ),
            callback_params=dict(callback_params),
            redirect_uri=redirect_uri or state.redirect_uri,
        )
        try:
            reply = self.connectors.get(kind.type).call(ctx).ExchangeCode(request)
        except grpc.RpcError as err:
            failure = failure_of(err)
            if failure.code is grpc.StatusCode.UNAUTHENTICATED:
                raise signature_rejected(failure, _label(kind)) from None
            raise to_domain_error(failure, _label(kind)) from None
        creds = credentials_from_pb(reply.credentials)
        settings = {**state.settings, **domain.remote_settings(reply.settings, exclude=state.settings)}
        return self._store_new(
            state.tenant_id, connection_id, kind, state.name, settings, creds, "exchange_code"
        )

    def _store_new(
        self,
        tenant_id: str,
        connection_id: str,
        kind: ChannelType,
        name: str,
        settings: Mapping[str, str],
        creds: Credentials,
        operation: str,
    ) -> Connection:
        now = self.clock()
        connection = Connection(
            id=connection_id,
            tenant_id=tenant_id,
            type=kind.type,
            name=name,
            settings=dict(settings),
            health=Health(ConnectionStatus.CONNECTED, "", now, now, 0, ""),
            token_expires_at=creds.access_token_expires_at,
            credentials_version=1,
            created_at=now,
            updated_at=now,
        )
        blob = self.keyring.encrypt(creds.to_bytes(), tenant_id=tenant_id, connection_id=connection_id)

        def work(repo: Repository) -> None:
            repo.insert_connection(connection, blob)
            repo.add_sync_log(
                tenant_id,
                connection_id,
                at=now,
                operation=operation,
                skus=(),
                outcome="ok",
                message="connected",
                latency_ms=0,
                calls=1,
            )
            repo.add_event(
                tenant_id,
                "channels.connection_created",
                {"connection_id": connection_id, "channel_type": kind.type},
            )

        self.uow.run(work)
        log.info("connected %s connection %s", kind.type, connection_id, extra={"tenant": tenant_id})
        return connection

    # ------------------------------------------------------------------ connections
    def get_connection(self, ctx: CallContext, connection_id: str) -> Connection:
        return self.caller.load(ctx.tenant_id, connection_id).connection

    def list_connections(self, ctx: CallContext) -> list[Connection]:
        with self.uow.transaction() as repo:
            return [stored.connection for stored in repo.list_connections(ctx.tenant_id)]

    def delete_connection(self, ctx: CallContext, connection_id: str) -> None:
        def work(repo: Repository) -> bool:
            stored = repo.get_connection(ctx.tenant_id, connection_id, lock=True)
            if stored is None:
                return False
            repo.delete_connection(ctx.tenant_id, connection_id)
            repo.add_event(
                ctx.tenant_id,
                "channels.connection_deleted",
                {"connection_id": connection_id, "channel_type": stored.connection.type},
            )
            return True

        if not self.uow.run(work):
            raise NotFound("connection not found")

    # ------------------------------------------------------------------ sync requests / log
    def request_sync(self, ctx: CallContext, connection_id: str, scope: SyncScope) -> str:
        """Record the job and its outbox event in one transaction; the sync engine consumes it."""
        job_id = str(uuid.uuid4())
        now = self.clock()

        def work(repo: Repository) -> bool:
            stored = repo.get_connection(ctx.tenant_id, connection_id)
            if stored is None:
                return False
            repo.insert_sync_job(
                job_id=job_id,
                tenant_id=ctx.tenant_id,
                connection_id=connection_id,
                scope=scope.value,
                requested_by=ctx.actor,
                now=now,
            )
            repo.add_event(
                ctx.tenant_id,
                SYNC_REQUESTED_EVENT,
                {
                    "job_id": job_id,
                    "connection_id": connection_id,
                    "channel_type": stored.connection.type,
                    "scope": scope.value,
                },
            )
            return True

        if not self.uow.run(work):
            raise NotFound("connection not found")
        return job_id

    def list_sync_log(self, ctx: CallContext, connection_id: str, limit: int) -> list[SyncLogEntry]:
        size = _limit(limit, "limit")
        with self.uow.transaction() as repo:
            if repo.get_connection(ctx.tenant_id, connection_id) is None:
                raise NotFound("connection not found")
            return repo.list_sync_log(ctx.tenant_id, connection_id, size)

    # ------------------------------------------------------------------ listings
    def list_listings(
        self, ctx: CallContext, connection_id: str, limit: int, cursor: str
    ) -> tuple[list[Listing], str]:
        size = _limit(limit)
        after = _decode_cursor(cursor)
        with self.uow.transaction() as repo:
            if repo.get_connection(ctx.tenant_id, connection_id) is None:
                raise NotFound("connection not found")
            rows = repo.list_listings(ctx.tenant_id, connection_id, after, size + 1)
        more = len(rows) > size
        page = rows[:size]
        return page, _encode_cursor(page[-1].sku) if more else ""

    def put_listing(
        self, ctx: CallContext, connection_id: str, sku: str, external_ids: Mapping[str, str]
    ) -> Listing:
        domain.validate_sku(sku)
        ids = domain.validate_external_ids(external_ids)
        now = self.clock()

        def work(repo: Repository) -> Listing:
            if repo.get_connection(ctx.tenant_id, connection_id) is None:
                raise NotFound("connection not found")
            repo.upsert_listings(ctx.tenant_id, connection_id, [(sku, ids)], now)
            listing = repo.get_listing(ctx.tenant_id, connection_id, sku)
            assert listing is not None
            return listing

        return self.uow.run(work)

    def auto_map(self, ctx: CallContext, connection_id: str, skus: Sequence[str]) -> AutoMapResult:
        """Match the channel's catalogue to OmniStock SKUs; unmatched SKUs are reported."""
        stored = self.caller.load(ctx.tenant_id, connection_id)
        for index, sku in enumerate(skus):
            domain.validate_sku(sku, f"skus[{index}]")
        if skus:
            omni = list(dict.fromkeys(skus))
        elif self.catalog is not None:
            omni = list(dict.fromkeys(self.catalog.all_skus(ctx)))
        else:
            raise InvalidArgument(
                "no catalog is configured: pass the SKUs to map",
                violations=[FieldViolation("skus", "required without a catalog")],
            )
        remote: dict[str, dict[str, str]] = {}
        cursor = ""
        seen: set[str] = set()
        capped = False
        for page in range(MAX_REMOTE_PAGES + 1):
            if page == MAX_REMOTE_PAGES:
                capped = True
                break
            reply = self.caller.with_connection(
                ctx.tenant_id,
                connection_id,
                "list_remote_products",
                lambda stub, conn, cursor=cursor: stub.ListRemoteProducts(
                    cpb.ListRemoteProductsRequest(connection=conn, cursor=cursor, limit=REMOTE_PAGE)
                ),
            )
            for product in reply.products:
                # Remote SKUs come back to the tenant: only well-formed ones are considered.
                if domain.is_clean_identifier(product.sku) and product.sku not in remote:
                    remote[product.sku] = domain.remote_ids(product.remote.ids)
            cursor = reply.next_cursor
            if not cursor or cursor in seen:
                break
            seen.add(cursor)
        omni_set = set(omni)
        matched = [(sku, remote[sku]) for sku in omni if remote.get(sku)]
        unmapped = [sku for sku in omni if not remote.get(sku)]
        unknown = sorted(sku for sku in remote if sku not in omni_set)
        now = self.clock()
        cut = f"; stopped after {MAX_REMOTE_PAGES} pages of the channel's catalogue" if capped else ""

        def work(repo: Repository) -> None:
            repo.upsert_listings(ctx.tenant_id, connection_id, matched, now)
            repo.add_sync_log(
                ctx.tenant_id,
                connection_id,
                at=now,
                operation="auto_map",
                skus=unmapped[:1000],
                outcome="ok" if not unmapped else "conflict",
                message=(
                    f"mapped {len(matched)}; {len(unmapped)} OmniStock SKUs not on "
                    f"{stored.connection.type}; {len(unknown)} remote SKUs unknown to OmniStock{cut}"
                ),
                latency_ms=0,
                calls=0,
            )

        self.uow.run(work)
        return AutoMapResult(len(matched), unmapped, unknown[:MAX_UNKNOWN_REMOTE_SKUS])

    # ------------------------------------------------------------------ webhooks
    def ingest_webhook(
        self, channel_type: str, connection_id: str, headers: Mapping[str, str], raw_body: bytes
    ) -> WebhookReceipt:
        """Verify (connector), dedupe, store; fast: one connector call and one INSERT.

        Every refusal (unknown connection, wrong type, bad signature, another shop, a topic not
        subscribed, a stale or misshapen delivery) is the same UNAUTHENTICATED and changes nothing,
        so the endpoint reveals neither which connection ids exist nor which check failed.
        """
        with self.uow.transaction() as repo:
            stored = repo.get_connection_by_id_any_tenant(connection_id)
        lowered = {k.lower(): v for k, v in headers.items()}
        if stored is None or stored.connection.type != channel_type:
            return self._refuse_unknown_webhook(channel_type, lowered, raw_body)
        conn = stored.connection
        kind = CHANNEL_TYPES[conn.type]
        try:
            creds = self.caller.decrypt(stored)
        except CredentialsCorrupt:
            log.error("webhook for connection %s: credentials do not decrypt", conn.id)
            raise
        request = cpb.ParseWebhookRequest(
            connection=connection_context(
                connection_id=conn.id,
                tenant_id=conn.tenant_id,
                channel_type=conn.type,
                settings=conn.settings,
                credentials=creds,
            ),
            headers=lowered,
            raw_body=raw_body,
        )
        try:
            reply = (
                self.connectors.get(conn.type)
                .call(CallContext(tenant_id=conn.tenant_id))
                .ParseWebhook(request)
            )
        except grpc.RpcError as err:
            failure = failure_of(err)
            if failure.code in _WEBHOOK_REFUSALS:
                # The reason stays in our log; the caller learns only "rejected".
                log.warning(
                    "webhook for connection %s rejected: %s",
                    conn.id,
                    failure.message[:300],
                    extra={"tenant": conn.tenant_id},
                )
                raise webhook_rejected() from None
            raise to_domain_error(failure, _label(kind)) from None
        if reply.kind == cpb.WEBHOOK_KIND_PING:
            return WebhookReceipt(True, reply.delivery_id)
        delivery_id = reply.delivery_id or "sha256:" + hashlib.sha256(raw_body).hexdigest()
        kind_name = _WEBHOOK_KINDS.get(reply.kind, "other")
        row_id = str(uuid.uuid4())
        now = self.clock()
        committed: list[str] = []

        def work(repo: Repository) -> bool:
            committed.clear()
            inserted = repo.insert_webhook_delivery(
                delivery_row_id=row_id,
                tenant_id=conn.tenant_id,
                connection_id=conn.id,
                channel_type=conn.type,
                delivery_id=delivery_id[:255],
                topic=reply.topic[:255],
                kind=kind_name,
                headers=lowered,
                raw_body=raw_body,
                now=now,
            )
            if not inserted:
                return False
            repo.add_event(
                conn.tenant_id,
                WEBHOOK_RECEIVED_EVENT,
                {
                    "delivery_row_id": row_id,
                    "connection_id": conn.id,
                    "channel_type": conn.type,
                    "delivery_id": delivery_id,
                    "topic": reply.topic,
                    "kind": kind_name,
                },
            )
            if reply.kind == cpb.WEBHOOK_KIND_ORDER:
                # In-flight protection (sync/in_flight.py): the sold units count from now on.
                committed.extend(
                    in_flight.store_commitments(repo, conn.tenant_id, conn.id, reply.orders, now)
                )
            if reply.kind == cpb.WEBHOOK_KIND_APP_UNINSTALLED:
                current = repo.get_connection(conn.tenant_id, conn.id, lock=True)
                if current is not None:
                    reason = f"the OmniStock app was uninstalled from this {_label(kind)} store; reconnect it"
                    repo.save_health(
                        conn.tenant_id,
                        conn.id,
                        domain.disconnected(current.connection.health, now, reason),
                        now,
                    )
            return True

        accepted = self.uow.run(work)
        if committed:
            # The other channels must drop the sold units at once, not at their next change. The
            # webhook is stored either way: a failure here only delays that until the next flush.
            try:
                store.requeue_skus(
                    self.redis, self.uow, conn.tenant_id, committed, exclude_connection_id=conn.id
                )  # type: ignore[arg-type]
            except Exception:
                log.exception("could not re-queue SKUs sold on connection %s", conn.id)
        return WebhookReceipt(accepted, delivery_id)

    def _refuse_unknown_webhook(
        self, channel_type: str, headers: Mapping[str, str], raw_body: bytes
    ) -> WebhookReceipt:
        """No such connection of this type: verify against a throw-away connection anyway, so the
        answer and its timing match a bad signature on a real one. The unsigned WooCommerce ping
        is acknowledged here too (it changes nothing), or it would tell which ids exist."""
        channel = CHANNEL_TYPES.get(channel_type)
        if channel is None or not channel.available:
            raise webhook_rejected()
        request = cpb.ParseWebhookRequest(
            connection=connection_context(
                connection_id="",
                tenant_id=_NO_TENANT,
                channel_type=channel_type,
                settings={},
                credentials=Credentials(secrets={"webhook_secret": _DUMMY_WEBHOOK_SECRET}),
            ),
            headers=headers,
            raw_body=raw_body,
        )
        try:
            reply = (
                self.connectors.get(channel_type)
                .call(CallContext(tenant_id=_NO_TENANT))
                .ParseWebhook(request)
            )
        except grpc.RpcError as err:
            failure = failure_of(err)
            if failure.code in _WEBHOOK_REFUSALS:
                raise webhook_rejected() from None
            raise to_domain_error(failure, _label(channel)) from None
        if reply.kind == cpb.WEBHOOK_KIND_PING:
            return WebhookReceipt(True, reply.delivery_id)
        # Nothing a connector accepts for a connection with no shop/store and a random secret.
        log.error("%s connector accepted a webhook for no connection", channel_type)
        raise webhook_rejected()

    # ------------------------------------------------------------------ notifications
    def set_notification_url(self, ctx: CallContext, url: str) -> str:
        cleaned = url.strip()
        if cleaned:
            parsed = urlparse(cleaned)
            if parsed.scheme not in ("http", "https") or not parsed.hostname or len(cleaned) > 2048:
                raise InvalidArgument(
                    "invalid webhook URL",
                    violations=[FieldViolation("webhook_url", "must be an http(s) URL")],
                )
            try:
                # No DNS here: each POST is checked (and pinned) again when it is made.
                self.egress.check_static(cleaned)
            except EgressRefused:
                raise InvalidArgument(
                    HOST_NOT_ALLOWED,
                    reason="CHANNEL_HOST_NOT_ALLOWED",
                    violations=[
                        FieldViolation(
                            "webhook_url",
                            "must be an https URL of a public host (other hosts only if the operator "
                            "allows them)",
                        )
                    ],
                ) from None
        now = self.clock()
        self.uow.run(lambda repo: repo.put_notification_url(ctx.tenant_id, cleaned, now))
        return cleaned

    def notification_url(self, tenant_id: str) -> str:
        with self.uow.transaction() as repo:
            return repo.get_notification_url(tenant_id)


@dataclass(frozen=True)
class RotationReport:
    rotated: int
    already_current: int
    skipped_changed: int


def rotate_credentials(uow: UnitOfWork, keyring: KeyRing, *, batch: int = 200) -> RotationReport:
    """Re-encrypt every connection's credentials under the current key (CREDENTIALS_KEYS[0]).

    Safe while servers run: each row is rewritten with a conditional UPDATE on its
    credentials_version, so a concurrent token refresh (already under the current key) wins.
    """
    rotated = current = skipped = 0
    after = ""
    while True:
        with uow.transaction() as repo:
            rows = repo.credential_rows_any_tenant(after, batch)
        if not rows:
            return RotationReport(rotated, current, skipped)
        for connection_id, tenant_id, version, blob in rows:
            after = connection_id
            if not keyring.needs_rotation(blob):
                current += 1
                continue
            new_blob = keyring.reencrypt(blob, tenant_id=tenant_id, connection_id=connection_id)
            if uow.run(
                lambda repo, cid=connection_id, v=version, b=new_blob: repo.reencrypt_credentials(
                    cid, expected_version=v, blob=b
                )
            ):
                rotated += 1
            else:
                skipped += 1
