"""Merchant actions on an order: fulfil (partial allowed), cancel, return items. Each has a plan
(validated against the order, saying what inventory must do) and an apply step (what the
order records once inventory did it)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omnistock_common.errors import FailedPrecondition, FieldViolation, InvalidArgument
from orders.domain.model import (
    ACTOR_MERCHANT,
    MAX_TEXT,
    MAX_URL,
    Fulfillment,
    FulfillmentLine,
    Order,
    OrderLine,
    OrderStatus,
    StatusChange,
    SyncState,
)
from orders.domain.status import CLOSED_STATUSES, can_move, require_move, shipping_status


@dataclass(frozen=True)
class LineRequest:
    """A line of a fulfil or return request: by line id, else by SKU."""

    line_id: str
    sku: str
    quantity: int
    restock: bool = True


@dataclass(frozen=True)
class FulfillCommand:
    order_id: str
    carrier: str = ""
    tracking_number: str = ""
    tracking_url: str = ""
    lines: tuple[LineRequest, ...] = ()
    idempotency_key: str = ""


@dataclass(frozen=True)
class CancelCommand:
    order_id: str
    reason: str = ""
    idempotency_key: str = ""


@dataclass(frozen=True)
class ReturnCommand:
    order_id: str
    lines: tuple[LineRequest, ...]
    reason: str = ""
    idempotency_key: str = ""


def _find_line(order: Order, request: LineRequest, field: str, taken: dict[str, int], room: str) -> OrderLine:
    """The order line a request names (a SKU picks its first line with room left)."""
    if request.line_id:
        line = order.line(request.line_id)
        if line is None:
            raise InvalidArgument(
                "unknown line", violations=[FieldViolation(field, "no such line on this order")]
            )
        return line
    candidates = [line for line in order.lines if line.sku == request.sku]
    if not candidates:
        raise InvalidArgument(
            "unknown line",
            violations=[FieldViolation(field, f"the order has no line with SKU {request.sku!r}")],
        )
    for line in candidates:
        if getattr(line, room) - taken[line.id] > 0:
            return line
    return candidates[0]


def _validate_quantities(requests: Sequence[LineRequest], prefix: str) -> None:
    problems = [
        FieldViolation(f"{prefix}[{i}].quantity", "quantity must be at least 1")
        for i, request in enumerate(requests)
        if request.quantity < 1
    ]
    problems += [
        FieldViolation(f"{prefix}[{i}]", "line_id or sku is required")
        for i, request in enumerate(requests)
        if not request.line_id and not request.sku
    ]
    if problems:
        raise InvalidArgument("invalid lines", violations=problems)


def validate_fulfill(cmd: FulfillCommand) -> None:
    limits = (("carrier", cmd.carrier, MAX_TEXT), ("tracking_number", cmd.tracking_number, MAX_TEXT))
    problems = [
        FieldViolation(name, f"at most {limit} characters")
        for name, value, limit in limits
        if len(value) > limit
    ]
    if len(cmd.tracking_url) > MAX_URL:
        problems.append(FieldViolation("tracking_url", f"at most {MAX_URL} characters"))
    elif cmd.tracking_url and not cmd.tracking_url.startswith(("https://", "http://")):
        problems.append(FieldViolation("tracking_url", "must be an http(s) URL"))
    if problems:
        raise InvalidArgument("invalid fulfillment", violations=problems)
    _validate_quantities(cmd.lines, "lines")


@dataclass(frozen=True)
class FulfillmentPlan:
    """Units per line id; per line how many come out of the order's hold; per SKU what
    inventory commits from the hold and what must be taken beyond it (a top-up, for units an
    oversold order did not hold; unknown SKUs take nothing)."""

    units: dict[str, int]
    from_hold: dict[str, int]
    commit: tuple[tuple[str, int], ...]
    top_up: tuple[tuple[str, int], ...]


def plan_fulfillment(order: Order, cmd: FulfillCommand) -> FulfillmentPlan:
    if order.status in CLOSED_STATUSES:
        raise FailedPrecondition(f"the order is {order.status.value}", reason="ORDER_CLOSED")
    if not order.announced:
        # Its hold is still owed to inventory (inventory was down): shipping now would take the
        # units twice once the hold is made.
        raise FailedPrecondition(
            "the order's stock is not reserved yet; retry shortly", reason="STOCK_PENDING"
        )
    units: dict[str, int] = defaultdict(int)
    if not cmd.lines:
        units.update({line.id: line.unshipped for line in order.lines if line.unshipped})
    for i, request in enumerate(cmd.lines):
        line = _find_line(order, request, f"lines[{i}]", units, "unshipped")
        units[line.id] += request.quantity
        if units[line.id] > line.unshipped:
            raise FailedPrecondition(
                f"line {line.sku} has only {line.unshipped} unshipped units", reason="OVER_FULFILL"
            )
    if not units:
        raise FailedPrecondition("nothing is left to ship", reason="NOTHING_TO_SHIP")
    from_hold: dict[str, int] = {}
    commit: dict[str, int] = defaultdict(int)
    top_up: dict[str, int] = defaultdict(int)
    for line in order.lines:
        wanted = units.get(line.id, 0)
        if not wanted:
            continue
        from_hold[line.id] = min(wanted, line.quantity_reserved)
        if from_hold[line.id]:
            commit[line.sku] += from_hold[line.id]
        if line.sku_known and wanted > from_hold[line.id]:
            top_up[line.sku] += wanted - from_hold[line.id]
    target = shipping_status(order_units_shipped(order) + sum(units.values()), order_units(order))
    if target != order.status:
        require_move(order.status, target)
    return FulfillmentPlan(
        dict(units), from_hold, tuple(sorted(commit.items())), tuple(sorted(top_up.items()))
    )


def order_units(order: Order) -> int:
    return sum(line.quantity for line in order.lines)


def order_units_shipped(order: Order) -> int:
    return sum(min(line.quantity_shipped, line.quantity) for line in order.lines)


def apply_fulfillment(
    order: Order,
    plan: FulfillmentPlan,
    cmd: FulfillCommand,
    fulfillment_id: str,
    now: datetime,
) -> tuple[Fulfillment, StatusChange | None]:
    """Record shipped units and the fulfillment; the status moves if the table allows it (a
    channel may have cancelled meanwhile: inventory's commit is still recorded)."""
    lines = []
    for line in order.lines:
        shipped = plan.units.get(line.id, 0)
        if not shipped:
            continue
        line.quantity_shipped += shipped
        line.quantity_reserved = max(0, line.quantity_reserved - plan.from_hold.get(line.id, 0))
        lines.append(FulfillmentLine(line.id, line.sku, shipped))
    fulfillment = Fulfillment(
        id=fulfillment_id,
        carrier=cmd.carrier,
        tracking_number=cmd.tracking_number,
        tracking_url=cmd.tracking_url,
        lines=lines,
        sync_state=SyncState.NOT_APPLICABLE if order.is_manual else SyncState.PENDING,
        created_at=now,
    )
    order.fulfillments.append(fulfillment)
    change = move(order, shipping_status(order_units_shipped(order), order_units(order)), now, "fulfilled")
    return fulfillment, change


def move(
    order: Order, target: OrderStatus, now: datetime, reason: str, actor: str = ACTOR_MERCHANT
) -> StatusChange | None:
    """Move the status if it changes and the table allows it; record the change."""
    if target == order.status or not can_move(order.status, target):
        return None
    change = StatusChange(order.status, target, now, actor, reason[:MAX_TEXT])
    order.status = target
    order.history.append(change)
    return change


def check_cancel(order: Order) -> None:
    if order.shipped_anything:
        raise FailedPrecondition(
            "an order that shipped anything cannot be cancelled", reason="ALREADY_SHIPPED"
        )
    require_move(order.status, OrderStatus.CANCELLED)


def validate_cancel(cmd: CancelCommand) -> None:
    if len(cmd.reason) > MAX_TEXT:
        raise InvalidArgument(
            "invalid cancel", violations=[FieldViolation("reason", f"at most {MAX_TEXT} characters")]
        )


def apply_cancel(order: Order, reason: str, now: datetime) -> StatusChange | None:
    """The hold was released; the order is cancelled (the channel is told separately)."""
    for line in order.lines:
        line.quantity_reserved = 0
    change = move(order, OrderStatus.CANCELLED, now, reason or "cancelled by the merchant")
    if not order.is_manual:
        order.cancel_sync_state = SyncState.PENDING
    return change


@dataclass(frozen=True)
class ReturnPlan:
    """Units back per line id, and per SKU the units inventory restocks (reason RETURNED)."""

    units: dict[str, int]
    restock: tuple[tuple[str, int], ...]


def plan_return(order: Order, cmd: ReturnCommand) -> ReturnPlan:
    if not cmd.lines:
        raise InvalidArgument("lines are required", violations=[FieldViolation("lines", "at least one line")])
    _validate_quantities(cmd.lines, "lines")
    if len(cmd.reason) > MAX_TEXT:
        raise InvalidArgument(
            "invalid return", violations=[FieldViolation("reason", f"at most {MAX_TEXT} characters")]
        )
    units: dict[str, int] = defaultdict(int)
    restock: dict[str, int] = defaultdict(int)
    for i, request in enumerate(cmd.lines):
        line = _find_line(order, request, f"lines[{i}]", units, "returnable")
        units[line.id] += request.quantity
        if units[line.id] > line.returnable:
            raise FailedPrecondition(
                f"line {line.sku} has only {line.returnable} shipped units not yet returned",
                reason="OVER_RETURN",
            )
        if request.restock and line.sku_known:
            restock[line.sku] += request.quantity
    return ReturnPlan(dict(units), tuple(sorted(restock.items())))


def apply_return(order: Order, plan: ReturnPlan) -> None:
    for line in order.lines:
        line.quantity_returned += plan.units.get(line.id, 0)


# --------------------------------------------------------------------------- stored commands


def _line_requests(items: Sequence[dict[str, Any]]) -> tuple[LineRequest, ...]:
    return tuple(LineRequest(**item) for item in items)


def fulfill_command_from(data: dict[str, Any]) -> FulfillCommand:
    """A FulfillCommand from its asdict() form (an operation's stored payload)."""
    return FulfillCommand(**{**data, "lines": _line_requests(data["lines"])})


def cancel_command_from(data: dict[str, Any]) -> CancelCommand:
    return CancelCommand(**data)


def return_command_from(data: dict[str, Any]) -> ReturnCommand:
    return ReturnCommand(**{**data, "lines": _line_requests(data["lines"])})
