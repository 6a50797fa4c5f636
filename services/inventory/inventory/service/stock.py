"""Stock: levels and per-channel figures, adjustments, the movement ledger and its reconciliation."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from inventory import domain
from inventory.domain import (
    AdjustmentLine,
    LineError,
    LineResult,
    Movement,
    MovementKind,
    Policy,
    ReconcileReport,
    SkuSnapshot,
    StockLevel,
)
from inventory.repository import Repository, UnitOfWork
from inventory.service.locations import now_or_utc, resolve_codes, run_with_default
from inventory.service.publishing import movement, publish, sales_window_start
from omnistock_common import paging
from omnistock_common.context import CallContext
from omnistock_common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound


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
    size = paging.page_limit(limit)
    after = paging.read_cursor(cursor, str, str)
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
        paging.encode_cursor([levels[-1].sku, levels[-1].location_code]) if len(levels) == size else ""
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
        states = {sku: state} if state else {}
        figures = repo.read_figures(ctx.tenant_id, [sku], sales_window_start(now_or_utc(now)), states)
        snapshots, _available = domain.sku_snapshots(
            [sku],
            {sku: state[0] if state else 0},
            {sku: threshold},
            figures.definitions,
            figures.levels,
            figures.rules,
            figures.sales,
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
    is stored for a refused call. A repeated idempotency key returns the first result; the same
    key with different lines is refused (domain.key_reused).
    """
    domain.validate_batch_size(len(lines), 1 if single else policy.max_batch_lines)
    domain.validate_idempotency_key(idempotency_key)
    now = now_or_utc(now)
    tenant = ctx.tenant_id
    scope = "adjust" if single else "batch_adjust"
    fingerprint = domain.request_fingerprint(scope, {"lines": lines}) if idempotency_key else ""
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
            if stored and stored[0]:
                domain.check_same_request(stored[1], fingerprint)
                return [LineResult.from_dict(item) for item in json.loads(stored[0])]
            repo.claim_idempotency_key(tenant, scope, idempotency_key, fingerprint, now)
        errors = dict(early)
        valid = [i for i in range(len(lines)) if i not in errors]
        locations = resolve_codes(repo, tenant, {lines[i].location_code for i in valid})
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
        delta: dict[tuple[str, str], int] = defaultdict(int)
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
            delta[key] += new_on_hand - on_hand
            movements.append(
                movement(
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
            publish(repo, tenant, policy, now, delta)
        results = [LineResult(i, level=levels.get(i), error=errors.get(i)) for i in range(len(lines))]
        if idempotency_key:
            payload = json.dumps([r.to_dict() for r in results], separators=(",", ":"))
            repo.store_idempotent_response(tenant, scope, idempotency_key, payload)
        return results

    try:
        return run_with_default(uow, tenant, work)
    except IntegrityError:
        # A twin with the same key committed first: return its result.
        if idempotency_key:
            with uow.transaction() as repo:
                stored = repo.idempotent_response(tenant, scope, idempotency_key)
            if stored and stored[0]:
                domain.check_same_request(stored[1], fingerprint)
                return [LineResult.from_dict(item) for item in json.loads(stored[0])]
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
    size = paging.page_limit(limit)
    after = paging.read_cursor(cursor, int)
    with uow.transaction() as repo:
        items = repo.list_movements(ctx.tenant_id, sku, after[0] if after else None, size)
    return items, paging.encode_cursor([items[-1].id]) if len(items) == size else ""


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
