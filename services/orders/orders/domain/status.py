"""Order status rules: the allowed transitions and the order of channel versions."""

from __future__ import annotations

from datetime import datetime

from omnistock_common.errors import FailedPrecondition
from orders.domain.model import OrderStatus

S = OrderStatus

# Forward moves only. Nothing leaves REFUNDED; once anything shipped an order cannot be
# cancelled (only refunded); a cancelled order may still be refunded (money back after a cancel).
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.PAID, S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.CANCELLED, S.REFUNDED}),
    S.PAID: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.CANCELLED, S.REFUNDED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED, S.DELIVERED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.REFUNDED}),
    S.DELIVERED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
}

# Statuses at which the goods have left (stock is committed, not held).
SHIPPED_STATUSES = frozenset({S.SHIPPED, S.DELIVERED})
# Statuses whose order needs no stock held any more (unshipped units go back).
CLOSED_STATUSES = frozenset({S.CANCELLED, S.REFUNDED})


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


def require_move(current: OrderStatus, target: OrderStatus) -> None:
    """For merchant actions: refuse a move the table does not allow."""
    if not can_move(current, target):
        raise FailedPrecondition(
            f"an order that is {current.value} cannot become {target.value}",
            reason="INVALID_STATUS_TRANSITION",
        )


def channel_move(current: OrderStatus, proposed: OrderStatus | None) -> OrderStatus | None:
    """The status a channel version moves the order to, or None to stay.

    A channel may lag behind OmniStock (a fulfilment created here is not on the channel yet, so
    its next webhook still says PAID): a move the table does not allow is ignored, never applied
    backwards."""
    if proposed is None or proposed == current or not can_move(current, proposed):
        return None
    return proposed


def shipping_status(units_shipped: int, units_ordered: int) -> OrderStatus:
    return S.SHIPPED if units_shipped >= units_ordered else S.PARTIALLY_SHIPPED


def is_newer(incoming: datetime | None, applied: datetime | None) -> bool:
    """Whether a channel version (by the channel's updated_at) supersedes the one applied.

    Versions without a timestamp never supersede one with it; between two without, the later
    arrival wins (it is all we know)."""
    if applied is None:
        return True
    if incoming is None:
        return False
    return incoming > applied
