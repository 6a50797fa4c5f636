"""Use cases of the channels service about existing connections: channel types, connections and
their editable settings, sync requests, the sync log and notification settings. The other areas
have their own modules: connection_setup (new connections: API keys and OAuth), listing_mapping,
webhook_intake. Every use case is a module function taking the unit of work, or ChannelsDeps when
it needs more.

Connector calls about an existing connection go through ConnectionCaller.with_connection
(refresh, health, sync log). Three calls cannot: ValidateCredentials and ExchangeCode happen
before the connection exists (nothing is stored unless they succeed), and ParseWebhook's
UNAUTHENTICATED means "bad signature on this request", which must neither refresh a token nor
disconnect the connection.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from urllib.parse import urlparse

from channels.connection_settings import changed_settings
from channels.deps import ChannelsDeps, page_limit
from channels.domain import (
    CHANNEL_TYPES,
    ChannelType,
    Connection,
    SyncLogEntry,
    SyncScope,
)
from channels.price_domain import PRICE_SYNC_REQUESTED_EVENT
from channels.repository import Repository, UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.egress import HOST_NOT_ALLOWED, EgressRefused
from omnistock_common.errors import FieldViolation, InvalidArgument, NotFound

SYNC_REQUESTED_EVENT = "channels.sync_requested"


# ------------------------------------------------------------------ types
def list_channel_types() -> list[ChannelType]:
    return list(CHANNEL_TYPES.values())


# ------------------------------------------------------------------ connections
def get_connection(deps: ChannelsDeps, ctx: CallContext, connection_id: str) -> Connection:
    return deps.caller.load(ctx.tenant_id, connection_id).connection


def list_connections(uow: UnitOfWork, ctx: CallContext) -> list[Connection]:
    with uow.transaction() as repo:
        return [stored.connection for stored in repo.list_connections(ctx.tenant_id)]


def update_connection_settings(
    deps: ChannelsDeps,
    ctx: CallContext,
    connection_id: str,
    to_set: dict[str, str],
    to_remove: list[str],
) -> Connection:
    """Write the settings the merchant may change (connection_settings); the next connector call
    reads them (connections are loaded per call, never cached)."""

    def work(repo: Repository) -> Connection | None:
        stored = repo.get_connection(ctx.tenant_id, connection_id, lock=True)
        if stored is None:
            return None
        conn = stored.connection
        settings = changed_settings(CHANNEL_TYPES[conn.type], conn.settings, to_set, to_remove)
        repo.update_connection_settings(ctx.tenant_id, connection_id, settings, deps.clock())
        return replace(conn, settings=settings)

    updated = deps.uow.run(work)
    if updated is None:
        raise NotFound("connection not found")
    return updated


def delete_connection(uow: UnitOfWork, ctx: CallContext, connection_id: str) -> None:
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

    if not uow.run(work):
        raise NotFound("connection not found")


# ------------------------------------------------------------------ sync requests / log
def request_sync(deps: ChannelsDeps, ctx: CallContext, connection_id: str, scope: SyncScope) -> str:
    """Record the job and its outbox event in one transaction; the sync engine consumes it.

    Prices (scope `prices` or `all`) live in the pricing service: the same transaction asks it,
    through `channels.price_sync_requested`, to announce every price of the connection again as
    `pricing.price_changed` events, which the sync engine pushes like any price change."""
    job_id = str(uuid.uuid4())
    now = deps.clock()

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
        if scope in (SyncScope.PRICES, SyncScope.ALL):
            repo.add_event(
                ctx.tenant_id,
                PRICE_SYNC_REQUESTED_EVENT,
                {"tenant_id": ctx.tenant_id, "connection_id": connection_id, "job_id": job_id},
            )
        return True

    if not deps.uow.run(work):
        raise NotFound("connection not found")
    return job_id


def list_sync_log(uow: UnitOfWork, ctx: CallContext, connection_id: str, limit: int) -> list[SyncLogEntry]:
    size = page_limit(limit, "limit")
    with uow.transaction() as repo:
        if repo.get_connection(ctx.tenant_id, connection_id) is None:
            raise NotFound("connection not found")
        return repo.list_sync_log(ctx.tenant_id, connection_id, size)


# ------------------------------------------------------------------ notifications
def set_notification_url(deps: ChannelsDeps, ctx: CallContext, url: str) -> str:
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
            deps.egress.check_static(cleaned)
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
    now = deps.clock()
    deps.uow.run(lambda repo: repo.put_notification_url(ctx.tenant_id, cleaned, now))
    return cleaned


def notification_url(uow: UnitOfWork, tenant_id: str) -> str:
    with uow.transaction() as repo:
        return repo.get_notification_url(tenant_id)
