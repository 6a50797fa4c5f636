"""The few primitives a group of reservations or commits needs, and the rows they return.

The use cases (service/reservation_groups.py) are written once against these Protocols. Two
implementations differ only in how statements reach the database:

- PostgreSQL (pg_group.py): statements are prepared once per connection and sent as multi-
  statement scripts, so a group costs three round trips whatever its size (decision 0004,
  repository/pg_statements.py for the measured reasons);
- any other database, i.e. SQLite (sql_group.py): the same primitives through SQLAlchemy, one
  statement at a time, inside the one BEGIN IMMEDIATE transaction of the group.

A `Batch` collects statements; `GroupTransaction.send` (or `commit`) executes them, after which
each returned `Slot` holds its statement's result. The SQL implementation executes every call at
once and fills its slot immediately; code that reads a slot only after `send` works on both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from inventory.domain import (
    Alert,
    AllocationRule,
    BundleComponent,
    Location,
    Reservation,
    ReservationLine,
    ReservationStatus,
    SkuState,
    StockDemand,
)

T = TypeVar("T")

StockKey = tuple[str, str]  # (sku, location_id)
Event = tuple[str, dict[str, Any]]  # (event type, payload)
# What an idempotency key stored: the first response and the fingerprint of the request it
# answered (None on records older than fingerprints: not compared).
StoredResponse = tuple[str, str | None]
# What a commit group loads per reservation: the reservation, what the call's idempotency key
# stored (None when unused), and (bundle, component) pairs whose component it holds.
LoadedReservation = tuple[Reservation, StoredResponse | None, list[tuple[str, str]]]


class Slot(Generic[T]):
    """The result of one batched statement, readable once its batch has been sent."""

    __slots__ = ("_filled", "_value")

    def __init__(self) -> None:
        self._filled = False
        self._value: T | None = None

    def fill(self, value: T) -> None:
        self._value, self._filled = value, True

    @property
    def value(self) -> T:
        if not self._filled:
            raise RuntimeError("the batch holding this statement has not been sent yet")
        return self._value  # type: ignore[return-value]


@dataclass
class Figures:
    """Rows read after the locks of a stock change: what domain.plan_publish needs."""

    states: dict[str, SkuState]
    default_threshold: int | None
    definitions: dict[str, list[BundleComponent]]
    levels: dict[StockKey, tuple[int, int]]
    rules: list[AllocationRule]
    sales: dict[tuple[str, str], int]


@dataclass(frozen=True)
class ReserveLookup:
    """Result of the lock-free reads of a group of reservations."""

    locations: dict[str, Location]  # by code; "" = the default (absent if none yet)
    definitions: dict[str, list[BundleComponent]]  # bundles among the requested SKUs
    containing: set[str]  # bundles that contain a requested SKU or one of its components


class Batch(Protocol):
    """Statements of one round trip. Lock order (repository/__init__.py) is the caller's: add
    reservation statements before stock rows, stock rows sorted, then bump_and_read."""

    def insert_reservations(
        self, tenant_id: str, group: Sequence[tuple[Reservation, str, str]]
    ) -> Slot[set[str]]:
        """New HELD reservations with their idempotency keys ("" = none), the fingerprints of
        their requests and their lines; a key already held is skipped. Slot: the ids inserted."""
        ...

    def lock_levels(self, tenant_id: str, keys: Iterable[StockKey]) -> Slot[dict[StockKey, tuple[int, int]]]:
        """Lock existing stock rows in sorted order. Slot: (on_hand, reserved) per row found."""
        ...

    def hold(self, tenant_id: str, holds: Mapping[StockKey, tuple[int, int]], now: datetime) -> None:
        """Add (units, reservations) per locked row to reserved and version."""
        ...

    def insert_movements(self, tenant_id: str, movements: Sequence[Mapping[str, Any]]) -> None:
        """Ledger rows (service movement dicts) in the given order."""
        ...

    def drop_reservations(self, reservation_ids: Sequence[str]) -> None:
        """Delete reservations (and lines) refused in this transaction."""
        ...

    def shrink_lines(self, reservation_id: str, quantities: Sequence[tuple[int, int]]) -> None:
        """Set the quantity of (line_no, quantity) line rows of a reservation inserted in this
        transaction and then fitted to the stock (allow_shortfall)."""
        ...

    def save_settlement(self, reservation: Reservation, now: datetime) -> None:
        """Line counters and status after a commit."""
        ...

    def store_response(
        self, tenant_id: str, scope: str, key: str, response: str, fingerprint: str, now: datetime
    ) -> None:
        """Claim an idempotency key with its response and the request's fingerprint; a key
        already used fails the transaction."""
        ...

    def add_sales(
        self, tenant_id: str, connection_id: str, units: Mapping[str, int], now: datetime
    ) -> None: ...

    def change_level(
        self, tenant_id: str, demand: StockDemand, now: datetime, movement: Mapping[str, Any]
    ) -> Slot[bool]:
        """Apply the movement's deltas to a stock row and write the movement with the row's
        figures after it. Slot: False if the row does not exist (nothing written)."""
        ...

    def bump_and_read(
        self, tenant_id: str, skus: Iterable[str], now: datetime, sales_since: datetime
    ) -> Slot[Figures]:
        """Bump the SKUs' event versions (sku_states, sorted) and read, after that lock, every
        figure the event needs."""
        ...

    def alerts_and_events(
        self,
        tenant_id: str,
        opens: Sequence[Alert],
        closes: Sequence[tuple[str, str]],
        events: Sequence[Event],
        now: datetime,
    ) -> None: ...


class GroupTransaction(Protocol):
    """One transaction of a group, opened by its first read (`reserve_lookup` or
    `lock_reservations`) and ended by `commit` or `rollback`."""

    def reserve_lookup(self, tenant_id: str, codes: Iterable[str], skus: Iterable[str]) -> ReserveLookup:
        """Locations by code ("" = the default), bundle definitions among `skus` and bundles
        containing them or their components: reads that need no lock."""
        ...

    def lock_reservations(
        self, tenant_id: str, requests: Sequence[tuple[str, str]], scope: str
    ) -> dict[str, LoadedReservation]:
        """Lock the reservations of (id, idempotency key) `requests` in id order and load them;
        unknown ids are absent."""
        ...

    def batch(self) -> Batch: ...

    def send(self, batch: Batch) -> None:
        """Execute the batch (one round trip on PostgreSQL); its slots are then filled."""
        ...

    def commit(self, batch: Batch) -> None:
        """Execute the batch and COMMIT (one round trip on PostgreSQL)."""
        ...

    def rollback(self) -> None: ...


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# What expires_at stores for a hold without expiry (Reservation.expires_at None): later than any
# `now` the expiry job compares it with.
NO_EXPIRY = datetime(9999, 12, 31, tzinfo=UTC)


def stored_expiry(reservation: Reservation) -> datetime:
    """The expires_at column of a reservation (NO_EXPIRY for None)."""
    return reservation.expires_at or NO_EXPIRY


def assemble_reservation(head: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Reservation:
    """A Reservation from its row (id, order_ref, status, expires_at, created_at,
    channel_connection_id) and its line rows (line_no, sku, location_id, code, quantity,
    committed, released, per_unit, parent_line_no) in line order."""
    tops: dict[int, ReservationLine] = {}
    for line_no, sku, location_id, code, quantity, committed, released, per_unit, parent in rows:
        line = ReservationLine(
            line_no=line_no,
            sku=sku,
            location_id=location_id,
            location_code=code,
            quantity=quantity,
            committed=committed,
            released=released,
            per_unit=per_unit,
            parent_line_no=parent,
        )
        if parent is None:
            tops[line_no] = line
        else:
            tops[parent].components.append(line)
    return Reservation(
        id=head[0],
        order_ref=head[1],
        status=ReservationStatus(head[2]),
        lines=list(tops.values()),
        expires_at=None if head[3] >= NO_EXPIRY else utc(head[3]),
        created_at=utc(head[4]),
        channel_connection_id=head[5],
    )
