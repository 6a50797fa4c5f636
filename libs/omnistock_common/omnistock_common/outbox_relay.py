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
- The library knows nothing of nameko, kombu or eventlet: `publish(event_type, payload)` is any
  callable that returns once the broker confirmed and raises otherwise.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select, update

log = logging.getLogger(__name__)

# Returns once the broker confirmed the event; raises when it did not.
Publish = Callable[[str, dict[str, Any]], None]

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


def relay_once(
    engine: Engine,
    table: Table,
    publish: Publish,
    *,
    batch_size: int = 500,
    coalescers: Mapping[str, Coalescer] = DEFAULT_COALESCERS,
) -> int:
    """Publish up to `batch_size` unsent rows; return how many rows were marked sent.

    When `publish` raises, the rows of the events already confirmed are still marked sent (so
    they are not repeated needlessly), the rest stay unsent, and the error propagates to the
    caller, which simply tries again on its next tick.
    """
    if engine.dialect.name == "sqlite":
        return _relay_once_sqlite(engine, table, publish, batch_size, coalescers)
    failure: Exception | None = None
    with engine.begin() as conn:
        # Row locks on the claimed outbox rows only: services keep inserting new rows meanwhile,
        # and another relay skips these and takes the next batch.
        rows = _claim(conn, table, batch_size, lock=True)
        if not rows:
            return 0
        confirmed, failure = _publish_events(rows, publish, coalescers)
        _mark_sent(conn, table, confirmed)
    return _finish(len(confirmed), len(rows), failure)


def _relay_once_sqlite(
    engine: Engine, table: Table, publish: Publish, batch_size: int, coalescers: Mapping[str, Coalescer]
) -> int:
    """SQLite variant: read, publish OUTSIDE any transaction, then mark in a second short one.

    Every SQLite transaction here holds the database-wide write lock (BEGIN IMMEDIATE), so
    publishing inside it would stop every writer of the service for as long as the broker takes
    to confirm, and for the whole of a broker outage (measured: nameko's dispatcher keeps retrying
    until the broker is back). The price is that two relays on one SQLite file could publish the
    same row twice; that is a duplicate, which consumers ignore by version, never a loss.
    """
    with engine.begin() as conn:
        rows = _claim(conn, table, batch_size, lock=False)
    if not rows:
        return 0
    confirmed, failure = _publish_events(rows, publish, coalescers)
    if confirmed:
        with engine.begin() as conn:
            _mark_sent(conn, table, confirmed)
    return _finish(len(confirmed), len(rows), failure)


def _claim(conn: Connection, table: Table, batch_size: int, *, lock: bool) -> list[OutboxRow]:
    columns = table.c
    query = (
        select(columns.id, columns.tenant_id, columns.event_type, columns.payload)
        .where(columns.sent_at.is_(None))
        .order_by(columns.id)
        .limit(batch_size)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return [OutboxRow(r.id, r.tenant_id, r.event_type, json.loads(r.payload)) for r in conn.execute(query)]


def _publish_events(
    rows: Sequence[OutboxRow], publish: Publish, coalescers: Mapping[str, Coalescer]
) -> tuple[list[int], Exception | None]:
    """Publish in order until one fails; return the ids of confirmed rows and the failure."""
    confirmed: list[int] = []
    for event in build_events(rows, coalescers):
        try:
            publish(event.event_type, event.payload)
        except Exception as exc:
            return confirmed, exc
        confirmed.extend(event.row_ids)
    return confirmed, None


def _mark_sent(conn: Connection, table: Table, ids: Sequence[int]) -> None:
    sent_at = datetime.now(UTC)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        conn.execute(
            update(table).where(table.c.id.in_(chunk), table.c.sent_at.is_(None)).values(sent_at=sent_at)
        )


def _finish(marked: int, claimed: int, failure: Exception | None) -> int:
    if failure is not None:
        log.warning(
            "outbox publish failed; unconfirmed rows stay unsent",
            extra={"marked_sent": marked, "claimed": claimed},
        )
        raise failure
    return marked


def relay_pending(
    engine: Engine,
    table: Table,
    publish: Publish,
    *,
    batch_size: int = 500,
    max_batches: int = 20,
    coalescers: Mapping[str, Coalescer] = DEFAULT_COALESCERS,
) -> int:
    """Drain the outbox in short transactions until it is empty or `max_batches` were relayed.

    Bounding the number of batches keeps one timer tick short, so a backlog never starves the
    other work of the process; the next tick carries on.
    """
    total = 0
    for _ in range(max_batches):
        sent = relay_once(engine, table, publish, batch_size=batch_size, coalescers=coalescers)
        total += sent
        if sent < batch_size:
            break
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
