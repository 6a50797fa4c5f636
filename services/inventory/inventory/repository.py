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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

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
