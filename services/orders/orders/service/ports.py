"""What the use cases need from inventory (the stock port), in domain terms. The gRPC adapter is
orders.inventory_client; tests may hand in any object with these methods."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from omnistock_common.context import CallContext
from omnistock_common.errors import FailedPrecondition, Unavailable
from orders.domain import HoldOutcome


@dataclass(frozen=True)
class HoldRequest:
    """A Reserve for an order: no expiry; `allow_shortfall` holds what is there per line
    (the order's hold) instead of refusing the whole request (a top-up at fulfilment)."""

    key: str
    order_ref: str
    lines: tuple[tuple[str, int], ...]
    connection_id: str = ""
    allow_shortfall: bool = True


@dataclass(eq=False)
class StockRefused(FailedPrecondition):
    """Inventory refused the request as such (not enough stock for an all-or-nothing hold,
    nothing held to commit); retrying it unchanged would be refused again."""

    reason: str = "STOCK_REFUSED"


@dataclass(eq=False)
class StockUnavailable(Unavailable):
    """Inventory did not answer (down, deadline, overloaded, a concurrent twin): try again."""

    retry_after: float | None = field(default=1.0)


class StockPort(Protocol):
    def hold(self, ctx: CallContext, request: HoldRequest) -> HoldOutcome:
        """Reserve (idempotent by request.key)."""
        ...

    def commit(
        self, ctx: CallContext, reservation_id: str, lines: Sequence[tuple[str, int]], key: str
    ) -> None:
        """CommitReservation of (sku, quantity) lines, all still held when empty (idempotent by key)."""
        ...

    def release(self, ctx: CallContext, reservation_id: str) -> None:
        """ReleaseReservation (releasing what holds nothing is a no-op)."""
        ...

    def restock(self, ctx: CallContext, sku: str, quantity: int, key: str, reference: str) -> None:
        """Adjust +quantity with reason RETURNED (idempotent by key)."""
        ...
