"""Reservations: Reserve and CommitReservation (submitted to their groups, reservation_groups.py),
release, lookup and expiry."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from inventory import domain
from inventory.domain import (
    EXPIRY_ACTOR,
    LineShortfall,
    MovementKind,
    Policy,
    Reservation,
    ReservationStatus,
    StockDemand,
)
from inventory.repository import Repository, UnitOfWork
from inventory.repository.group_transaction import StoredResponse
from inventory.service.locations import ensure_default_location, now_or_utc
from inventory.service.publishing import movement, publish
from inventory.service.reservation_groups import (
    CommitGroup,
    PendingCommit,
    PendingReserve,
    Redo,
    ReserveCommand,
    ReserveGroup,
    commit_fingerprint,
    commit_group,
    execute_group,
    reserve_fingerprint,
    reserve_group,
)
from omnistock_common import paging
from omnistock_common.context import CallContext
from omnistock_common.errors import Aborted, FieldViolation, InvalidArgument, NotFound

log = logging.getLogger(__name__)

# How often a call is submitted again after leaving its group without an answer (Redo). Two
# suffice unless the same idempotency key keeps arriving concurrently.
SUBMISSIONS = 5


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
    domain.InsufficientStock (FAILED_PRECONDITION) listing each short demand. With an
    idempotency key the reservation row (unique on tenant + key) is inserted before any stock
    row is locked, so a racing twin waits for the first and then returns its result.

    With `cmd.allow_shortfall` nothing is refused for lack of stock: each line holds what is
    available (possibly 0), decided under the same row locks; `short_lines` says which lines
    hold less. With `cmd.no_expiry` the hold has no expires_at (ttl_seconds is ignored).

    `group` executes concurrent calls of one tenant together (make_reserve_group): one
    transaction, each call still all-or-nothing on its own. Without it the call is a group of one.
    """
    domain.validate_reserve(
        cmd.order_ref,
        cmd.lines,
        0 if cmd.no_expiry else cmd.ttl_seconds,
        policy.max_reservation_ttl_seconds,
        policy.max_batch_lines,
    )
    domain.validate_idempotency_key(cmd.idempotency_key)
    tenant = ctx.tenant_id
    ttl = cmd.ttl_seconds or policy.default_reservation_ttl_seconds
    fingerprint = reserve_fingerprint(cmd) if cmd.idempotency_key else ""
    pending = PendingReserve(ctx, cmd, now_or_utc(now), ttl, fingerprint)
    for _ in range(SUBMISSIONS):
        if group is not None:
            outcome = group.submit(tenant, pending, weight=len(cmd.lines))
        else:
            outcome = _alone(execute_group(uow, tenant, [pending], policy, reserve_group)[0])
        if isinstance(outcome, Reservation):
            return outcome
        if outcome is Redo.NO_DEFAULT_LOCATION:
            # Created in its own transaction, never while holding stock locks.
            ensure_default_location(uow, tenant)
        elif cmd.idempotency_key and (first := _reservation_by_key(uow, tenant, cmd.idempotency_key)):
            reservation, first_fingerprint = first
            domain.check_same_request(first_fingerprint, fingerprint)
            return reservation
    raise Aborted("concurrent calls with the same idempotency key; retry", reason="CONCURRENT_RETRY")


def short_lines(
    uow: UnitOfWork, ctx: CallContext, cmd: ReserveCommand, reservation: Reservation
) -> list[LineShortfall]:
    """The lines of an allow_shortfall reservation holding less than `cmd` asked for (the same
    answer for a repeat of the call), each saying whether inventory knows its SKU at all."""
    requested = [(line.sku, line.quantity) for line in cmd.lines]
    shorts = domain.shortfalls(requested, reservation)
    if not shorts:
        return []
    skus = {short.sku for short in shorts}
    with uow.transaction() as repo:
        bundles = repo.bundles(ctx.tenant_id, skus)
        unknown = skus - set(bundles) - repo.stocked_skus(ctx.tenant_id, skus)
    return domain.shortfalls(requested, reservation, unknown)


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

    `group` executes concurrent commits of one tenant together (make_commit_group): one
    transaction, so a hot SKU's row has one writer per group instead of one per call; each call
    still succeeds or fails on its own. Without it the call is a group of one.
    """
    domain.validate_idempotency_key(idempotency_key)
    _require_reservation_id(reservation_id)
    tenant = ctx.tenant_id
    fingerprint = commit_fingerprint(reservation_id, lines) if idempotency_key else ""
    pending = PendingCommit(ctx, reservation_id, tuple(lines), idempotency_key, now_or_utc(now), fingerprint)
    for _ in range(SUBMISSIONS):
        try:
            if group is not None:
                outcome = group.submit(tenant, pending, weight=max(1, len(lines)))
            else:
                outcome = _alone(execute_group(uow, tenant, [pending], policy, commit_group)[0])
        except IntegrityError:
            # The key was just used by a concurrent commit (of this or another reservation).
            stored = _stored_response(uow, tenant, "commit", idempotency_key) if idempotency_key else None
            if stored and stored[0]:
                domain.check_same_request(stored[1], fingerprint)
                return Reservation.from_dict(json.loads(stored[0]))
            raise
        if isinstance(outcome, Reservation):
            return outcome
        # Redo.TWIN_IN_GROUP: run again after the group, which then finds the first result.
    raise Aborted("concurrent commits of the same reservation; retry", reason="CONCURRENT_RETRY")


def _alone(outcome: Reservation | Redo | BaseException) -> Reservation | Redo:
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _reservation_by_key(uow: UnitOfWork, tenant_id: str, key: str) -> tuple[Reservation, str | None] | None:
    """The reservation holding a key and the fingerprint of the request that created it."""
    with uow.transaction() as repo:
        found = repo.reservation_by_key(tenant_id, key)
        reservation = repo.get_reservation(tenant_id, found[0]) if found else None
        return (reservation, found[1]) if found and reservation else None


def _stored_response(uow: UnitOfWork, tenant_id: str, scope: str, key: str) -> StoredResponse | None:
    with uow.transaction() as repo:
        return repo.idempotent_response(tenant_id, scope, key)


def _sum_by_row(demands: Iterable[StockDemand], sign: int) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = defaultdict(int)
    for demand in demands:
        out[(demand.sku, demand.location_id)] += sign * demand.quantity
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
            movement(
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
    publish(repo, tenant_id, policy, now, _sum_by_row(demands, +1))


def release_reservation(
    uow: UnitOfWork, ctx: CallContext, reservation_id: str, policy: Policy, now: datetime | None = None
) -> Reservation:
    """Free whatever is still held. Releasing a reservation that holds nothing is a no-op."""
    now = now_or_utc(now)

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


def list_holding_reservations(
    uow: UnitOfWork, ctx: CallContext, sku: str, *, limit: int = 0, cursor: str = ""
) -> tuple[list[Reservation], str]:
    """Who holds a SKU's reserved units: its open reservations, newest first, keyset-paged."""
    if not sku:
        raise InvalidArgument("sku is required", violations=[FieldViolation("sku", "required")])
    size = paging.page_limit(limit)
    after = paging.read_cursor(cursor, datetime, str)
    with uow.transaction() as repo:
        items = repo.holding_reservations(ctx.tenant_id, sku, (after[0], after[1]) if after else None, size)
    last = items[-1] if len(items) == size else None
    return items, paging.encode_cursor([last.created_at.isoformat(), last.id]) if last else ""


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
