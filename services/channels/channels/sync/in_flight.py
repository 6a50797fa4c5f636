"""In-flight order protection: never relist a unit a channel has sold but OmniStock has not imported.

Why: between an order being placed on one channel and the orders service importing it (and
reserving the stock in inventory), inventory still counts the sold unit as available. Every tool
we studied pushes that stale figure to the other channels, so a sold-out item gets relisted and
sold twice. We close the gap with two rules:

1. **Commitments.** Each order line a channel reports (order webhook parsed by the connector, or an
   order poll through FetchOrders) is stored in `channel_commitments` (unique per connection,
   external order id and SKU) as `pending`. The quantity pushed to ANY connection of the tenant is
   `max(0, figure - pending commitments of that SKU on all connections)`. A new commitment marks
   every other connection listing the SKU dirty, so the lower figure goes out at once. Commitments
   stay pending until the orders service imports the order (`mark_imported`) or the channel cancels
   it (`cancelled`); nothing here expires them.
2. **Increases wait for fresh orders.** A decrease is pushed at once. An increase above what the
   channel last acknowledged is pushed only once every connection of the tenant has completed an
   order poll that *started after* the increase was recorded: any order placed before the
   increase is then a commitment and already subtracted. The flusher asks `increase_hold.py`,
   which has the missing polls run on their own threads; while a poll fails the increase waits,
   but at most SYNC_MAX_INCREASE_HOLD_S (then it is released, logged); decreases never wait.
   (`ensure_orders_current` below is the synchronous form reconciliation uses.)

Limits: a disconnected connection cannot be polled and is left out of rule 2; orders placed between
the last poll and the push itself are not covered, because no channel lets us read and write
atomically (the gate only counts polls that started at most increase_hold.FRESH_FOR_MS, 5 s, before
the push); clocks of the worker replicas are assumed to agree to well under the
poll overlap window.

Plain functions over the channels UnitOfWork (its SQL is in sync/repository.py), a Redis client and the ConnectionCaller: nothing here
knows nameko or eventlet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from channels import mapping, order_intake
from channels.connector_calls import ConnectionCaller
from channels.repository import Repository, UnitOfWork
from channels.sync.repository import CANCELLED, IMPORTED, PENDING, PollState
from channels.sync.settings import OrderPollSettings
from omnistock_common.errors import DomainError

log = logging.getLogger(__name__)

# Single-flight + short cache of order polls: at most one poll per connection per interval,
# across every replica (SET NX PX, never released early).
POLL_GATE_PREFIX = "omnistock:orders-poll:"
ORDER_PAGE = 100
MAX_ORDER_PAGES = 1000
DEFAULT_POLLS = OrderPollSettings()

# Called with (tenant_id, connection_id that saw the orders, SKUs whose commitments changed).
CommitmentsChanged = Callable[[str, str, Sequence[str]], None]


class GateRedis(Protocol):
    def set(self, name: str, value: str, *, nx: bool = ..., px: int | None = ...) -> Any: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------- commitments
def order_lines(orders: Iterable[mapping.ChannelOrder]) -> dict[tuple[str, str], tuple[int, str]]:
    """(external order id, sku) -> (units, status); lines of one SKU in one order are summed."""
    lines: dict[tuple[str, str], tuple[int, str]] = {}
    for order in orders:
        if not order.external_id:
            continue
        status = CANCELLED if mapping.order_cancelled(order) else PENDING
        for line in order.lines:
            if not line.sku or line.quantity <= 0:
                continue
            key = (order.external_id[:255], line.sku[:128])
            units = lines.get(key, (0, status))[0] + int(line.quantity)
            lines[key] = (units, status)
    return lines


def store_commitments(
    repo: Repository,
    tenant_id: str,
    connection_id: str,
    orders: Iterable[mapping.ChannelOrder],
    now: datetime,
) -> list[str]:
    """Upsert the orders' lines in the caller's transaction; returns SKUs whose figure changed.

    A line already marked `imported` is never moved back (the orders service owns it then); a
    repeat of the same webhook or poll changes nothing and reports nothing. A new sale also
    lowers what we believe the selling channel shows (it lowered its own quantity when it took
    the order), or the next push of the unchanged figure would be skipped as a no-op and the
    channel would stay one unit short forever.
    """
    lines = order_lines(orders)
    if not lines:
        return []
    # Reporters of one connection take turns: an order's webhook and a poll reading it at the same
    # moment would otherwise both read "no commitment" and both lower last_pushed_quantity (the
    # UNIQUE upsert keeps one row, but not one decrement). The connection row's lock (FOR UPDATE,
    # held to commit) is taken before the commitments are read; SQLite has one writer anyway.
    repo.get_connection(tenant_id, connection_id, lock=True)
    existing = repo.commitments_of(connection_id, list(lines))
    changed: set[str] = set()
    for (order_id, sku), (units, status) in lines.items():
        before = existing.get((order_id, sku))
        if before is not None and (before[1] == IMPORTED or before == (units, status)):
            continue
        repo.upsert_commitment(tenant_id, connection_id, order_id, sku, units=units, status=status, now=now)
        changed.add(sku)
        sold = (units if status == PENDING else 0) - (before[0] if before and before[1] == PENDING else 0)
        if sold > 0:
            repo.lower_last_pushed_quantity(tenant_id, connection_id, sku, sold)
    return sorted(changed)


def mark_imported(uow: UnitOfWork, tenant_id: str, connection_id: str, external_order_id: str) -> int:
    """For the orders service: the order is imported (its stock is reserved in inventory now), so
    its lines stop reducing what the channels see. Returns the lines changed."""
    now = _utcnow()
    return uow.run(
        lambda repo: repo.mark_commitments_imported(tenant_id, connection_id, external_order_id, now)
    )


# ---------------------------------------------------------------------------- order polls
def poll_orders(
    caller: ConnectionCaller,
    uow: UnitOfWork,
    tenant_id: str,
    connection_id: str,
    *,
    settings: OrderPollSettings = DEFAULT_POLLS,
    on_changed: CommitmentsChanged | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> list[str]:
    """FetchOrders since the connection's cursor (minus the overlap window) through
    with_connection, store every line as a commitment, advance the cursor and record that the
    connection's orders are current as of the poll's START. Raises the connector's DomainError on
    failure (the cursor and `current_as_of` then stay where they were)."""
    started = clock()
    with uow.transaction() as repo:
        state = repo.poll_states(tenant_id).get(connection_id)
    base = state.updated_since if state and state.updated_since else started - settings.first_lookback
    since = base - settings.overlap
    orders: list[mapping.ChannelOrder] = []
    cursor = ""
    seen: set[str] = set()
    try:
        for _ in range(MAX_ORDER_PAGES):
            reply = caller.with_connection(
                tenant_id,
                connection_id,
                "fetch_orders",
                lambda stub, conn, cursor=cursor: stub.FetchOrders(
                    mapping.fetch_orders_request(conn, updated_since=since, cursor=cursor, limit=ORDER_PAGE)
                ),
            )
            orders.extend(reply.orders)
            cursor = reply.next_cursor
            if not cursor or cursor in seen:
                break
            seen.add(cursor)
    except DomainError as exc:
        message = str(exc)
        uow.run(
            lambda repo: repo.save_poll_state(
                tenant_id, connection_id, {"last_attempt_at": started, "last_error": message[:2000]}
            )
        )
        raise
    newest = max((d for d in (mapping.order_updated_at(o) for o in orders) if d is not None), default=None)
    cursor_at = max(filter(None, (newest, state.updated_since if state else None)), default=None)
    # Never move the cursor past the poll's own start: an order updated later is for the next poll.
    cursor_at = min(cursor_at, started) if cursor_at else started - settings.overlap

    def work(repo: Repository) -> list[str]:
        changed = store_commitments(repo, tenant_id, connection_id, orders, clock())
        order_intake.record_orders(repo, tenant_id, connection_id, orders, via="poll", now=clock())
        repo.save_poll_state(
            tenant_id,
            connection_id,
            {
                "updated_since": cursor_at,
                "current_as_of": started,
                "last_attempt_at": started,
                "last_error": "",
            },
        )
        return changed

    changed = uow.run(work)
    if changed and on_changed is not None:
        on_changed(tenant_id, connection_id, changed)
    return changed


def live_connections(uow: UnitOfWork, tenant_id: str) -> list[tuple[str, str]]:
    """(connection id, type) of every connection of the tenant that can still be called."""
    with uow.transaction() as repo:
        return repo.live_connections(tenant_id)


def ensure_orders_current(
    caller: ConnectionCaller,
    uow: UnitOfWork,
    redis: GateRedis,
    tenant_id: str,
    as_of: datetime,
    *,
    settings: OrderPollSettings = DEFAULT_POLLS,
    on_changed: CommitmentsChanged | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> bool:
    """True once every live connection of the tenant completed an order poll that started at or
    after `as_of`; polls the stale ones itself. False (the increase must wait) when a poll failed
    or another poll of that connection ran within `settings.min_interval` but is not recent enough."""
    with uow.transaction() as repo:
        states = repo.poll_states(tenant_id)
    current = True
    for connection_id, _kind in live_connections(uow, tenant_id):
        state = states.get(connection_id)
        if state and state.current_as_of and state.current_as_of >= as_of:
            continue
        gate = int(settings.min_interval.total_seconds() * 1000)
        if not redis.set(POLL_GATE_PREFIX + connection_id, "1", nx=True, px=max(gate, 1)):
            current = False  # polled (or being polled) a moment ago: retry on a later flush
            continue
        try:
            poll_orders(
                caller, uow, tenant_id, connection_id, settings=settings, on_changed=on_changed, clock=clock
            )
        except DomainError as exc:
            log.warning(
                "order poll of connection %s failed; increases wait: %s",
                connection_id,
                exc,
                extra={"tenant": tenant_id},
            )
            current = False
    return current


__all__ = [
    "CANCELLED",
    "IMPORTED",
    "PENDING",
    "POLL_GATE_PREFIX",
    "OrderPollSettings",
    "PollState",
    "ensure_orders_current",
    "live_connections",
    "mark_imported",
    "order_lines",
    "poll_orders",
    "store_commitments",
]
