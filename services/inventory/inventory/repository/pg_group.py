"""The group primitives on PostgreSQL: prepared statements sent as scripts, one round trip per
`send` (see pg_statements.py for why, and group_transaction.py for the contract)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import ClientCursor
from psycopg.pq import ExecStatus

from inventory.domain import (
    Alert,
    AlertStatus,
    AllocationRule,
    BundleComponent,
    Location,
    Reservation,
    ReservationStatus,
    StockDemand,
)
from inventory.repository.group_transaction import (
    Event,
    Figures,
    LoadedReservation,
    ReserveLookup,
    Slot,
    StockKey,
    assemble_reservation,
    stored_expiry,
    utc,
)
from inventory.repository.pg_statements import PG_STATEMENTS, PREPARED_KEY, PgScript

Rows = list[tuple[Any, ...]] | None

_MOVEMENT_COLUMNS = (
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
)


class PgBatch:
    """A script being built; each statement that returns something gets a slot filled by
    PgGroupTransaction.send."""

    def __init__(self, *, begin: bool = False) -> None:
        self.script = PgScript(begin=begin)
        self.pending: list[tuple[int, Callable[[Rows], Any], Slot[Any]]] = []

    def _expect(self, at: int, parse: Callable[[Rows], Any]) -> Slot[Any]:
        slot: Slot[Any] = Slot()
        self.pending.append((at, parse, slot))
        return slot

    def insert_reservations(
        self, tenant_id: str, group: Sequence[tuple[Reservation, str, str]]
    ) -> Slot[set[str]]:
        # In idempotency-key order: twins in two groups wait for each other, never deadlock.
        ordered = sorted(group, key=lambda keyed: keyed[1])
        items = [
            (reservation.id, item)
            for reservation, _key, _fingerprint in ordered
            for line in reservation.lines
            for item in (line, *line.components)
        ]
        at = self.script.add(
            "inv_insert_reservations",
            tenant_id,
            ReservationStatus.HELD.value,
            [reservation.id for reservation, _, _ in ordered],
            [reservation.order_ref for reservation, _, _ in ordered],
            [key or None for _, key, _ in ordered],
            [reservation.channel_connection_id for reservation, _, _ in ordered],
            [stored_expiry(reservation) for reservation, _, _ in ordered],
            [reservation.created_at for reservation, _, _ in ordered],
            [rid for rid, _ in items],
            [item.line_no for _, item in items],
            [item.parent_line_no for _, item in items],
            [item.sku for _, item in items],
            [item.location_id for _, item in items],
            [item.per_unit for _, item in items],
            [item.quantity for _, item in items],
            [(fingerprint or None) if key else None for _, key, fingerprint in ordered],
        )
        return self._expect(at, lambda rows: {row[0] for row in rows or ()})

    def lock_levels(self, tenant_id: str, keys: Iterable[StockKey]) -> Slot[dict[StockKey, tuple[int, int]]]:
        ordered = sorted(set(keys))
        at = self.script.add(
            "inv_lock_levels", tenant_id, [sku for sku, _ in ordered], [loc for _, loc in ordered]
        )
        return self._expect(
            at, lambda rows: {(sku, loc): (on_hand, reserved) for sku, loc, on_hand, reserved in rows or ()}
        )

    def hold(self, tenant_id: str, holds: Mapping[StockKey, tuple[int, int]], now: datetime) -> None:
        ordered = sorted(holds.items())
        self.script.add(
            "inv_hold_levels",
            tenant_id,
            now,
            [sku for (sku, _), _ in ordered],
            [loc for (_, loc), _ in ordered],
            [units for _, (units, _) in ordered],
            [count for _, (_, count) in ordered],
        )

    def insert_movements(self, tenant_id: str, movements: Sequence[Mapping[str, Any]]) -> None:
        # Movements of this path carry no reason (reservations, commits): the statement has none.
        columns = ([m[column] for m in movements] for column in _MOVEMENT_COLUMNS)
        self.script.add("inv_insert_movements", tenant_id, *columns)

    def drop_reservations(self, reservation_ids: Sequence[str]) -> None:
        if reservation_ids:
            self.script.add("inv_drop_reservation_lines", list(reservation_ids))
            self.script.add("inv_drop_reservations", list(reservation_ids))

    def shrink_lines(self, reservation_id: str, quantities: Sequence[tuple[int, int]]) -> None:
        self.script.add(
            "inv_shrink_lines",
            reservation_id,
            [line_no for line_no, _ in quantities],
            [quantity for _, quantity in quantities],
        )

    def save_settlement(self, reservation: Reservation, now: datetime) -> None:
        items = [item for line in reservation.lines for item in (line, *line.components)]
        self.script.add(
            "inv_save_lines",
            reservation.id,
            [item.line_no for item in items],
            [item.committed for item in items],
            [item.released for item in items],
        )
        self.script.add("inv_save_reservation", reservation.id, reservation.status.value, now)

    def store_response(
        self, tenant_id: str, scope: str, key: str, response: str, fingerprint: str, now: datetime
    ) -> None:
        self.script.add("inv_insert_idempotent", tenant_id, scope, key, response, now, fingerprint)

    def add_sales(self, tenant_id: str, connection_id: str, units: Mapping[str, int], now: datetime) -> None:
        if units:
            ordered = sorted(units.items())
            self.script.add(
                "inv_insert_sales",
                tenant_id,
                connection_id,
                [sku for sku, _ in ordered],
                [quantity for _, quantity in ordered],
                now,
            )

    def change_level(
        self, tenant_id: str, demand: StockDemand, now: datetime, movement: Mapping[str, Any]
    ) -> Slot[bool]:
        at = self.script.add(
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
        return self._expect(at, bool)

    def bump_and_read(
        self, tenant_id: str, skus: Iterable[str], now: datetime, sales_since: datetime
    ) -> Slot[Figures]:
        ordered = sorted(set(skus))
        script = self.script
        at = {
            "bump": script.add("inv_bump_states", tenant_id, now, ordered),
            "levels": script.add("inv_levels", tenant_id, ordered),
            "definitions": script.add("inv_bundles", tenant_id, ordered),
            "default": script.add("inv_default_threshold", tenant_id),
            "rules": script.add("inv_rules", tenant_id),
            "sales": script.add("inv_sales", tenant_id, ordered, sales_since),
        }
        # The slot parses all six results, so it is registered on the last one.
        slot: Slot[Figures] = Slot()
        self.pending.append((-1, lambda results: _figures(results, at), slot))
        return slot

    def alerts_and_events(
        self,
        tenant_id: str,
        opens: Sequence[Alert],
        closes: Sequence[tuple[str, str]],
        events: Sequence[Event],
        now: datetime,
    ) -> None:
        for alert in opens:
            self.script.add(
                "inv_insert_alert",
                alert.id,
                tenant_id,
                alert.sku,
                alert.status.value,
                alert.threshold,
                alert.available_at_open,
                alert.opened_at,
            )
            self.script.add("inv_set_open_alert", tenant_id, alert.sku, alert.id)
        for sku, alert_id in closes:
            self.script.add("inv_close_alert", tenant_id, alert_id, AlertStatus.CLOSED.value, now)
            self.script.add("inv_set_open_alert", tenant_id, sku, None)
        for event_type, payload in events:
            self.script.add(
                "inv_insert_outbox",
                tenant_id,
                event_type,
                json.dumps(payload, separators=(",", ":"), default=str),
                datetime.now(UTC),
            )


def _figures(results: Any, at: Mapping[str, int]) -> Figures:
    definitions: dict[str, list[BundleComponent]] = {}
    for bundle_sku, component_sku, quantity in results[at["definitions"]] or ():
        definitions.setdefault(bundle_sku, []).append(BundleComponent(component_sku, quantity))
    default_rows = results[at["default"]]
    return Figures(
        states={sku: (version, own, alert) for sku, version, own, alert in results[at["bump"]] or ()},
        default_threshold=int(default_rows[0][0]) if default_rows else None,
        definitions=definitions,
        levels={
            (sku, loc): (on_hand, reserved) for sku, loc, on_hand, reserved in results[at["levels"]] or ()
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
            for conn_id, channel, buffer, max_quantity, percentage, dynamic, latency in results[at["rules"]]
            or ()
        ],
        sales={(sku, conn_id): int(total) for sku, conn_id, total in results[at["sales"]] or ()},
    )


class PgGroupTransaction:
    """One checked-out PostgreSQL connection in autocommit mode; the scripts open and close the
    transaction themselves (BEGIN ... COMMIT), so no statement costs an extra round trip.
    UnitOfWork.pg_connection rolls back whatever is left open."""

    def __init__(self, conn: psycopg.Connection[Any], info: dict[Any, Any]) -> None:
        self.conn = conn
        self.cur = ClientCursor(conn)
        if not info.get(PREPARED_KEY):
            # psycopg auto-prepares statements of the Repository too, and answers a ROLLBACK
            # with DEALLOCATE ALL when it has any, which would drop ours. Make it forget its own
            # (it recognises DEALLOCATE ALL) and stop auto-preparing on this connection: with
            # custom plans forced, its prepared statements only saved the parse anyway.
            conn.prepare_threshold = None
            self.cur.execute("DEALLOCATE ALL")
            self.cur.execute("; ".join(f"PREPARE {name} AS {sql}" for name, sql in PG_STATEMENTS.items()))
            info[PREPARED_KEY] = True

    def run(self, script: PgScript) -> list[Rows]:
        """Send the script as one query; rows per statement (None for a statement without)."""
        cur = self.cur
        cur.execute(script.sql, script.params)
        results: list[Rows] = []
        while True:
            # pgresult.status, not cur.description: building column descriptions costs ~10% here.
            rows = cur.pgresult is not None and cur.pgresult.status == ExecStatus.TUPLES_OK
            results.append(cur.fetchall() if rows else None)
            if not cur.nextset():
                return results

    def batch(self) -> PgBatch:
        return PgBatch()

    def send(self, batch: PgBatch) -> None:
        results = self.run(batch.script)
        for at, parse, slot in batch.pending:
            slot.fill(parse(results if at < 0 else results[at]))

    def commit(self, batch: PgBatch) -> None:
        batch.script.commit()
        self.send(batch)

    def rollback(self) -> None:
        self.cur.execute("ROLLBACK")

    def reserve_lookup(self, tenant_id: str, codes: Iterable[str], skus: Iterable[str]) -> ReserveLookup:
        """BEGIN, then the reads of a group of reservations that need no lock (see inv_lookup)."""
        script = PgScript(begin=True)
        wanted_codes = sorted({code for code in codes if code})
        at = script.add("inv_lookup", tenant_id, wanted_codes, sorted(set(skus)))
        locs, defs, containing = self.run(script)[at][0]  # type: ignore[index]
        locations: dict[str, Location] = {}
        for loc_id, code, name, is_default, created_at in locs or ():
            location = Location(loc_id, code, name, is_default, utc(datetime.fromisoformat(created_at)))
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
    ) -> dict[str, LoadedReservation]:
        """BEGIN and lock the reservation rows in id order (lock class 1; the same order in every
        transaction, so no deadlock); then, read after those locks, each one's lines, stored
        response and containing bundles. One round trip."""
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
                (stored[0][0], stored[0][1]) if stored else None,
                [(bundle, component) for bundle, component in results[containing_at] or ()],
            )
        return loaded
