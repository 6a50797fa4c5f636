"""Group commit of Reserve calls: one transaction per group, every call still all-or-nothing on
its own, with the answers it would get alone (service layer, real database).

The tests run on SQLite and on PostgreSQL (the `uow` fixture): the grouped execution is the only
implementation of Reserve, and only its primitives differ per database. The exception is the
lost-connection test, PostgreSQL only: it kills a server backend, which SQLite does not have."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from inventory import service
from inventory.domain import (
    AdjustmentLine,
    AdjustmentReason,
    BundleComponent,
    InsufficientStock,
    MovementKind,
    Policy,
    Reservation,
    ReservationStatus,
    ReserveLineInput,
)
from inventory.repository import UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_common.errors import FailedPrecondition, NotFound
from omnistock_devtools.migrated import migrate

TENANT = "tenant-g"
CTX = CallContext(tenant_id=TENANT, user_id="u1")
POLICY = Policy()


def stock(uow: UnitOfWork, sku: str, quantity: int, location: str = "") -> None:
    service.adjust(uow, CTX, AdjustmentLine(sku, location, None, quantity, AdjustmentReason.RECEIVED), POLICY)


def pending(order: str, lines: list[tuple[str, int, str]], key: str = "") -> service.PendingReserve:
    cmd = service.ReserveCommand(order, [ReserveLineInput(s, q, loc) for s, q, loc in lines], 0, key)
    return service.PendingReserve(CTX, cmd, datetime.now(UTC), 900)


def levels(uow: UnitOfWork, sku: str) -> tuple[int, int]:
    snapshot, _ = service.get_sku_stock(uow, CTX, sku, POLICY)
    return snapshot.on_hand, snapshot.reserved


def test_a_mixed_group_gives_each_call_its_own_answer(uow: UnitOfWork) -> None:
    stock(uow, "A", 10)
    stock(uow, "B", 4)
    stock(uow, "C", 6)
    service.put_bundle(uow, CTX, "KIT", [BundleComponent("A", 1), BundleComponent("C", 2)], POLICY)
    events_before = count_events(uow)
    group = [
        pending("o1", [("A", 3, "")]),  # held: A 10 -> 7 available
        pending("o2", [("A", 2, ""), ("B", 5, "")]),  # B short: takes nothing
        pending("o3", [("A", 2, "")], key="k1"),  # held: A -> 5
        pending("o4", [("A", 2, "")], key="k1"),  # same key in the group: Redo (first result)
        pending("o5", [("A", 1, "NOWHERE")]),  # unknown location
        pending("o6", [("KIT", 2, ""), ("C", 2, "")]),  # bundle: A 2, C 4+2=6: held
        pending("o7", [("C", 1, "")]),  # C is gone: short with 0 available
    ]
    outcomes = service.execute_group(uow, TENANT, group, POLICY, service.reserve_group)

    assert isinstance(outcomes[0], Reservation) and outcomes[0].status is ReservationStatus.HELD
    assert isinstance(outcomes[1], FailedPrecondition)
    assert isinstance(outcomes[1], InsufficientStock)
    assert [(d.sku, d.quantity, available) for d, available in outcomes[1].shorts] == [("B", 5, 4)]
    assert isinstance(outcomes[2], Reservation)
    assert outcomes[3] is service.Redo.KEY_IN_USE
    assert isinstance(outcomes[4], NotFound)
    assert isinstance(outcomes[5], Reservation)
    assert [(c.sku, c.quantity) for c in outcomes[5].lines[0].components] == [("A", 2), ("C", 4)]
    assert isinstance(outcomes[6], FailedPrecondition)
    assert isinstance(outcomes[6], InsufficientStock)
    assert [(d.sku, available) for d, available in outcomes[6].shorts] == [("C", 0)]

    assert levels(uow, "A") == (10, 3 + 2 + 2)
    assert levels(uow, "B") == (4, 0)
    assert levels(uow, "C") == (6, 6)
    # Only held reservations exist; the refused ones left no row and no line behind.
    held_ids = {o.id for o in outcomes if isinstance(o, Reservation)}
    with uow.engine.connect() as conn:
        ids = {row[0] for row in conn.execute(text("SELECT id FROM reservations"))}
        line_owners = {row[0] for row in conn.execute(text("SELECT reservation_id FROM reservation_lines"))}
    assert ids == held_ids and line_owners == held_ids
    # The ledger reads as the calls one after another, and sums to the levels.
    moves, _ = service.list_movements(uow, CTX, "A")
    reserves = [m for m in reversed(moves) if m.kind is MovementKind.RESERVE]
    assert [(m.reserved_delta, m.reserved_after, m.note) for m in reserves] == [
        (3, 3, "o1"),
        (2, 5, "o3"),
        (2, 7, "o6"),
    ]
    assert not service.reconcile(uow, TENANT).mismatches
    # One event for the group, with the final figures of every SKU it touched (and the bundle),
    # and one low-stock alert for A (10 -> 3 crosses the default threshold of 10; C started below).
    assert count_events(uow) == {
        "inventory.stock_changed": events_before["inventory.stock_changed"] + 1,
        "inventory.low_stock": events_before.get("inventory.low_stock", 0) + 1,
    }
    event = last_stock_event(uow)
    figures = {entry["sku"]: entry["available"] for entry in event["skus"]}
    assert figures["A"] == 3 and figures["C"] == 0 and figures["KIT"] == 0


def test_an_existing_key_returns_the_first_reservation_through_the_group(uow: UnitOfWork) -> None:
    stock(uow, "A", 5)
    group = service.make_reserve_group(uow, POLICY)
    cmd = service.ReserveCommand("o1", [ReserveLineInput("A", 2, "")], 0, "key-1")
    first = service.reserve(uow, CTX, cmd, POLICY, group=group)
    again = service.reserve(uow, CTX, cmd, POLICY, group=group)
    assert again.id == first.id
    assert levels(uow, "A") == (5, 2)


def test_unusual_skus_and_notes_round_trip_through_the_array_literals(uow: UnitOfWork) -> None:
    """Quotes, braces and backslashes survive PostgreSQL's array literals (and SQLite's binds)."""
    sku = 'odd "sku", {with} \\ back\\slash & ünïcode'
    stock(uow, sku, 3)
    group = service.make_reserve_group(uow, POLICY)
    cmd = service.ReserveCommand('order "1" \\ {x}', [ReserveLineInput(sku, 2, "")], 0, 'key "q" \\')
    held = service.reserve(uow, CTX, cmd, POLICY, group=group)
    stored = service.get_reservation(uow, CTX, held.id)
    assert stored.lines[0].sku == sku and stored.order_ref == 'order "1" \\ {x}'
    moves, _ = service.list_movements(uow, CTX, sku)
    assert moves[0].note == 'order "1" \\ {x}' and moves[0].reserved_after == 2
    again = service.reserve(uow, CTX, cmd, POLICY, group=group)
    assert again.id == held.id


def test_concurrent_calls_form_groups_and_never_oversell(uow: UnitOfWork) -> None:
    stock(uow, "HOT", 50)
    group = service.make_reserve_group(uow, POLICY)
    held: list[str] = []
    refused: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(40)

    def buyer(index: int) -> None:
        start.wait()
        for n in range(5):
            cmd = service.ReserveCommand(
                f"o{index}-{n}", [ReserveLineInput("HOT", 1, "")], 0, f"k{index}-{n}"
            )
            try:
                reservation = service.reserve(uow, CTX, cmd, POLICY, group=group)
            except FailedPrecondition:
                with lock:
                    refused.append(index)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
            else:
                with lock:
                    held.append(reservation.id)

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(held) == len(set(held)) == 50
    assert len(refused) == 150
    assert levels(uow, "HOT") == (50, 50)
    assert group.items == 200 and group.groups < 200  # calls really were grouped
    assert not service.reconcile(uow, TENANT).mismatches


def count_events(uow: UnitOfWork) -> dict[str, int]:
    with uow.engine.connect() as conn:
        rows = conn.execute(text("SELECT event_type, count(*) FROM outbox GROUP BY event_type"))
        return {event_type: int(n) for event_type, n in rows}


def last_stock_event(uow: UnitOfWork) -> dict[str, object]:
    with uow.engine.connect() as conn:
        payload = conn.execute(
            text(
                "SELECT payload FROM outbox WHERE event_type = 'inventory.stock_changed' ORDER BY id DESC LIMIT 1"
            )
        ).scalar_one()
    return json.loads(payload)


def test_a_connection_lost_in_use_fails_that_group_and_renews_the_pool(postgres_url: str) -> None:
    """Connections busy within the idle-ping window are not pinged (omnistock_common.db): one
    that the server dropped fails the call using it, and the pool is renewed at once, so the
    next call does not meet another dead connection of the same vintage."""
    migrate("inventory", postgres_url)
    engine = make_engine(postgres_url, pool_size=2, ping_after_idle=3600)
    uow = UnitOfWork(engine)
    try:
        stock(uow, "A", 10)
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        admin = make_engine(postgres_url, pool_size=1)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        pool_before = engine.pool
        with pytest.raises(DBAPIError):
            service.execute_group(uow, TENANT, [pending("o1", [("A", 1, "")])], POLICY, service.reserve_group)
        assert engine.pool is not pool_before
        [held] = service.execute_group(
            uow, TENANT, [pending("o2", [("A", 1, "")])], POLICY, service.reserve_group
        )
        assert isinstance(held, Reservation)
        assert levels(uow, "A") == (10, 1)
    finally:
        engine.dispose()
