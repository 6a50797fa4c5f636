"""The duplicate rule (issue 13, the seed's): two different orders with the same customer email
(case-insensitive) and the same total in the same currency, created within the window of each
other, are possible duplicates. They are flagged and linked; the merchant decides, nothing is
merged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from orders.domain.model import Order


@dataclass(frozen=True)
class DuplicateKey:
    """What two orders must share to be compared at all (the repository's lookup key)."""

    email: str
    total: int
    currency: str


def duplicate_key(order: Order) -> DuplicateKey | None:
    """None for an order without a customer email: nothing to compare it by."""
    email = order.customer_email.strip().lower()
    return DuplicateKey(email, order.totals.total, order.currency) if email else None


@dataclass(frozen=True)
class Candidate:
    order_id: str
    email: str
    total: int
    currency: str
    created_at: datetime


def is_possible_duplicate(order: Order, other: Candidate, window: timedelta) -> bool:
    key = duplicate_key(order)
    return (
        key is not None
        and other.order_id != order.id
        and other.email.strip().lower() == key.email
        and (other.total, other.currency) == (key.total, key.currency)
        and abs(other.created_at - order.created_at) <= window
    )
