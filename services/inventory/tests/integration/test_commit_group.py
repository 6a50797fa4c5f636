"""Group commit of CommitReservation calls: one transaction per group, each call succeeding or
failing on its own with the answer it would get alone (service layer, real database).

Every test runs on SQLite and on PostgreSQL (the `uow` fixture): the grouped execution is the
only implementation of CommitReservation, and only its primitives differ per database."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import text

from inventory import service
from inventory.domain import (
    AdjustmentLine,
    AdjustmentReason,
    BundleComponent,
    Policy,
    Reservation,
    ReservationStatus,
    ReserveLineInput,
)
from inventory.repository import UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.errors import FailedPrecondition, NotFound

TENANT = "tenant-c"
CTX = CallContext(tenant_id=TENANT, user_id="u1")
POLICY = Policy()


def stock(uow: UnitOfWork, sku: str, quantity: int) -> None:
    service.adjust(uow, CTX, AdjustmentLine(sku, "", None, quantity, AdjustmentReason.RECEIVED), POLICY)


def hold(uow: UnitOfWork, order: str, lines: list[tuple[str, int]]) -> Reservation:
    cmd = service.ReserveCommand(order, [ReserveLineInput(sku, qty, "") for sku, qty in lines], 0, "")
    return service.reserve(uow, CTX, cmd, POLICY)


def pending(
    reservation_id: str, lines: Sequence[tuple[str, int]] = (), key: str = ""
) -> service.PendingCommit:
    return service.PendingCommit(CTX, reservation_id, tuple(lines), key, datetime.now(UTC))


def levels(uow: UnitOfWork, sku: str) -> tuple[int, int]:
    snapshot, _ = service.get_sku_stock(uow, CTX, sku, POLICY)
    return snapshot.on_hand, snapshot.reserved


def stock_events(uow: UnitOfWork) -> int:
    with uow.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM outbox WHERE event_type = 'inventory.stock_changed'")
            ).scalar_one()
        )


def test_a_mixed_group_gives_each_call_its_own_answer(uow: UnitOfWork) -> None:
    stock(uow, "A", 10)
    stock(uow, "B", 10)
    stock(uow, "C", 10)
    service.put_bundle(uow, CTX, "KIT", [BundleComponent("A", 1), BundleComponent("C", 2)], POLICY)
    whole = hold(uow, "o1", [("A", 2), ("B", 1)])
    partial = hold(uow, "o2", [("B", 4)])
    keyed = hold(uow, "o3", [("A", 1)])
    kit = hold(uow, "o4", [("KIT", 2)])
    released = hold(uow, "o5", [("C", 1)])
    service.release_reservation(uow, CTX, released.id, POLICY)
    events_before = stock_events(uow)

    group = [
        pending(whole.id),  # everything held: COMMITTED
        pending(partial.id, [("B", 3)]),  # 3 of 4: PARTIALLY_COMMITTED
        pending(keyed.id, key="ck1"),  # committed, response stored under ck1
        pending(keyed.id, key="ck1"),  # the same call again in the group: Redo (runs alone after)
        pending("no-such-reservation"),  # NotFound, alone
        pending(released.id),  # nothing held: FailedPrecondition, alone
        pending(kit.id, [("B", 1)]),  # a SKU the reservation does not hold: FailedPrecondition, alone
        pending(kit.id),  # a second call for the same reservation: Redo
        pending(partial.id, [("B", 0)]),  # a third call for o2: Redo as well (not even validated here)
    ]
    outcomes = service.execute_group(uow, TENANT, group, POLICY, service.commit_group)

    assert isinstance(outcomes[0], Reservation) and outcomes[0].status is ReservationStatus.COMMITTED
    assert isinstance(outcomes[1], Reservation)
    assert outcomes[1].status is ReservationStatus.PARTIALLY_COMMITTED
    assert isinstance(outcomes[2], Reservation) and outcomes[2].status is ReservationStatus.COMMITTED
    assert outcomes[3] is service.Redo.TWIN_IN_GROUP
    assert isinstance(outcomes[4], NotFound)
    assert isinstance(outcomes[5], FailedPrecondition)
    assert isinstance(outcomes[6], FailedPrecondition) and outcomes[6].reason == "UNKNOWN_LINE"
    assert outcomes[7] is service.Redo.TWIN_IN_GROUP and outcomes[8] is service.Redo.TWIN_IN_GROUP
    # A: 10 - 2 (o1) - 1 (keyed) committed, 2 still held by the kit; B: 10 - 1 - 3, 1 still held.
    assert levels(uow, "A") == (7, 2)
    assert levels(uow, "B") == (6, 1)
    assert levels(uow, "C") == (10, 4)
    assert stock_events(uow) == events_before + 1  # one event for the whole group
    assert not service.reconcile(uow, TENANT).mismatches

    # The calls that got Redo, run as their callers do (alone): the keyed twin gets the first
    # result, the kit's second commit commits it.
    again = service.commit_reservation(uow, CTX, keyed.id, [], POLICY, idempotency_key="ck1")
    assert again.id == keyed.id and again.status is ReservationStatus.COMMITTED
    assert levels(uow, "A") == (7, 2)
    done = service.commit_reservation(uow, CTX, kit.id, [], POLICY)
    assert done.status is ReservationStatus.COMMITTED
    assert levels(uow, "A") == (5, 0) and levels(uow, "C") == (6, 0)
    assert not service.reconcile(uow, TENANT).mismatches


def test_a_group_where_every_call_fails_changes_nothing(uow: UnitOfWork) -> None:
    stock(uow, "A", 5)
    held = hold(uow, "o1", [("A", 2)])
    service.release_reservation(uow, CTX, held.id, POLICY)
    events_before = stock_events(uow)
    outcomes = service.execute_group(
        uow, TENANT, [pending(held.id), pending("missing")], POLICY, service.commit_group
    )
    assert isinstance(outcomes[0], FailedPrecondition) and isinstance(outcomes[1], NotFound)
    assert levels(uow, "A") == (5, 0)
    assert stock_events(uow) == events_before


def test_concurrent_commits_of_a_hot_sku_form_groups_and_settle_exactly_once(uow: UnitOfWork) -> None:
    stock(uow, "HOT", 200)
    reservations = [hold(uow, f"o{i}", [("HOT", 1)]) for i in range(120)]
    group = service.make_commit_group(uow, POLICY)
    results: list[Reservation] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(30)

    def committer(index: int) -> None:
        start.wait()
        for reservation in reservations[index::30]:
            try:
                # Every reservation is committed twice with the same key: the second returns the first result.
                for _ in range(2):
                    committed = service.commit_reservation(
                        uow,
                        CTX,
                        reservation.id,
                        [],
                        POLICY,
                        idempotency_key=f"c-{reservation.id}",
                        group=group,
                    )
                    with lock:
                        results.append(committed)
            except BaseException as exc:
                with lock:
                    errors.append(exc)

    threads = [threading.Thread(target=committer, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(results) == 240 and all(r.status is ReservationStatus.COMMITTED for r in results)
    assert levels(uow, "HOT") == (80, 0)
    assert group.items >= 120 and group.groups < group.items  # calls really were grouped
    assert not service.reconcile(uow, TENANT).mismatches
