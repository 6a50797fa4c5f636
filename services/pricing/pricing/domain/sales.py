"""Timed sales: a price from `starts_at` to `ends_at` that reverts by itself.

A sale moves scheduled -> active -> ended. `due_transition` says which move is due at an instant;
the service applies it with a compare-and-set on the sale's state, so with several worker
replicas each transition happens (and is pushed) exactly once. A sale whose whole window passed
while no worker ran goes straight to ended: its price never went out, so there is nothing to
revert and nothing is pushed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from omnistock_common.errors import FieldViolation, InvalidArgument


class SaleState(StrEnum):
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    ENDED = "ended"


class Transition(StrEnum):
    START = "start"  # push the sale price
    END = "end"  # push the regular price back
    EXPIRE = "expire"  # the window passed unseen: mark ended, push nothing


@dataclass(frozen=True)
class TimedSale:
    id: str
    sku: str
    connection_id: str
    sale_minor: int
    currency: str
    starts_at: datetime
    ends_at: datetime
    state: SaleState = SaleState.SCHEDULED


def check_window(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidArgument(
            "sale times need a time zone",
            violations=[FieldViolation("starts_at", "an ISO 8601 time with offset")],
        )
    if ends_at <= starts_at:
        raise InvalidArgument(
            "a sale must end after it starts", violations=[FieldViolation("ends_at", "later than starts_at")]
        )


def due_transition(sale: TimedSale, now: datetime) -> Transition | None:
    if sale.state is SaleState.SCHEDULED:
        if now >= sale.ends_at:
            return Transition.EXPIRE
        return Transition.START if now >= sale.starts_at else None
    if sale.state is SaleState.ACTIVE and now >= sale.ends_at:
        return Transition.END
    return None


def state_after(transition: Transition) -> SaleState:
    return SaleState.ACTIVE if transition is Transition.START else SaleState.ENDED
