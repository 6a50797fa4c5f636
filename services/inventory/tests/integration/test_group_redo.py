"""What reserve() and commit_reservation() do when a call leaves its group without an answer
(service.Redo): a held key returns the first reservation, a twin runs again after its group, a
missing default location is created first. On SQLite and PostgreSQL (the `uow` fixture)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from inventory import service
from inventory.domain import (
    AdjustmentLine,
    AdjustmentReason,
    InsufficientStock,
    Policy,
    Reservation,
    ReservationStatus,
    ReserveLineInput,
)
from inventory.repository import UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.errors import Aborted

TENANT = "tenant-r"
CTX = CallContext(tenant_id=TENANT, user_id="u1")
POLICY = Policy()


def stock(uow: UnitOfWork, sku: str, quantity: int) -> None:
    service.adjust(uow, CTX, AdjustmentLine(sku, "", None, quantity, AdjustmentReason.RECEIVED), POLICY)


def command(order: str, quantity: int, key: str = "") -> service.ReserveCommand:
    return service.ReserveCommand(order, [ReserveLineInput("A", quantity, "")], 0, key)


def levels(uow: UnitOfWork, sku: str) -> tuple[int, int]:
    snapshot, _ = service.get_sku_stock(uow, CTX, sku, POLICY)
    return snapshot.on_hand, snapshot.reserved


class AheadOfIt:
    """A group whose first submission runs behind `ahead` in the same group (as if those calls
    had arrived first); later submissions run alone. `seen` records each submission's outcome."""

    def __init__(self, uow: UnitOfWork, run_group: Any, ahead: Sequence[Any]) -> None:
        self.uow, self.run_group, self.ahead = uow, run_group, list(ahead)
        self.seen: list[Any] = []

    def submit(self, tenant: str, item: Any, weight: int = 1) -> Any:
        items = [*self.ahead, item]
        self.ahead = []
        outcome = service.execute_group(self.uow, tenant, items, POLICY, self.run_group)[-1]
        self.seen.append(outcome)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def pending_reserve(cmd: service.ReserveCommand) -> service.PendingReserve:
    return service.PendingReserve(CTX, cmd, datetime.now(UTC), 900)


def test_a_twin_key_behind_a_refused_call_runs_again_and_gets_its_own_answer(uow: UnitOfWork) -> None:
    stock(uow, "A", 3)
    group = AheadOfIt(uow, service.reserve_group, [pending_reserve(command("first", 5, key="k"))])
    held = service.reserve(uow, CTX, command("second", 2, key="k"), POLICY, group=group)  # type: ignore[arg-type]
    assert group.seen[0] is service.Redo.KEY_IN_USE  # behind its twin, which was refused
    assert isinstance(held, Reservation) and held.order_ref == "second"
    assert levels(uow, "A") == (3, 2)


def test_a_twin_key_behind_a_held_call_returns_the_first_reservation(uow: UnitOfWork) -> None:
    stock(uow, "A", 3)
    group = AheadOfIt(uow, service.reserve_group, [pending_reserve(command("first", 1, key="k"))])
    again = service.reserve(uow, CTX, command("first", 1, key="k"), POLICY, group=group)  # type: ignore[arg-type]
    assert group.seen == [service.Redo.KEY_IN_USE]  # answered from the first, not submitted again
    assert again.order_ref == "first" and levels(uow, "A") == (3, 1)


def test_a_tenant_without_a_default_location_gets_one_then_its_answer(uow: UnitOfWork) -> None:
    with pytest.raises(InsufficientStock) as refused:
        service.reserve(uow, CTX, command("o1", 1), POLICY)
    assert [(d.sku, available) for d, available in refused.value.shorts] == [("A", 0)]
    assert [loc.code for loc in service.list_locations(uow, CTX)] == ["default"]


def test_a_commit_behind_its_twin_runs_again_and_finds_the_first_result(uow: UnitOfWork) -> None:
    stock(uow, "A", 3)
    reservation = service.reserve(uow, CTX, command("o1", 2), POLICY)
    now = datetime.now(UTC)
    twin = service.PendingCommit(CTX, reservation.id, (), "ck", now)
    group = AheadOfIt(uow, service.commit_group, [twin])
    committed = service.commit_reservation(
        uow,
        CTX,
        reservation.id,
        [],
        POLICY,
        idempotency_key="ck",
        group=group,  # type: ignore[arg-type]
    )
    assert group.seen[0] is service.Redo.TWIN_IN_GROUP
    assert committed.status is ReservationStatus.COMMITTED and len(group.seen) == 2
    assert levels(uow, "A") == (1, 0)  # committed once


class AlwaysATwin:
    def submit(self, tenant: str, item: Any, weight: int = 1) -> Any:
        return service.Redo.TWIN_IN_GROUP


def test_a_call_that_never_gets_an_answer_is_aborted_for_the_caller_to_retry(uow: UnitOfWork) -> None:
    stock(uow, "A", 3)
    reservation = service.reserve(uow, CTX, command("o1", 2), POLICY)
    with pytest.raises(Aborted):
        service.commit_reservation(uow, CTX, reservation.id, [], POLICY, group=AlwaysATwin())  # type: ignore[arg-type]
    assert levels(uow, "A") == (3, 2)
