"""SQL of the channels service: a Repository bound to one open transaction, and the UnitOfWork.

Every query filters on tenant_id, except the two that identify the tenant BY the connection
(webhook intake, key rotation) and say so in their names. Credential writes are conditional
UPDATEs on credentials_version, so of two concurrent refreshes exactly one is persisted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.engine import Connection as SqlConnection
from sqlalchemy.engine import Row

from channels import models
from channels.domain import (
    CONNECTION_HEALTH_CHANGED,
    Connection,
    ConnectionStatus,
    Health,
    Listing,
    SyncLogEntry,
    health_changed_payload,
)
from channels.job_rows import JobQueries
from channels.order_repository import OrderQueries
from channels.publish_rows import PublishQueries
from channels.sync.repository import SyncQueries
from omnistock_common import outbox as outbox_writer
from omnistock_common.db import dialect_insert, insert_if_absent
from omnistock_common.rows import from_row, row_values
from omnistock_common.uow import UnitOfWorkBase


class UnitOfWork(UnitOfWorkBase["Repository"]):
    """Hands out transactions on one engine; `run(fn)` (UnitOfWorkBase) retries fn on transient
    conflicts."""

    def __init__(self, engine: Engine, *, attempts: int = 5) -> None:
        self.engine = engine
        self.attempts = attempts

    @contextmanager
    def transaction(self) -> Iterator[Repository]:
        with self.engine.begin() as conn:
            yield Repository(conn)


@dataclass(frozen=True)
class StoredConnection:
    """A connection row with its still-encrypted credentials (decrypted only at call time)."""

    connection: Connection
    credentials_blob: bytes


def _health(row: Row[Any]) -> Health:
    return from_row(
        Health,
        row,
        status=ConnectionStatus(row.status),
        error_count=int(row.error_count),
        increases_held_reason=row.increases_held_reason or "",
        channel_limits=json.loads(row.channel_limits or "{}"),
    )


def _health_values(health: Health) -> dict[str, Any]:
    """The connection row's health columns a sync outcome or a reconnect writes (the "increases
    held" pair is written only by the sync engine's increase hold: set_increase_hold)."""
    values = row_values(health, status=health.status.value)
    for written_elsewhere in (
        "increases_held_since",
        "increases_held_reason",
        "channel_limits",
        "channel_limits_at",
    ):
        del values[written_elsewhere]
    return values


def _stored(row: Row[Any]) -> StoredConnection:
    connection = from_row(
        Connection,
        row,
        settings=json.loads(row.settings),
        health=_health(row),
        credentials_version=int(row.credentials_version),
    )
    return StoredConnection(connection, bytes(row.credentials))


def _listing(row: Row[Any]) -> Listing:
    return from_row(Listing, row, external_ids=json.loads(row.external_ids))


class Repository(SyncQueries, OrderQueries, JobQueries, PublishQueries):
    """Every query of the service. Never commits (the UnitOfWork does)."""

    def __init__(self, conn: SqlConnection) -> None:
        self.conn = conn

    # ----------------------------------------------------------------------- connections
    def insert_connection(self, connection: Connection, credentials_blob: bytes) -> None:
        h = connection.health
        self.conn.execute(
            insert(models.connections).values(
                id=connection.id,
                tenant_id=connection.tenant_id,
                type=connection.type,
                name=connection.name,
                settings=json.dumps(dict(connection.settings), sort_keys=True),
                credentials=credentials_blob,
                credentials_version=connection.credentials_version,
                token_expires_at=connection.token_expires_at,
                increases_held_since=h.increases_held_since,
                increases_held_reason=h.increases_held_reason,
                created_at=connection.created_at,
                updated_at=connection.updated_at,
                **_health_values(h),
            )
        )

    def reauthorise_connection(self, connection: Connection, credentials_blob: bytes) -> None:
        """New credentials, settings, name and health for an existing connection (reconnect.py);
        the caller holds its row lock and has bumped credentials_version."""
        t = models.connections
        self.conn.execute(
            update(t)
            .where(t.c.tenant_id == connection.tenant_id, t.c.id == connection.id)
            .values(
                name=connection.name,
                settings=json.dumps(dict(connection.settings), sort_keys=True),
                credentials=credentials_blob,
                credentials_version=connection.credentials_version,
                token_expires_at=connection.token_expires_at,
                updated_at=connection.updated_at,
                **_health_values(connection.health),
            )
        )

    def update_connection_settings(
        self, tenant_id: str, connection_id: str, settings: Mapping[str, str], now: datetime
    ) -> None:
        t = models.connections
        self.conn.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.id == connection_id)
            .values(settings=json.dumps(dict(settings), sort_keys=True), updated_at=now)
        )

    def get_connection(
        self, tenant_id: str, connection_id: str, *, lock: bool = False
    ) -> StoredConnection | None:
        t = models.connections
        stmt = select(t).where(t.c.tenant_id == tenant_id, t.c.id == connection_id)
        if lock:
            stmt = stmt.with_for_update()
        row = self.conn.execute(stmt).first()
        return _stored(row) if row else None

    def get_connection_by_id_any_tenant(self, connection_id: str) -> StoredConnection | None:
        """Webhook intake only: the connection id in the URL is what identifies the tenant."""
        t = models.connections
        row = self.conn.execute(select(t).where(t.c.id == connection_id)).first()
        return _stored(row) if row else None

    def list_connections(self, tenant_id: str) -> list[StoredConnection]:
        t = models.connections
        rows = self.conn.execute(select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.created_at, t.c.id))
        return [_stored(row) for row in rows]

    def delete_connection(self, tenant_id: str, connection_id: str) -> bool:
        t = models.connections
        deleted = self.conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.id == connection_id))
        if not deleted.rowcount:
            return False
        lt = models.listings
        self.conn.execute(delete(lt).where(lt.c.tenant_id == tenant_id, lt.c.connection_id == connection_id))
        return True

    def save_health(self, tenant_id: str, connection_id: str, health: Health, now: datetime) -> None:
        t = models.connections
        self.conn.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.id == connection_id)
            .values(updated_at=now, **_health_values(health))
        )

    def change_health(self, connection: Connection, health: Health, now: datetime) -> None:
        """save_health, plus a `channels.connection_health_changed` outbox row in the same
        transaction when the status moved (`connection` is the row as read under its lock)."""
        self.save_health(connection.tenant_id, connection.id, health, now)
        payload = health_changed_payload(connection, connection.health, health)
        if payload is not None:
            self.add_event(connection.tenant_id, CONNECTION_HEALTH_CHANGED, payload)

    def set_increase_hold(
        self, tenant_id: str, connection_id: str, since: datetime | None, reason: str
    ) -> None:
        """Health's "increases held" fields (None/"" when released); nothing else is touched."""
        t = models.connections
        self.conn.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.id == connection_id)
            .values(increases_held_since=since, increases_held_reason=reason)
        )

    def set_channel_limits(
        self, tenant_id: str, connection_id: str, limits: Mapping[str, str], at: datetime
    ) -> None:
        """Health's channel quotas as a push reported them; nothing else is touched."""
        t = models.connections
        self.conn.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.id == connection_id)
            .values(channel_limits=json.dumps(dict(limits), sort_keys=True), channel_limits_at=at)
        )

    def replace_credentials(
        self,
        tenant_id: str,
        connection_id: str,
        *,
        expected_version: int,
        blob: bytes,
        token_expires_at: datetime | None,
        now: datetime,
    ) -> bool:
        """Conditional on the version the caller refreshed from: False when someone else won."""
        t = models.connections
        result = self.conn.execute(
            update(t)
            .where(
                t.c.tenant_id == tenant_id,
                t.c.id == connection_id,
                t.c.credentials_version == expected_version,
            )
            .values(
                credentials=blob,
                credentials_version=expected_version + 1,
                token_expires_at=token_expires_at,
                updated_at=now,
            )
        )
        return bool(result.rowcount)

    def credential_rows_any_tenant(self, after_id: str, limit: int) -> list[tuple[str, str, int, bytes]]:
        """Key rotation only: (id, tenant_id, credentials_version, blob) in id order."""
        t = models.connections
        rows = self.conn.execute(
            select(t.c.id, t.c.tenant_id, t.c.credentials_version, t.c.credentials)
            .where(t.c.id > after_id)
            .order_by(t.c.id)
            .limit(limit)
        )
        return [(r.id, r.tenant_id, int(r.credentials_version), bytes(r.credentials)) for r in rows]

    def reencrypt_credentials(self, connection_id: str, *, expected_version: int, blob: bytes) -> bool:
        """Key rotation: same plaintext, new key; skipped if a refresh changed the row meanwhile."""
        t = models.connections
        result = self.conn.execute(
            update(t)
            .where(t.c.id == connection_id, t.c.credentials_version == expected_version)
            .values(credentials=blob)
        )
        return bool(result.rowcount)

    # ----------------------------------------------------------------------- listings
    def upsert_listings(
        self,
        tenant_id: str,
        connection_id: str,
        items: Sequence[tuple[str, Mapping[str, str]]],
        now: datetime,
    ) -> None:
        """(sku, external_ids) pairs; keeps last_pushed_* of an existing mapping."""
        if not items:
            return
        t = models.listings
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            stmt = dialect_insert(self.conn, t).values(
                [
                    {
                        "tenant_id": tenant_id,
                        "connection_id": connection_id,
                        "sku": sku,
                        "external_ids": json.dumps(dict(ids), sort_keys=True),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for sku, ids in chunk
                ]
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[t.c.connection_id, t.c.sku],
                set_={"external_ids": stmt.excluded.external_ids, "updated_at": stmt.excluded.updated_at},
            )
            self.conn.execute(stmt)

    def get_listing(self, tenant_id: str, connection_id: str, sku: str) -> Listing | None:
        t = models.listings
        row = self.conn.execute(
            select(t).where(t.c.tenant_id == tenant_id, t.c.connection_id == connection_id, t.c.sku == sku)
        ).first()
        return _listing(row) if row else None

    def list_listings(
        self, tenant_id: str, connection_id: str, after_sku: str | None, limit: int
    ) -> list[Listing]:
        t = models.listings
        stmt = select(t).where(t.c.tenant_id == tenant_id, t.c.connection_id == connection_id)
        if after_sku is not None:
            stmt = stmt.where(t.c.sku > after_sku)
        rows = self.conn.execute(stmt.order_by(t.c.sku).limit(limit))
        return [_listing(row) for row in rows]

    # ----------------------------------------------------------------------- sync log / jobs
    def add_sync_log(
        self,
        tenant_id: str,
        connection_id: str,
        *,
        at: datetime,
        operation: str,
        skus: Sequence[str],
        outcome: str,
        message: str,
        latency_ms: int,
        calls: int,
    ) -> None:
        self.conn.execute(
            insert(models.sync_log).values(
                tenant_id=tenant_id,
                connection_id=connection_id,
                at=at,
                operation=operation,
                skus=json.dumps(list(skus)),
                outcome=outcome,
                message=message[:4000],
                latency_ms=latency_ms,
                calls=calls,
            )
        )

    def list_sync_log(self, tenant_id: str, connection_id: str, limit: int) -> list[SyncLogEntry]:
        t = models.sync_log
        rows = self.conn.execute(
            select(t)
            .where(t.c.tenant_id == tenant_id, t.c.connection_id == connection_id)
            .order_by(t.c.id.desc())
            .limit(limit)
        )
        return [
            SyncLogEntry(
                id=str(r.id),
                at=r.at,
                operation=r.operation,
                skus=json.loads(r.skus),
                outcome=r.outcome,
                message=r.message,
                latency_ms=int(r.latency_ms),
                calls=int(r.calls),
            )
            for r in rows
        ]

    def insert_sync_job(
        self, *, job_id: str, tenant_id: str, connection_id: str, scope: str, requested_by: str, now: datetime
    ) -> None:
        self.conn.execute(
            insert(models.sync_jobs).values(
                id=job_id,
                tenant_id=tenant_id,
                connection_id=connection_id,
                scope=scope,
                status="requested",
                requested_by=requested_by,
                message="",
                requested_at=now,
            )
        )

    def add_event(self, tenant_id: str, event_type: str, payload: dict[str, Any]) -> None:
        outbox_writer.add_event(self.conn, models.outbox, tenant_id, event_type, payload)

    # ----------------------------------------------------------------------- webhooks
    def insert_webhook_delivery(
        self,
        *,
        delivery_row_id: str,
        tenant_id: str,
        connection_id: str,
        channel_type: str,
        delivery_id: str,
        topic: str,
        kind: str,
        headers: Mapping[str, str],
        raw_body: bytes,
        now: datetime,
    ) -> bool:
        """INSERT .. ON CONFLICT DO NOTHING: False when this delivery id was stored before."""
        t = models.webhook_deliveries
        row = {
            "id": delivery_row_id,
            "tenant_id": tenant_id,
            "connection_id": connection_id,
            "channel_type": channel_type,
            "delivery_id": delivery_id,
            "topic": topic,
            "kind": kind,
            "headers": json.dumps(dict(headers), sort_keys=True),
            "raw_body": raw_body,
            "status": "received",
            "attempts": 0,
            "last_error": "",
            "received_at": now,
        }
        return insert_if_absent(self.conn, t, [t.c.connection_id, t.c.delivery_id], row)

    # ----------------------------------------------------------------------- notifications
    def get_notification_url(self, tenant_id: str) -> str:
        t = models.notification_settings
        row = self.conn.execute(select(t.c.webhook_url).where(t.c.tenant_id == tenant_id)).first()
        return row.webhook_url if row else ""

    def put_notification_url(self, tenant_id: str, url: str, now: datetime) -> None:
        t = models.notification_settings
        stmt = dialect_insert(self.conn, t).values(tenant_id=tenant_id, webhook_url=url, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.tenant_id],
            set_={"webhook_url": stmt.excluded.webhook_url, "updated_at": stmt.excluded.updated_at},
        )
        self.conn.execute(stmt)
