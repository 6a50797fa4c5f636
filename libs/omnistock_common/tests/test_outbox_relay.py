"""Outbox relay: coalescing rules (pure) and the claim/publish/mark cycle on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, event, select, update

from omnistock_common.db import make_engine
from omnistock_common.outbox import add_event, outbox_table
from omnistock_common.outbox_relay import (
    OutboxRow,
    OutgoingEvent,
    Unroutable,
    build_events,
    count_unsent,
    event_id_for,
    mandatory_unless_optional,
    purge_sent,
    relay_once,
    relay_pending,
    unroutable_as,
)

STOCK = "inventory.stock_changed"
LOW = "inventory.low_stock"


class Recorder:
    """A publish function that records what the 'broker' confirmed."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def __call__(self, event_type: str, payload: dict[str, Any]) -> None:
        with self.lock:
            self.events.append((event_type, payload))


class BrokerDown(Exception):
    pass


@pytest.fixture
def outbox(database_url: str) -> Iterator[tuple[Engine, Table]]:
    metadata = MetaData()
    table = outbox_table(metadata)
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield engine, table
    engine.dispose()


def write(engine: Engine, table: Table, events: list[tuple[str, str, dict[str, Any]]]) -> None:
    with engine.begin() as conn:
        for tenant_id, event_type, payload in events:
            add_event(conn, table, tenant_id, event_type, payload)


def unsent_ids(engine: Engine, table: Table) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(table.c.id).where(table.c.sent_at.is_(None)).order_by(table.c.id)).scalars()
        )


# --- pure rules -------------------------------------------------------------------------------


def test_stock_changed_rows_of_one_tenant_merge_keeping_the_highest_version_per_sku() -> None:
    rows = [
        OutboxRow(1, "t1", STOCK, {"sku": "A", "version": 1, "available": 5}),
        OutboxRow(2, "t1", STOCK, {"skus": [{"sku": "B", "version": 4, "available": 1}]}),
        OutboxRow(3, "t2", STOCK, {"sku": "A", "version": 9, "available": 0}),
        OutboxRow(4, "t1", STOCK, {"sku": "A", "version": 3, "available": 2}),
        OutboxRow(5, "t1", STOCK, {"sku": "B", "version": 2, "available": 7}),
    ]
    events = build_events(rows)
    assert [(e.event_type, e.row_ids) for e in events] == [(STOCK, (1, 2, 4, 5)), (STOCK, (3,))]
    t1, t2 = events[0].payload, events[1].payload
    assert t1["tenant_id"] == "t1"
    assert t1["skus"] == [
        {"sku": "A", "version": 3, "available": 2},
        {"sku": "B", "version": 4, "available": 1},
    ]
    assert t2["skus"] == [{"sku": "A", "version": 9, "available": 0}]
    assert t1["event_id"] == event_id_for([5, 4, 2, 1]) != t2["event_id"]


def test_other_event_types_go_one_by_one_in_row_order_with_tenant_and_event_id() -> None:
    rows = [
        OutboxRow(7, "t1", LOW, {"sku": "A", "available": 1}),
        OutboxRow(8, "t1", STOCK, {"sku": "A", "version": 2}),
        OutboxRow(9, "t1", LOW, {"sku": "B", "available": 0, "tenant_id": "t1", "event_id": "given"}),
    ]
    events = build_events(rows)
    assert [(e.event_type, e.row_ids) for e in events] == [(LOW, (7,)), (STOCK, (8,)), (LOW, (9,))]
    assert events[0].payload == {"sku": "A", "available": 1, "tenant_id": "t1", "event_id": event_id_for([7])}
    assert events[2].payload["event_id"] == "given"


def test_a_custom_rule_can_be_plugged_per_event_type() -> None:
    rows = [OutboxRow(1, "t1", "x.y", {"n": 1}), OutboxRow(2, "t1", "x.y", {"n": 2})]

    def only_last(group: list[OutboxRow]) -> list[OutgoingEvent]:
        return [OutgoingEvent("x.y", group[-1].payload, tuple(r.id for r in group))]

    events = build_events(rows, {"x.y": only_last})
    assert [(e.payload, e.row_ids) for e in events] == [({"n": 2}, (1, 2))]


# --- against a real database ------------------------------------------------------------------


def test_relay_publishes_coalesced_events_and_marks_rows_sent(outbox: tuple[Engine, Table]) -> None:
    engine, table = outbox
    write(engine, table, [("t1", STOCK, {"sku": f"S{i % 3}", "version": i}) for i in range(1, 10)])
    write(engine, table, [("t1", LOW, {"sku": "S1", "available": 2})])
    published = Recorder()

    assert relay_once(engine, table, published) == 10
    assert unsent_ids(engine, table) == []
    assert [event_type for event_type, _ in published.events] == [STOCK, LOW]
    assert published.events[0][1]["skus"] == [
        {"sku": "S0", "version": 9},
        {"sku": "S1", "version": 7},
        {"sku": "S2", "version": 8},
    ]
    assert relay_once(engine, table, published) == 0
    assert len(published.events) == 2


def test_a_publish_that_raises_leaves_the_rows_unsent_and_they_go_out_next_time(
    outbox: tuple[Engine, Table],
) -> None:
    engine, table = outbox
    write(engine, table, [("t1", LOW, {"sku": "A"}), ("t1", LOW, {"sku": "B"})])

    def broker_down(event_type: str, payload: dict[str, Any]) -> None:
        raise BrokerDown("no confirm")

    with pytest.raises(BrokerDown):
        relay_once(engine, table, broker_down)
    assert len(unsent_ids(engine, table)) == 2

    published = Recorder()
    assert relay_once(engine, table, published) == 2
    assert [payload["sku"] for _, payload in published.events] == ["A", "B"]
    assert count_unsent(engine, table) == 0


def test_events_confirmed_before_a_failure_stay_marked_and_only_the_rest_is_retried(
    outbox: tuple[Engine, Table],
) -> None:
    engine, table = outbox
    write(engine, table, [("t1", LOW, {"sku": s}) for s in "ABC"])
    first_ids = unsent_ids(engine, table)
    published = Recorder()

    def fails_on_b(event_type: str, payload: dict[str, Any]) -> None:
        if payload["sku"] == "B":
            raise BrokerDown("nack")
        published(event_type, payload)

    with pytest.raises(BrokerDown):
        relay_once(engine, table, fails_on_b)
    assert unsent_ids(engine, table) == first_ids[1:]

    assert relay_once(engine, table, published) == 2
    assert [payload["sku"] for _, payload in published.events] == ["A", "B", "C"]


def test_batch_size_bounds_one_pass_and_relay_pending_drains_in_batches(outbox: tuple[Engine, Table]) -> None:
    engine, table = outbox
    write(engine, table, [("t1", LOW, {"n": n}) for n in range(25)])
    published = Recorder()

    assert relay_once(engine, table, published, batch_size=10) == 10
    assert [payload["n"] for _, payload in published.events] == list(range(10))
    assert relay_pending(engine, table, published, batch_size=10, max_batches=1) == 10
    assert relay_pending(engine, table, published, batch_size=10) == 5
    assert [payload["n"] for _, payload in published.events] == list(range(25))


class NoRoute(Exception):
    """What a broker client raises for a mandatory publish that came back (nameko:
    UndeliverableMessage)."""


class Broker:
    """Routes the event types some consumer has bound a queue for; returns the others."""

    def __init__(self, bound: set[str]) -> None:
        self.bound = bound
        self.routed = Recorder()
        self.returned: list[str] = []

    def __call__(self, event_type: str, payload: dict[str, Any]) -> None:
        if event_type not in self.bound:
            self.returned.append(event_type)
            raise NoRoute(event_type)
        self.routed(event_type, payload)


def test_an_unroutable_event_stays_unsent_and_goes_out_once_a_queue_is_bound(
    outbox: tuple[Engine, Table],
) -> None:
    engine, table = outbox
    write(engine, table, [("t1", "orders.order_imported", {"n": n}) for n in range(3)])
    write(engine, table, [("t1", LOW, {"sku": "A"})])
    broker = Broker(bound={LOW})
    publish = unroutable_as(broker, NoRoute)

    assert relay_pending(engine, table, publish) == 1
    # One attempt for the type: its later events wait behind it (their order is kept).
    assert broker.returned == ["orders.order_imported"]
    assert [e for e, _ in broker.routed.events] == [LOW]
    assert count_unsent(engine, table) == 3

    broker.bound.add("orders.order_imported")
    assert relay_pending(engine, table, publish) == 3
    assert [p["n"] for e, p in broker.routed.events if e == "orders.order_imported"] == [0, 1, 2]
    assert count_unsent(engine, table) == 0


def test_an_optional_event_that_reaches_no_queue_counts_as_sent(outbox: tuple[Engine, Table]) -> None:
    engine, table = outbox
    write(engine, table, [("t1", LOW, {"sku": "A"}), ("t1", STOCK, {"sku": "A", "version": 1})])
    broker = Broker(bound=set())
    publish = unroutable_as(broker, NoRoute)

    assert relay_pending(engine, table, publish, optional={LOW}) == 1
    assert broker.returned == [LOW, STOCK]
    assert [event_type for (event_type,) in _unsent_types(engine, table)] == [STOCK]


def test_optional_types_go_out_without_the_mandatory_flag_and_the_rest_with_it() -> None:
    sent: list[tuple[str, str]] = []
    dispatch = mandatory_unless_optional(
        "channels",
        {"channels.webhook_received"},
        lambda key, payload: sent.append(("mandatory", key)),
        lambda key, payload: sent.append(("plain", key)),
    )

    dispatch("webhook_received", {})
    dispatch("order_received", {})

    assert sent == [("plain", "webhook_received"), ("mandatory", "order_received")]


def test_a_full_batch_of_unroutable_rows_does_not_hold_up_the_other_types(
    outbox: tuple[Engine, Table],
) -> None:
    engine, table = outbox
    write(engine, table, [("t1", "orders.order_imported", {"n": n}) for n in range(10)])
    write(engine, table, [("t1", LOW, {"n": n}) for n in range(3)])
    broker = Broker(bound={LOW})

    assert relay_pending(engine, table, unroutable_as(broker, NoRoute), batch_size=5) == 3
    assert [p["n"] for _, p in broker.routed.events] == [0, 1, 2]
    assert count_unsent(engine, table) == 10


def test_unroutable_as_passes_other_failures_through() -> None:
    def down(event_type: str, payload: dict[str, Any]) -> None:
        raise BrokerDown("no confirm")

    with pytest.raises(BrokerDown):
        unroutable_as(down, NoRoute)("x", {})
    with pytest.raises(Unroutable):
        unroutable_as(Broker(bound=set()), NoRoute)("x", {})


def _unsent_types(engine: Engine, table: Table) -> list[tuple[str]]:
    with engine.connect() as conn:
        query = select(table.c.event_type).where(table.c.sent_at.is_(None)).order_by(table.c.id)
        return [tuple(row) for row in conn.execute(query)]


def test_purge_deletes_only_rows_sent_before_the_cutoff(outbox: tuple[Engine, Table]) -> None:
    engine, table = outbox
    write(engine, table, [("t1", LOW, {"n": n}) for n in range(6)])
    ids = unsent_ids(engine, table)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.id.in_(ids[:3])).values(sent_at=now - timedelta(hours=50)))
        conn.execute(update(table).where(table.c.id == ids[3]).values(sent_at=now - timedelta(hours=1)))

    assert purge_sent(engine, table, timedelta(hours=24), now=now, batch_size=2) == 3
    with engine.connect() as conn:
        left = list(conn.execute(select(table.c.id).order_by(table.c.id)).scalars())
    assert left == ids[3:]
    assert unsent_ids(engine, table) == ids[4:]


@pytest.mark.postgres
def test_two_relays_on_postgres_never_publish_the_same_row(postgres_url: str) -> None:
    """While relay A holds its batch (blocked inside publish), relay B skips it and takes the next."""
    metadata = MetaData()
    table = outbox_table(metadata)
    engine = make_engine(postgres_url)
    metadata.create_all(engine)
    try:
        write(engine, table, [("t1", LOW, {"n": n}) for n in range(10)])
        a_inside_publish = threading.Event()
        release_a = threading.Event()
        published_by_a = Recorder()

        def slow_publish(event_type: str, payload: dict[str, Any]) -> None:
            a_inside_publish.set()
            if not release_a.wait(timeout=60):
                raise BrokerDown("test never released relay A")
            published_by_a(event_type, payload)

        results: dict[str, int] = {}
        relay_a = threading.Thread(
            target=lambda: results.setdefault("a", relay_once(engine, table, slow_publish, batch_size=5))
        )
        relay_a.start()
        assert a_inside_publish.wait(timeout=60)

        published_by_b = Recorder()
        results["b"] = relay_once(engine, table, published_by_b, batch_size=5)
        release_a.set()
        relay_a.join(timeout=60)

        assert results == {"a": 5, "b": 5}
        a_numbers = [payload["n"] for _, payload in published_by_a.events]
        b_numbers = [payload["n"] for _, payload in published_by_b.events]
        assert a_numbers == [0, 1, 2, 3, 4]
        assert b_numbers == [5, 6, 7, 8, 9]
        assert count_unsent(engine, table) == 0
    finally:
        engine.dispose()


def test_writers_are_not_held_up_while_the_relay_waits_for_the_broker(
    outbox: tuple[Engine, Table], database_url: str
) -> None:
    """A slow broker must never stall the service: the relay holds no lock a writer needs."""
    engine, table = outbox
    write(engine, table, [("t1", LOW, {"n": 0})])
    impatient = make_engine(database_url)

    @event.listens_for(impatient, "connect")
    def _short_sqlite_wait(dbapi_conn: Any, _record: Any) -> None:
        if impatient.dialect.name == "sqlite":
            dbapi_conn.execute("PRAGMA busy_timeout = 300")

    def publish_while_the_service_writes(event_type: str, payload: dict[str, Any]) -> None:
        with impatient.begin() as conn:
            if impatient.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL lock_timeout = '300ms'")
            add_event(conn, table, "t1", LOW, {"n": "written while publishing"})

    try:
        assert relay_once(engine, table, publish_while_the_service_writes) == 1
    finally:
        impatient.dispose()
    with engine.connect() as conn:
        left = [row.payload for row in conn.execute(select(table.c.payload).where(table.c.sent_at.is_(None)))]
    assert left == ['{"n":"written while publishing"}']
