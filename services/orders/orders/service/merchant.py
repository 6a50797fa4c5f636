"""The merchant's changes: create a manual order, fulfil (partial allowed), cancel, return items,
resolve a possible duplicate. Each is an idempotent operation (service/operations.py): claim,
inventory calls with keys derived from the claim, record, finish with the first answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from omnistock_common.context import CallContext
from omnistock_common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from orders import domain
from orders.domain import (
    CancelCommand,
    FulfillCommand,
    Fulfillment,
    NewOrderCommand,
    Operation,
    Order,
    OrderFlag,
    OrderStatus,
    Policy,
    ReturnCommand,
)
from orders.domain.events import Event, cancel_requested, fulfillment_requested, status_event
from orders.repository import Repository, UnitOfWork
from orders.service import operations
from orders.service.channel_orders import flag_duplicates
from orders.service.ports import HoldRequest, StockPort, StockRefused
from orders.service.stock_steps import new_id, now_or_utc, run_stock_steps

log = logging.getLogger(__name__)

CREATE, FULFILL, CANCEL, RETURN = "create", "fulfill", "cancel", "return"

AnswerT = TypeVar("AnswerT")
CommandT = TypeVar("CommandT", FulfillCommand, CancelCommand, ReturnCommand)


def _payload(command: Any, **ids: str) -> dict[str, Any]:
    """What the worker needs to finish the operation after a crash: the command and its ids."""
    return {"command": asdict(command), **ids}


def _load(uow: UnitOfWork, tenant: str, order_id: str) -> Order:
    with uow.transaction() as repo:
        order = repo.load_order(tenant, order_id)
    if order is None:
        raise FailedPrecondition(f"order {order_id} disappeared", reason="ORDER_GONE")
    return order


# --------------------------------------------------------------------------- create


def create_manual_order(
    uow: UnitOfWork,
    stock: StockPort,
    ctx: CallContext,
    cmd: NewOrderCommand,
    policy: Policy,
    now: datetime | None = None,
) -> Order:
    """Store a MANUAL order and hold its stock like a channel order's (key manual:<order id>)."""
    domain.validate_new_order(cmd)
    domain.validate_key(cmd.idempotency_key)
    now = now_or_utc(now)
    tenant = ctx.tenant_id
    order_id = new_id()
    claim = Operation(
        CREATE, cmd.idempotency_key or new_id(), domain.fingerprint(cmd), order_id, {}, done=False
    )

    def store(repo: Repository) -> Operation | None:
        earlier = repo.claim_operation(tenant, claim, now)
        if earlier is not None:
            domain.require_same_request(earlier, claim.request_hash)
            return earlier
        order = domain.new_manual_order(cmd, order_id, new_id, now, domain.canonical_json(cmd))
        order.stock_due_at = now + policy.stock_retry
        repo.insert_order_if_absent(tenant, order)
        for raw in order.raw_versions:
            repo.add_raw_version(tenant, order.id, raw)
        if flag_duplicates(repo, tenant, order, policy, now):
            repo.save_order(tenant, order)
        return None

    operation = uow.run(store) or claim
    if operation.done and operation.response is not None:
        return domain.order_from_dict(operation.response)
    return finish_create(uow, stock, ctx, operation, policy, now)


def finish_create(
    uow: UnitOfWork, stock: StockPort, ctx: CallContext, operation: Operation, policy: Policy, now: datetime
) -> Order:
    order = run_stock_steps(uow, stock, ctx, operation.order_id, policy, now) or _load(
        uow, ctx.tenant_id, operation.order_id
    )
    return _answer_order(uow, ctx.tenant_id, operation, order, now)


def _answer_order(uow: UnitOfWork, tenant: str, operation: Operation, order: Order, now: datetime) -> Order:
    """Finish with `order` as the answer unless another runner finished first (its answer wins)."""

    def work(repo: Repository) -> Order:
        stored = operations.stored_answer(repo, tenant, operation)
        if stored is not None:
            return domain.order_from_dict(stored)
        operations.finish(repo, tenant, operation, domain.order_to_dict(order), now)
        return order

    return uow.run(work)


# --------------------------------------------------------------------------- fulfil


def fulfill_order(
    uow: UnitOfWork,
    stock: StockPort,
    ctx: CallContext,
    cmd: FulfillCommand,
    now: datetime | None = None,
) -> tuple[Order, Fulfillment]:
    """Ship units (every unshipped one when no lines are given): commit what the order holds,
    take the rest (an oversold order's units) as an all-or-nothing top-up hold committed at
    once, record the shipment and ask the source channel to create it."""
    domain.validate_fulfill(cmd)
    domain.validate_key(cmd.idempotency_key)
    now = now_or_utc(now)
    payload = _payload(cmd, fulfillment_id=new_id())
    check = partial(domain.plan_fulfillment, cmd=cmd)
    return _run(uow, stock, ctx, cmd, now, FULFILL, payload, check, drive_fulfillment, _fulfilled)


def _fulfilled(response: dict[str, Any]) -> tuple[Order, Fulfillment]:
    return domain.order_from_dict(response["order"]), domain.fulfillment_from_dict(response["fulfillment"])


def drive_fulfillment(
    uow: UnitOfWork,
    stock: StockPort,
    ctx: CallContext,
    operation: Operation,
    cmd: FulfillCommand,
    now: datetime,
) -> tuple[Order, Fulfillment]:
    tenant = ctx.tenant_id
    fulfillment_id = operation.payload["fulfillment_id"]
    order = _load(uow, tenant, operation.order_id)
    try:
        plan = domain.plan_fulfillment(order, cmd)
    except (FailedPrecondition, InvalidArgument):
        operations.forget(uow, ctx, operation)  # the order changed under the request (a channel cancel)
        raise
    top_up_id = ""
    try:
        if plan.top_up:
            top_up = HoldRequest(
                key=f"orders:{fulfillment_id}:top-up",
                order_ref=f"{order.external_name or order.id} fulfilment"[:256],
                lines=plan.top_up,
                connection_id=order.connection_id,
                allow_shortfall=False,
            )
            top_up_id = stock.hold(ctx, top_up).reservation_id
        if plan.commit:
            stock.commit(ctx, order.reservation_id, plan.commit, f"orders:{fulfillment_id}")
        if top_up_id:
            stock.commit(ctx, top_up_id, (), f"orders:{fulfillment_id}:top-up")
    except StockRefused:
        if top_up_id:
            stock.release(ctx, top_up_id)
        operations.forget(uow, ctx, operation)
        raise

    def apply(current: Order) -> tuple[tuple[Order, Fulfillment], list[Event]]:
        fulfillment, change = domain.apply_fulfillment(current, plan, cmd, fulfillment_id, now)
        events: list[Event] = []
        if not current.is_manual:
            events.append(fulfillment_requested(current, fulfillment))
        if change is not None and (event := status_event(current, now)) is not None:
            events.append(event)
        return (current, fulfillment), events

    def answer(done: tuple[Order, Fulfillment]) -> dict[str, Any]:
        return {"order": domain.order_to_dict(done[0]), "fulfillment": domain.fulfillment_to_dict(done[1])}

    return _record(uow, tenant, operation, now, apply, answer, _fulfilled)


def _run(
    uow: UnitOfWork,
    stock: StockPort,
    ctx: CallContext,
    cmd: CommandT,
    now: datetime,
    kind: str,
    payload: dict[str, Any],
    check: Callable[[Order], object],
    drive: Callable[[UnitOfWork, StockPort, CallContext, Operation, CommandT, datetime], AnswerT],
    from_answer: Callable[[dict[str, Any]], AnswerT],
) -> AnswerT:
    """An operation on `cmd`'s order: claim `kind` under the idempotency key (a new key when the
    caller sent none) once `check` accepted the order, then `drive` it, unless an earlier request
    of the same key finished: its stored answer is the answer. recovery.py drives unfinished ones."""
    key = cmd.idempotency_key or new_id()
    operation = operations.start_operation(uow, ctx, kind, key, cmd, cmd.order_id, payload, check, now)
    if operation.done and operation.response is not None:
        return from_answer(operation.response)
    return drive(uow, stock, ctx, operation, cmd, now)


def _record(
    uow: UnitOfWork,
    tenant: str,
    operation: Operation,
    now: datetime,
    apply: Callable[[Order], tuple[AnswerT, list[Event]]],
    answer: Callable[[AnswerT], dict[str, Any]],
    from_answer: Callable[[dict[str, Any]], AnswerT],
) -> AnswerT:
    """The last step of an operation, in one transaction: another runner's stored answer when it
    finished first; else `apply` the change to the locked order, save it with its events and
    finish with its `answer` (taken after the save, so it carries the new version)."""

    def record(repo: Repository) -> AnswerT:
        stored = operations.stored_answer(repo, tenant, operation)
        if stored is not None:
            return from_answer(stored)
        current = repo.load_order(tenant, operation.order_id, lock=True)
        assert current is not None
        done, events = apply(current)
        _save(repo, tenant, current, now, events)
        operations.finish(repo, tenant, operation, answer(done), now)
        return done

    return uow.run(record)


def _save(repo: Repository, tenant: str, order: Order, now: datetime, events: list[Event]) -> None:
    order.version += 1
    order.updated_at = now
    repo.save_order(tenant, order)
    repo.add_events(tenant, events)


# --------------------------------------------------------------------------- cancel


def cancel_order(
    uow: UnitOfWork, stock: StockPort, ctx: CallContext, cmd: CancelCommand, now: datetime | None = None
) -> Order:
    """Release what the order holds, cancel it, and (a channel order) ask the channel to cancel
    it too. Refused once anything shipped."""
    domain.validate_cancel(cmd)
    domain.validate_key(cmd.idempotency_key)
    now = now_or_utc(now)
    payload = _payload(cmd)
    return _run(
        uow, stock, ctx, cmd, now, CANCEL, payload, domain.check_cancel, drive_cancel, domain.order_from_dict
    )


def drive_cancel(
    uow: UnitOfWork,
    stock: StockPort,
    ctx: CallContext,
    operation: Operation,
    cmd: CancelCommand,
    now: datetime,
) -> Order:
    tenant = ctx.tenant_id
    order = _load(uow, tenant, operation.order_id)
    if order.reservation_id:
        try:
            stock.release(ctx, order.reservation_id)
        except StockRefused as exc:  # nothing held there any more
            log.info("cancel of order %s: %s", order.id, exc.message)

    def apply(current: Order) -> tuple[Order, list[Event]]:
        change = domain.apply_cancel(current, cmd.reason, now)
        events: list[Event] = []
        if change is not None:
            if (event := status_event(current, now)) is not None:
                events.append(event)
            if not current.is_manual:
                events.append(cancel_requested(current, cmd.reason))
        return current, events

    return _record(uow, tenant, operation, now, apply, domain.order_to_dict, domain.order_from_dict)


# --------------------------------------------------------------------------- return


def return_items(
    uow: UnitOfWork, stock: StockPort, ctx: CallContext, cmd: ReturnCommand, now: datetime | None = None
) -> Order:
    """Record units that came back; restock the restockable ones (inventory Adjust, reason
    RETURNED). A refund without a return restocks nothing: that is a status, not this."""
    domain.validate_key(cmd.idempotency_key)
    now = now_or_utc(now)
    payload = _payload(cmd, return_id=new_id())
    check = partial(domain.plan_return, cmd=cmd)
    return _run(uow, stock, ctx, cmd, now, RETURN, payload, check, drive_return, domain.order_from_dict)


def drive_return(
    uow: UnitOfWork,
    stock: StockPort,
    ctx: CallContext,
    operation: Operation,
    cmd: ReturnCommand,
    now: datetime,
) -> Order:
    tenant = ctx.tenant_id
    order = _load(uow, tenant, operation.order_id)
    try:
        plan = domain.plan_return(order, cmd)
    except (FailedPrecondition, InvalidArgument):
        operations.forget(uow, ctx, operation)
        raise
    return_id = operation.payload["return_id"]
    for sku, quantity in plan.restock:
        stock.restock(ctx, sku, quantity, f"orders:{return_id}:{sku}"[:256], order.id)

    def apply(current: Order) -> tuple[Order, list[Event]]:
        domain.apply_return(current, plan)
        return current, []

    return _record(uow, tenant, operation, now, apply, domain.order_to_dict, domain.order_from_dict)


# --------------------------------------------------------------------------- duplicates

KEEP, CANCEL_DUPLICATE = "keep", "cancel"


def resolve_duplicate(
    uow: UnitOfWork,
    stock: StockPort,
    ctx: CallContext,
    order_id: str,
    decision: str,
    now: datetime | None = None,
) -> Order:
    """The merchant's decision on a possible duplicate: keep it (the flag and links go) or cancel
    it (like CancelOrder, then the flag and links go). Nothing is ever merged."""
    if decision not in (KEEP, CANCEL_DUPLICATE):
        raise InvalidArgument(
            "decision must be keep or cancel", violations=[FieldViolation("decision", "keep or cancel")]
        )
    now = now_or_utc(now)
    tenant = ctx.tenant_id
    if (
        decision == CANCEL_DUPLICATE
        and _load_or_missing(uow, tenant, order_id).status is not OrderStatus.CANCELLED
    ):
        cancel_order(
            uow,
            stock,
            ctx,
            CancelCommand(order_id, "possible duplicate", f"resolve-duplicate:{order_id}"),
            now,
        )

    def work(repo: Repository) -> Order:
        order = repo.load_order(tenant, order_id, lock=True)
        if order is None:
            raise _missing(order_id)
        if OrderFlag.POSSIBLE_DUPLICATE in order.flags or order.duplicate_of:
            repo.unlink_duplicates(tenant, order_id, now)
            order.flags.discard(OrderFlag.POSSIBLE_DUPLICATE)
            order.duplicate_of = []
            _save(repo, tenant, order, now, [])
        return order

    return uow.run(work)


def _missing(order_id: str) -> NotFound:
    return NotFound(f"order {order_id} not found")


def _load_or_missing(uow: UnitOfWork, tenant: str, order_id: str) -> Order:
    with uow.transaction() as repo:
        order = repo.load_order(tenant, order_id) if order_id else None
    if order is None:
        raise _missing(order_id)
    return order
