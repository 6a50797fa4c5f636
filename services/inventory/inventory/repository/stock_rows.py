"""Repository rows of locations, stock levels, SKU states and the ledger."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, literal, select, tuple_, update
from sqlalchemy.engine import Row

from inventory import domain, models
from inventory.domain import Location, Movement, MovementKind, StockLevel
from inventory.repository.sql_base import Rows, chunks, dialect_insert


class StockRows(Rows):
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
        for chunk in chunks(wanted):
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
        for chunk in chunks(sorted(set(keys))):
            stmt = dialect_insert(self.conn, t).values(
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
        for chunk in chunks(sorted(set(keys))):
            self.conn.execute(
                delete(t).where(
                    t.c.tenant_id == tenant_id,
                    tuple_(t.c.sku, t.c.location_id).in_(list(chunk)),
                    t.c.version == 0,
                )
            )

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

    def levels_at(
        self, tenant_id: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """(on_hand, reserved) of existing rows among `keys` (sku, location_id)."""
        t = models.stock_levels
        out: dict[tuple[str, str], tuple[int, int]] = {}
        for chunk in chunks(sorted(set(keys))):
            rows = self.conn.execute(
                select(t.c.sku, t.c.location_id, t.c.on_hand, t.c.reserved).where(
                    t.c.tenant_id == tenant_id, tuple_(t.c.sku, t.c.location_id).in_(list(chunk))
                )
            )
            out.update({(row.sku, row.location_id): (row.on_hand, row.reserved) for row in rows})
        return out

    def totals(self, tenant_id: str, skus: Iterable[str]) -> dict[str, tuple[int, int]]:
        """(on_hand, reserved) summed over locations, per SKU (missing SKUs are absent)."""
        t = models.stock_levels
        out: dict[str, tuple[int, int]] = {}
        for chunk in chunks(sorted(set(skus))):
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
        for chunk in chunks(sorted(set(skus))):
            stmt = dialect_insert(self.conn, st).values(
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
        for chunk in chunks(sorted(set(skus))):
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

    def tenant_default_threshold(self, tenant_id: str) -> int | None:
        """The tenant's own default threshold, None when it has not set one."""
        ts = models.tenant_settings
        value = self.conn.execute(
            select(ts.c.default_low_stock_threshold).where(ts.c.tenant_id == tenant_id)
        ).scalar()
        return None if value is None else int(value)

    def default_threshold(self, tenant_id: str, fallback: int) -> int:
        value = self.tenant_default_threshold(tenant_id)
        return fallback if value is None else value

    def set_default_threshold(self, tenant_id: str, threshold: int, now: datetime) -> None:
        ts = models.tenant_settings
        stmt = dialect_insert(self.conn, ts).values(
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
        """Ledger rows stamped with the time of the insert, not of the call: a call's clock is read
        before it waits for the row locks (and a group commits many calls at once), so caller
        times would not follow the ledger's order. PostgreSQL: clock_timestamp() after the locks;
        SQLite: one writer at a time, so the time read here (inside the transaction) is in order."""
        if not rows:
            return
        stamp: Any = func.clock_timestamp() if self.conn.dialect.name == "postgresql" else datetime.now(UTC)
        statement = insert(models.movements).values(at=stamp)
        for chunk in chunks(rows, 1000):
            self.conn.execute(
                statement,
                [{**{k: v for k, v in row.items() if k != "at"}, "tenant_id": tenant_id} for row in chunk],
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

    # ------------------------------------------------------------ turnover read model

    def daily_stock_before(self, tenant_id: str, first: date) -> dict[str, int]:
        """Per SKU, the on-hand deltas of every day before `first`: its on hand at the start."""
        d = models.daily_stock
        rows = self.conn.execute(
            select(d.c.sku, func.sum(d.c.on_hand_delta))
            .where(d.c.tenant_id == tenant_id, d.c.day < first)
            .group_by(d.c.sku)
        )
        return {sku: int(units) for sku, units in rows}

    def daily_stock_days(self, tenant_id: str, first: date, last: date) -> list[domain.DailyStock]:
        """The read model's days `first`..`last`, summed over locations."""
        d = models.daily_stock
        rows = self.conn.execute(
            select(d.c.sku, d.c.day, func.sum(d.c.on_hand_delta), func.sum(d.c.sold))
            .where(d.c.tenant_id == tenant_id, d.c.day >= first, d.c.day <= last)
            .group_by(d.c.sku, d.c.day)
        )
        return [domain.DailyStock(sku, day, int(delta), int(sold)) for sku, day, delta, sold in rows]

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
