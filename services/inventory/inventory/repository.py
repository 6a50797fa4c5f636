"""SQL for the inventory service: a Repository bound to one open transaction, and the UnitOfWork.

Concurrency contract (what makes replicas safe without in-process locks): every writer takes
row locks in ONE global order — (1) the reservation row, (2) stock_levels rows sorted by
(sku, location_id), (3) sku_states rows sorted by sku — so two transactions can wait on each
other but never in a cycle. Stock is changed only by conditional UPDATEs (or after locking the
row), and a CHECK constraint rejects any row with on_hand < reserved or reserved < 0.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from psycopg import ClientCursor
from psycopg.pq import ExecStatus, TransactionStatus
from sqlalchemy import Engine, and_, bindparam, delete, func, insert, literal, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import DBAPIError, OperationalError

from inventory import domain, models
from inventory.domain import (
    Alert,
    AlertStatus,
    AllocationRule,
    BundleComponent,
    Location,
    Movement,
    MovementKind,
    Reservation,
    ReservationLine,
    ReservationStatus,
    SkuState,
    StockDemand,
    StockLevel,
)
from omnistock_common import outbox as outbox_writer

log = logging.getLogger(__name__)

T = TypeVar("T")

# PostgreSQL SQLSTATEs worth a retry: serialization_failure, deadlock_detected.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}
_CHUNK = 500  # rows per multi-row statement / IN list (well under SQLite's variable limit)


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def is_retryable(exc: BaseException) -> bool:
    """A transient conflict: PG serialization failure / deadlock, or a busy SQLite file."""
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate in _RETRYABLE_SQLSTATES:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return True
    return False


class UnitOfWork:
    """Hands out transactions on one engine. Safe to share between threads: no state on self.

    `run(fn)` executes fn(repository) in one transaction, commits, and retries the whole
    function a few times on serialization/deadlock errors (there should be none with the fixed
    lock order, but PostgreSQL may still report one under heavy contention).
    """

    def __init__(self, engine: Engine, *, attempts: int = 5) -> None:
        self.engine = engine
        self.attempts = attempts

    @contextmanager
    def transaction(self) -> Iterator[Repository]:
        with self.engine.begin() as conn:
            yield Repository(conn)

    @contextmanager
    def snapshot(self) -> Iterator[Repository]:
        """A read-only transaction whose statements all see one snapshot (REPEATABLE READ on
        PostgreSQL; SQLite transactions are serialised already)."""
        if self.engine.dialect.name != "postgresql":
            with self.transaction() as repo:
                yield repo
            return
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield Repository(conn)

    def run(self, fn: Callable[[Repository], T]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                with self.transaction() as repo:
                    return fn(repo)
            except DBAPIError as exc:
                if attempt == self.attempts or not is_retryable(exc):
                    raise
                log.warning("retrying transaction after %s (attempt %d)", type(exc.orig).__name__, attempt)
                time.sleep(random.uniform(0.005, 0.05) * attempt)
        raise AssertionError("unreachable")

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def pg_session(self) -> Iterator[PgSession]:
        """A pooled PostgreSQL connection driven by hand (see PgSession), returned clean.

        psycopg errors leave as SQLAlchemy DBAPIErrors (IntegrityError, ...), exactly like the
        Repository path, so callers and `run_pg` retries treat both paths alike. Whatever
        happens, an open transaction is rolled back before the connection goes back to the pool.
        """
        pooled = self.engine.raw_connection()
        conn: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]
        broken = False
        try:
            conn.autocommit = True
            yield PgSession(conn, pooled.info)
        except psycopg.Error as exc:
            broken = conn.closed or isinstance(exc, psycopg.OperationalError)
            if isinstance(exc, psycopg.errors.InvalidSqlStatementName):
                pooled.info.pop(_PREPARED_KEY, None)  # someone deallocated them: prepare again
            raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc
        finally:
            try:
                if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                if not conn.closed:
                    conn.autocommit = False
            except psycopg.Error:
                broken = True
            if broken:
                pooled.invalidate()
                if conn.closed:  # the server went away: its other pooled connections did too
                    self.engine.dispose(close=False)
            pooled.close()

    def run_pg(self, fn: Callable[[PgSession], T]) -> T:
        """`run` for the PostgreSQL fast path: fn(session), retried on serialization/deadlock."""
        for attempt in range(1, self.attempts + 1):
            try:
                with self.pg_session() as session:
                    return fn(session)
            except DBAPIError as exc:
                lost_statements = isinstance(exc.orig, psycopg.errors.InvalidSqlStatementName)
                if attempt == self.attempts or not (is_retryable(exc) or lost_statements):
                    raise
                log.warning("retrying transaction after %s (attempt %d)", type(exc.orig).__name__, attempt)
                time.sleep(random.uniform(0.005, 0.05) * attempt)
        raise AssertionError("unreachable")


def _insert(conn: Connection, table: Any) -> Any:
    """Dialect insert with ON CONFLICT support (PostgreSQL and SQLite share the API)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


class Repository:
    """Every query of the service, each filtered on tenant_id. Never commits."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ----------------------------------------------------------------------- locations

    @staticmethod
    def _location(row: Row[Any]) -> Location:
        return Location(row.id, row.code, row.name, row.is_default, row.created_at)

    def default_location(self, tenant_id: str) -> Location | None:
        t = models.locations
        row = self.conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.is_default)).first()
        return self._location(row) if row else None

    def locations_by_code(self, tenant_id: str, codes: Iterable[str]) -> dict[str, Location]:
        t = models.locations
        wanted = sorted(set(codes))
        out: dict[str, Location] = {}
        for chunk in _chunks(wanted):
            rows = self.conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.code.in_(chunk)))
            out.update({row.code: self._location(row) for row in rows})
        return out

    def location_codes(self, tenant_id: str) -> dict[str, str]:
        t = models.locations
        rows = self.conn.execute(select(t.c.id, t.c.code).where(t.c.tenant_id == tenant_id))
        return {row.id: row.code for row in rows}

    def list_locations(self, tenant_id: str) -> list[Location]:
        t = models.locations
        rows = self.conn.execute(select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.code))
        return [self._location(row) for row in rows]

    def insert_location(self, tenant_id: str, location: Location) -> None:
        if location.is_default:
            self.conn.execute(
                update(models.locations)
                .where(models.locations.c.tenant_id == tenant_id, models.locations.c.is_default)
                .values(is_default=False)
            )
        self.conn.execute(
            insert(models.locations).values(
                id=location.id,
                tenant_id=tenant_id,
                code=location.code,
                name=location.name,
                is_default=location.is_default,
                created_at=location.created_at,
            )
        )

    # ----------------------------------------------------------------------- stock levels

    def lock_levels(
        self, tenant_id: str, keys: Sequence[tuple[str, str]], now: datetime
    ) -> dict[tuple[str, str], tuple[int, int, int]]:
        """Lock (creating at 0/0 when missing) the rows of `keys`, in sorted key order.

        One INSERT .. ON CONFLICT DO UPDATE per chunk visits the rows in the given (sorted)
        order, so a brand-new row and an existing one are locked by the same statement and the
        fixed lock order holds. New rows have version 0 (see delete_unused_levels).
        Returns (on_hand, reserved, version) per key.
        """
        t = models.stock_levels
        out: dict[tuple[str, str], tuple[int, int, int]] = {}
        for chunk in _chunks(sorted(set(keys))):
            stmt = _insert(self.conn, t).values(
                [
                    {
                        "tenant_id": tenant_id,
                        "sku": sku,
                        "location_id": loc,
                        "on_hand": 0,
                        "reserved": 0,
                        "version": 0,
                        "updated_at": now,
                    }
                    for sku, loc in chunk
                ]
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.sku, t.c.location_id],
                set_={"on_hand": t.c.on_hand},
            ).returning(t.c.sku, t.c.location_id, t.c.on_hand, t.c.reserved, t.c.version)
            for row in self.conn.execute(stmt):
                out[(row.sku, row.location_id)] = (row.on_hand, row.reserved, row.version)
        return out

    def write_levels(
        self, tenant_id: str, rows: Sequence[tuple[str, str, int, int, int]], now: datetime
    ) -> None:
        """Store (sku, location_id, on_hand, reserved, version) for rows this transaction locked."""
        if not rows:
            return
        t = models.stock_levels
        stmt = (
            update(t)
            .where(
                t.c.tenant_id == bindparam("b_tenant"),
                t.c.sku == bindparam("b_sku"),
                t.c.location_id == bindparam("b_loc"),
            )
            .values(
                on_hand=bindparam("b_on_hand"),
                reserved=bindparam("b_reserved"),
                version=bindparam("b_version"),
                updated_at=bindparam("b_now"),
            )
        )
        self.conn.execute(
            stmt,
            [
                {
                    "b_tenant": tenant_id,
                    "b_sku": sku,
                    "b_loc": loc,
                    "b_on_hand": on_hand,
                    "b_reserved": reserved,
                    "b_version": version,
                    "b_now": now,
                }
                for sku, loc, on_hand, reserved, version in rows
            ],
        )

    def delete_unused_levels(self, tenant_id: str, keys: Sequence[tuple[str, str]]) -> None:
        """Drop rows lock_levels created that no line ended up changing (version still 0)."""
        t = models.stock_levels
        for chunk in _chunks(sorted(set(keys))):
            self.conn.execute(
                delete(t).where(
                    t.c.tenant_id == tenant_id,
                    tuple_(t.c.sku, t.c.location_id).in_(list(chunk)),
                    t.c.version == 0,
                )
            )

    def try_reserve(
        self, tenant_id: str, sku: str, location_id: str, quantity: int, now: datetime
    ) -> tuple[int, int] | None:
        """Hold `quantity` if at least that much is available; (on_hand, reserved) after, or None.

        The availability test sits in the UPDATE's WHERE clause: PostgreSQL re-evaluates it on
        the latest row version after waiting for a concurrent writer, SQLite runs writers one
        at a time. Either way two holds can never both see the same last unit.
        """
        t = models.stock_levels
        row = self.conn.execute(
            update(t)
            .where(
                t.c.tenant_id == tenant_id,
                t.c.sku == sku,
                t.c.location_id == location_id,
                t.c.on_hand - t.c.reserved >= quantity,
            )
            .values(reserved=t.c.reserved + quantity, version=t.c.version + 1, updated_at=now)
            .returning(t.c.on_hand, t.c.reserved)
        ).first()
        return (row.on_hand, row.reserved) if row else None

    def change_level(
        self,
        tenant_id: str,
        sku: str,
        location_id: str,
        on_hand_delta: int,
        reserved_delta: int,
        now: datetime,
    ) -> tuple[int, int]:
        """Apply deltas to a row the caller's reservation guarantees (commit/release/expiry)."""
        t = models.stock_levels
        row = self.conn.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.sku == sku, t.c.location_id == location_id)
            .values(
                on_hand=t.c.on_hand + on_hand_delta,
                reserved=t.c.reserved + reserved_delta,
                version=t.c.version + 1,
                updated_at=now,
            )
            .returning(t.c.on_hand, t.c.reserved)
        ).first()
        if row is None:
            raise RuntimeError(f"stock row ({sku}, {location_id}) of a reservation is missing")
        return row.on_hand, row.reserved

    def available_at(self, tenant_id: str, sku: str, location_id: str) -> int:
        t = models.stock_levels
        value = self.conn.execute(
            select(t.c.on_hand - t.c.reserved).where(
                t.c.tenant_id == tenant_id, t.c.sku == sku, t.c.location_id == location_id
            )
        ).scalar()
        return int(value or 0)

    def totals(self, tenant_id: str, skus: Iterable[str]) -> dict[str, tuple[int, int]]:
        """(on_hand, reserved) summed over locations, per SKU (missing SKUs are absent)."""
        t = models.stock_levels
        out: dict[str, tuple[int, int]] = {}
        for chunk in _chunks(sorted(set(skus))):
            rows = self.conn.execute(
                select(t.c.sku, func.sum(t.c.on_hand), func.sum(t.c.reserved))
                .where(t.c.tenant_id == tenant_id, t.c.sku.in_(chunk))
                .group_by(t.c.sku)
            )
            out.update({sku: (int(on_hand), int(reserved)) for sku, on_hand, reserved in rows})
        return out

    def _level(self, row: Row[Any]) -> StockLevel:
        return StockLevel(row.sku, row.code, row.on_hand, row.reserved, row.version, row.updated_at)

    def levels_for_sku(self, tenant_id: str, sku: str) -> list[StockLevel]:
        t, loc = models.stock_levels, models.locations
        rows = self.conn.execute(
            select(t, loc.c.code)
            .join(loc, loc.c.id == t.c.location_id)
            .where(t.c.tenant_id == tenant_id, t.c.sku == sku)
            .order_by(loc.c.code)
        )
        return [self._level(row) for row in rows]

    def level(self, tenant_id: str, sku: str, location_id: str) -> StockLevel | None:
        t, loc = models.stock_levels, models.locations
        row = self.conn.execute(
            select(t, loc.c.code)
            .join(loc, loc.c.id == t.c.location_id)
            .where(t.c.tenant_id == tenant_id, t.c.sku == sku, t.c.location_id == location_id)
        ).first()
        return self._level(row) if row else None

    def list_levels(
        self,
        tenant_id: str,
        *,
        sku: str,
        location_id: str | None,
        low_stock_default: int | None,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[StockLevel]:
        """Levels ordered by (sku, location code), keyset-paginated.

        low_stock_default (the tenant default) switches on the low-stock filter: rows of SKUs
        whose total available is below their threshold.
        """
        t, loc, st = models.stock_levels, models.locations, models.sku_states
        query = (
            select(t, loc.c.code)
            .join(loc, loc.c.id == t.c.location_id)
            .where(t.c.tenant_id == tenant_id)
            .order_by(t.c.sku, loc.c.code)
            .limit(limit)
        )
        if sku:
            query = query.where(t.c.sku == sku)
        if location_id is not None:
            query = query.where(t.c.location_id == location_id)
        if after is not None:
            query = query.where(tuple_(t.c.sku, loc.c.code) > tuple_(literal(after[0]), literal(after[1])))
        if low_stock_default is not None:
            totals = (
                select(t.c.sku.label("sku"), func.sum(t.c.on_hand - t.c.reserved).label("available"))
                .where(t.c.tenant_id == tenant_id)
                .group_by(t.c.sku)
                .subquery()
            )
            query = (
                query.join(totals, totals.c.sku == t.c.sku)
                .outerjoin(st, and_(st.c.tenant_id == t.c.tenant_id, st.c.sku == t.c.sku))
                .where(totals.c.available < func.coalesce(st.c.low_stock_threshold, low_stock_default))
            )
        return [self._level(row) for row in self.conn.execute(query)]

    def all_skus(self, tenant_id: str) -> list[str]:
        """Every SKU the tenant stocks or bundles."""
        t, b = models.stock_levels, models.bundle_components
        stocked = select(t.c.sku).where(t.c.tenant_id == tenant_id)
        bundled = select(b.c.bundle_sku).where(b.c.tenant_id == tenant_id)
        return sorted({row[0] for row in self.conn.execute(stocked.union(bundled))})

    # ----------------------------------------------------------------------- SKU state

    def bump_sku_versions(
        self, tenant_id: str, skus: Iterable[str], now: datetime
    ) -> dict[str, tuple[int, int | None, str | None]]:
        """Increment (creating at 1) each SKU's event version, locking the rows in sku order.

        Returns (version, own threshold, open alert id) per SKU, read under the lock, so the
        version order of a SKU's events is its commit order.
        """
        st = models.sku_states
        out: dict[str, tuple[int, int | None, str | None]] = {}
        for chunk in _chunks(sorted(set(skus))):
            stmt = _insert(self.conn, st).values(
                [{"tenant_id": tenant_id, "sku": sku, "version": 1, "updated_at": now} for sku in chunk]
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[st.c.tenant_id, st.c.sku],
                set_={"version": st.c.version + 1, "updated_at": now},
            ).returning(st.c.sku, st.c.version, st.c.low_stock_threshold, st.c.open_alert_id)
            for row in self.conn.execute(stmt):
                out[row.sku] = (row.version, row.low_stock_threshold, row.open_alert_id)
        return out

    def sku_states(
        self, tenant_id: str, skus: Iterable[str]
    ) -> dict[str, tuple[int, int | None, str | None]]:
        st = models.sku_states
        out: dict[str, tuple[int, int | None, str | None]] = {}
        for chunk in _chunks(sorted(set(skus))):
            rows = self.conn.execute(
                select(st.c.sku, st.c.version, st.c.low_stock_threshold, st.c.open_alert_id).where(
                    st.c.tenant_id == tenant_id, st.c.sku.in_(chunk)
                )
            )
            out.update({row.sku: (row.version, row.low_stock_threshold, row.open_alert_id) for row in rows})
        return out

    def set_sku_threshold(self, tenant_id: str, sku: str, threshold: int) -> None:
        st = models.sku_states
        self.conn.execute(
            update(st)
            .where(st.c.tenant_id == tenant_id, st.c.sku == sku)
            .values(low_stock_threshold=threshold)
        )

    def set_open_alert(self, tenant_id: str, sku: str, alert_id: str | None) -> None:
        st = models.sku_states
        self.conn.execute(
            update(st).where(st.c.tenant_id == tenant_id, st.c.sku == sku).values(open_alert_id=alert_id)
        )

    def default_threshold(self, tenant_id: str, fallback: int) -> int:
        ts = models.tenant_settings
        value = self.conn.execute(
            select(ts.c.default_low_stock_threshold).where(ts.c.tenant_id == tenant_id)
        ).scalar()
        return fallback if value is None else int(value)

    def set_default_threshold(self, tenant_id: str, threshold: int, now: datetime) -> None:
        ts = models.tenant_settings
        stmt = _insert(self.conn, ts).values(
            tenant_id=tenant_id, default_low_stock_threshold=threshold, updated_at=now
        )
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[ts.c.tenant_id],
                set_={"default_low_stock_threshold": threshold, "updated_at": now},
            )
        )

    # ----------------------------------------------------------------------- ledger

    def append_movements(self, tenant_id: str, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            for chunk in _chunks(rows, 1000):
                self.conn.execute(
                    insert(models.movements), [{**row, "tenant_id": tenant_id} for row in chunk]
                )

    def list_movements(self, tenant_id: str, sku: str, before_id: int | None, limit: int) -> list[Movement]:
        m, loc = models.movements, models.locations
        query = (
            select(m, loc.c.code)
            .join(loc, loc.c.id == m.c.location_id)
            .where(m.c.tenant_id == tenant_id, m.c.sku == sku)
            .order_by(m.c.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            query = query.where(m.c.id < before_id)
        return [
            Movement(
                id=row.id,
                at=row.at,
                kind=MovementKind(row.kind),
                sku=row.sku,
                location_code=row.code,
                on_hand_delta=row.on_hand_delta,
                reserved_delta=row.reserved_delta,
                on_hand_after=row.on_hand_after,
                reserved_after=row.reserved_after,
                reason=domain.AdjustmentReason(row.reason) if row.reason else None,
                note=row.note,
                actor=row.actor,
                reference=row.reference,
            )
            for row in self.conn.execute(query)
        ]

    def ledger_sums(self, tenant_id: str) -> dict[tuple[str, str], tuple[int, int]]:
        m = models.movements
        rows = self.conn.execute(
            select(m.c.sku, m.c.location_id, func.sum(m.c.on_hand_delta), func.sum(m.c.reserved_delta))
            .where(m.c.tenant_id == tenant_id)
            .group_by(m.c.sku, m.c.location_id)
        )
        return {(sku, loc): (int(oh), int(rs)) for sku, loc, oh, rs in rows}

    def all_levels_raw(self, tenant_id: str) -> dict[tuple[str, str], tuple[int, int]]:
        t = models.stock_levels
        rows = self.conn.execute(
            select(t.c.sku, t.c.location_id, t.c.on_hand, t.c.reserved).where(t.c.tenant_id == tenant_id)
        )
        return {(sku, loc): (on_hand, reserved) for sku, loc, on_hand, reserved in rows}

    def tenants(self) -> list[str]:
        t, m = models.stock_levels, models.movements
        query = select(t.c.tenant_id).union(select(m.c.tenant_id))
        return sorted(row[0] for row in self.conn.execute(query))

    # ----------------------------------------------------------------------- reservations

    def insert_reservation(
        self, tenant_id: str, reservation: Reservation, idempotency_key: str, now: datetime
    ) -> None:
        """Insert the reservation row first: a racing duplicate key blocks here (PostgreSQL)
        until the first transaction ends, then fails with IntegrityError."""
        self.conn.execute(
            insert(models.reservations).values(
                id=reservation.id,
                tenant_id=tenant_id,
                order_ref=reservation.order_ref,
                status=reservation.status.value,
                idempotency_key=idempotency_key or None,
                channel_connection_id=reservation.channel_connection_id,
                expires_at=reservation.expires_at,
                created_at=reservation.created_at,
                updated_at=now,
            )
        )

    def insert_reservation_lines(self, tenant_id: str, reservation: Reservation) -> None:
        rows = []
        for line in reservation.lines:
            for item in (line, *line.components):
                rows.append(
                    {
                        "reservation_id": reservation.id,
                        "line_no": item.line_no,
                        "parent_line_no": item.parent_line_no,
                        "tenant_id": tenant_id,
                        "sku": item.sku,
                        "location_id": item.location_id,
                        "per_unit": item.per_unit,
                        "quantity": item.quantity,
                        "committed": item.committed,
                        "released": item.released,
                    }
                )
        for chunk in _chunks(rows, 1000):
            self.conn.execute(insert(models.reservation_lines), list(chunk))

    def reservation_id_by_key(self, tenant_id: str, key: str) -> str | None:
        r = models.reservations
        return self.conn.execute(
            select(r.c.id).where(r.c.tenant_id == tenant_id, r.c.idempotency_key == key)
        ).scalar()

    def get_reservation(
        self, tenant_id: str, reservation_id: str, *, for_update: bool = False
    ) -> Reservation | None:
        """Load a reservation with its lines; for_update locks its row first (lock class 1)."""
        r, rl, loc = models.reservations, models.reservation_lines, models.locations
        query = select(r).where(r.c.tenant_id == tenant_id, r.c.id == reservation_id)
        if for_update:
            query = query.with_for_update()
        head = self.conn.execute(query).first()
        if head is None:
            return None
        rows = self.conn.execute(
            select(rl, loc.c.code)
            .join(loc, loc.c.id == rl.c.location_id)
            .where(rl.c.reservation_id == reservation_id)
            .order_by(rl.c.line_no)
        ).all()
        tops: dict[int, ReservationLine] = {}
        for row in rows:
            line = ReservationLine(
                line_no=row.line_no,
                sku=row.sku,
                location_id=row.location_id,
                location_code=row.code,
                quantity=row.quantity,
                committed=row.committed,
                released=row.released,
                per_unit=row.per_unit,
                parent_line_no=row.parent_line_no,
            )
            if row.parent_line_no is None:
                tops[row.line_no] = line
            else:
                tops[row.parent_line_no].components.append(line)
        return Reservation(
            id=head.id,
            order_ref=head.order_ref,
            status=ReservationStatus(head.status),
            lines=list(tops.values()),
            expires_at=head.expires_at,
            created_at=head.created_at,
            channel_connection_id=head.channel_connection_id,
        )

    def save_settlement(self, reservation: Reservation, now: datetime) -> None:
        """Store line counters and status after commit/release/expiry."""
        rl, r = models.reservation_lines, models.reservations
        stmt = (
            update(rl)
            .where(rl.c.reservation_id == bindparam("b_res"), rl.c.line_no == bindparam("b_line"))
            .values(committed=bindparam("b_committed"), released=bindparam("b_released"))
        )
        params = [
            {
                "b_res": reservation.id,
                "b_line": item.line_no,
                "b_committed": item.committed,
                "b_released": item.released,
            }
            for line in reservation.lines
            for item in (line, *line.components)
        ]
        self.conn.execute(stmt, params)
        self.conn.execute(
            update(r).where(r.c.id == reservation.id).values(status=reservation.status.value, updated_at=now)
        )

    def claim_expiry(self, reservation_id: str, now: datetime) -> bool:
        """Move a due, still-holding reservation to EXPIRED; False when someone else got it.

        The status test in the WHERE clause makes this the exactly-once gate: a second expirer
        waits on the row lock and then finds the status already changed (rowcount 0).
        """
        r = models.reservations
        result = self.conn.execute(
            update(r)
            .where(
                r.c.id == reservation_id,
                r.c.status.in_([s.value for s in domain.HOLDING_STATUSES]),
                r.c.expires_at <= now,
            )
            .values(status=ReservationStatus.EXPIRED.value, updated_at=now)
        )
        return result.rowcount == 1

    def due_reservations(self, now: datetime, limit: int, tenant_id: str | None) -> list[tuple[str, str]]:
        """(tenant_id, id) of holds past their TTL, oldest first."""
        r = models.reservations
        query = (
            select(r.c.tenant_id, r.c.id)
            .where(r.c.status.in_([s.value for s in domain.HOLDING_STATUSES]), r.c.expires_at <= now)
            .order_by(r.c.expires_at, r.c.id)
            .limit(limit)
        )
        if tenant_id is not None:
            query = query.where(r.c.tenant_id == tenant_id)
        return [(row.tenant_id, row.id) for row in self.conn.execute(query)]

    # ----------------------------------------------------------------------- idempotency

    def idempotent_response(self, tenant_id: str, scope: str, key: str) -> str | None:
        i = models.idempotency_records
        return self.conn.execute(
            select(i.c.response).where(i.c.tenant_id == tenant_id, i.c.scope == scope, i.c.key == key)
        ).scalar()

    def claim_idempotency_key(self, tenant_id: str, scope: str, key: str, now: datetime) -> None:
        """Insert the key before doing the work: a concurrent twin blocks on it (PostgreSQL)
        and then fails with IntegrityError instead of applying the change a second time."""
        self.conn.execute(
            insert(models.idempotency_records).values(
                tenant_id=tenant_id, scope=scope, key=key, response="", created_at=now
            )
        )

    def store_idempotent_response(self, tenant_id: str, scope: str, key: str, response: str) -> None:
        i = models.idempotency_records
        self.conn.execute(
            update(i)
            .where(i.c.tenant_id == tenant_id, i.c.scope == scope, i.c.key == key)
            .values(response=response)
        )

    # ----------------------------------------------------------------------- bundles

    def bundles(self, tenant_id: str, bundle_skus: Iterable[str]) -> dict[str, list[BundleComponent]]:
        b = models.bundle_components
        out: dict[str, list[BundleComponent]] = {}
        for chunk in _chunks(sorted(set(bundle_skus))):
            rows = self.conn.execute(
                select(b)
                .where(b.c.tenant_id == tenant_id, b.c.bundle_sku.in_(chunk))
                .order_by(b.c.bundle_sku, b.c.component_sku)
            )
            for row in rows:
                out.setdefault(row.bundle_sku, []).append(BundleComponent(row.component_sku, row.quantity))
        return out

    def bundles_containing(self, tenant_id: str, component_skus: Iterable[str]) -> set[str]:
        b = models.bundle_components
        out: set[str] = set()
        for chunk in _chunks(sorted(set(component_skus))):
            rows = self.conn.execute(
                select(b.c.bundle_sku).where(b.c.tenant_id == tenant_id, b.c.component_sku.in_(chunk))
            )
            out.update(row[0] for row in rows)
        return out

    def replace_bundle(self, tenant_id: str, sku: str, components: Sequence[BundleComponent]) -> None:
        self.delete_bundle(tenant_id, sku)
        self.conn.execute(
            insert(models.bundle_components),
            [
                {"tenant_id": tenant_id, "bundle_sku": sku, "component_sku": c.sku, "quantity": c.quantity}
                for c in components
            ],
        )

    def delete_bundle(self, tenant_id: str, sku: str) -> int:
        b = models.bundle_components
        return self.conn.execute(delete(b).where(b.c.tenant_id == tenant_id, b.c.bundle_sku == sku)).rowcount

    def has_stock_rows(self, tenant_id: str, sku: str) -> bool:
        t = models.stock_levels
        query = select(t.c.sku).where(
            t.c.tenant_id == tenant_id, t.c.sku == sku, or_(t.c.on_hand != 0, t.c.reserved != 0)
        )
        return self.conn.execute(query.limit(1)).first() is not None

    # ----------------------------------------------------------------------- allocation rules

    def rules(self, tenant_id: str) -> list[AllocationRule]:
        a, lat = models.allocation_rules, models.connection_latencies
        rows = self.conn.execute(
            select(a, lat.c.latency_ms)
            .outerjoin(lat, and_(lat.c.tenant_id == a.c.tenant_id, lat.c.connection_id == a.c.connection_id))
            .where(a.c.tenant_id == tenant_id)
            .order_by(a.c.connection_id)
        )
        return [
            AllocationRule(
                connection_id=row.connection_id,
                channel=row.channel,
                buffer=row.buffer,
                max_quantity=row.max_quantity,
                percentage=row.percentage,
                dynamic_buffer=row.dynamic_buffer,
                measured_sync_latency_ms=row.latency_ms or 0,
            )
            for row in rows
        ]

    def put_rule(self, tenant_id: str, rule: AllocationRule, now: datetime) -> None:
        a = models.allocation_rules
        values = {
            "channel": rule.channel,
            "buffer": rule.buffer,
            "max_quantity": rule.max_quantity,
            "percentage": rule.percentage,
            "dynamic_buffer": rule.dynamic_buffer,
            "updated_at": now,
        }
        stmt = _insert(self.conn, a).values(tenant_id=tenant_id, connection_id=rule.connection_id, **values)
        self.conn.execute(
            stmt.on_conflict_do_update(index_elements=[a.c.tenant_id, a.c.connection_id], set_=values)
        )

    def delete_rule(self, tenant_id: str, connection_id: str) -> bool:
        a = models.allocation_rules
        result = self.conn.execute(
            delete(a).where(a.c.tenant_id == tenant_id, a.c.connection_id == connection_id)
        )
        return result.rowcount > 0

    def record_latency(self, tenant_id: str, connection_id: str, latency_ms: int, now: datetime) -> None:
        lat = models.connection_latencies
        stmt = _insert(self.conn, lat).values(
            tenant_id=tenant_id, connection_id=connection_id, latency_ms=latency_ms, updated_at=now
        )
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[lat.c.tenant_id, lat.c.connection_id],
                set_={"latency_ms": latency_ms, "updated_at": now},
            )
        )

    def add_sales(self, tenant_id: str, connection_id: str, units: dict[str, int], now: datetime) -> None:
        if units:
            self.conn.execute(
                insert(models.channel_sales),
                [
                    {
                        "tenant_id": tenant_id,
                        "connection_id": connection_id,
                        "sku": sku,
                        "quantity": qty,
                        "at": now,
                    }
                    for sku, qty in sorted(units.items())
                ],
            )

    def sales_since(
        self, tenant_id: str, skus: Iterable[str], connection_ids: Sequence[str], since: datetime
    ) -> dict[tuple[str, str], int]:
        """Units committed per (sku, connection_id) since `since`."""
        if not connection_ids:
            return {}
        s = models.channel_sales
        out: dict[tuple[str, str], int] = {}
        for chunk in _chunks(sorted(set(skus))):
            rows = self.conn.execute(
                select(s.c.sku, s.c.connection_id, func.sum(s.c.quantity))
                .where(
                    s.c.tenant_id == tenant_id,
                    s.c.sku.in_(chunk),
                    s.c.connection_id.in_(list(connection_ids)),
                    s.c.at >= since,
                )
                .group_by(s.c.sku, s.c.connection_id)
            )
            out.update({(sku, conn): int(total) for sku, conn, total in rows})
        return out

    # ----------------------------------------------------------------------- alerts

    def open_alert(self, tenant_id: str, sku: str, threshold: int, available: int, now: datetime) -> Alert:
        alert = Alert(str(uuid.uuid4()), sku, AlertStatus.OPEN, threshold, available, now, None)
        self.conn.execute(
            insert(models.alerts).values(
                id=alert.id,
                tenant_id=tenant_id,
                sku=sku,
                status=alert.status.value,
                threshold=threshold,
                available_at_open=available,
                opened_at=now,
            )
        )
        self.set_open_alert(tenant_id, sku, alert.id)
        return alert

    def close_alert(self, tenant_id: str, sku: str, alert_id: str, now: datetime) -> None:
        al = models.alerts
        self.conn.execute(
            update(al)
            .where(al.c.tenant_id == tenant_id, al.c.id == alert_id)
            .values(status=AlertStatus.CLOSED.value, closed_at=now)
        )
        self.set_open_alert(tenant_id, sku, None)

    def list_alerts(
        self, tenant_id: str, status: AlertStatus | None, after: tuple[datetime, str] | None, limit: int
    ) -> list[Alert]:
        """Newest first, keyset on (opened_at, id)."""
        al = models.alerts
        query = (
            select(al)
            .where(al.c.tenant_id == tenant_id)
            .order_by(al.c.opened_at.desc(), al.c.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(al.c.status == status.value)
        if after is not None:
            opened_at, alert_id = after
            query = query.where(
                or_(al.c.opened_at < opened_at, and_(al.c.opened_at == opened_at, al.c.id < alert_id))
            )
        return [
            Alert(
                row.id,
                row.sku,
                AlertStatus(row.status),
                row.threshold,
                row.available_at_open,
                row.opened_at,
                row.closed_at,
            )
            for row in self.conn.execute(query)
        ]

    # ----------------------------------------------------------------------- outbox

    def add_event(self, tenant_id: str, event_type: str, payload: dict[str, Any]) -> None:
        outbox_writer.add_event(self.conn, models.outbox, tenant_id, event_type, payload)

    def outbox_rows(self, tenant_id: str | None = None) -> list[tuple[int, str, dict[str, Any]]]:
        """(id, event_type, payload) in id order — for reconciliation tooling and tests."""
        o = models.outbox
        query = select(o.c.id, o.c.event_type, o.c.payload).order_by(o.c.id)
        if tenant_id is not None:
            query = query.where(o.c.tenant_id == tenant_id)
        return [(row.id, row.event_type, json.loads(row.payload)) for row in self.conn.execute(query)]


# =========================================================================== PostgreSQL fast path
#
# Reserve and CommitReservation are the hot path. Through SQLAlchemy they cost ~14 statements,
# each a round trip plus ~100-150 us of Python, and ~16 gRPC threads contending for the GIL turn
# every round trip made while a hot stock row is locked into milliseconds of lock time. On
# PostgreSQL the hot path therefore sends its statements as three multi-statement scripts (one
# round trip each, simple query protocol, psycopg client-side binding):
#
#   1. BEGIN and the reads that need no lock: locations, bundles (CommitReservation: the
#      reservation row, lock class 1, its lines and the stored idempotent response);
#   2. Reserve: the group's reservation rows and lines (class 1; a key already held is skipped by
#      ON CONFLICT DO NOTHING, which is the idempotency check), then the group's stock rows
#      locked FOR UPDATE in sorted order (class 2); Commit: per stock row the UPDATE folded with
#      its ledger insert (class 2, sorted). Then the sku_states bump (class 3, sorted) and fresh
#      reads of everything the event needs. In READ COMMITTED every statement takes a new
#      snapshot and these reads run after the locks are granted, so they see every commit that
#      preceded ours on these SKUs, exactly like the Repository path;
#   3. Reserve: the holds (one UPDATE for the group), the ledger rows, the removal of refused
#      reservations; then alerts, the outbox row(s) and COMMIT — so the hot row's lock ends
#      without another wait for the GIL.
#
# Reserve runs for a GROUP of concurrent calls (service.make_reserve_group, group_commit.py): the
# calls are decided in Python against the locked rows (domain.allocate_holds), each all-or-nothing
# as if it ran alone, so a hot row is locked, and the WAL flushed, once per group.
#
# List parameters are sent as PostgreSQL array literals rendered by array_literal (psycopg's array
# dumper costs a regex per element).
#
# Every statement is a server-side prepared statement (PREPARE once per connection, EXECUTE in the
# scripts): planning costs ~0.1 ms of PostgreSQL CPU per statement on this workload, more than
# executing it. The engine forces custom plans on every connection (omnistock_common.db), which
# would re-plan prepared statements too, so each fast-path transaction sets plan_cache_mode back
# to PostgreSQL's default for itself only (SET LOCAL). Every statement here is a key lookup.
#
# Locks, reads and the event are those of the Repository path; the event itself is computed by the
# same pure function (domain.plan_publish). SQLite keeps the Repository.

_MOVEMENT_FROM_UPD = (
    " INSERT INTO movements (tenant_id, sku, location_id, kind, reason, on_hand_delta,"
    " reserved_delta, on_hand_after, reserved_after, note, actor, reference, at)"
    " SELECT tenant_id, sku, location_id, $7::text, NULL, $8::bigint, $9::bigint, on_hand,"
    " reserved, $10::text, $11::text, $12::text, $3::timestamptz FROM upd"
    " RETURNING on_hand_after, reserved_after"
)

# name -> statement; `PgScript.add(name, *params)` runs `EXECUTE name(params)`.
PG_STATEMENTS: dict[str, str] = {
    "inv_lookup": (
        # One row: the tenant's default location and the requested ones, the bundles among the
        # requested SKUs, and every bundle that contains a requested SKU or a component of one
        # (all known before any lock). Idempotency keys are not looked up: the insert of the
        # reservations skips a key already held (ON CONFLICT DO NOTHING) and says which.
        "SELECT (SELECT json_agg(json_build_array(id, code, name, is_default, created_at)) FROM locations"
        "  WHERE tenant_id = $1::text AND (is_default OR code = ANY($2::text[]))),"
        " (SELECT json_agg(json_build_array(bundle_sku, component_sku, quantity)"
        "  ORDER BY bundle_sku, component_sku) FROM bundle_components"
        "  WHERE tenant_id = $1::text AND bundle_sku = ANY($3::text[])),"
        " (SELECT json_agg(DISTINCT x.bundle_sku) FROM (SELECT bundle_sku FROM bundle_components"
        "  WHERE tenant_id = $1::text AND component_sku = ANY($3::text[])"
        "  UNION ALL SELECT c.bundle_sku FROM bundle_components b JOIN bundle_components c"
        "  ON c.tenant_id = b.tenant_id AND c.component_sku = b.component_sku"
        "  WHERE b.tenant_id = $1::text AND b.bundle_sku = ANY($3::text[])) AS x)"
    ),
    # A group's reservations (in idempotency-key order: twins in two groups wait, never deadlock)
    # and their lines. A key already held (or committed by a twin meanwhile) is skipped, not an
    # error: only the ids inserted come back, and the skipped calls return the first reservation.
    "inv_insert_reservations": (
        "WITH ins AS (INSERT INTO reservations (id, tenant_id, order_ref, status, idempotency_key,"
        " channel_connection_id, expires_at, created_at, updated_at)"
        " SELECT i, $1::text, o, $2::text, k, c, e, t, t FROM unnest($3::text[], $4::text[], $5::text[],"
        " $6::text[], $7::timestamptz[], $8::timestamptz[]) WITH ORDINALITY AS r(i, o, k, c, e, t, n)"
        " ORDER BY n ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id),"
        " lines AS (INSERT INTO reservation_lines (reservation_id, line_no, parent_line_no, tenant_id,"
        " sku, location_id, per_unit, quantity, committed, released)"
        " SELECT l.r, l.n, l.p, $1::text, l.s, l.loc, l.u, l.q, 0, 0 FROM unnest($9::text[], $10::int[],"
        " $11::int[], $12::text[], $13::text[], $14::bigint[], $15::bigint[]) AS l(r, n, p, s, loc, u, q)"
        " JOIN ins ON ins.id = l.r)"
        " SELECT id FROM ins"
    ),
    # The group's stock rows, locked in the given (sorted) order: lock class 2. A row that does
    # not exist holds nothing, so it is not created.
    "inv_lock_levels": (
        "SELECT s.sku, s.location_id, s.on_hand, s.reserved FROM unnest($2::text[], $3::text[])"
        " WITH ORDINALITY AS k(sku, loc, n) JOIN stock_levels s ON s.tenant_id = $1::text"
        " AND s.sku = k.sku AND s.location_id = k.loc ORDER BY k.n FOR UPDATE OF s"
    ),
    # What the group holds per locked row (units, and one version bump per reservation).
    "inv_hold_levels": (
        "UPDATE stock_levels AS s SET reserved = s.reserved + v.q, version = s.version + v.c,"
        " updated_at = $2::timestamptz FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[])"
        " AS v(sku, loc, q, c) WHERE s.tenant_id = $1::text AND s.sku = v.sku AND s.location_id = v.loc"
    ),
    # The group's ledger rows, in decision order (ids follow it).
    "inv_insert_movements": (
        "INSERT INTO movements (tenant_id, sku, location_id, kind, reason, on_hand_delta,"
        " reserved_delta, on_hand_after, reserved_after, note, actor, reference, at)"
        " SELECT $1::text, s, l, k, NULL, oh, rd, oa, ra, nt, a, r, t FROM unnest($2::text[], $3::text[],"
        " $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::text[],"
        " $11::text[], $12::timestamptz[]) WITH ORDINALITY AS m(s, l, k, oh, rd, oa, ra, nt, a, r, t, n)"
        " ORDER BY n"
    ),
    # Reservations of a group refused for lack of stock (inserted before the locks were taken).
    "inv_drop_reservation_lines": "DELETE FROM reservation_lines WHERE reservation_id = ANY($1::text[])",
    "inv_drop_reservations": "DELETE FROM reservations WHERE id = ANY($1::text[])",
    # Repository.change_level folded with its ledger row: no row back if the row is gone.
    "inv_change_level": (
        "WITH upd AS (UPDATE stock_levels SET on_hand = on_hand + $1::bigint,"
        " reserved = reserved + $6::bigint, version = version + 1, updated_at = $3::timestamptz"
        " WHERE tenant_id = $2::text AND sku = $4::text AND location_id = $5::text"
        " RETURNING tenant_id, sku, location_id, on_hand, reserved)" + _MOVEMENT_FROM_UPD
    ),
    # Repository.bump_sku_versions: rows are visited (locked) in the given, sorted, order.
    "inv_bump_states": (
        "INSERT INTO sku_states (tenant_id, sku, version, updated_at) SELECT $1::text, s, 1,"
        " $2::timestamptz FROM unnest($3::text[]) WITH ORDINALITY AS u(s, n) ORDER BY n"
        " ON CONFLICT (tenant_id, sku) DO UPDATE SET version = sku_states.version + 1,"
        " updated_at = EXCLUDED.updated_at RETURNING sku, version, low_stock_threshold, open_alert_id"
    ),
    # After the locks: stock rows of the SKUs and of the components of the bundles among them.
    "inv_levels": (
        "SELECT sku, location_id, on_hand, reserved FROM stock_levels"
        " WHERE tenant_id = $1::text AND sku = ANY($2::text[])"
        " UNION SELECT s.sku, s.location_id, s.on_hand, s.reserved FROM bundle_components b"
        " JOIN stock_levels s ON s.tenant_id = b.tenant_id AND s.sku = b.component_sku"
        " WHERE b.tenant_id = $1::text AND b.bundle_sku = ANY($2::text[])"
    ),
    "inv_bundles": (
        "SELECT bundle_sku, component_sku, quantity FROM bundle_components"
        " WHERE tenant_id = $1::text AND bundle_sku = ANY($2::text[]) ORDER BY bundle_sku, component_sku"
    ),
    "inv_default_threshold": (
        "SELECT default_low_stock_threshold FROM tenant_settings WHERE tenant_id = $1::text"
    ),
    "inv_rules": (
        "SELECT a.connection_id, a.channel, a.buffer, a.max_quantity, a.percentage, a.dynamic_buffer,"
        " l.latency_ms FROM allocation_rules a LEFT JOIN connection_latencies l"
        " ON l.tenant_id = a.tenant_id AND l.connection_id = a.connection_id"
        " WHERE a.tenant_id = $1::text ORDER BY a.connection_id"
    ),
    "inv_sales": (
        "SELECT s.sku, s.connection_id, SUM(s.quantity) FROM channel_sales s JOIN allocation_rules a"
        " ON a.tenant_id = s.tenant_id AND a.connection_id = s.connection_id AND a.dynamic_buffer"
        " WHERE s.tenant_id = $1::text AND s.sku = ANY($2::text[]) AND s.at >= $3::timestamptz"
        " GROUP BY s.sku, s.connection_id"
    ),
    "inv_lock_reservation": (
        "SELECT id, order_ref, status, expires_at, created_at, channel_connection_id FROM reservations"
        " WHERE tenant_id = $1::text AND id = $2::text FOR UPDATE"
    ),
    "inv_reservation_lines": (
        "SELECT rl.line_no, rl.sku, rl.location_id, loc.code, rl.quantity, rl.committed, rl.released,"
        " rl.per_unit, rl.parent_line_no FROM reservation_lines rl JOIN locations loc"
        " ON loc.id = rl.location_id WHERE rl.reservation_id = $1::text ORDER BY rl.line_no"
    ),
    "inv_bundles_containing_lines": (
        "SELECT bundle_sku, component_sku FROM bundle_components WHERE tenant_id = $1::text"
        " AND component_sku IN (SELECT sku FROM reservation_lines WHERE reservation_id = $2::text)"
    ),
    "inv_idempotent_response": (
        "SELECT response FROM idempotency_records"
        " WHERE tenant_id = $1::text AND scope = $2::text AND key = $3::text"
    ),
    "inv_insert_idempotent": (
        "INSERT INTO idempotency_records (tenant_id, scope, key, response, created_at)"
        " VALUES ($1::text, $2::text, $3::text, $4::text, $5::timestamptz)"
    ),
    "inv_save_lines": (
        "UPDATE reservation_lines AS rl SET committed = v.c, released = v.r"
        " FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS v(n, c, r)"
        " WHERE rl.reservation_id = $1::text AND rl.line_no = v.n"
    ),
    "inv_save_reservation": (
        "UPDATE reservations SET status = $2::text, updated_at = $3::timestamptz WHERE id = $1::text"
    ),
    "inv_insert_sales": (
        "INSERT INTO channel_sales (tenant_id, connection_id, sku, quantity, at)"
        " SELECT $1::text, $2::text, s, q, $5::timestamptz FROM unnest($3::text[], $4::bigint[]) AS t(s, q)"
    ),
    "inv_insert_alert": (
        "INSERT INTO alerts (id, tenant_id, sku, status, threshold, available_at_open, opened_at)"
        " VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, $7::timestamptz)"
    ),
    "inv_close_alert": (
        "UPDATE alerts SET status = $3::text, closed_at = $4::timestamptz"
        " WHERE tenant_id = $1::text AND id = $2::text"
    ),
    "inv_set_open_alert": (
        "UPDATE sku_states SET open_alert_id = $3::text WHERE tenant_id = $1::text AND sku = $2::text"
    ),
    "inv_insert_outbox": (
        "INSERT INTO outbox (tenant_id, event_type, payload, created_at)"
        " VALUES ($1::text, $2::text, $3::text, $4::timestamptz)"
    ),
}
# Marks (in the pool's per-connection info) a connection whose statements are prepared.
_PREPARED_KEY = "inventory_pg_statements_prepared"


def array_literal(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal ('{"a","b",NULL}') for a list parameter, cast by the prepared
    statement's declared type (text[], bigint[], timestamptz[], ...).

    Why: psycopg's client-side array dumper costs ~15-50 us of Python per list (a regex per
    element); a group of reservations sends dozens of lists. Rendered here a list of one type is
    one str.join (the usual case), and the whole literal is then escaped once by libpq like any
    other string.
    """
    if not values:
        return "{}"
    first = values[0]
    if type(first) is int and all(type(value) is int for value in values):
        return "{" + ",".join(map(str, values)) + "}"
    if isinstance(first, str) and all(isinstance(value, str) for value in values):
        if '"' not in (joined := "".join(values)) and "\\" not in joined:
            return '{"' + '","'.join(values) + '"}'
    elif type(first) is datetime and all(type(value) is datetime for value in values):
        return '{"' + '","'.join([value.isoformat() for value in values]) + '"}'
    return "{" + ",".join([_array_element(value) for value in values]) + "}"


def _array_element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f'"{value.isoformat()}"'
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"no array literal for {type(value).__name__}")


class PgScript:
    """Statements sent as ONE query (one round trip); `PgSession.run` returns each one's rows."""

    def __init__(self, *, begin: bool = False) -> None:
        """begin: open the transaction (and scope plan_cache_mode to it, see above)."""
        self._sql: list[str] = ["BEGIN", "SET LOCAL plan_cache_mode = auto"] if begin else []
        self._params: list[Any] = []

    def add(self, name: str, *params: Any) -> int:
        """EXECUTE the prepared statement `name`; returns its index in `run`'s result."""
        placeholders = ", ".join(["%s"] * len(params))
        self._sql.append(f"EXECUTE {name}({placeholders})")
        self._params.extend(array_literal(p) if isinstance(p, list) else p for p in params)
        return len(self._sql) - 1

    def commit(self) -> None:
        self._sql.append("COMMIT")

    @property
    def sql(self) -> str:
        return "; ".join(self._sql)

    @property
    def params(self) -> list[Any]:
        return self._params


@dataclass
class Figures:
    """Rows read after the locks of a stock change: what domain.plan_publish needs."""

    states: dict[str, SkuState]
    default_threshold: int | None
    definitions: dict[str, list[BundleComponent]]
    levels: dict[tuple[str, str], tuple[int, int]]
    rules: list[AllocationRule]
    sales: dict[tuple[str, str], int]

    def totals(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for (sku, _loc), (on_hand, reserved) in self.levels.items():
            total = out.get(sku, (0, 0))
            out[sku] = (total[0] + on_hand, total[1] + reserved)
        return out

    def available_at(self, sku: str, location_id: str) -> int:
        on_hand, reserved = self.levels.get((sku, location_id), (0, 0))
        return on_hand - reserved


@dataclass(frozen=True)
class ReserveLookup:
    """Result of the lock-free reads of a group of reservations."""

    locations: dict[str, Location]  # by code; "" = the default (absent if none yet)
    definitions: dict[str, list[BundleComponent]]  # bundles among the requested SKUs
    containing: set[str]  # bundles that contain a requested SKU or one of its components


@dataclass(frozen=True)
class FiguresSlot:
    """Where the fresh reads of a script sit in its results."""

    bump: int
    levels: int
    definitions: int
    default: int
    rules: int
    sales: int


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _timestamp(raw: str) -> datetime:
    """A timestamptz rendered by json_build_array (ISO 8601 with offset)."""
    return _utc(datetime.fromisoformat(raw))


def assemble_reservation(head: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Reservation:
    """A Reservation from its row (id, order_ref, status, expires_at, created_at,
    channel_connection_id) and its line rows (line_no, sku, location_id, code, quantity,
    committed, released, per_unit, parent_line_no) in line order."""
    tops: dict[int, ReservationLine] = {}
    for line_no, sku, location_id, code, quantity, committed, released, per_unit, parent in rows:
        line = ReservationLine(
            line_no=line_no,
            sku=sku,
            location_id=location_id,
            location_code=code,
            quantity=quantity,
            committed=committed,
            released=released,
            per_unit=per_unit,
            parent_line_no=parent,
        )
        if parent is None:
            tops[line_no] = line
        else:
            tops[parent].components.append(line)
    return Reservation(
        id=head[0],
        order_ref=head[1],
        status=ReservationStatus(head[2]),
        lines=list(tops.values()),
        expires_at=_utc(head[3]),
        created_at=_utc(head[4]),
        channel_connection_id=head[5],
    )


class PgSession:
    """One checked-out PostgreSQL connection in autocommit mode; transactions are opened and
    closed by the scripts themselves (BEGIN ... COMMIT), so no statement costs an extra round
    trip. UnitOfWork.pg_session rolls back whatever is left open."""

    def __init__(self, conn: psycopg.Connection[Any], info: dict[Any, Any]) -> None:
        self.conn = conn
        self.cur = ClientCursor(conn)
        if not info.get(_PREPARED_KEY):
            # psycopg auto-prepares statements of the Repository path too, and answers a ROLLBACK
            # with DEALLOCATE ALL when it has any, which would drop ours. Make it forget its own
            # (it recognises DEALLOCATE ALL) and stop auto-preparing on this connection: with
            # custom plans forced, its prepared statements only saved the parse anyway.
            conn.prepare_threshold = None
            self.cur.execute("DEALLOCATE ALL")
            self.cur.execute("; ".join(f"PREPARE {name} AS {sql}" for name, sql in PG_STATEMENTS.items()))
            info[_PREPARED_KEY] = True

    def run(self, script: PgScript) -> list[list[tuple[Any, ...]] | None]:
        """Send the script as one query; rows per statement (None for a statement without)."""
        cur = self.cur
        cur.execute(script.sql, script.params)
        results: list[list[tuple[Any, ...]] | None] = []
        while True:
            # pgresult.status, not cur.description: building column descriptions costs ~10% here.
            rows = cur.pgresult is not None and cur.pgresult.status == ExecStatus.TUPLES_OK
            results.append(cur.fetchall() if rows else None)
            if not cur.nextset():
                return results

    def rollback(self) -> None:
        self.cur.execute("ROLLBACK")

    # ----------------------------------------------------------------------- first round trip

    def reserve_lookup(self, tenant_id: str, codes: Iterable[str], skus: Iterable[str]) -> ReserveLookup:
        """BEGIN, then the reads of a group of reservations that need no lock (see inv_lookup)."""
        script = PgScript(begin=True)
        wanted_codes = sorted({code for code in codes if code})
        at = script.add("inv_lookup", tenant_id, wanted_codes, sorted(set(skus)))
        locs, defs, containing = self.run(script)[at][0]  # type: ignore[index]
        locations: dict[str, Location] = {}
        for loc_id, code, name, is_default, created_at in locs or ():
            location = Location(loc_id, code, name, is_default, _timestamp(created_at))
            if code in wanted_codes:
                locations[code] = location
            if is_default:
                locations[""] = location
        definitions: dict[str, list[BundleComponent]] = {}
        for bundle_sku, component_sku, quantity in defs or ():
            definitions.setdefault(bundle_sku, []).append(BundleComponent(component_sku, quantity))
        return ReserveLookup(locations, definitions, set(containing or ()))

    def lock_reservations(
        self, tenant_id: str, requests: Sequence[tuple[str, str]], scope: str
    ) -> dict[str, tuple[Reservation, str | None, list[tuple[str, str]]]]:
        """BEGIN and lock the reservation rows of (reservation id, idempotency key) `requests` in id
        order (lock class 1; the same order in every transaction, so no deadlock); then, read after
        those locks, per reservation: its lines, the stored response of its key in `scope`, and
        the (bundle, component) pairs whose component is one of its SKUs. One round trip. A
        reservation that does not exist is absent from the result (the transaction stays open
        for the session to roll back or go on)."""
        script = PgScript(begin=True)
        slots = []
        for reservation_id, key in sorted(requests):
            head_at = script.add("inv_lock_reservation", tenant_id, reservation_id)
            lines_at = script.add("inv_reservation_lines", reservation_id)
            containing_at = script.add("inv_bundles_containing_lines", tenant_id, reservation_id)
            stored_at = script.add("inv_idempotent_response", tenant_id, scope, key) if key else -1
            slots.append((reservation_id, head_at, lines_at, containing_at, stored_at))
        results = self.run(script)
        loaded = {}
        for reservation_id, head_at, lines_at, containing_at, stored_at in slots:
            head = results[head_at]
            if not head:
                continue
            stored = results[stored_at] if stored_at >= 0 else None
            loaded[reservation_id] = (
                assemble_reservation(head[0], results[lines_at] or ()),
                stored[0][0] if stored else None,
                [(bundle, component) for bundle, component in results[containing_at] or ()],
            )
        return loaded

    # ----------------------------------------------------------------------- script builders

    @staticmethod
    def add_reservations(script: PgScript, tenant_id: str, group: Sequence[tuple[Reservation, str]]) -> int:
        """New HELD reservations with their idempotency keys ("" = none), in key order, and their
        lines; the statement returns the ids inserted (a key a twin holds is skipped)."""
        ordered = sorted(group, key=lambda pair: pair[1])
        items = [
            (reservation.id, item)
            for reservation, _key in ordered
            for line in reservation.lines
            for item in (line, *line.components)
        ]
        return script.add(
            "inv_insert_reservations",
            tenant_id,
            ReservationStatus.HELD.value,
            [reservation.id for reservation, _ in ordered],
            [reservation.order_ref for reservation, _ in ordered],
            [key or None for _, key in ordered],
            [reservation.channel_connection_id for reservation, _ in ordered],
            [reservation.expires_at for reservation, _ in ordered],
            [reservation.created_at for reservation, _ in ordered],
            [rid for rid, _ in items],
            [item.line_no for _, item in items],
            [item.parent_line_no for _, item in items],
            [item.sku for _, item in items],
            [item.location_id for _, item in items],
            [item.per_unit for _, item in items],
            [item.quantity for _, item in items],
        )

    @staticmethod
    def add_lock_levels(script: PgScript, tenant_id: str, keys: Iterable[tuple[str, str]]) -> int:
        """Lock the stock rows (sku, location_id) in sorted order; rows: sku, location, on_hand,
        reserved."""
        ordered = sorted(set(keys))
        return script.add(
            "inv_lock_levels", tenant_id, [sku for sku, _ in ordered], [loc for _, loc in ordered]
        )

    @staticmethod
    def add_holds(
        script: PgScript, tenant_id: str, holds: Mapping[tuple[str, str], tuple[int, int]], now: datetime
    ) -> None:
        """Add (units, reservations) per locked row to reserved and version."""
        ordered = sorted(holds.items())
        script.add(
            "inv_hold_levels",
            tenant_id,
            now,
            [sku for (sku, _), _ in ordered],
            [loc for (_, loc), _ in ordered],
            [units for _, (units, _) in ordered],
            [count for _, (_, count) in ordered],
        )

    @staticmethod
    def add_movements(script: PgScript, tenant_id: str, movements: Sequence[Mapping[str, Any]]) -> None:
        """Ledger rows (service._movement dicts without a reason) in the given order."""
        script.add(
            "inv_insert_movements",
            tenant_id,
            *(
                [m[column] for m in movements]
                for column in (
                    "sku",
                    "location_id",
                    "kind",
                    "on_hand_delta",
                    "reserved_delta",
                    "on_hand_after",
                    "reserved_after",
                    "note",
                    "actor",
                    "reference",
                    "at",
                )
            ),
        )

    @staticmethod
    def add_drop_reservations(script: PgScript, reservation_ids: Sequence[str]) -> None:
        if reservation_ids:
            script.add("inv_drop_reservation_lines", list(reservation_ids))
            script.add("inv_drop_reservations", list(reservation_ids))

    @staticmethod
    def add_settlement(script: PgScript, reservation: Reservation, now: datetime) -> None:
        """Line counters and status after a commit (Repository.save_settlement)."""
        items = [item for line in reservation.lines for item in (line, *line.components)]
        script.add(
            "inv_save_lines",
            reservation.id,
            [item.line_no for item in items],
            [item.committed for item in items],
            [item.released for item in items],
        )
        script.add("inv_save_reservation", reservation.id, reservation.status.value, now)

    @staticmethod
    def add_idempotent_response(
        script: PgScript, tenant_id: str, scope: str, key: str, response: str, now: datetime
    ) -> None:
        """Claim the key with the response in one insert; a twin holding it makes this fail."""
        script.add("inv_insert_idempotent", tenant_id, scope, key, response, now)

    @staticmethod
    def add_sales(
        script: PgScript, tenant_id: str, connection_id: str, units: Mapping[str, int], now: datetime
    ) -> None:
        if units:
            ordered = sorted(units.items())
            script.add(
                "inv_insert_sales",
                tenant_id,
                connection_id,
                [sku for sku, _ in ordered],
                [quantity for _, quantity in ordered],
                now,
            )

    @staticmethod
    def add_stock_change(
        script: PgScript, tenant_id: str, demand: StockDemand, now: datetime, movement: Mapping[str, Any]
    ) -> int:
        """One stock row + its ledger row, from a _movement() dict: applies the movement's deltas
        to a row the reservation guarantees (no row back if it is gone)."""
        return script.add(
            "inv_change_level",
            movement["on_hand_delta"],
            tenant_id,
            now,
            demand.sku,
            demand.location_id,
            movement["reserved_delta"],
            movement["kind"],
            movement["on_hand_delta"],
            movement["reserved_delta"],
            movement["note"],
            movement["actor"],
            movement["reference"],
        )

    @staticmethod
    def add_bump_and_read(
        script: PgScript, tenant_id: str, skus: Iterable[str], now: datetime, sales_since: datetime
    ) -> FiguresSlot:
        """Bump the sku_states versions (lock class 3, sorted) and read, after that lock, every
        figure the event needs (see the section comment: fresh snapshot per statement)."""
        ordered = sorted(set(skus))
        return FiguresSlot(
            bump=script.add("inv_bump_states", tenant_id, now, ordered),
            levels=script.add("inv_levels", tenant_id, ordered),
            definitions=script.add("inv_bundles", tenant_id, ordered),
            default=script.add("inv_default_threshold", tenant_id),
            rules=script.add("inv_rules", tenant_id),
            sales=script.add("inv_sales", tenant_id, ordered, sales_since),
        )

    @staticmethod
    def figures(results: Sequence[list[tuple[Any, ...]] | None], slot: FiguresSlot) -> Figures:
        definitions: dict[str, list[BundleComponent]] = {}
        for bundle_sku, component_sku, quantity in results[slot.definitions] or ():
            definitions.setdefault(bundle_sku, []).append(BundleComponent(component_sku, quantity))
        default_rows = results[slot.default]
        return Figures(
            states={sku: (version, own, alert) for sku, version, own, alert in results[slot.bump] or ()},
            default_threshold=int(default_rows[0][0]) if default_rows else None,
            definitions=definitions,
            levels={
                (sku, loc): (on_hand, reserved) for sku, loc, on_hand, reserved in results[slot.levels] or ()
            },
            rules=[
                AllocationRule(
                    connection_id=conn_id,
                    channel=channel,
                    buffer=buffer,
                    max_quantity=max_quantity,
                    percentage=percentage,
                    dynamic_buffer=dynamic,
                    measured_sync_latency_ms=latency or 0,
                )
                for conn_id, channel, buffer, max_quantity, percentage, dynamic, latency in results[
                    slot.rules
                ]
                or ()
            ],
            sales={(sku, conn_id): int(total) for sku, conn_id, total in results[slot.sales] or ()},
        )

    @staticmethod
    def add_alerts_and_events(
        script: PgScript,
        tenant_id: str,
        opens: Sequence[Alert],
        closes: Sequence[tuple[str, str]],
        events: Sequence[tuple[str, dict[str, Any]]],
        now: datetime,
    ) -> None:
        """Repository.open_alert/close_alert/add_event, in one script."""
        for alert in opens:
            script.add(
                "inv_insert_alert",
                alert.id,
                tenant_id,
                alert.sku,
                alert.status.value,
                alert.threshold,
                alert.available_at_open,
                alert.opened_at,
            )
            script.add("inv_set_open_alert", tenant_id, alert.sku, alert.id)
        for sku, alert_id in closes:
            script.add("inv_close_alert", tenant_id, alert_id, AlertStatus.CLOSED.value, now)
            script.add("inv_set_open_alert", tenant_id, sku, None)
        for event_type, payload in events:
            script.add(
                "inv_insert_outbox",
                tenant_id,
                event_type,
                json.dumps(payload, separators=(",", ":"), default=str),
                datetime.now(UTC),
            )
