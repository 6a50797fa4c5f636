"""The turnover read model (`daily_stock`, kept by the trigger of migration 0004) equals the
ledger summed per UTC day, SKU and location, after every kind of write that changes on hand:
single and batch adjustments (delta and set), sale adjustments, reservation commits alone and in
one group transaction (on PostgreSQL the prepared group-commit statements of pg_statements.py),
partial commits, bundle commits (the components' rows) and releases and holds (no on-hand change,
no row). Runs on SQLite and on PostgreSQL (the `uow` fixture)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import inspect, select

from inventory import models, service
from inventory.domain import (
    AdjustmentLine,
    AdjustmentReason,
    BundleComponent,
    Policy,
    Reservation,
    ReserveLineInput,
)
from inventory.repository import UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.migrations import alembic_config, upgrade

TENANT = "tenant-daily"
CTX = CallContext(tenant_id=TENANT, user_id="u1")
POLICY = Policy()
R = AdjustmentReason


def line(
    sku: str, delta: int | None = None, set_to: int | None = None, reason: R = R.RECEIVED, at: str = ""
) -> AdjustmentLine:
    return AdjustmentLine(sku, at, delta, set_to, reason)


def hold(uow: UnitOfWork, order: str, lines: list[tuple[str, int]]) -> Reservation:
    cmd = service.ReserveCommand(order, [ReserveLineInput(sku, qty, "") for sku, qty in lines], 0, "")
    return service.reserve(uow, CTX, cmd, POLICY)


def read_model(uow: UnitOfWork) -> dict[tuple[str, str, date], tuple[int, int]]:
    d = models.daily_stock
    with uow.engine.connect() as conn:
        rows = conn.execute(select(d).where(d.c.tenant_id == TENANT)).all()
    return {(r.sku, r.location_id, r.day): (r.on_hand_delta, r.sold) for r in rows}


def from_the_ledger(uow: UnitOfWork) -> dict[tuple[str, str, date], tuple[int, int]]:
    """The same figures computed directly from every ledger row."""
    m = models.movements
    with uow.engine.connect() as conn:
        rows = conn.execute(select(m).where(m.c.tenant_id == TENANT)).all()
    sums: dict[tuple[str, str, date], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        if r.on_hand_delta == 0:
            continue
        sale = r.kind == "COMMIT" or (r.kind == "ADJUSTMENT" and r.reason == "SALE")
        key = (r.sku, r.location_id, r.at.astimezone(UTC).date())
        sums[key][0] += r.on_hand_delta
        sums[key][1] += -r.on_hand_delta if sale else 0
    return {key: (delta, sold) for key, (delta, sold) in sums.items()}


def test_every_on_hand_write_lands_in_the_daily_read_model(uow: UnitOfWork) -> None:
    service.create_location(uow, CTX, "EAST", "East", False)
    service.adjust(uow, CTX, line("TEE", 50), POLICY)
    service.adjust(uow, CTX, line("TEE", 5, at="EAST"), POLICY)
    service.adjust(uow, CTX, line("TEE", set_to=40, reason=R.CYCLE_COUNT), POLICY)
    results = service.batch_adjust(
        uow,
        CTX,
        [line("MUG", 30), line("CAP", 10), line("MUG", -2, reason=R.DAMAGED), line("NOPE", -5)],
        POLICY,
    )
    assert [r.error is None for r in results] == [True, True, True, False]
    service.adjust(uow, CTX, line("MUG", -3, reason=R.SALE), POLICY)
    service.adjust(uow, CTX, line("MUG", 1, reason=R.RETURNED), POLICY)

    # A commit alone, a partial commit, then three commits in one group transaction.
    alone = hold(uow, "o1", [("TEE", 4)])
    service.commit_reservation(uow, CTX, alone.id, (), POLICY)
    partial = hold(uow, "o2", [("TEE", 3), ("MUG", 2)])
    service.commit_reservation(uow, CTX, partial.id, [("TEE", 1)], POLICY)
    grouped = [hold(uow, f"g{i}", [("TEE", 1), ("CAP", i + 1)]) for i in range(3)]
    now = datetime.now(UTC)
    commits = [service.PendingCommit(CTX, r.id, (), "", now) for r in grouped]
    outcomes = service.execute_group(uow, TENANT, commits, POLICY, service.commit_group)
    assert all(isinstance(outcome, Reservation) for outcome in outcomes), outcomes

    # A bundle sells its components; a release and a bare hold change no on hand.
    service.put_bundle(uow, CTX, "KIT", [BundleComponent("TEE", 1), BundleComponent("CAP", 2)], POLICY)
    kit = hold(uow, "o3", [("KIT", 2)])
    service.commit_reservation(uow, CTX, kit.id, (), POLICY)
    service.release_reservation(uow, CTX, partial.id, POLICY)
    hold(uow, "o4", [("MUG", 1)])

    model = read_model(uow)
    assert model == from_the_ledger(uow)
    today = datetime.now(UTC).date()
    by_sku: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (sku, _, day), (delta, sold) in model.items():
        assert day == today
        by_sku[sku][0] += delta
        by_sku[sku][1] += sold
    # TEE: 50 + 5, set to 40 (-10), commits 4 + 1 + 3 + 2 (kit). CAP: 10, commits 1+2+3 + 4 (kit).
    # MUG: 30 - 2 - 3 (sale) + 1 (return); the partial reservation's MUG units were released.
    assert dict(by_sku) == {"TEE": [35, 10], "CAP": [0, 10], "MUG": [26, 3]}
    totals = {}
    for sku in ("TEE", "CAP", "MUG"):
        snapshot, _ = service.get_sku_stock(uow, CTX, sku, POLICY)
        totals[sku] = snapshot.on_hand
    assert totals == {sku: figures[0] for sku, figures in by_sku.items()}


def test_the_migration_fills_the_read_model_from_an_existing_ledger(
    uow: UnitOfWork, migrated_url: str
) -> None:
    """A deployment from before the read model, upgraded: migration 0004 sums the ledger so far,
    and its trigger keeps the model from then on; a downgrade removes table and trigger."""
    service.adjust(uow, CTX, line("TEE", 20), POLICY)
    service.commit_reservation(uow, CTX, hold(uow, "o1", [("TEE", 3)]).id, (), POLICY)
    uow.engine.dispose()
    command.downgrade(alembic_config("inventory", migrated_url), "0003")
    assert "daily_stock" not in inspect(uow.engine).get_table_names()
    service.adjust(uow, CTX, line("TEE", -1, reason=R.SALE), POLICY)  # written without the trigger
    uow.engine.dispose()
    upgrade("inventory", migrated_url)
    assert read_model(uow) == from_the_ledger(uow) != {}
    service.adjust(uow, CTX, line("TEE", 5), POLICY)
    assert read_model(uow) == from_the_ledger(uow)
    (figures,) = read_model(uow).values()
    assert figures == (21, 4)
