"""What an order owes inventory, and how inventory's answers change the order.

An order is reconciled with inventory in steps, each an idempotent inventory call followed by
recording its answer: RESERVE once (allow_shortfall, no expiry; this step also announces the
order), then RELEASE when the channel cancels or refunds it while units are still held, or
COMMIT_ALL when the channel says it shipped (outside OmniStock), or COMMIT_LINES for the units of
each line the channel says it shipped while the order is only partly shipped. When the channel edits the lines
of an open order that shipped nothing, the hold is planned again: RELEASE, then RESERVE of the new
lines under the next round's key (the units come back to the pool for that instant: first come,
first served, as for any order). `next_stock_step` is a pure
function of the order, so a crash between a call and its record only means the same step (the
same idempotent call) is taken again.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from orders.domain.model import MANUAL, Order, OrderFlag, OrderLine
from orders.domain.status import CLOSED_STATUSES, SHIPPED_STATUSES


class StepKind(StrEnum):
    RESERVE = "reserve"
    RELEASE = "release"
    COMMIT_ALL = "commit_all"
    COMMIT_LINES = "commit_lines"


@dataclass(frozen=True)
class StockStep:
    kind: StepKind
    # RESERVE: (sku, quantity) per reservable line, in line order (empty: nothing to ask);
    # COMMIT_LINES: (sku, units) the channel shipped of held lines, in line order.
    lines: tuple[tuple[str, int], ...] = ()
    reservation_id: str = ""
    # COMMIT_LINES: inventory's idempotency key of that commit.
    key: str = ""


def reservation_key(order: Order) -> str:
    """Inventory's idempotency key of the order's hold: `<connection>:<external id>` for a
    channel order (docs/architecture.md), `manual:<order id>` for a manual one; a hold taken again
    after an edit adds `:r<round>`."""
    base = f"manual:{order.id}" if order.source == MANUAL else f"{order.connection_id}:{order.external_id}"
    return f"{base}:r{order.hold_round}" if order.hold_round else base


def commit_all_key(order: Order) -> str:
    return f"orders:{order.id}:channel-shipped"


def _shipped_on_channel(order: Order) -> list[tuple[OrderLine, int]]:
    """Held units of each line that the channel says it shipped and OmniStock has not counted."""
    found = []
    for line in order.lines:
        units = min(line.quantity_reserved, line.channel_fulfilled - line.quantity_shipped)
        if units > 0:
            found.append((line, units))
    return found


def _commit_lines_step(order: Order) -> StockStep | None:
    shipped = _shipped_on_channel(order)
    if not shipped:
        return None
    # The key names each line's shipped count after the commit: the same report is one commit.
    target = ",".join(f"{line.id}={line.quantity_shipped + units}" for line, units in shipped)
    key = f"orders:{order.id}:channel-lines:{hashlib.sha256(target.encode()).hexdigest()[:32]}"
    lines = tuple((line.sku, units) for line, units in shipped)
    return StockStep(StepKind.COMMIT_LINES, lines, order.reservation_id, key)


def _reservable(order: Order) -> tuple[tuple[str, int], ...]:
    return tuple((line.sku, line.quantity) for line in order.lines if line.sku_known and line.quantity > 0)


def replannable(order: Order) -> bool:
    """An edit re-plans the hold of an open order that shipped nothing (a partly shipped order
    keeps its hold: what is left of each line is still committed or released as it goes)."""
    return (
        order.status not in CLOSED_STATUSES
        and order.status not in SHIPPED_STATUSES
        and not order.shipped_anything
    )


def next_stock_step(order: Order) -> StockStep | None:
    """The one step inventory is owed now, or None when inventory agrees with the order."""
    if not order.announced:
        if order.status in CLOSED_STATUSES:
            return StockStep(StepKind.RESERVE)  # seen first as cancelled/refunded: hold nothing
        return StockStep(StepKind.RESERVE, _reservable(order))
    if order.replan_owed and replannable(order):
        if order.reservation_id:
            return StockStep(StepKind.RELEASE, reservation_id=order.reservation_id)
        return StockStep(StepKind.RESERVE, _reservable(order))
    if order.reservation_id and order.held > 0:
        if order.status in CLOSED_STATUSES:
            return StockStep(StepKind.RELEASE, reservation_id=order.reservation_id)
        if order.status in SHIPPED_STATUSES:
            return StockStep(StepKind.COMMIT_ALL, reservation_id=order.reservation_id)
        return _commit_lines_step(order)
    return None


@dataclass(frozen=True)
class HoldOutcome:
    """Inventory's answer to the order's Reserve: units held per SKU (over the reservation's
    lines) and the SKUs it does not know."""

    reservation_id: str
    held: Mapping[str, int]
    unknown: Collection[str] = ()


@dataclass(frozen=True)
class OversoldLine:
    sku: str
    requested: int
    reserved: int


def apply_hold(order: Order, outcome: HoldOutcome | None) -> list[OversoldLine]:
    """Record the hold (None: nothing was asked) on the lines, set the flags, and mark the order
    announced. Units held for a SKU go to its lines in line order. Returns the oversold lines
    (a known SKU held below its quantity)."""
    oversold: list[OversoldLine] = []
    if order.replan_owed:  # a hold taken again: the flags describe the new lines only
        order.flags.discard(OrderFlag.OVERSOLD)
        order.flags.discard(OrderFlag.UNMAPPED_SKU)
        order.replan_owed = False
    if outcome is not None:
        order.reservation_id = outcome.reservation_id
        left: dict[str, int] = defaultdict(int, outcome.held)
        for line in order.lines:
            if not line.sku_known:
                continue
            if line.sku in outcome.unknown:
                line.sku_known = False
                line.quantity_reserved = 0
                continue
            line.quantity_reserved = min(line.quantity, left[line.sku])
            left[line.sku] -= line.quantity_reserved
            if line.quantity_reserved < line.quantity:
                oversold.append(OversoldLine(line.sku, line.quantity, line.quantity_reserved))
    if oversold:
        order.flags.add(OrderFlag.OVERSOLD)
    if any(not line.sku_known for line in order.lines):
        order.flags.add(OrderFlag.UNMAPPED_SKU)
    order.announced = True
    return oversold


def apply_release(order: Order) -> None:
    """Everything still held went back to stock. Released to be planned again, the order holds
    nothing until the next round's RESERVE."""
    for line in order.lines:
        line.quantity_reserved = 0
    if order.replan_owed and replannable(order):
        order.reservation_id = ""
        order.hold_round += 1
        # Lines the channel dropped (kept at quantity 0 only until their units were released).
        order.lines = [line for line in order.lines if line.quantity or line.quantity_shipped]
        for line_no, line in enumerate(order.lines, start=1):
            line.line_no = line_no
    else:
        order.replan_owed = False


def apply_commit_lines(order: Order) -> None:
    """The units the channel shipped of each held line were committed: they count as shipped."""
    for line, units in _shipped_on_channel(order):
        line.quantity_reserved -= units
        line.quantity_shipped += units


def apply_commit_all(order: Order) -> None:
    """The channel shipped the order: every held unit was committed and every line counts as
    shipped (the channel does not say per line; units not held were never counted here)."""
    for line in order.lines:
        line.quantity_reserved = 0
        line.quantity_shipped = max(line.quantity_shipped, line.quantity)
