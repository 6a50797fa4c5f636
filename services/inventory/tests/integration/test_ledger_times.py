"""Ledger `at` times follow the ledger's sequence under group commit (issue 14).

A call's `now` is read before it waits for its group and the row locks, so two calls can reach
the ledger in the opposite order of their clocks: a group holds calls in arrival order, and a
later group can carry a call that read its clock before the previous group's. The rows are
therefore stamped when they are written (PostgreSQL: clock_timestamp() after the locks; SQLite:
one writer, the time read inside the transaction). The calls below are given clocks in reverse
order, the worst case, which the old stamping wrote as they came.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inventory import service
from inventory.domain import AdjustmentLine, AdjustmentReason, Policy, Reservation, ReserveLineInput
from inventory.repository import UnitOfWork
from omnistock_common.context import CallContext

TENANT = "tenant-ledger"
CTX = CallContext(tenant_id=TENANT, user_id="u1")
POLICY = Policy()


def reserve_call(order: str, quantity: int, now: datetime) -> service.PendingReserve:
    cmd = service.ReserveCommand(order, [ReserveLineInput("HOT", quantity, "")], 0, "")
    return service.PendingReserve(CTX, cmd, now, 900)


def ledger(uow: UnitOfWork) -> list[tuple[int, datetime]]:
    rows, _ = service.list_movements(uow, CTX, "HOT", limit=500)
    return sorted((row.id, row.at) for row in rows)


def test_ledger_times_never_go_backwards_along_the_sequence(uow: UnitOfWork) -> None:
    service.adjust(uow, CTX, AdjustmentLine("HOT", "", 100, None, AdjustmentReason.RECEIVED), POLICY)
    late = datetime.now(UTC) + timedelta(hours=1)
    # One group whose calls read their clocks in the reverse of their order in the group.
    group = [reserve_call(f"o{i}", 1, late - timedelta(seconds=i)) for i in range(5)]
    held = service.execute_group(uow, TENANT, group, POLICY, service.reserve_group)
    assert all(isinstance(outcome, Reservation) for outcome in held)
    # A later group with a call that read its clock before every call of the first one.
    (early,) = service.execute_group(
        uow, TENANT, [reserve_call("o9", 1, late - timedelta(hours=2))], POLICY, service.reserve_group
    )
    assert isinstance(early, Reservation)
    commits = [
        service.PendingCommit(CTX, r.id, (), "", late - timedelta(minutes=i))
        for i, r in enumerate([*held, early])
        if isinstance(r, Reservation)
    ]
    service.execute_group(uow, TENANT, commits, POLICY, service.commit_group)
    service.adjust(uow, CTX, AdjustmentLine("HOT", "", -1, None, AdjustmentReason.DAMAGED), POLICY)

    rows = ledger(uow)
    assert len(rows) == 1 + 6 + 6 + 1
    times = [at for _, at in rows]
    assert times == sorted(times), rows
