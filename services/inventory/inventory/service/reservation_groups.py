"""Reserve and CommitReservation, executed as groups: the one implementation of both use cases.

Concurrent calls of one tenant in one process are executed together in ONE transaction
(group_commit.py, decision 0004); a lone call is a group of one. Each call is still decided on
its own, in arrival order, with the answer it would get alone. Validation, idempotency, the
ledger rows, the events and the alerts are written here once; the database is reached only
through the group primitives (repository/group_transaction.py), which is all that differs
between PostgreSQL and SQLite:

- on PostgreSQL the primitives are prepared statements sent as three scripts per group (three
  round trips, however many calls), and groups of several calls form under load;
- on SQLite a group runs the same code inside one BEGIN IMMEDIATE transaction, statement by
  statement. SQLite has one writer at a time anyway, so grouping there saves transactions
  (one fsync per group) rather than lock time; the answers are the same.

A call may leave its group without an answer (`Redo`): its idempotency key is already held, a
twin of it is in the same group, or the tenant has no default location yet. Its caller
(service/reservations.py) then deals with that and submits the call again.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from inventory import domain
from inventory.domain import (
    BundleComponent,
    Location,
    MovementKind,
    Policy,
    Reservation,
    ReservationStatus,
    ReserveLineInput,
    StockDemand,
)
from inventory.group_commit import GroupCommit
from inventory.repository import Figures, GroupTransaction, UnitOfWork
from inventory.repository.group_transaction import Batch
from inventory.service.publishing import movement, plan_events, sales_window_start
from omnistock_common.context import CallContext
from omnistock_common.errors import DomainError, NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReserveCommand:
    order_ref: str
    lines: Sequence[ReserveLineInput]
    ttl_seconds: int = 0
    idempotency_key: str = ""
    channel_connection_id: str = ""
    # An order's hold: no expires_at, the expiry job never reaps it (ttl_seconds is ignored).
    no_expiry: bool = False
    # Hold what is available per line (possibly 0) instead of refusing the whole request.
    allow_shortfall: bool = False


def reserve_fingerprint(cmd: ReserveCommand) -> str:
    """What defines a Reserve for its idempotency key: every field of the command but the key."""
    request = {f.name: getattr(cmd, f.name) for f in fields(cmd) if f.name != "idempotency_key"}
    return domain.request_fingerprint("reserve", request)


def commit_fingerprint(reservation_id: str, lines: Sequence[tuple[str, int]]) -> str:
    """What defines a CommitReservation for its idempotency key."""
    return domain.request_fingerprint("commit", {"reservation_id": reservation_id, "lines": lines})


@dataclass(frozen=True)
class PendingReserve:
    """One Reserve call waiting for its group (validated; `now`, ttl and, with a key, the
    request's fingerprint fixed by the caller)."""

    ctx: CallContext
    cmd: ReserveCommand
    now: datetime
    ttl: int
    fingerprint: str = ""


@dataclass(frozen=True)
class PendingCommit:
    """One CommitReservation call waiting for its group (`now` fixed by the caller)."""

    ctx: CallContext
    reservation_id: str
    lines: tuple[tuple[str, int], ...]
    idempotency_key: str
    now: datetime
    fingerprint: str = ""


class Redo(Enum):
    """Why a call left its group without an answer (its caller resolves it and submits again)."""

    KEY_IN_USE = "its idempotency key is held by another reservation or a twin in the group"
    TWIN_IN_GROUP = "a call for the same reservation or key is already in the group"
    NO_DEFAULT_LOCATION = "the tenant has no default location yet"


GroupOutcome = Reservation | Redo | BaseException
ReserveGroup = GroupCommit[str, PendingReserve, Reservation | Redo]
CommitGroup = GroupCommit[str, PendingCommit, Reservation | Redo]
P = TypeVar("P")
RunGroup = Callable[[GroupTransaction, str, Sequence[P], Policy], list[GroupOutcome]]


def make_reserve_group(uow: UnitOfWork, policy: Policy) -> ReserveGroup:
    """The group commit of Reserve calls, keyed by tenant (composition root: one per process)."""
    return GroupCommit(lambda tenant, items: execute_group(uow, tenant, items, policy, reserve_group))


def make_commit_group(uow: UnitOfWork, policy: Policy) -> CommitGroup:
    """The group commit of CommitReservation calls, keyed by tenant (one per process)."""
    return GroupCommit(lambda tenant, items: execute_group(uow, tenant, items, policy, commit_group))


def execute_group(
    uow: UnitOfWork, tenant: str, items: Sequence[P], policy: Policy, run_group: RunGroup[P]
) -> list[GroupOutcome]:
    """One transaction for the group; if the database refuses it as a whole (not for lack of
    stock, which is per call), each call is retried alone so one bad call cannot fail others."""
    try:
        return uow.run_group(lambda tx: run_group(tx, tenant, items, policy))
    except DBAPIError:
        if len(items) == 1:
            raise
        log.warning("group of %d calls failed; executing them one by one", len(items), exc_info=True)
    outcomes: list[GroupOutcome] = []
    for item in items:
        try:
            outcomes.append(uow.run_group(lambda tx, item=item: run_group(tx, tenant, [item], policy)[0]))
        except DBAPIError as exc:
            outcomes.append(exc)
    return outcomes


def resolve_lines(
    cmd: ReserveCommand,
    locations: Mapping[str, Location],
    definitions: Mapping[str, Sequence[BundleComponent]],
) -> list[domain.ResolvedLine]:
    """The command's lines with their locations (`locations` maps every location code of the
    command, "" = the default) and bundle definitions."""
    return [
        domain.ResolvedLine(
            line.sku,
            line.quantity,
            locations[line.location_code].id,
            locations[line.location_code].code,
            tuple(definitions.get(line.sku, ())),
        )
        for line in cmd.lines
    ]


def new_reservation(
    cmd: ReserveCommand, resolved: Sequence[domain.ResolvedLine], now: datetime, ttl: int
) -> tuple[Reservation, list[StockDemand]]:
    """The HELD reservation a command asks for, and the stock it needs (bundles expanded)."""
    lines, demands = domain.plan_reservation(resolved)
    reservation = Reservation(
        id=str(uuid.uuid4()),
        order_ref=cmd.order_ref,
        status=ReservationStatus.HELD,
        lines=lines,
        expires_at=None if cmd.no_expiry else now + timedelta(seconds=ttl),
        created_at=now,
        channel_connection_id=cmd.channel_connection_id,
    )
    return reservation, demands


def _publish_and_commit(
    tx: GroupTransaction,
    batch: Batch,
    tenant_id: str,
    policy: Policy,
    now: datetime,
    skus: set[str],
    figures: Figures,
    available_delta: Mapping[tuple[str, str], int],
) -> None:
    """Alerts and the one event of the group (service/publishing.py), then COMMIT, sent with
    whatever `batch` already holds (the last round trip on PostgreSQL)."""
    plan = plan_events(tenant_id, policy, now, skus, figures, available_delta)
    batch.alerts_and_events(tenant_id, plan.opens, plan.closes, plan.events, now)
    tx.commit(batch)


@dataclass
class _Planned:
    index: int
    item: PendingReserve
    reservation: Reservation
    demands: list[StockDemand]
    resolved: list[domain.ResolvedLine]


def _fit_to_decision(p: _Planned, decision: domain.HoldDecision) -> list[tuple[int, int]]:
    """Adopt the lines and demands a fitted (allow_shortfall) decision holds; returns the
    (line_no, quantity) of every line row held below what was inserted."""
    assert decision.lines is not None
    inserted = {
        item.line_no: item.quantity for line in p.reservation.lines for item in (line, *line.components)
    }
    p.reservation.lines = decision.lines
    p.demands = decision.demands
    return [
        (item.line_no, item.quantity)
        for line in decision.lines
        for item in (line, *line.components)
        if item.quantity != inserted[item.line_no]
    ]


def reserve_group(
    tx: GroupTransaction, tenant: str, items: Sequence[PendingReserve], policy: Policy
) -> list[GroupOutcome]:
    """Hold every line of each call or nothing, for a group of calls.

    Reads that need no lock; then the group's reservation rows (a key already held is skipped:
    that call returns the first reservation), its stock rows locked in sorted order, the SKU
    version bump and fresh reads; then holds, ledger, removal of refused reservations, alerts,
    the event and COMMIT. domain.allocate_holds decides the calls in arrival order against the
    locked rows: the same answers as one transaction each, one after the other.
    """
    lookup = tx.reserve_lookup(
        tenant,
        {line.location_code for item in items for line in item.cmd.lines},
        {line.sku for item in items for line in item.cmd.lines},
    )
    outcomes: list[GroupOutcome | None] = [None] * len(items)
    planned: list[_Planned] = []
    keys_in_group: set[str] = set()
    for index, item in enumerate(items):
        cmd = item.cmd
        key = cmd.idempotency_key
        codes = {line.location_code for line in cmd.lines}
        if key and key in keys_in_group:
            outcomes[index] = Redo.KEY_IN_USE
            continue
        if "" in codes and "" not in lookup.locations:
            outcomes[index] = Redo.NO_DEFAULT_LOCATION
            continue
        missing = sorted(codes - set(lookup.locations))
        if missing:
            outcomes[index] = NotFound(f"location {missing[0]} not found")
            continue
        resolved = resolve_lines(cmd, lookup.locations, lookup.definitions)
        reservation, demands = new_reservation(cmd, resolved, item.now, item.ttl)
        if key:
            keys_in_group.add(key)
        planned.append(_Planned(index, item, reservation, demands, resolved))
    if not planned:
        tx.rollback()
        return _answered(outcomes)

    now = max(p.item.now for p in planned)
    skus = {d.sku for p in planned for d in p.demands} | lookup.containing
    batch = tx.batch()
    inserted = batch.insert_reservations(
        tenant, [(p.reservation, p.item.cmd.idempotency_key, p.item.fingerprint) for p in planned]
    )
    locked = batch.lock_levels(tenant, [(d.sku, d.location_id) for p in planned for d in p.demands])
    figures = batch.bump_and_read(tenant, skus, now, sales_window_start(now))
    tx.send(batch)
    active = []
    for p in planned:
        if p.reservation.id in inserted.value:
            active.append(p)
        else:  # a key already held, or committed by a twin since: that call returns the first result
            outcomes[p.index] = Redo.KEY_IN_USE
    decisions, levels_after = domain.allocate_holds(
        [p.demands for p in active],
        locked.value,
        fitted={i: p.resolved for i, p in enumerate(active) if p.item.cmd.allow_shortfall},
    )

    holds: dict[tuple[str, str], tuple[int, int]] = {}
    movements: list[dict[str, Any]] = []
    delta: dict[tuple[str, str], int] = defaultdict(int)
    refused: list[str] = []
    cut: dict[str, list[tuple[int, int]]] = {}  # fitted reservations: line rows held below their insert
    for p, decision in zip(active, decisions, strict=True):
        if not decision.held:
            outcomes[p.index] = domain.insufficient_stock(decision.shorts)
            refused.append(p.reservation.id)
            continue
        if decision.lines is not None and (shrunk := _fit_to_decision(p, decision)):
            cut[p.reservation.id] = shrunk
        outcomes[p.index] = p.reservation
        for demand, after in zip(p.demands, decision.after, strict=True):
            key = (demand.sku, demand.location_id)
            units, count = holds.get(key, (0, 0))
            holds[key] = (units + demand.quantity, count + 1)
            delta[key] -= demand.quantity
            movements.append(
                movement(
                    demand.sku,
                    demand.location_id,
                    MovementKind.RESERVE,
                    0,
                    demand.quantity,
                    after,
                    p.item.ctx.actor,
                    p.reservation.id,
                    p.item.now,
                    note=p.item.cmd.order_ref,
                )
            )
    if not holds and not cut:
        tx.rollback()  # nothing held: the refused calls' reservation rows go with it
        return _answered(outcomes)
    batch = tx.batch()
    if holds:
        batch.hold(tenant, holds, now)
        batch.insert_movements(tenant, movements)
    for reservation_id, quantities in cut.items():
        batch.shrink_lines(reservation_id, quantities)
    batch.drop_reservations(refused)
    fresh = figures.value
    fresh.levels.update({key: levels_after[key] for key in holds})
    _publish_and_commit(tx, batch, tenant, policy, now, skus, fresh, delta)
    return _answered(outcomes)


def commit_group(
    tx: GroupTransaction, tenant: str, items: Sequence[PendingCommit], policy: Policy
) -> list[GroupOutcome]:
    """Deduct committed units from on_hand and reserved, for a group of calls.

    The reservations are locked first (id order) with their stored responses; then settlements,
    stock rows (sorted across the group) with their ledger rows, the SKU version bump and fresh
    reads; then alerts, the event and COMMIT. A call whose reservation or key is already in the
    group gets Redo.TWIN_IN_GROUP (its caller runs it again after this group and finds the first
    call's result).
    """
    outcomes: list[GroupOutcome | None] = [None] * len(items)
    firsts: dict[str, int] = {}
    keys: set[str] = set()
    for index, item in enumerate(items):
        if item.reservation_id in firsts or (item.idempotency_key and item.idempotency_key in keys):
            outcomes[index] = Redo.TWIN_IN_GROUP
            continue
        firsts[item.reservation_id] = index
        keys.add(item.idempotency_key)
    loaded = tx.lock_reservations(
        tenant, [(items[i].reservation_id, items[i].idempotency_key) for i in firsts.values()], "commit"
    )
    batch = tx.batch()
    changes: list[tuple[StockDemand, dict[str, Any]]] = []
    skus: set[str] = set()  # whose event goes out: the stock rows' SKUs and bundles containing them
    committed = []
    for reservation_id, index in firsts.items():
        item = items[index]
        if reservation_id not in loaded:
            outcomes[index] = NotFound(f"reservation {reservation_id} not found")
            continue
        reservation, stored, containing = loaded[reservation_id]
        if stored:  # the key's first answer, unless it answered a different request
            response, fingerprint = stored
            same = domain.same_request(fingerprint, item.fingerprint)
            outcomes[index] = Reservation.from_dict(json.loads(response)) if same else domain.key_reused()
            continue
        try:
            plan = domain.plan_commit(reservation, item.lines)
        except DomainError as exc:  # this call's own mistake (nothing held, bad lines): it alone fails
            outcomes[index] = exc
            continue
        demands = domain.settle(reservation, plan, commit=True)
        reservation.status = domain.status_after_commit(reservation)
        batch.save_settlement(reservation, item.now)
        if item.idempotency_key:
            response = json.dumps(reservation.to_dict(), separators=(",", ":"))
            batch.store_response(tenant, "commit", item.idempotency_key, response, item.fingerprint, item.now)
        if reservation.channel_connection_id:
            units = sold_units(reservation, plan)
            batch.add_sales(tenant, reservation.channel_connection_id, units, item.now)
        for demand in demands:
            row = movement(
                demand.sku,
                demand.location_id,
                MovementKind.COMMIT,
                -demand.quantity,
                -demand.quantity,
                (0, 0),  # the figures after the change are the row's, filled in by change_level
                item.ctx.actor,
                reservation.id,
                item.now,
                note=reservation.order_ref,
            )
            changes.append((demand, row))
        own = {d.sku for d in demands}
        skus |= own | {bundle for bundle, component in containing if component in own}
        committed.append(index)
        outcomes[index] = reservation
    if not committed:
        tx.rollback()
        return _answered(outcomes)
    now = max(items[i].now for i in committed)
    # Stock rows in (sku, location) order across the whole group: the lock order of every path.
    changes.sort(key=lambda change: (change[0].sku, change[0].location_id))
    applied = [batch.change_level(tenant, demand, now, row) for demand, row in changes]
    figures = batch.bump_and_read(tenant, skus, now, sales_window_start(now))
    tx.send(batch)
    for (demand, _), done in zip(changes, applied, strict=True):
        if not done.value:
            raise RuntimeError(f"stock row ({demand.sku}, {demand.location_id}) of a reservation is missing")
    # A commit moves on_hand and reserved alike: available does not change (no delta).
    _publish_and_commit(tx, tx.batch(), tenant, policy, now, skus, figures.value, {})
    return _answered(outcomes)


def _answered(outcomes: list[GroupOutcome | None]) -> list[GroupOutcome]:
    """Every call of a group got an outcome (a None would hand its caller nothing at all)."""
    if any(outcome is None for outcome in outcomes):
        raise RuntimeError("a call of the group got no outcome")
    return outcomes  # type: ignore[return-value]


def sold_units(reservation: Reservation, plan: Mapping[int, int]) -> dict[str, int]:
    """Units sold per SKU by a commit: the line's SKU and, for a bundle, its components too
    (a component drains as fast as its bundles sell)."""
    out: dict[str, int] = defaultdict(int)
    for line in reservation.lines:
        units = plan.get(line.line_no, 0)
        if units <= 0:
            continue
        out[line.sku] += units
        for component in line.components:
            out[component.sku] += units * component.per_unit
    return out
