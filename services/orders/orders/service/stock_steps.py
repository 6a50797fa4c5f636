"""Bring inventory in line with an order, one idempotent step at a time (domain/stock.py).

Each step is: read the order, call inventory outside any transaction (idempotent by key), then
record the answer in a transaction that first checks the step is still owed, so concurrent
runners (the event consumer, the worker's retry timer, a merchant's CreateOrder) record it once.
A failure leaves the order PENDING with a due time; the worker retries it then.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from omnistock_common.context import CallContext
from omnistock_common.errors import DomainError
from orders import domain
from orders.domain import HoldOutcome, Order, Policy, StepKind, StockState, StockStep
from orders.domain.events import Event, order_imported, order_oversold
from orders.repository import Repository, UnitOfWork
from orders.service.ports import HoldRequest, StockPort, StockRefused, StockUnavailable

log = logging.getLogger(__name__)

# Steps one run takes at most (RESERVE then COMMIT_ALL or RELEASE, or an edit's RELEASE then
# RESERVE then a COMMIT_ALL/RELEASE, is the longest chain).
MAX_STEPS = 4


def now_or_utc(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def run_stock_steps(
    uow: UnitOfWork,
    stock: StockPort,
    ctx: CallContext,
    order_id: str,
    policy: Policy,
    now: datetime | None = None,
) -> Order | None:
    """Take every step the order owes; returns the order as recorded (None if unknown)."""
    now = now_or_utc(now)
    tenant = ctx.tenant_id
    for _ in range(MAX_STEPS):
        with uow.transaction() as repo:
            order = repo.load_order(tenant, order_id)
        if order is None:
            return None
        step = domain.next_stock_step(order)
        if step is None:
            if order.stock_state is StockState.PENDING:
                order = uow.run(lambda repo: _settle(repo, tenant, order_id, None, None, policy, now))
            return order
        try:
            outcome = _execute(stock, ctx, order, step)
        except DomainError as exc:
            # StockUnavailable (inventory down) is the expected case; anything else inventory
            # refused is logged loudly, and retried as well rather than dropped.
            level = logging.WARNING if isinstance(exc, StockUnavailable) else logging.ERROR
            log.log(level, "stock step %s of order %s postponed: %s", step.kind.value, order_id, exc.message)
            uow.run(
                lambda repo, e=exc: repo.postpone_stock(tenant, order_id, now + policy.stock_retry, e.message)
            )
            with uow.transaction() as repo:
                return repo.load_order(tenant, order_id)
        order = uow.run(lambda repo, s=step, o=outcome: _settle(repo, tenant, order_id, s, o, policy, now))
        if order is None:
            return None
    return order


def _execute(stock: StockPort, ctx: CallContext, order: Order, step: StockStep) -> HoldOutcome | None:
    """The inventory call of a step; its answer for RESERVE (None: nothing was asked)."""
    if step.kind is StepKind.RESERVE:
        if not step.lines:
            return None
        request = HoldRequest(
            key=domain.reservation_key(order),
            order_ref=f"{order.source.lower()}:{order.external_name or order.external_id}"[:256],
            lines=step.lines,
            connection_id=order.connection_id,
        )
        return stock.hold(ctx, request)
    try:
        if step.kind is StepKind.RELEASE:
            stock.release(ctx, step.reservation_id)
        elif step.kind is StepKind.COMMIT_LINES:
            stock.commit(ctx, step.reservation_id, step.lines, step.key)
        else:
            stock.commit(ctx, step.reservation_id, (), domain.commit_all_key(order))
    except StockRefused as exc:
        # Nothing is held any more (released or committed by another path): record that.
        log.info("stock step %s of order %s: %s", step.kind.value, order.id, exc.message)
    return None


def _settle(
    repo: Repository,
    tenant: str,
    order_id: str,
    step: StockStep | None,
    outcome: HoldOutcome | None,
    policy: Policy,
    now: datetime,
) -> Order | None:
    """Record a step's answer unless another runner already did (the step is no longer the
    one owed), and mark the order DONE once nothing more is owed."""
    order = repo.load_order(tenant, order_id, lock=True)
    if order is None:
        return None
    owed = domain.next_stock_step(order)
    events: list[Event] = []
    if (
        step is not None
        and owed is not None
        and (owed.kind, owed.reservation_id) == (step.kind, step.reservation_id)
        # A partial commit is recorded only for exactly the units it committed.
        and (step.kind is not StepKind.COMMIT_LINES or owed.key == step.key)
    ):
        if step.kind is StepKind.RESERVE:
            first_hold = not order.announced  # a hold taken again after an edit announces nothing
            oversold = domain.apply_hold(order, outcome)
            if first_hold:
                events.append(order_imported(order))
            if oversold:
                events.append(order_oversold(order, oversold, now))
        elif step.kind is StepKind.RELEASE:
            domain.apply_release(order)
        elif step.kind is StepKind.COMMIT_LINES:
            domain.apply_commit_lines(order)
        else:
            domain.apply_commit_all(order)
        order.version += 1
        order.updated_at = now
    if domain.next_stock_step(order) is None:
        order.stock_state, order.stock_due_at, order.stock_error = StockState.DONE, None, ""
    else:
        order.stock_state, order.stock_due_at = StockState.PENDING, now + policy.stock_retry
    repo.save_order(tenant, order)
    repo.add_events(tenant, events)
    return order


def owe_stock(order: Order, policy: Policy, now: datetime) -> bool:
    """Mark the order PENDING when it owes inventory a step (due a little later, so the worker
    only takes it over if the runner that marked it is interrupted); returns whether it does."""
    if domain.next_stock_step(order) is None:
        return False
    order.stock_state = StockState.PENDING
    order.stock_due_at = now + policy.stock_retry
    return True


def retry_due_stock(
    uow: UnitOfWork, stock: StockPort, policy: Policy, now: datetime | None = None, limit: int = 100
) -> int:
    """The worker's timer: run the steps of orders whose step is due (a crash between storing an
    order and reserving, inventory down). Returns how many orders were looked at."""
    now = now_or_utc(now)
    with uow.transaction() as repo:
        due = repo.due_stock_orders(now, limit)
    for tenant, order_id in due:
        try:
            run_stock_steps(uow, stock, CallContext(tenant_id=tenant), order_id, policy, now)
        except Exception:  # one bad order must not stop the others; it stays due
            log.exception("stock step of order %s failed", order_id)
    return len(due)
