"""Inventory use cases: each one is a function over a UnitOfWork, one transaction per change.

Every transaction that changes stock ends in `_publish`, which (in that same transaction)
bumps the per-SKU event version of every touched SKU and of every bundle containing one,
opens/closes low-stock alerts, and writes ONE `inventory.stock_changed` outbox row covering
all of them. The worker relays outbox rows; nothing here talks to RabbitMQ.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

from inventory import domain
from inventory.domain import (
    EXPIRY_ACTOR,
    AdjustmentLine,
    Alert,
    AlertStatus,
    AllocationRule,
    BundleComponent,
    LineError,
    LineResult,
    Location,
    Movement,
    MovementKind,
    Policy,
    ReconcileReport,
    Reservation,
    ReservationStatus,
    ReserveLineInput,
    SkuSnapshot,
    StockDemand,
    StockLevel,
)
from inventory.group_commit import GroupCommit
from inventory.repository import PgScript, PgSession, Repository, UnitOfWork
from omnistock.inventory.v1 import inventory_service_pb2 as pb
from omnistock_common.context import CallContext
from omnistock_common.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

STOCK_CHANGED = "inventory.stock_changed"
LOW_STOCK = "inventory.low_stock"


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


class _NoDefaultLocation(Exception):
    """Raised inside a transaction that needs the default location before it exists."""


def _default_location(repo: Repository, tenant_id: str) -> Location:
    location = repo.default_location(tenant_id)
    if location is None:
        raise _NoDefaultLocation
    return location


def ensure_default_location(uow: UnitOfWork, tenant_id: str, now: datetime | None = None) -> Location:
    """The tenant's default location, created as "default" on first need.

    Runs in its own short transaction; two replicas creating it at once collide on the
    one-default-per-tenant index and the loser reads the winner's row.
    """
    created_at = _now(now)

    def find_or_create(repo: Repository) -> Location:
        existing = repo.default_location(tenant_id)
        if existing is not None:
            return existing
        location = Location(str(uuid.uuid4()), domain.DEFAULT_LOCATION_CODE, "Default", True, created_at)
        repo.insert_location(tenant_id, location)
        return location

    try:
        return uow.run(find_or_create)
    except IntegrityError:
        with uow.transaction() as repo:
            return _default_location(repo, tenant_id)


def _run_with_default(uow: UnitOfWork, tenant_id: str, fn: Callable[[Repository], T]) -> T:
    """Run fn in a transaction; if it needed a default location that did not exist, create it
    (in a separate transaction — never while holding stock locks) and run fn again."""
    try:
        return uow.run(fn)
    except _NoDefaultLocation:
        ensure_default_location(uow, tenant_id)
        return uow.run(fn)


# --------------------------------------------------------------------------- publishing


def _read_figures(
    repo: Repository, tenant_id: str, skus: Iterable[str], now: datetime
) -> tuple[
    dict[str, list[BundleComponent]],
    dict[str, tuple[int, int]],
    list[AllocationRule],
    dict[tuple[str, str], int],
]:
    """Bundle definitions among `skus`, totals of the plain SKUs and components, the tenant's
    allocation rules and the recent channel sales: everything domain.sku_snapshots needs."""
    wanted = sorted(set(skus))
    definitions = repo.bundles(tenant_id, wanted)
    plain = {sku for sku in wanted if sku not in definitions}
    components = {c.sku for comps in definitions.values() for c in comps}
    totals = repo.totals(tenant_id, plain | components)
    rules = repo.rules(tenant_id)
    dynamic = [r.connection_id for r in rules if r.dynamic_buffer]
    sales = repo.sales_since(tenant_id, wanted, dynamic, now - timedelta(seconds=domain.SALES_WINDOW_SECONDS))
    return definitions, totals, rules, sales


def _sku_snapshots(
    repo: Repository,
    tenant_id: str,
    skus: Iterable[str],
    versions: Mapping[str, int],
    thresholds: Mapping[str, int],
    now: datetime,
) -> dict[str, SkuSnapshot]:
    """Current figures of `skus` (bundles derived from components) plus per-channel ATS."""
    definitions, totals, rules, sales = _read_figures(repo, tenant_id, skus, now)
    snapshots, _available = domain.sku_snapshots(
        skus, versions, thresholds, definitions, totals, rules, sales
    )
    return snapshots


def _event_payload(tenant_id: str, snapshots: Iterable[SkuSnapshot]) -> dict[str, Any]:
    return {"tenant_id": tenant_id, "skus": [s.event_entry() for s in snapshots]}


def _low_stock_payload(tenant_id: str, alert: Alert) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "alert_id": alert.id,
        "sku": alert.sku,
        "threshold": alert.threshold,
        "available": alert.available_at_open,
        "opened_at": alert.opened_at.isoformat(),
    }


def _publish(
    repo: Repository,
    tenant_id: str,
    policy: Policy,
    now: datetime,
    available_delta: Mapping[str, int],
    *,
    extra_skus: Iterable[str] = (),
    new_thresholds: Mapping[str, int] | None = None,
    previous_default: int | None = None,
    emit: bool = True,
) -> list[SkuSnapshot]:
    """Bookkeeping every stock-changing transaction ends with (see module docstring).

    available_delta: change of available per plain SKU made by this transaction, so the
    figure before it is known without a second read (alerts fire on crossings). Locks the
    sku_states rows (lock class 3) in sku order; every figure is read after that lock, so a
    concurrent rule/threshold change that republished first is seen.
    """
    changed = set(available_delta) | set(extra_skus)
    if not changed:
        return []
    skus = changed | repo.bundles_containing(tenant_id, changed)
    states = repo.bump_sku_versions(tenant_id, skus, now)
    default = repo.default_threshold(tenant_id, policy.default_low_stock_threshold)
    for sku, threshold in (new_thresholds or {}).items():
        repo.set_sku_threshold(tenant_id, sku, threshold)
    definitions, totals, rules, sales = _read_figures(repo, tenant_id, skus, now)
    plan = domain.plan_publish(
        skus,
        states,
        default,
        definitions,
        totals,
        rules,
        sales,
        available_delta,
        new_thresholds=new_thresholds,
        previous_default=previous_default,
    )
    opened = [repo.open_alert(tenant_id, sku, threshold, avail, now) for sku, threshold, avail in plan.opens]
    for sku, alert_id in plan.closes:
        repo.close_alert(tenant_id, sku, alert_id, now)
    if emit:
        repo.add_event(tenant_id, STOCK_CHANGED, _event_payload(tenant_id, plan.snapshots))
    for alert in opened:
        repo.add_event(tenant_id, LOW_STOCK, _low_stock_payload(tenant_id, alert))
    return plan.snapshots


def _movement(
    demand_sku: str,
    location_id: str,
    kind: MovementKind,
    on_hand_delta: int,
    reserved_delta: int,
    after: tuple[int, int],
    actor: str,
    reference: str,
    now: datetime,
    reason: domain.AdjustmentReason | None = None,
    note: str = "",
) -> dict[str, Any]:
    return {
        "sku": demand_sku,
        "location_id": location_id,
        "kind": kind.value,
        "reason": reason.value if reason else None,
        "on_hand_delta": on_hand_delta,
        "reserved_delta": reserved_delta,
        "on_hand_after": after[0],
        "reserved_after": after[1],
        "note": note,
        "actor": actor,
        "reference": reference,
        "at": now,
    }


# --------------------------------------------------------------------------- locations


def create_location(
    uow: UnitOfWork, ctx: CallContext, code: str, name: str, is_default: bool, now: datetime | None = None
) -> Location:
    """Add a location; is_default moves the default flag to it (still exactly one default)."""
    domain.validate_location(code, name)
    now = _now(now)
    ensure_default_location(uow, ctx.tenant_id, now)
    location = Location(str(uuid.uuid4()), code, name or code, is_default, now)

    def work(repo: Repository) -> Location:
        if repo.locations_by_code(ctx.tenant_id, [code]):
            raise AlreadyExists(f"location {code} already exists", reason="LOCATION_EXISTS")
        repo.insert_location(ctx.tenant_id, location)
        return location

    try:
        return uow.run(work)
    except IntegrityError as exc:
        raise AlreadyExists(f"location {code} already exists", reason="LOCATION_EXISTS") from exc


def list_locations(uow: UnitOfWork, ctx: CallContext) -> list[Location]:
    ensure_default_location(uow, ctx.tenant_id)
    with uow.transaction() as repo:
        return repo.list_locations(ctx.tenant_id)


def _resolve_codes(repo: Repository, tenant_id: str, codes: Iterable[str]) -> dict[str, Location]:
    """code -> Location for every code ("" = the default); unknown codes are absent."""
    wanted = set(codes)
    out = repo.locations_by_code(tenant_id, wanted - {""})
    if "" in wanted:
        out[""] = _default_location(repo, tenant_id)
    return out


# --------------------------------------------------------------------------- stock queries


def list_stock_levels(
    uow: UnitOfWork,
    ctx: CallContext,
    policy: Policy,
    *,
    sku: str = "",
    location_code: str = "",
    low_stock_only: bool = False,
    limit: int = 0,
    cursor: str = "",
) -> tuple[list[StockLevel], str]:
    """One page of levels ordered by (sku, location code) and the next cursor ("" at the end)."""
    size = domain.page_limit(limit)
    after = domain.decode_cursor(cursor, 2)
    with uow.transaction() as repo:
        location_id = None
        if location_code:
            location = repo.locations_by_code(ctx.tenant_id, [location_code]).get(location_code)
            if location is None:
                raise NotFound(f"location {location_code} not found")
            location_id = location.id
        default = repo.default_threshold(ctx.tenant_id, policy.default_low_stock_threshold)
        levels = repo.list_levels(
            ctx.tenant_id,
            sku=sku,
            location_id=location_id,
            low_stock_default=default if low_stock_only else None,
            after=(after[0], after[1]) if after else None,
            limit=size,
        )
    next_cursor = (
        domain.encode_cursor([levels[-1].sku, levels[-1].location_code]) if len(levels) == size else ""
    )
    return levels, next_cursor


def get_sku_stock(
    uow: UnitOfWork, ctx: CallContext, sku: str, policy: Policy, now: datetime | None = None
) -> tuple[SkuSnapshot, list[StockLevel]]:
    """Totals, per-location rows and per-connection ATS of one SKU (zeros if never stocked)."""
    if not sku:
        raise InvalidArgument("sku is required", violations=[FieldViolation("sku", "required")])
    with uow.transaction() as repo:
        state = repo.sku_states(ctx.tenant_id, [sku]).get(sku)
        default = repo.default_threshold(ctx.tenant_id, policy.default_low_stock_threshold)
        threshold = state[1] if state and state[1] is not None else default
        snapshots = _sku_snapshots(
            repo, ctx.tenant_id, [sku], {sku: state[0] if state else 0}, {sku: threshold}, _now(now)
        )
        return snapshots[sku], repo.levels_for_sku(ctx.tenant_id, sku)


def get_available_to_sell(
    uow: UnitOfWork,
    ctx: CallContext,
    sku: str,
    connection_id: str,
    policy: Policy,
    now: datetime | None = None,
) -> int:
    """ATS of one SKU on one connection; a connection without a rule gets the whole pool."""
    if not connection_id:
        raise InvalidArgument(
            "connection_id is required", violations=[FieldViolation("connection_id", "required")]
        )
    snapshot, _levels = get_sku_stock(uow, ctx, sku, policy, now)
    for channel in snapshot.channels:
        if channel.connection_id == connection_id:
            return channel.available_to_sell
    return domain.available_to_sell(snapshot.available, None)


# --------------------------------------------------------------------------- adjustments


def _line_error_exception(error: LineError) -> Exception:
    if error.code == "NOT_FOUND":
        return NotFound(error.message)
    if error.code == "FAILED_PRECONDITION":
        return FailedPrecondition(error.message, reason="ADJUSTMENT_REFUSED")
    return InvalidArgument(error.message, violations=[FieldViolation(error.field, error.message)])


def batch_adjust(
    uow: UnitOfWork,
    ctx: CallContext,
    lines: Sequence[AdjustmentLine],
    policy: Policy,
    *,
    idempotency_key: str = "",
    now: datetime | None = None,
    single: bool = False,
) -> list[LineResult]:
    """Apply adjustment lines in ONE transaction, each applied or refused on its own.

    Lines are applied in (sku, location) order — the lock order — and in request order within
    one (sku, location). `single` (the Adjust RPC) raises the line's error instead, so nothing
    is stored for a refused call. A repeated idempotency key returns the first result.
    """
    domain.validate_batch_size(len(lines), 1 if single else policy.max_batch_lines)
    domain.validate_idempotency_key(idempotency_key)
    now = _now(now)
    tenant = ctx.tenant_id
    scope = "adjust" if single else "batch_adjust"
    early: dict[int, LineError] = {}
    for index, line in enumerate(lines):
        violations = domain.adjustment_violations(line, "line" if single else f"lines[{index}]")
        if violations and single:
            raise InvalidArgument("invalid adjustment", violations=violations)
        if violations:
            early[index] = LineError("INVALID_ARGUMENT", violations[0].field, violations[0].message)

    def work(repo: Repository) -> list[LineResult]:
        if idempotency_key:
            stored = repo.idempotent_response(tenant, scope, idempotency_key)
            if stored:
                return [LineResult.from_dict(item) for item in json.loads(stored)]
            repo.claim_idempotency_key(tenant, scope, idempotency_key, now)
        errors = dict(early)
        valid = [i for i in range(len(lines)) if i not in errors]
        locations = _resolve_codes(repo, tenant, {lines[i].location_code for i in valid})
        bundles = repo.bundles(tenant, {lines[i].sku for i in valid})
        keyed: dict[int, tuple[str, str]] = {}
        for i in valid:
            line = lines[i]
            field_prefix = "line" if single else f"lines[{i}]"
            location = locations.get(line.location_code)
            if location is None:
                errors[i] = LineError(
                    "NOT_FOUND", f"{field_prefix}.location_code", f"location {line.location_code} not found"
                )
            elif line.sku in bundles:
                errors[i] = LineError(
                    "FAILED_PRECONDITION",
                    f"{field_prefix}.sku",
                    f"{line.sku} is a bundle; adjust its components instead",
                )
            else:
                keyed[i] = (line.sku, location.id)
        current = repo.lock_levels(tenant, list(keyed.values()), now) if keyed else {}
        codes = {loc.id: loc.code for loc in locations.values()}
        touched: set[tuple[str, str]] = set()
        movements: list[dict[str, Any]] = []
        levels: dict[int, StockLevel] = {}
        delta: dict[str, int] = defaultdict(int)
        for i in sorted(keyed, key=lambda idx: (*keyed[idx], idx)):
            line, key = lines[i], keyed[i]
            on_hand, reserved, version = current[key]
            try:
                new_on_hand = domain.apply_adjustment(on_hand, reserved, line)
            except FailedPrecondition as exc:
                errors[i] = LineError(
                    "FAILED_PRECONDITION", ("line" if single else f"lines[{i}]") + ".change", exc.message
                )
                continue
            version += 1
            current[key] = (new_on_hand, reserved, version)
            touched.add(key)
            delta[line.sku] += new_on_hand - on_hand
            movements.append(
                _movement(
                    line.sku,
                    key[1],
                    MovementKind.ADJUSTMENT,
                    new_on_hand - on_hand,
                    0,
                    (new_on_hand, reserved),
                    ctx.actor,
                    line.reference,
                    now,
                    line.reason,
                    line.note,
                )
            )
            levels[i] = StockLevel(line.sku, codes[key[1]], new_on_hand, reserved, version, now)
        if single and errors:
            raise _line_error_exception(errors[0])
        repo.write_levels(tenant, [(sku, loc, *current[(sku, loc)]) for sku, loc in sorted(touched)], now)
        repo.delete_unused_levels(
            tenant, [key for key in current if key not in touched and current[key][2] == 0]
        )
        repo.append_movements(tenant, movements)
        if touched:
            _publish(repo, tenant, policy, now, delta)
        results = [LineResult(i, level=levels.get(i), error=errors.get(i)) for i in range(len(lines))]
        if idempotency_key:
            payload = json.dumps([r.to_dict() for r in results], separators=(",", ":"))
            repo.store_idempotent_response(tenant, scope, idempotency_key, payload)
        return results

    try:
        return _run_with_default(uow, tenant, work)
    except IntegrityError:
        # A twin with the same key committed first: return its result.
        if idempotency_key:
            with uow.transaction() as repo:
                stored = repo.idempotent_response(tenant, scope, idempotency_key)
            if stored:
                return [LineResult.from_dict(item) for item in json.loads(stored)]
        raise


def adjust(
    uow: UnitOfWork,
    ctx: CallContext,
    line: AdjustmentLine,
    policy: Policy,
    *,
    idempotency_key: str = "",
    now: datetime | None = None,
) -> StockLevel:
    """One adjustment; INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION on a bad line."""
    result = batch_adjust(uow, ctx, [line], policy, idempotency_key=idempotency_key, now=now, single=True)[0]
    if result.error is not None:  # a stored first result cannot hold an error, but be explicit
        raise _line_error_exception(result.error)
    assert result.level is not None
    return result.level


def list_movements(
    uow: UnitOfWork, ctx: CallContext, sku: str, *, limit: int = 0, cursor: str = ""
) -> tuple[list[Movement], str]:
    """Ledger of one SKU, newest first."""
    if not sku:
        raise InvalidArgument("sku is required", violations=[FieldViolation("sku", "required")])
    size = domain.page_limit(limit)
    after = domain.decode_cursor(cursor, 1)
    with uow.transaction() as repo:
        items = repo.list_movements(ctx.tenant_id, sku, int(after[0]) if after else None, size)
    return items, domain.encode_cursor([items[-1].id]) if len(items) == size else ""


def reconcile(uow: UnitOfWork, tenant_id: str) -> ReconcileReport:
    """Prove that, for every (sku, location), the ledger deltas sum to the stored levels.

    Reads both sides from one snapshot so concurrent writers cannot cause false alarms.
    """
    with uow.snapshot() as repo:
        levels = repo.all_levels_raw(tenant_id)
        sums = repo.ledger_sums(tenant_id)
        codes = repo.location_codes(tenant_id)
    mismatches = []
    for key in sorted(set(levels) | set(sums)):
        on_hand, reserved = levels.get(key, (0, 0))
        ledger_on_hand, ledger_reserved = sums.get(key, (0, 0))
        if (on_hand, reserved) != (ledger_on_hand, ledger_reserved):
            mismatches.append(
                domain.LedgerMismatch(
                    key[0], codes.get(key[1], key[1]), on_hand, ledger_on_hand, reserved, ledger_reserved
                )
            )
    return ReconcileReport(checked=len(set(levels) | set(sums)), mismatches=mismatches)


def reconcile_all(uow: UnitOfWork, tenant_id: str | None = None) -> dict[str, ReconcileReport]:
    """reconcile() for one tenant or for every tenant that has stock or a ledger."""
    if tenant_id is not None:
        return {tenant_id: reconcile(uow, tenant_id)}
    with uow.transaction() as repo:
        tenants = repo.tenants()
    return {tenant: reconcile(uow, tenant) for tenant in tenants}


# --------------------------------------------------------------------------- reservations


@dataclass(frozen=True)
class ReserveCommand:
    order_ref: str
    lines: Sequence[ReserveLineInput]
    ttl_seconds: int = 0
    idempotency_key: str = ""
    channel_connection_id: str = ""


def _insufficient(shorts: Sequence[tuple[StockDemand, int]]) -> FailedPrecondition:
    detail = pb.InsufficientStock(
        lines=[
            pb.ShortLine(sku=d.sku, location_code=d.location_code, requested=d.quantity, available=available)
            for d, available in shorts
        ]
    )
    names = ", ".join(d.sku for d, _ in shorts)
    return FailedPrecondition(
        f"insufficient stock for {names}", reason="INSUFFICIENT_STOCK", details=[detail]
    )


def _new_reservation(
    cmd: ReserveCommand,
    locations: Mapping[str, Location],
    definitions: Mapping[str, Sequence[BundleComponent]],
    now: datetime,
    ttl: int,
) -> tuple[Reservation, list[StockDemand]]:
    """The HELD reservation a command asks for, and the stock it needs (bundles expanded);
    `locations` maps every location code of the command ("" = the default) to its location."""
    resolved = [
        domain.ResolvedLine(
            line.sku,
            line.quantity,
            locations[line.location_code].id,
            locations[line.location_code].code,
            tuple(definitions.get(line.sku, ())),
        )
        for line in cmd.lines
    ]
    lines, demands = domain.plan_reservation(resolved)
    reservation = Reservation(
        id=str(uuid.uuid4()),
        order_ref=cmd.order_ref,
        status=ReservationStatus.HELD,
        lines=lines,
        expires_at=now + timedelta(seconds=ttl),
        created_at=now,
        channel_connection_id=cmd.channel_connection_id,
    )
    return reservation, demands


def reserve(
    uow: UnitOfWork,
    ctx: CallContext,
    cmd: ReserveCommand,
    policy: Policy,
    now: datetime | None = None,
    *,
    group: ReserveGroup | None = None,
) -> Reservation:
    """Hold every line or nothing.

    Demands are merged per (sku, location) (bundle lines expanded into their components) and
    taken in (sku, location) order. Any short demand takes nothing and raises
    FAILED_PRECONDITION with an InsufficientStock detail. With an idempotency key the
    reservation row (unique on tenant + key) is inserted before any stock row is locked, so a
    racing twin waits for the first and then returns its result.

    On PostgreSQL, concurrent calls of one tenant are executed together by `group` (see
    make_reserve_group): one transaction, each call still all-or-nothing on its own.
    """
    domain.validate_reserve(
        cmd.order_ref, cmd.lines, cmd.ttl_seconds, policy.max_reservation_ttl_seconds, policy.max_batch_lines
    )
    domain.validate_idempotency_key(cmd.idempotency_key)
    now = _now(now)
    tenant = ctx.tenant_id
    ttl = cmd.ttl_seconds or policy.default_reservation_ttl_seconds

    def existing(repo: Repository) -> Reservation | None:
        found = repo.reservation_id_by_key(tenant, cmd.idempotency_key)
        return repo.get_reservation(tenant, found) if found else None

    if uow.is_postgres:
        pending = PendingReserve(ctx, cmd, now, ttl)
        if group is not None:
            held = group.submit(tenant, pending, weight=len(cmd.lines))
        else:
            outcome = _execute_group(uow, tenant, [pending], policy, _reserve_group_pg)[0]
            if isinstance(outcome, BaseException):
                raise outcome
            held = outcome
        if held is not None:
            return held
        # None: an existing key, a twin in the same group, or no default location yet — all
        # rare, all handled by the path below.

    def work(repo: Repository) -> Reservation:
        if cmd.idempotency_key and (first := existing(repo)) is not None:
            return first
        locations = _resolve_codes(repo, tenant, {line.location_code for line in cmd.lines})
        missing = sorted({line.location_code for line in cmd.lines} - set(locations))
        if missing:
            raise NotFound(f"location {missing[0]} not found")
        definitions = repo.bundles(tenant, {line.sku for line in cmd.lines})
        reservation, demands = _new_reservation(cmd, locations, definitions, now, ttl)
        repo.insert_reservation(tenant, reservation, cmd.idempotency_key, now)
        # Lines go in before the stock rows are locked: less work while a hot row is held.
        repo.insert_reservation_lines(tenant, reservation)
        shorts: list[tuple[StockDemand, int]] = []
        movements = []
        for demand in demands:
            after = repo.try_reserve(tenant, demand.sku, demand.location_id, demand.quantity, now)
            if after is None:
                shorts.append((demand, repo.available_at(tenant, demand.sku, demand.location_id)))
                continue
            movements.append(
                _movement(
                    demand.sku,
                    demand.location_id,
                    MovementKind.RESERVE,
                    0,
                    demand.quantity,
                    after,
                    ctx.actor,
                    reservation.id,
                    now,
                    note=cmd.order_ref,
                )
            )
        if shorts:
            raise _insufficient(shorts)
        repo.append_movements(tenant, movements)
        _publish(repo, tenant, policy, now, _sum_by_sku(demands, -1))
        return reservation

    try:
        return _run_with_default(uow, tenant, work)
    except IntegrityError:
        if cmd.idempotency_key:
            with uow.transaction() as repo:
                first = existing(repo)
            if first is not None:
                return first
        raise


def _sum_by_sku(demands: Iterable[StockDemand], sign: int) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for demand in demands:
        out[demand.sku] += sign * demand.quantity
    return out


def _require_reservation_id(reservation_id: str) -> None:
    if not reservation_id:
        raise InvalidArgument(
            "reservation_id is required", violations=[FieldViolation("reservation_id", "required")]
        )


def _load_for_update(repo: Repository, tenant_id: str, reservation_id: str) -> Reservation:
    _require_reservation_id(reservation_id)
    reservation = repo.get_reservation(tenant_id, reservation_id, for_update=True)
    if reservation is None:
        raise NotFound(f"reservation {reservation_id} not found")
    return reservation


def commit_reservation(
    uow: UnitOfWork,
    ctx: CallContext,
    reservation_id: str,
    lines: Sequence[tuple[str, int]],
    policy: Policy,
    *,
    idempotency_key: str = "",
    now: datetime | None = None,
    group: CommitGroup | None = None,
) -> Reservation:
    """Deduct committed units from on_hand and reserved (empty `lines` = everything held).

    Partial commits leave the reservation PARTIALLY_COMMITTED. The reservation row is locked
    first, so a twin commit waits and then finds the first one's stored result.

    On PostgreSQL, concurrent commits of one tenant are executed together by `group` (see
    make_commit_group): one transaction, so a hot SKU's row has one writer per group instead of
    one per call; each call still succeeds or fails on its own.
    """
    domain.validate_idempotency_key(idempotency_key)
    now = _now(now)
    tenant = ctx.tenant_id
    _require_reservation_id(reservation_id)

    if uow.is_postgres:
        pending = PendingCommit(ctx, reservation_id, tuple(lines), idempotency_key, now)
        try:
            if group is not None:
                committed = group.submit(tenant, pending, weight=max(1, len(lines)))
            else:
                outcome = _execute_group(uow, tenant, [pending], policy, _commit_group_pg)[0]
                if isinstance(outcome, BaseException):
                    raise outcome
                committed = outcome
        except IntegrityError:
            if not idempotency_key:
                raise
            committed = None  # the key was already used by another commit: the path below returns its result
        if committed is not None:
            return committed
        # None: a twin of this call in the same group, or a used key — the path below handles both.

    def work(repo: Repository) -> Reservation:
        reservation = _load_for_update(repo, tenant, reservation_id)
        if idempotency_key:
            stored = repo.idempotent_response(tenant, "commit", idempotency_key)
            if stored:
                return Reservation.from_dict(json.loads(stored))
        plan = domain.plan_commit(reservation, lines)
        demands = domain.settle(reservation, plan, commit=True)
        movements = []
        for demand in demands:
            after = repo.change_level(
                tenant, demand.sku, demand.location_id, -demand.quantity, -demand.quantity, now
            )
            movements.append(
                _movement(
                    demand.sku,
                    demand.location_id,
                    MovementKind.COMMIT,
                    -demand.quantity,
                    -demand.quantity,
                    after,
                    ctx.actor,
                    reservation.id,
                    now,
                    note=reservation.order_ref,
                )
            )
        reservation.status = domain.status_after_commit(reservation)
        repo.save_settlement(reservation, now)
        repo.append_movements(tenant, movements)
        if reservation.channel_connection_id:
            repo.add_sales(tenant, reservation.channel_connection_id, _sold_units(reservation, plan), now)
        _publish(repo, tenant, policy, now, {d.sku: 0 for d in demands})
        if idempotency_key:
            repo.claim_idempotency_key(tenant, "commit", idempotency_key, now)
            repo.store_idempotent_response(
                tenant, "commit", idempotency_key, json.dumps(reservation.to_dict(), separators=(",", ":"))
            )
        return reservation

    try:
        return uow.run(work)
    except IntegrityError:
        # The key was already used by another commit (of this or another reservation).
        if idempotency_key:
            with uow.transaction() as repo:
                stored = repo.idempotent_response(tenant, "commit", idempotency_key)
            if stored:
                return Reservation.from_dict(json.loads(stored))
        raise


# --------------------------------------------------------------------------- PostgreSQL fast path
# Same rules, locks and events as the Repository path above; statements batched into three round
# trips (see the PostgreSQL section of repository.py for why and how).


def _plan_and_commit(
    pg: PgSession,
    tenant_id: str,
    policy: Policy,
    now: datetime,
    skus: set[str],
    figures: Any,
    available_delta: Mapping[str, int],
    script: PgScript | None = None,
) -> None:
    """Compute the event from the fresh reads (domain.plan_publish, as _publish does) and send
    `script`, alerts, outbox rows and COMMIT in one round trip."""
    default = figures.default_threshold
    plan = domain.plan_publish(
        skus,
        figures.states,
        policy.default_low_stock_threshold if default is None else default,
        figures.definitions,
        figures.totals(),
        figures.rules,
        figures.sales,
        available_delta,
    )
    opens = [
        Alert(str(uuid.uuid4()), sku, AlertStatus.OPEN, threshold, available, now, None)
        for sku, threshold, available in plan.opens
    ]
    events = [(STOCK_CHANGED, _event_payload(tenant_id, plan.snapshots))]
    events += [(LOW_STOCK, _low_stock_payload(tenant_id, alert)) for alert in opens]
    script = script or PgScript()
    pg.add_alerts_and_events(script, tenant_id, opens, plan.closes, events, now)
    script.commit()
    pg.run(script)


@dataclass(frozen=True)
class PendingReserve:
    """One Reserve call waiting for its group (validated; `now` and ttl fixed by the caller)."""

    ctx: CallContext
    cmd: ReserveCommand
    now: datetime
    ttl: int


# The outcome of one call in a group: its reservation, its error, or None for "take the
# Repository path" (reserve() or commit_reservation() then runs it in the caller's thread).
GroupOutcome = Reservation | None | BaseException
ReserveGroup = GroupCommit[str, PendingReserve, Reservation | None]


def make_reserve_group(uow: UnitOfWork, policy: Policy) -> ReserveGroup:
    """The group commit of Reserve calls, keyed by tenant (composition root: one per process)."""
    return GroupCommit(lambda tenant, items: _execute_group(uow, tenant, items, policy, _reserve_group_pg))


@dataclass(frozen=True)
class PendingCommit:
    """One CommitReservation call waiting for its group (`now` fixed by the caller)."""

    ctx: CallContext
    reservation_id: str
    lines: tuple[tuple[str, int], ...]
    idempotency_key: str
    now: datetime


CommitGroup = GroupCommit[str, PendingCommit, Reservation | None]


def make_commit_group(uow: UnitOfWork, policy: Policy) -> CommitGroup:
    """The group commit of CommitReservation calls, keyed by tenant (one per process)."""
    return GroupCommit(lambda tenant, items: _execute_group(uow, tenant, items, policy, _commit_group_pg))


P = TypeVar("P")
RunGroup = Callable[[PgSession, str, Sequence[P], Policy], list[GroupOutcome]]


def _execute_group(
    uow: UnitOfWork, tenant: str, items: Sequence[P], policy: Policy, run_group: RunGroup[P]
) -> list[GroupOutcome]:
    """One transaction for the group; if the database refuses it as a whole (not for lack of
    stock, which is per call), each call is retried alone so one bad call cannot fail others."""
    try:
        return uow.run_pg(lambda pg: run_group(pg, tenant, items, policy))
    except DBAPIError:
        if len(items) == 1:
            raise
        log.warning("group of %d calls failed; executing them one by one", len(items), exc_info=True)
    outcomes: list[GroupOutcome] = []
    for item in items:
        try:
            outcomes.append(uow.run_pg(lambda pg, item=item: run_group(pg, tenant, [item], policy)[0]))
        except DBAPIError as exc:
            outcomes.append(exc)
    return outcomes


@dataclass
class _Planned:
    index: int
    item: PendingReserve
    reservation: Reservation
    demands: list[StockDemand]


def _reserve_group_pg(
    pg: PgSession, tenant: str, items: Sequence[PendingReserve], policy: Policy
) -> list[GroupOutcome]:
    """reserve() for a group of calls on PostgreSQL, in three round trips (repository.py,
    "PostgreSQL fast path"): lock-free reads; reservations, then the stock row locks (sorted),
    the sku_states bump and fresh reads; then holds, ledger, alerts, event and COMMIT.

    The calls are decided in arrival order against the locked rows by domain.allocate_holds:
    the same answers as one transaction each, one after the other.
    """
    lookup = pg.reserve_lookup(
        tenant,
        {line.location_code for item in items for line in item.cmd.lines},
        {line.sku for item in items for line in item.cmd.lines},
    )
    outcomes: list[GroupOutcome] = [None] * len(items)
    planned: list[_Planned] = []
    keys_in_group: set[str] = set()
    for index, item in enumerate(items):
        cmd = item.cmd
        key = cmd.idempotency_key
        codes = {line.location_code for line in cmd.lines}
        if key and key in keys_in_group:
            continue  # None: the Repository path returns the reservation holding the key
        if "" in codes and "" not in lookup.locations:
            continue  # None: the Repository path creates the default location
        missing = sorted(codes - set(lookup.locations))
        if missing:
            outcomes[index] = NotFound(f"location {missing[0]} not found")
            continue
        reservation, demands = _new_reservation(cmd, lookup.locations, lookup.definitions, item.now, item.ttl)
        if key:
            keys_in_group.add(key)
        planned.append(_Planned(index, item, reservation, demands))
    if not planned:
        pg.rollback()
        return outcomes

    now = max(p.item.now for p in planned)
    skus = {d.sku for p in planned for d in p.demands} | lookup.containing
    script = PgScript()  # the transaction was opened by reserve_lookup
    inserted_at = pg.add_reservations(
        script, tenant, [(p.reservation, p.item.cmd.idempotency_key) for p in planned]
    )
    locked_at = pg.add_lock_levels(
        script, tenant, [(d.sku, d.location_id) for p in planned for d in p.demands]
    )
    slot = pg.add_bump_and_read(
        script, tenant, skus, now, now - timedelta(seconds=domain.SALES_WINDOW_SECONDS)
    )
    results = pg.run(script)
    inserted = {row[0] for row in results[inserted_at] or ()}
    # A key already held, or committed by a twin since: that call returns the first result.
    active = [p for p in planned if p.reservation.id in inserted]
    locked = {(sku, loc): (on_hand, reserved) for sku, loc, on_hand, reserved in results[locked_at] or ()}
    decisions, levels_after = domain.allocate_holds([p.demands for p in active], locked)

    holds: dict[tuple[str, str], tuple[int, int]] = {}
    movements: list[dict[str, Any]] = []
    delta: dict[str, int] = defaultdict(int)
    refused: list[str] = []
    for p, decision in zip(active, decisions, strict=True):
        if not decision.held:
            outcomes[p.index] = _insufficient(decision.shorts)
            refused.append(p.reservation.id)
            continue
        outcomes[p.index] = p.reservation
        for demand, after in zip(p.demands, decision.after, strict=True):
            key = (demand.sku, demand.location_id)
            units, count = holds.get(key, (0, 0))
            holds[key] = (units + demand.quantity, count + 1)
            delta[demand.sku] -= demand.quantity
            movements.append(
                _movement(
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
    if not holds:
        pg.rollback()  # nothing held: the refused calls' reservation rows go with it
        return outcomes
    script = PgScript()
    pg.add_holds(script, tenant, holds, now)
    pg.add_movements(script, tenant, movements)
    pg.add_drop_reservations(script, refused)
    figures = pg.figures(results, slot)
    figures.levels.update({key: levels_after[key] for key in holds})
    _plan_and_commit(pg, tenant, policy, now, skus, figures, delta, script)
    return outcomes


def _commit_group_pg(
    pg: PgSession, tenant: str, items: Sequence[PendingCommit], policy: Policy
) -> list[GroupOutcome]:
    """commit_reservation() for a group of calls on PostgreSQL, in three round trips: lock the
    reservations (id order) and read them; settlements, stock rows (sorted across the group) with
    their ledger rows, the sku_states bump and fresh reads; then alerts, event and COMMIT.

    A call for a reservation or key already in the group returns None (its caller then runs it
    alone, after this group, and finds the first call's result).
    """
    outcomes: list[GroupOutcome] = [None] * len(items)
    firsts: dict[str, int] = {}
    keys: set[str] = set()
    for index, item in enumerate(items):
        if item.reservation_id in firsts or (item.idempotency_key and item.idempotency_key in keys):
            continue
        firsts[item.reservation_id] = index
        keys.add(item.idempotency_key)
    loaded = pg.lock_reservations(
        tenant, [(items[i].reservation_id, items[i].idempotency_key) for i in firsts.values()], "commit"
    )
    script = PgScript()  # the transaction was opened by lock_reservations
    changes: list[tuple[StockDemand, dict[str, Any]]] = []
    skus: set[str] = set()  # whose event goes out: the stock rows' SKUs and bundles containing them
    touched: set[str] = set()  # the stock rows' SKUs
    committed = []
    for reservation_id, index in firsts.items():
        item = items[index]
        if reservation_id not in loaded:
            outcomes[index] = NotFound(f"reservation {reservation_id} not found")
            continue
        reservation, stored, containing = loaded[reservation_id]
        if stored:
            outcomes[index] = Reservation.from_dict(json.loads(stored))
            continue
        try:
            plan = domain.plan_commit(reservation, item.lines)
        except DomainError as exc:  # this call's own mistake (nothing held, bad lines): it alone fails
            outcomes[index] = exc
            continue
        demands = domain.settle(reservation, plan, commit=True)
        reservation.status = domain.status_after_commit(reservation)
        pg.add_settlement(script, reservation, item.now)
        if item.idempotency_key:
            response = json.dumps(reservation.to_dict(), separators=(",", ":"))
            pg.add_idempotent_response(script, tenant, "commit", item.idempotency_key, response, item.now)
        if reservation.channel_connection_id:
            units = _sold_units(reservation, plan)
            pg.add_sales(script, tenant, reservation.channel_connection_id, units, item.now)
        for demand in demands:
            movement = _movement(
                demand.sku,
                demand.location_id,
                MovementKind.COMMIT,
                -demand.quantity,
                -demand.quantity,
                (0, 0),
                item.ctx.actor,
                reservation.id,
                item.now,
                note=reservation.order_ref,
            )
            changes.append((demand, movement))
        own = {d.sku for d in demands}
        touched |= own
        skus |= own | {bundle for bundle, component in containing if component in own}
        committed.append(index)
        outcomes[index] = reservation
    if not committed:
        pg.rollback()
        return outcomes
    now = max(items[i].now for i in committed)
    # Stock rows in (sku, location) order across the whole group: the lock order of every path.
    changes.sort(key=lambda change: (change[0].sku, change[0].location_id))
    changed_at = [pg.add_stock_change(script, tenant, demand, now, movement) for demand, movement in changes]
    slot = pg.add_bump_and_read(
        script, tenant, skus, now, now - timedelta(seconds=domain.SALES_WINDOW_SECONDS)
    )
    results = pg.run(script)
    for (demand, _), at in zip(changes, changed_at, strict=True):
        if not results[at]:
            raise RuntimeError(f"stock row ({demand.sku}, {demand.location_id}) of a reservation is missing")
    _plan_and_commit(pg, tenant, policy, now, skus, pg.figures(results, slot), dict.fromkeys(touched, 0))
    return outcomes


def _sold_units(reservation: Reservation, plan: Mapping[int, int]) -> dict[str, int]:
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


def _release_held(
    repo: Repository,
    tenant_id: str,
    reservation: Reservation,
    status: ReservationStatus,
    kind: MovementKind,
    actor: str,
    policy: Policy,
    now: datetime,
) -> None:
    plan = domain.release_plan(reservation)
    demands = domain.settle(reservation, plan, commit=False)
    movements = []
    for demand in demands:
        after = repo.change_level(tenant_id, demand.sku, demand.location_id, 0, -demand.quantity, now)
        movements.append(
            _movement(
                demand.sku,
                demand.location_id,
                kind,
                0,
                -demand.quantity,
                after,
                actor,
                reservation.id,
                now,
                note=reservation.order_ref,
            )
        )
    reservation.status = status
    repo.save_settlement(reservation, now)
    repo.append_movements(tenant_id, movements)
    _publish(repo, tenant_id, policy, now, _sum_by_sku(demands, +1))


def release_reservation(
    uow: UnitOfWork, ctx: CallContext, reservation_id: str, policy: Policy, now: datetime | None = None
) -> Reservation:
    """Free whatever is still held. Releasing a reservation that holds nothing is a no-op."""
    now = _now(now)

    def work(repo: Repository) -> Reservation:
        reservation = _load_for_update(repo, ctx.tenant_id, reservation_id)
        if reservation.status in domain.HOLDING_STATUSES:
            _release_held(
                repo,
                ctx.tenant_id,
                reservation,
                ReservationStatus.RELEASED,
                MovementKind.RELEASE,
                ctx.actor,
                policy,
                now,
            )
        return reservation

    return uow.run(work)


def get_reservation(uow: UnitOfWork, ctx: CallContext, reservation_id: str) -> Reservation:
    with uow.transaction() as repo:
        reservation = repo.get_reservation(ctx.tenant_id, reservation_id) if reservation_id else None
    if reservation is None:
        raise NotFound(f"reservation {reservation_id} not found")
    return reservation


def expire_due_reservations(
    uow: UnitOfWork,
    now: datetime,
    limit: int = 100,
    *,
    tenant_id: str | None = None,
    policy: Policy | None = None,
) -> int:
    """Release every hold (HELD or PARTIALLY_COMMITTED) whose expires_at <= now; return how many.

    Call it from a timer (the inventory worker) on any number of replicas at once: each
    reservation is expired in its own transaction behind a conditional status transition
    (UPDATE ... SET status='EXPIRED' WHERE status IN (holding) AND expires_at <= now), so a
    hold is released exactly once even when two expirers pick the same rows. At most `limit`
    reservations are looked at per call (oldest first); tenant_id=None means all tenants.
    """
    policy = policy or Policy()
    with uow.transaction() as repo:
        due = repo.due_reservations(now, max(limit, 0), tenant_id)
    expired = 0
    for tenant, reservation_id in due:

        def work(repo: Repository, tenant: str = tenant, reservation_id: str = reservation_id) -> bool:
            if not repo.claim_expiry(reservation_id, now):
                return False
            reservation = repo.get_reservation(tenant, reservation_id)
            assert reservation is not None
            _release_held(
                repo,
                tenant,
                reservation,
                ReservationStatus.EXPIRED,
                MovementKind.EXPIRE,
                EXPIRY_ACTOR,
                policy,
                now,
            )
            return True

        if uow.run(work):
            expired += 1
    if expired:
        log.info("expired reservations", extra={"expired": expired})
    return expired


# --------------------------------------------------------------------------- thresholds and alerts


def set_low_stock_threshold(
    uow: UnitOfWork, ctx: CallContext, sku: str, threshold: int, policy: Policy, now: datetime | None = None
) -> int:
    """Set a SKU's own threshold; opens/closes its alert if the new threshold crosses available."""
    if not sku:
        raise InvalidArgument("sku is required", violations=[FieldViolation("sku", "required")])
    domain.validate_threshold(threshold)
    now = _now(now)
    uow.run(
        lambda repo: _publish(
            repo,
            ctx.tenant_id,
            policy,
            now,
            {},
            extra_skus=[sku],
            new_thresholds={sku: threshold},
            emit=False,
        )
    )
    return threshold


def set_default_low_stock_threshold(
    uow: UnitOfWork, ctx: CallContext, threshold: int, policy: Policy, now: datetime | None = None
) -> int:
    """Change the tenant default and re-evaluate alerts of every SKU that relies on it."""
    domain.validate_threshold(threshold)
    now = _now(now)

    def work(repo: Repository) -> None:
        previous = repo.default_threshold(ctx.tenant_id, policy.default_low_stock_threshold)
        repo.set_default_threshold(ctx.tenant_id, threshold, now)
        _publish(
            repo,
            ctx.tenant_id,
            policy,
            now,
            {},
            extra_skus=repo.all_skus(ctx.tenant_id),
            previous_default=previous,
            emit=False,
        )

    uow.run(work)
    return threshold


def default_low_stock_threshold(uow: UnitOfWork, ctx: CallContext, policy: Policy) -> int:
    with uow.transaction() as repo:
        return repo.default_threshold(ctx.tenant_id, policy.default_low_stock_threshold)


def list_alerts(
    uow: UnitOfWork, ctx: CallContext, status: AlertStatus | None, *, limit: int = 0, cursor: str = ""
) -> tuple[list[Alert], str]:
    size = domain.page_limit(limit)
    after = domain.decode_cursor(cursor, 2)
    with uow.transaction() as repo:
        items = repo.list_alerts(
            ctx.tenant_id, status, (domain.parse_time(after[0]), after[1]) if after else None, size
        )
    next_cursor = (
        domain.encode_cursor([items[-1].opened_at.isoformat(), items[-1].id]) if len(items) == size else ""
    )
    return items, next_cursor


# --------------------------------------------------------------------------- allocation rules


def get_allocation_rule(uow: UnitOfWork, ctx: CallContext, connection_id: str) -> AllocationRule:
    with uow.transaction() as repo:
        for rule in repo.rules(ctx.tenant_id):
            if rule.connection_id == connection_id:
                return rule
    raise NotFound(f"no allocation rule for connection {connection_id}")


def _republish_all(repo: Repository, tenant_id: str, policy: Policy, now: datetime) -> None:
    """A rule change moves ATS of every SKU on that connection: send them all (new versions)."""
    skus = repo.all_skus(tenant_id)
    if skus:
        _publish(repo, tenant_id, policy, now, {}, extra_skus=skus)


def put_allocation_rule(
    uow: UnitOfWork, ctx: CallContext, rule: AllocationRule, policy: Policy, now: datetime | None = None
) -> AllocationRule:
    domain.validate_allocation_rule(rule)
    now = _now(now)

    def work(repo: Repository) -> AllocationRule:
        repo.put_rule(ctx.tenant_id, rule, now)
        if rule.measured_sync_latency_ms > 0:
            repo.record_latency(ctx.tenant_id, rule.connection_id, rule.measured_sync_latency_ms, now)
        _republish_all(repo, ctx.tenant_id, policy, now)
        return next(r for r in repo.rules(ctx.tenant_id) if r.connection_id == rule.connection_id)

    return uow.run(work)


def delete_allocation_rule(
    uow: UnitOfWork, ctx: CallContext, connection_id: str, policy: Policy, now: datetime | None = None
) -> None:
    now = _now(now)

    def work(repo: Repository) -> None:
        if not repo.delete_rule(ctx.tenant_id, connection_id):
            raise NotFound(f"no allocation rule for connection {connection_id}")
        _republish_all(repo, ctx.tenant_id, policy, now)

    uow.run(work)


def record_sync_latency(
    uow: UnitOfWork, ctx: CallContext, connection_id: str, latency_ms: int, now: datetime | None = None
) -> None:
    """Remember the channel's measured push latency (feeds the dynamic buffer).

    No event is sent: latency is reported after every push, and the new figure shows up in
    the next stock_changed of each SKU.
    """
    if not connection_id:
        raise InvalidArgument(
            "connection_id is required", violations=[FieldViolation("connection_id", "required")]
        )
    if not 0 <= latency_ms <= 86_400_000:
        raise InvalidArgument("invalid latency", violations=[FieldViolation("latency_ms", "0..86400000")])
    now = _now(now)
    uow.run(lambda repo: repo.record_latency(ctx.tenant_id, connection_id, latency_ms, now))


# --------------------------------------------------------------------------- bundles


def put_bundle(
    uow: UnitOfWork,
    ctx: CallContext,
    sku: str,
    components: Sequence[BundleComponent],
    policy: Policy,
    now: datetime | None = None,
) -> list[BundleComponent]:
    """Define (or redefine) a bundle; its availability is derived from the components."""
    now = _now(now)
    domain.validate_bundle(sku, components, (), False)

    def work(repo: Repository) -> list[BundleComponent]:
        nested = repo.bundles(ctx.tenant_id, [c.sku for c in components])
        is_component = bool(repo.bundles_containing(ctx.tenant_id, [sku]))
        domain.validate_bundle(sku, components, nested.keys(), is_component)
        if repo.has_stock_rows(ctx.tenant_id, sku):
            raise FailedPrecondition(
                f"{sku} has its own stock; zero it before making it a bundle", reason="HAS_STOCK"
            )
        ordered = sorted(components, key=lambda c: c.sku)
        repo.replace_bundle(ctx.tenant_id, sku, ordered)
        _publish(repo, ctx.tenant_id, policy, now, {}, extra_skus=[sku])
        return ordered

    return uow.run(work)


def get_bundle(uow: UnitOfWork, ctx: CallContext, sku: str) -> list[BundleComponent]:
    with uow.transaction() as repo:
        components = repo.bundles(ctx.tenant_id, [sku]).get(sku)
    if not components:
        raise NotFound(f"bundle {sku} not found")
    return components


def delete_bundle(
    uow: UnitOfWork, ctx: CallContext, sku: str, policy: Policy, now: datetime | None = None
) -> None:
    now = _now(now)

    def work(repo: Repository) -> None:
        if not repo.delete_bundle(ctx.tenant_id, sku):
            raise NotFound(f"bundle {sku} not found")
        _publish(repo, ctx.tenant_id, policy, now, {}, extra_skus=[sku])

    uow.run(work)
