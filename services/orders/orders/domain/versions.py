"""Channel versions: a new order from its first version, and a later version applied in order.

An older version (by the channel's updated_at) never overwrites a newer one, and a status moves
only forward (status.channel_move), so versions may arrive in any order, twice, or by webhook
and poll at once, and still converge on the newest state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from omnistock_common.identifiers import identifier_problem
from orders.domain.model import (
    ACTOR_CHANNEL,
    MAX_TEXT,
    ChannelOrderVersion,
    IncomingLine,
    Order,
    OrderLine,
    OrderStatus,
    StatusChange,
    StockState,
)
from orders.domain.status import CLOSED_STATUSES, SHIPPED_STATUSES, channel_move, is_newer


def usable_sku(sku: str) -> bool:
    """Whether a line's SKU can be asked about at all (inventory refuses an empty or unclean
    one): a line without one is kept and flagged unmapped_sku, never sent to inventory."""
    return bool(sku) and len(sku) <= 128 and identifier_problem(sku) is None


def _clip(value: str) -> str:
    return value[:MAX_TEXT]


def new_line(incoming: IncomingLine, line_id: str, line_no: int) -> OrderLine:
    return OrderLine(
        id=line_id,
        line_no=line_no,
        sku=incoming.sku,
        quantity=incoming.quantity,
        title=_clip(incoming.title),
        external_line_id=incoming.external_line_id,
        unit_price=incoming.unit_price,
        discount=incoming.discount,
        tax=incoming.tax,
        sku_known=usable_sku(incoming.sku),
        channel_fulfilled=incoming.quantity_fulfilled,
    )


def new_channel_order(
    version: ChannelOrderVersion, order_id: str, new_id: Callable[[], str], now: datetime
) -> Order:
    """The order as its first received version describes it; its stock step is owed."""
    status = version.status or OrderStatus.PENDING
    order = Order(
        id=order_id,
        source=version.source,
        connection_id=version.connection_id,
        external_id=version.external_id,
        currency=version.currency,
        status=status,
        created_at=version.created_at or version.received_at,
        updated_at=now,
        lines=[new_line(line, new_id(), i) for i, line in enumerate(version.lines, start=1)],
        history=[StatusChange(None, status, now, ACTOR_CHANNEL)],
        channel_updated_at=version.updated_at,
        stock_state=StockState.PENDING,
        stock_due_at=now,
    )
    _take_fields(order, version)
    return order


def _take_fields(order: Order, version: ChannelOrderVersion) -> None:
    order.external_name = _clip(version.external_name)
    order.customer_email = _clip(version.customer_email)
    order.customer_name = _clip(version.customer_name)
    order.shipping_address = version.shipping_address
    order.totals = version.totals
    order.currency = version.currency or order.currency
    order.channel_status = dict(version.channel_status)


@dataclass(frozen=True)
class VersionOutcome:
    """What a version did to an existing order. `applied`: it was the newest and its fields
    were taken; `status_change`: the move it made, if any."""

    applied: bool
    status_change: StatusChange | None = None
    lines_changed: bool = False


def apply_version(
    order: Order, version: ChannelOrderVersion, new_id: Callable[[], str], now: datetime
) -> VersionOutcome:
    """Apply a later version in place; an older (or the same) version changes nothing."""
    if not is_newer(version.updated_at, order.channel_updated_at):
        return VersionOutcome(applied=False)
    _take_fields(order, version)
    order.channel_updated_at = version.updated_at
    target = channel_move(order.status, version.status)
    # An open order that shipped nothing has its hold planned again after an edit (domain/stock).
    replan = order.announced and (target or order.status) not in CLOSED_STATUSES | SHIPPED_STATUSES
    replan = replan and not order.shipped_anything
    lines_changed = merge_lines(order, version.lines, new_id, release_dropped=replan)
    if lines_changed and replan:
        order.replan_owed = True
    change = None
    if target is not None:
        change = StatusChange(order.status, target, now, ACTOR_CHANNEL, version.channel_status_text)
        order.status = target
        order.history.append(change)
    order.updated_at = now
    order.version += 1
    return VersionOutcome(applied=True, status_change=change, lines_changed=lines_changed)


def merge_lines(
    order: Order,
    incoming: tuple[IncomingLine, ...],
    new_id: Callable[[], str],
    *,
    release_dropped: bool = False,
) -> bool:
    """Take the channel's lines, keeping what OmniStock knows of each (shipped, returned and
    reserved units, whether inventory knows its SKU). Lines match by external line id, else by
    position. A line the channel dropped stays while anything of it shipped or is held; with
    `release_dropped` (the hold is about to be planned again) a held one stays at quantity 0 so
    the new hold leaves it out, and goes once released (domain/stock.py). Returns whether any
    line's SKU or quantity changed."""
    by_external = {line.external_line_id: line for line in order.lines if line.external_line_id}
    kept: list[OrderLine] = []
    changed = False
    used: set[str] = set()
    for position, line in enumerate(incoming):
        current = by_external.get(line.external_line_id) if line.external_line_id else None
        if current is None and not line.external_line_id and position < len(order.lines):
            current = order.lines[position]
        if current is None or current.id in used:
            changed = True
            kept.append(new_line(line, new_id(), 0))
            continue
        used.add(current.id)
        if (current.sku, current.quantity) != (line.sku, line.quantity):
            changed = True
            if current.sku != line.sku:
                current.sku_known = usable_sku(line.sku)
        current.sku = line.sku
        current.quantity = line.quantity
        # What the channel shipped only grows (a fulfilment it cancels later cannot un-commit).
        current.channel_fulfilled = max(current.channel_fulfilled, line.quantity_fulfilled)
        current.title = _clip(line.title)
        current.unit_price, current.discount, current.tax = line.unit_price, line.discount, line.tax
        kept.append(current)
    for line in order.lines:
        if line.id in used:
            continue
        if release_dropped and not line.quantity_shipped and line.quantity_reserved:
            line.quantity = 0
            changed = True
            kept.append(line)
        elif line.quantity_shipped or line.quantity_reserved:
            kept.append(line)
        else:
            changed = True
    for line_no, line in enumerate(kept, start=1):
        line.line_no = line_no
    order.lines = kept
    return changed
