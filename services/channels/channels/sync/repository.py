"""SQL of the sync engine: listings' push state, commitments, order-poll state and sync jobs.

A mixin of channels.repository.Repository (which binds `conn` to one open transaction), so the
flusher, in-flight protection and reconciliation reach these queries through the same
`uow.transaction()` / `uow.run(work)` as the rest of the service and hold no SQL themselves.
Every query filters on tenant_id except the scheduled jobs' `*_any_tenant` reads, which say so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select, tuple_, update
from sqlalchemy.engine import Connection as SqlConnection
from sqlalchemy.engine import Row

from channels import models
from channels.domain import ConnectionStatus
from omnistock_common.db import dialect_insert

# Status of a channel_commitments row.
PENDING = "pending"
IMPORTED = "imported"
CANCELLED = "cancelled"
_CHUNK = 500


@dataclass(frozen=True)
class ListingPushState:
    """What the flusher needs of one listing: where it is on the channel and what was last pushed."""

    external_ids: dict[str, str]
    last_pushed_quantity: int | None
    last_pushed_version: int | None
    last_pushed_price: str | None = None
    last_pushed_price_version: int | None = None
    # Its product is archived on this connection: 0 is pushed whatever inventory says.
    off_sale: bool = False


@dataclass(frozen=True)
class PushedPrice:
    """A price the channel acknowledged (price_domain.ChannelPrice.token), at its pricing version."""

    sku: str
    token: str
    version: int


@dataclass(frozen=True)
class PollState:
    """order_sync_state of one connection: the poll cursor and how current its orders are."""

    updated_since: datetime | None
    current_as_of: datetime | None
    last_attempt_at: datetime | None


@dataclass(frozen=True)
class PushedQuantity:
    """A quantity the channel acknowledged, at the stock version it was computed from."""

    sku: str
    quantity: int
    version: int


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[start : start + _CHUNK] for start in range(0, len(items), _CHUNK)]


class SyncQueries:
    """The sync engine's queries; mixed into Repository, never commits."""

    conn: SqlConnection

    # ----------------------------------------------------------------------- connections
    def live_connections(self, tenant_id: str) -> list[tuple[str, str]]:
        """(connection id, type) of every connection of the tenant that can still be called."""
        t = models.connections
        rows = self.conn.execute(
            select(t.c.id, t.c.type).where(
                and_(t.c.tenant_id == tenant_id, t.c.status != ConnectionStatus.DISCONNECTED.value)
            )
        )
        return [(r.id, r.type) for r in rows]

    def live_connections_any_tenant(self) -> list[tuple[str, str]]:
        """(tenant_id, connection_id) of every callable connection: scheduled jobs only."""
        t = models.connections
        rows = self.conn.execute(
            select(t.c.tenant_id, t.c.id)
            .where(t.c.status != ConnectionStatus.DISCONNECTED.value)
            .order_by(t.c.tenant_id, t.c.id)
        )
        return [(r.tenant_id, r.id) for r in rows]

    def owned_connection_ids(self, tenant_id: str, connection_ids: Sequence[str]) -> set[str]:
        """Which of `connection_ids` (at most 500 looked at) belong to the tenant."""
        t = models.connections
        rows = self.conn.execute(
            select(t.c.id).where(t.c.tenant_id == tenant_id, t.c.id.in_(list(connection_ids)[:_CHUNK]))
        )
        return {r.id for r in rows}

    # ----------------------------------------------------------------------- listings
    def listed_versions(self, tenant_id: str, skus: Sequence[str]) -> dict[str, dict[str, int]]:
        """connection id -> {sku: last_pushed_version or -1} for the SKUs listed on it."""
        t = models.listings
        found: dict[str, dict[str, int]] = {}
        for chunk in _chunks(skus):
            rows = self.conn.execute(
                select(t.c.connection_id, t.c.sku, t.c.last_pushed_version).where(
                    t.c.tenant_id == tenant_id, t.c.sku.in_(chunk)
                )
            )
            for r in rows:
                lpv = r.last_pushed_version
                found.setdefault(r.connection_id, {})[r.sku] = int(lpv) if lpv is not None else -1
        return found

    def listing_push_states(
        self, tenant_id: str, connection_id: str, skus: Sequence[str]
    ) -> dict[str, ListingPushState]:
        t = models.listings
        found: dict[str, ListingPushState] = {}
        for chunk in _chunks(skus):
            rows = self.conn.execute(
                select(
                    t.c.sku,
                    t.c.external_ids,
                    t.c.last_pushed_quantity,
                    t.c.last_pushed_version,
                    t.c.last_pushed_price,
                    t.c.last_pushed_price_version,
                    t.c.off_sale,
                ).where(t.c.tenant_id == tenant_id, t.c.connection_id == connection_id, t.c.sku.in_(chunk))
            )
            for r in rows:
                found[r.sku] = ListingPushState(
                    {str(k): str(v) for k, v in json.loads(r.external_ids).items()},
                    None if r.last_pushed_quantity is None else int(r.last_pushed_quantity),
                    None if r.last_pushed_version is None else int(r.last_pushed_version),
                    r.last_pushed_price,
                    None if r.last_pushed_price_version is None else int(r.last_pushed_price_version),
                    bool(r.off_sale),
                )
        return found

    def price_floors(self, tenant_id: str, connection_id: str, skus: Sequence[str]) -> dict[str, int]:
        """sku -> last_pushed_price_version (or -1) of the connection's listings among `skus`."""
        t = models.listings
        found: dict[str, int] = {}
        for chunk in _chunks(skus):
            rows = self.conn.execute(
                select(t.c.sku, t.c.last_pushed_price_version).where(
                    t.c.tenant_id == tenant_id, t.c.connection_id == connection_id, t.c.sku.in_(chunk)
                )
            )
            for r in rows:
                v = r.last_pushed_price_version
                found[r.sku] = int(v) if v is not None else -1
        return found

    def record_pushed_prices(
        self, tenant_id: str, connection_id: str, pushed: Sequence[PushedPrice], now: datetime
    ) -> None:
        """The channel shows these prices now (never recorded over a newer pricing version)."""
        t = models.listings
        for p in pushed:
            self.conn.execute(
                update(t)
                .where(
                    t.c.tenant_id == tenant_id,
                    t.c.connection_id == connection_id,
                    t.c.sku == p.sku,
                    (t.c.last_pushed_price_version.is_(None)) | (t.c.last_pushed_price_version <= p.version),
                )
                .values(last_pushed_price=p.token, last_pushed_price_version=p.version)
            )

    def record_pushed(
        self, tenant_id: str, connection_id: str, pushed: Sequence[PushedQuantity], now: datetime
    ) -> None:
        """The channel holds these quantities now (never recorded over a newer version)."""
        t = models.listings
        for p in pushed:
            self.conn.execute(
                update(t)
                .where(
                    t.c.tenant_id == tenant_id,
                    t.c.connection_id == connection_id,
                    t.c.sku == p.sku,
                    (t.c.last_pushed_version.is_(None)) | (t.c.last_pushed_version <= p.version),
                )
                .values(last_pushed_quantity=p.quantity, last_pushed_version=p.version, last_pushed_at=now)
            )

    def lower_last_pushed_quantity(self, tenant_id: str, connection_id: str, sku: str, units: int) -> None:
        """The channel lowered its own quantity by `units` (it sold them); never below zero."""
        t = models.listings
        lpq = t.c.last_pushed_quantity
        self.conn.execute(
            update(t)
            .where(
                t.c.tenant_id == tenant_id,
                t.c.connection_id == connection_id,
                t.c.sku == sku,
                lpq.is_not(None),
            )
            .values(last_pushed_quantity=case((lpq > units, lpq - units), else_=0))
        )

    # ----------------------------------------------------------------------- commitments
    def commitments_of(
        self, connection_id: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[int, str]]:
        """(external order id, sku) -> (quantity, status) of the connection's stored lines."""
        t = models.channel_commitments
        existing: dict[tuple[str, str], tuple[int, str]] = {}
        for chunk in _chunks(keys):
            rows = self.conn.execute(
                select(t.c.external_order_id, t.c.sku, t.c.quantity, t.c.status).where(
                    t.c.connection_id == connection_id,
                    tuple_(t.c.external_order_id, t.c.sku).in_(chunk),
                )
            )
            existing.update({(r.external_order_id, r.sku): (int(r.quantity), r.status) for r in rows})
        return existing

    def upsert_commitment(
        self,
        tenant_id: str,
        connection_id: str,
        order_id: str,
        sku: str,
        *,
        units: int,
        status: str,
        now: datetime,
    ) -> None:
        """Insert or update one order line; a line already `imported` is never moved back."""
        t = models.channel_commitments
        stmt = dialect_insert(self.conn, t).values(
            tenant_id=tenant_id,
            connection_id=connection_id,
            external_order_id=order_id,
            sku=sku,
            quantity=units,
            status=status,
            seen_at=now,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.connection_id, t.c.external_order_id, t.c.sku],
            set_={"quantity": stmt.excluded.quantity, "status": stmt.excluded.status, "updated_at": now},
            where=t.c.status != IMPORTED,
        )
        self.conn.execute(stmt)

    def pending_commitments(self, tenant_id: str, skus: Sequence[str]) -> dict[str, int]:
        """Units sold on any connection of the tenant and not imported yet, per SKU."""
        t = models.channel_commitments
        totals: dict[str, int] = {}
        for chunk in _chunks(list(dict.fromkeys(skus))):
            rows = self.conn.execute(
                select(t.c.sku, func.sum(t.c.quantity).label("units"))
                .where(t.c.tenant_id == tenant_id, t.c.status == PENDING, t.c.sku.in_(chunk))
                .group_by(t.c.sku)
            )
            totals.update({r.sku: int(r.units or 0) for r in rows})
        return totals

    def mark_commitments_imported(
        self, tenant_id: str, connection_id: str, external_order_id: str, now: datetime
    ) -> int:
        t = models.channel_commitments
        result = self.conn.execute(
            update(t)
            .where(
                t.c.tenant_id == tenant_id,
                t.c.connection_id == connection_id,
                t.c.external_order_id == external_order_id,
                t.c.status == PENDING,
            )
            .values(status=IMPORTED, updated_at=now)
        )
        return int(result.rowcount or 0)

    # ----------------------------------------------------------------------- order polls
    def poll_states(self, tenant_id: str) -> dict[str, PollState]:
        t = models.order_sync_state
        rows = self.conn.execute(select(t).where(t.c.tenant_id == tenant_id))
        return {r.connection_id: PollState(r.updated_since, r.current_as_of, r.last_attempt_at) for r in rows}

    def save_poll_state(self, tenant_id: str, connection_id: str, values: Mapping[str, Any]) -> None:
        t = models.order_sync_state
        stmt = dialect_insert(self.conn, t).values(
            **{"connection_id": connection_id, "tenant_id": tenant_id, "last_error": "", **dict(values)}
        )
        self.conn.execute(stmt.on_conflict_do_update(index_elements=[t.c.connection_id], set_=dict(values)))

    # ----------------------------------------------------------------------- sync jobs
    def get_sync_job_any_tenant(self, job_id: str) -> Row[Any] | None:
        """The job named by a `channels.sync_requested` event (the event names no tenant)."""
        t = models.sync_jobs
        return self.conn.execute(select(t).where(t.c.id == job_id)).first()

    def claim_sync_job(self, tenant_id: str, job_id: str, started: datetime) -> bool:
        """requested -> running; False when another delivery claimed it first."""
        t = models.sync_jobs
        result = self.conn.execute(
            update(t)
            .where(t.c.id == job_id, t.c.tenant_id == tenant_id, t.c.status == "requested")
            .values(status="running", started_at=started)
        )
        return bool(result.rowcount)

    def finish_sync_job(
        self, tenant_id: str, job_id: str, *, status: str, message: str, finished: datetime
    ) -> None:
        t = models.sync_jobs
        self.conn.execute(
            update(t)
            .where(t.c.id == job_id, t.c.tenant_id == tenant_id)
            .values(status=status, message=message, finished_at=finished)
        )
