"""The group primitives through SQLAlchemy (SQLite): each statement runs when it is added.

SQLite has one writer at a time, and every transaction starts with BEGIN IMMEDIATE
(omnistock_common.db), so the whole group runs under the database's write lock from its first
statement: "locking" a row is reading it, and statements need no batching because there is no
network round trip to save. The group itself is decided by the same code as on PostgreSQL
(service/reservation_groups.py); only these primitives differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, RootTransaction

from inventory import models
from inventory.domain import Alert, Reservation, StockDemand
from inventory.repository.group_transaction import (
    Event,
    Figures,
    LoadedReservation,
    ReserveLookup,
    Slot,
    StockKey,
)
from inventory.repository.sql import Repository


def _filled(value: Any) -> Slot[Any]:
    slot: Slot[Any] = Slot()
    slot.fill(value)
    return slot


class SqlBatch:
    """Executes each primitive at once in the group's transaction (see the module docstring)."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def insert_reservations(
        self, tenant_id: str, group: Sequence[tuple[Reservation, str, str]]
    ) -> Slot[set[str]]:
        inserted: set[str] = set()
        for reservation, key, fingerprint in group:
            if key and self.repo.reservation_by_key(tenant_id, key) is not None:
                continue  # a key already held: that call is answered by the first reservation
            self.repo.insert_reservation(
                tenant_id, reservation, key, reservation.created_at, fingerprint=fingerprint
            )
            self.repo.insert_reservation_lines(tenant_id, reservation)
            inserted.add(reservation.id)
        return _filled(inserted)

    def lock_levels(self, tenant_id: str, keys: Iterable[StockKey]) -> Slot[dict[StockKey, tuple[int, int]]]:
        return _filled(self.repo.levels_at(tenant_id, sorted(set(keys))))

    def hold(self, tenant_id: str, holds: Mapping[StockKey, tuple[int, int]], now: datetime) -> None:
        t = models.stock_levels
        for (sku, location_id), (units, count) in sorted(holds.items()):
            self.repo.conn.execute(
                update(t)
                .where(t.c.tenant_id == tenant_id, t.c.sku == sku, t.c.location_id == location_id)
                .values(reserved=t.c.reserved + units, version=t.c.version + count, updated_at=now)
            )

    def insert_movements(self, tenant_id: str, movements: Sequence[Mapping[str, Any]]) -> None:
        self.repo.append_movements(tenant_id, [dict(m) for m in movements])

    def drop_reservations(self, reservation_ids: Sequence[str]) -> None:
        if reservation_ids:
            rl, r = models.reservation_lines, models.reservations
            self.repo.conn.execute(delete(rl).where(rl.c.reservation_id.in_(list(reservation_ids))))
            self.repo.conn.execute(delete(r).where(r.c.id.in_(list(reservation_ids))))

    def shrink_lines(self, reservation_id: str, quantities: Sequence[tuple[int, int]]) -> None:
        rl = models.reservation_lines
        for line_no, quantity in quantities:
            self.repo.conn.execute(
                update(rl)
                .where(rl.c.reservation_id == reservation_id, rl.c.line_no == line_no)
                .values(quantity=quantity)
            )

    def save_settlement(self, reservation: Reservation, now: datetime) -> None:
        self.repo.save_settlement(reservation, now)

    def store_response(
        self, tenant_id: str, scope: str, key: str, response: str, fingerprint: str, now: datetime
    ) -> None:
        self.repo.conn.execute(
            insert(models.idempotency_records).values(
                tenant_id=tenant_id,
                scope=scope,
                key=key,
                response=response,
                request_fingerprint=fingerprint,
                created_at=now,
            )
        )

    def add_sales(self, tenant_id: str, connection_id: str, units: Mapping[str, int], now: datetime) -> None:
        self.repo.add_sales(tenant_id, connection_id, dict(units), now)

    def change_level(
        self, tenant_id: str, demand: StockDemand, now: datetime, movement: Mapping[str, Any]
    ) -> Slot[bool]:
        t = models.stock_levels
        row = self.repo.conn.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.sku == demand.sku, t.c.location_id == demand.location_id)
            .values(
                on_hand=t.c.on_hand + movement["on_hand_delta"],
                reserved=t.c.reserved + movement["reserved_delta"],
                version=t.c.version + 1,
                updated_at=now,
            )
            .returning(t.c.on_hand, t.c.reserved)
        ).first()
        if row is None:
            return _filled(False)
        after = {**movement, "on_hand_after": row.on_hand, "reserved_after": row.reserved}
        self.repo.append_movements(tenant_id, [after])
        return _filled(True)

    def bump_and_read(
        self, tenant_id: str, skus: Iterable[str], now: datetime, sales_since: datetime
    ) -> Slot[Figures]:
        return _filled(self.repo.bump_and_read(tenant_id, skus, now, sales_since))

    def alerts_and_events(
        self,
        tenant_id: str,
        opens: Sequence[Alert],
        closes: Sequence[tuple[str, str]],
        events: Sequence[Event],
        now: datetime,
    ) -> None:
        self.repo.write_alerts_and_events(tenant_id, opens, closes, events, now)


class SqlGroupTransaction:
    """A group's transaction on one SQLAlchemy connection (BEGIN IMMEDIATE on SQLite)."""

    def __init__(self, conn: Connection, transaction: RootTransaction) -> None:
        self.repo = Repository(conn)
        self.transaction = transaction

    def reserve_lookup(self, tenant_id: str, codes: Iterable[str], skus: Iterable[str]) -> ReserveLookup:
        wanted = set(codes)
        locations = self.repo.locations_by_code(tenant_id, wanted - {""})
        default = self.repo.default_location(tenant_id)
        if default is not None:
            locations[""] = default
        definitions = self.repo.bundles(tenant_id, skus)
        components = {c.sku for comps in definitions.values() for c in comps}
        containing = self.repo.bundles_containing(tenant_id, set(skus) | components)
        return ReserveLookup(locations, definitions, containing)

    def lock_reservations(
        self, tenant_id: str, requests: Sequence[tuple[str, str]], scope: str
    ) -> dict[str, LoadedReservation]:
        b = models.bundle_components
        loaded: dict[str, LoadedReservation] = {}
        for reservation_id, key in sorted(requests):
            reservation = self.repo.get_reservation(tenant_id, reservation_id, for_update=True)
            if reservation is None:
                continue
            stored = self.repo.idempotent_response(tenant_id, scope, key) if key else None
            held = {item.sku for line in reservation.lines for item in (line, *line.components)}
            rows = self.repo.conn.execute(
                select(b.c.bundle_sku, b.c.component_sku).where(
                    b.c.tenant_id == tenant_id, b.c.component_sku.in_(sorted(held))
                )
            )
            loaded[reservation_id] = (reservation, stored, [(row[0], row[1]) for row in rows])
        return loaded

    def batch(self) -> SqlBatch:
        return SqlBatch(self.repo)

    def send(self, batch: SqlBatch) -> None:
        """Nothing left to send: SqlBatch executed each statement when it was added."""

    def commit(self, batch: SqlBatch) -> None:
        self.transaction.commit()

    def rollback(self) -> None:
        self.transaction.rollback()
