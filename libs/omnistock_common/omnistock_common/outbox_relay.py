"""Relay of the transactional outbox to a message broker: at-least-once, never lost.

`relay_once` claims the oldest unsent rows, coalesces them into as few events as their type
allows, publishes each event and only then marks its rows sent.

- A crash (or a publish that raises) before the rows are marked means they are sent again on the
  next pass: delivery is at least once, and consumers are idempotent (event id + per-SKU version).
- PostgreSQL: rows are claimed with `FOR UPDATE SKIP LOCKED` in the transaction that publishes
  and marks them, so two relay replicas never publish the same row concurrently; each takes the
  next unclaimed batch, and writers inserting new rows are never blocked. SQLite: every
  transaction takes the database-wide write lock (BEGIN IMMEDIATE, omnistock_common.db), so the
  relay reads, publishes outside any transaction, and marks in a second short transaction; the
  service's writers are never held up by the broker (see _relay_once_sqlite).
- Routing is confirmed too: the workers publish `mandatory` with publisher confirms, so an event
  the broker accepted but routed to no queue comes back as `Unroutable` instead of a confirm. It
  stays unsent and is tried again on the next pass (nobody has bound its queue yet: a consumer
  that never started, a broker that lost its definitions), unless its type is one the service
  publishes for whoever listens (`optional`), which counts as sent. One unroutable type holds back
  only its own events (their order is kept); the other types go on, later batches of the same
  pass skip it, and the warning is repeated at most every UNROUTABLE_WARNING_SECONDS.
- The library knows nothing of nameko, kombu or eventlet: `publish(event_type, payload)` is any
  callable that returns once the broker confirmed and raises otherwise (`Unroutable` when no queue
  took the event; `unroutable_as` adapts a broker client's own exception).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select, update

log = logging.getLogger(__name__)

# Returns once the broker confirmed the event; raises when it did not.
Publish = Callable[[str, dict[str, Any]], None]
# An unroutable event of a required type is warned about at most this often (per type).
UNROUTABLE_WARNING_SECONDS = 30.0


class Unroutable(Exception):
    """The broker accepted the event but no queue took it (a mandatory publish came back)."""


def unroutable_as(publish: Publish, *errors: type[BaseException]) -> Publish:
    """`publish` with the broker client's "returned, no route" exceptions raised as `Unroutable`
    (the nameko workers pass nameko's UndeliverableMessage)."""

    def routed(event_type: str, payload: dict[str, Any]) -> None:
        try:
            publish(event_type, payload)
        except errors as exc:
            raise Unroutable(event_type) from exc

    return routed


# A broker dispatch within one service: (routing key without the service prefix, payload).
Dispatch = Callable[[str, dict[str, Any]], None]


def mandatory_unless_optional(
    service: str, optional: Collection[str], mandatory: Dispatch, plain: Dispatch
) -> Dispatch:
    """One dispatch that sends the service's `optional` event types (full names, `service.type`)
    through `plain`, published without the mandatory flag, and every other type through
    `mandatory`. Why: a mandatory message that no queue takes comes back, and nameko then closes
    its publishing channel and opens another. For a type that nothing consumes yet, such as
    `channels.webhook_received` (one per order webhook), that cost a channel teardown per event,
    about 25 a second during the order bench, each logged by amqp as "Received method (60, 80)
    during closing channel". An optional event is confirmed by the broker just the same."""

    def dispatch(routing_key: str, payload: dict[str, Any]) -> None:
        chosen = plain if f"{service}.{routing_key}" in optional else mandatory
        chosen(routing_key, payload)

    return dispatch


_warned_lock = threading.Lock()
_warned_at: dict[str, float] = {}


def _warn_unroutable(event_type: str, rows: int) -> None:
    now = time.monotonic()
    with _warned_lock:
        if now - _warned_at.get(event_type, -UNROUTABLE_WARNING_SECONDS) < UNROUTABLE_WARNING_SECONDS:
            return
        _warned_at[event_type] = now
    log.warning(
        "outbox event %s was routed to no queue (no consumer has bound one yet?); its rows stay"
        " unsent and are retried",
        event_type,
        extra={"event_type": event_type, "rows": rows},
    )


# Namespace of the deterministic event ids: the same rows always yield the same id, so a
# re-delivery after a crash is recognisable as such by consumers that track event ids.
_EVENT_ID_NAMESPACE = uuid.UUID("6f1c1c55-5c0e-4d0b-9a57-6b1e0e0c2a11")


@dataclass(frozen=True)
class OutboxRow:
    """One claimed outbox row with its payload already decoded."""

    id: int
    tenant_id: str
    event_type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class OutgoingEvent:
    """One message to publish and the outbox rows it stands for (marked sent together)."""

    event_type: str
    payload: dict[str, Any]
    row_ids: tuple[int, ...]


# Turns the claimed rows of ONE event type (in id order) into the events to publish.
Coalescer = Callable[[Sequence[OutboxRow]], list[OutgoingEvent]]


def event_id_for(row_ids: Sequence[int]) -> str:
    """A stable id for the event built from these rows (identical on re-delivery)."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, ",".join(str(i) for i in sorted(row_ids))))


def publish_one_by_one(rows: Sequence[OutboxRow]) -> list[OutgoingEvent]:
    """Default rule: every row is its own event, published in id order.

    `tenant_id` and `event_id` are added when the writer did not put them in the payload,
    because every consumer needs the tenant and a way to spot a repeat.
    """
    events = []
    for row in rows:
        payload = dict(row.payload)
        payload.setdefault("tenant_id", row.tenant_id)
        payload.setdefault("event_id", event_id_for([row.id]))
        events.append(OutgoingEvent(row.event_type, payload, (row.id,)))
    return events


def latest_version_per_key(
    *, items_key: str = "skus", key: str = "sku", version_key: str = "version"
) -> Coalescer:
    """Build a coalescer that merges a tenant's rows into ONE event keeping the newest item per key.

    A row's payload carries either a list of items under `items_key` (e.g. {"skus": [{"sku": "A",
    "version": 7, ...}]}) or a single item at its top level (e.g. {"sku": "A", "version": 7, ...}).
    The merged event is {"tenant_id", "event_id", items_key: [...]} with, for every key, only the
    item of highest `version_key` (ties keep the later row). A burst of 1,000 changes to 50 SKUs
    thus becomes one event with 50 items instead of 1,000 messages, and since consumers drop
    versions older than the last they applied, skipping the superseded versions loses nothing.
    """

    def coalesce(rows: Sequence[OutboxRow]) -> list[OutgoingEvent]:
        by_tenant: dict[str, tuple[list[int], dict[str, dict[str, Any]]]] = {}
        for row in rows:
            ids, latest = by_tenant.setdefault(row.tenant_id, ([], {}))
            ids.append(row.id)
            items = row.payload.get(items_key)
            if not isinstance(items, list):
                items = [row.payload]
            for item in items:
                item_key = str(item[key])
                current = latest.get(item_key)
                if current is None or int(item.get(version_key, 0)) >= int(current.get(version_key, 0)):
                    latest[item_key] = {k: v for k, v in item.items() if k not in ("tenant_id", "event_id")}
        events = []
        # dicts keep insertion order, so tenants go out in the order of their first row.
        for tenant_id, (ids, latest) in by_tenant.items():
            payload = {
                "tenant_id": tenant_id,
                "event_id": event_id_for(ids),
                items_key: [latest[k] for k in sorted(latest)],
            }
            events.append(OutgoingEvent(rows[0].event_type, payload, tuple(ids)))
        return events

    return coalesce


# `inventory.stock_changed` rows coalesce per tenant; every other type is published one by one.
DEFAULT_COALESCERS: Mapping[str, Coalescer] = {"inventory.stock_changed": latest_version_per_key()}


def build_events(
    rows: Sequence[OutboxRow], coalescers: Mapping[str, Coalescer] = DEFAULT_COALESCERS
) -> list[OutgoingEvent]:
    """Group claimed rows by event type, apply each type's rule, order events by their oldest row.

    Ordering by the oldest row keeps the relay close to commit order; exact order across event
    types is not promised (consumers rely on versions, not on arrival order).
    """
    by_type: dict[str, list[OutboxRow]] = {}
    for row in rows:
        by_type.setdefault(row.event_type, []).append(row)
    events: list[OutgoingEvent] = []
    for event_type, group in by_type.items():
        events.extend(coalescers.get(event_type, publish_one_by_one)(group))
    events.sort(key=lambda event: min(event.row_ids))
    return events


@dataclass
class _Pass:
    """What one relay batch did: rows claimed and marked, the types that found no queue."""

    claimed: int = 0
    marked: int = 0
    unroutable: frozenset[str] = frozenset()


def relay_once(
    engine: Engine,
    table: Table,
    publish: Publish,
    *,
    batch_size: int = 500,
    coalescers: Mapping[str, Coalescer] = DEFAULT_COALESCERS,
    optional: Collection[str] = (),
) -> int:
    """Publish up to `batch_size` unsent rows; return how many rows were marked sent.

    When `publish` raises, the rows of the events already confirmed are still marked sent (so
    they are not repeated needlessly), the rest stay unsent, and the error propagates to the
    caller, which simply tries again on its next tick. An `Unroutable` event of a type not in
    `optional` stays unsent without raising (see the module docstring).
    """
    return _relay_batch(engine, table, publish, batch_size, coalescers, optional, frozenset()).marked


def _relay_batch(
    engine: Engine,
    table: Table,
    publish: Publish,
    batch_size: int,
    coalescers: Mapping[str, Coalescer],
    optional: Collection[str],
    skip_types: frozenset[str],
) -> _Pass:
    if engine.dialect.name == "sqlite":
        return _relay_once_sqlite(engine, table, publish, batch_size, coalescers, optional, skip_types)
    with engine.begin() as conn:
        # Row locks on the claimed outbox rows only: services keep inserting new rows meanwhile,
        # and another relay skips these and takes the next batch.
        rows = _claim(conn, table, batch_size, lock=True, skip_types=skip_types)
        if not rows:
            return _Pass()
        outcome = _publish_events(rows, publish, coalescers, optional)
        _mark_sent(conn, table, outcome.confirmed)
    return _finish(outcome, len(rows))


def _relay_once_sqlite(
    engine: Engine,
    table: Table,
    publish: Publish,
    batch_size: int,
    coalescers: Mapping[str, Coalescer],
    optional: Collection[str],
    skip_types: frozenset[str],
) -> _Pass:
    """SQLite variant: read, publish OUTSIDE any transaction, then mark in a second short one.

    Every SQLite transaction here holds the database-wide write lock (BEGIN IMMEDIATE), so
    publishing inside it would stop every writer of the service for as long as the broker takes
    to confirm, and for the whole of a broker outage (measured: nameko's dispatcher keeps retrying
    until the broker is back). The price is that two relays on one SQLite file could publish the
    same row twice; that is a duplicate, which consumers ignore by version, never a loss.
    """
    with engine.begin() as conn:
        rows = _claim(conn, table, batch_size, lock=False, skip_types=skip_types)
    if not rows:
        return _Pass()
    outcome = _publish_events(rows, publish, coalescers, optional)
    if outcome.confirmed:
        with engine.begin() as conn:
            _mark_sent(conn, table, outcome.confirmed)
    return _finish(outcome, len(rows))


def _claim(
    conn: Connection, table: Table, batch_size: int, *, lock: bool, skip_types: frozenset[str]
) -> list[OutboxRow]:
    columns = table.c
    query = (
        select(columns.id, columns.tenant_id, columns.event_type, columns.payload)
        .where(columns.sent_at.is_(None))
        .order_by(columns.id)
        .limit(batch_size)
    )
    if skip_types:
        query = query.where(columns.event_type.not_in(sorted(skip_types)))
    if lock:
        query = query.with_for_update(skip_locked=True)
    return [OutboxRow(r.id, r.tenant_id, r.event_type, json.loads(r.payload)) for r in conn.execute(query)]


@dataclass
class _Published:
    confirmed: list[int]
    failure: Exception | None
    unroutable: dict[str, int]  # event type -> rows held back


def _publish_events(
    rows: Sequence[OutboxRow],
    publish: Publish,
    coalescers: Mapping[str, Coalescer],
    optional: Collection[str],
) -> _Published:
    """Publish in order until one fails; return the ids of confirmed rows and the failure. An
    unroutable event holds back the later events of its type only (optional types count as sent)."""
    outcome = _Published([], None, {})
    for event in build_events(rows, coalescers):
        if event.event_type in outcome.unroutable:
            outcome.unroutable[event.event_type] += len(event.row_ids)
            continue
        try:
            publish(event.event_type, event.payload)
        except Unroutable:
            if event.event_type in optional:
                log.debug("optional event %s reached no queue", event.event_type)
                outcome.confirmed.extend(event.row_ids)
            else:
                outcome.unroutable[event.event_type] = len(event.row_ids)
            continue
        except Exception as exc:
            outcome.failure = exc
            return outcome
        outcome.confirmed.extend(event.row_ids)
    return outcome


def _mark_sent(conn: Connection, table: Table, ids: Sequence[int]) -> None:
    sent_at = datetime.now(UTC)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        conn.execute(
            update(table).where(table.c.id.in_(chunk), table.c.sent_at.is_(None)).values(sent_at=sent_at)
        )


def _finish(outcome: _Published, claimed: int) -> _Pass:
    for event_type, rows in outcome.unroutable.items():
        _warn_unroutable(event_type, rows)
    if outcome.failure is not None:
        log.warning(
            "outbox publish failed; unconfirmed rows stay unsent",
            extra={"marked_sent": len(outcome.confirmed), "claimed": claimed},
        )
        raise outcome.failure
    return _Pass(claimed, len(outcome.confirmed), frozenset(outcome.unroutable))


def relay_pending(
    engine: Engine,
    table: Table,
    publish: Publish,
    *,
    batch_size: int = 500,
    max_batches: int = 20,
    coalescers: Mapping[str, Coalescer] = DEFAULT_COALESCERS,
    optional: Collection[str] = (),
) -> int:
    """Drain the outbox in short transactions until it is empty or `max_batches` were relayed.

    Bounding the number of batches keeps one timer tick short, so a backlog never starves the
    other work of the process; the next tick carries on. Event types found unroutable are left
    out of the later batches of the same call, so their rows never hold up the others.
    """
    total = 0
    skip: frozenset[str] = frozenset()
    for _ in range(max_batches):
        done = _relay_batch(engine, table, publish, batch_size, coalescers, optional, skip)
        total += done.marked
        if done.claimed < batch_size:
            break
        skip |= done.unroutable
    return total


def purge_sent(
    engine: Engine,
    table: Table,
    older_than: timedelta,
    *,
    now: datetime | None = None,
    batch_size: int = 5000,
) -> int:
    """Delete rows sent more than `older_than` ago, in short batches; return how many.

    Each batch is its own transaction so a large purge never holds locks (or SQLite's write lock)
    for long. Unsent rows are never touched, whatever their age.
    """
    cutoff = (now or datetime.now(UTC)) - older_than
    columns = table.c
    total = 0
    while True:
        with engine.begin() as conn:
            ids = (
                conn.execute(
                    select(columns.id)
                    .where(columns.sent_at.is_not(None), columns.sent_at < cutoff)
                    .order_by(columns.id)
                    .limit(batch_size)
                )
                .scalars()
                .all()
            )
            if ids:
                conn.execute(delete(table).where(columns.id.in_(ids)))
        total += len(ids)
        if len(ids) < batch_size:
            return total


def count_unsent(engine: Engine, table: Table) -> int:
    """How many rows wait for the relay (for health checks and tests)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(table.c.sent_at.is_(None))).scalar_one())
