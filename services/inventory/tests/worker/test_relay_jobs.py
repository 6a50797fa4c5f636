"""The worker's jobs (inventory.relay) on a real database, with a fake broker.

These run without nameko or RabbitMQ: the broker is the `dispatch` callable the jobs receive.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from inventory import models, relay
from inventory.relay import WorkerJobs
from inventory.repository import UnitOfWork
from omnistock_common.outbox import add_event
from omnistock_common.outbox_relay import count_unsent


class FakeBroker:
    """Records confirmed messages; can be told to refuse (no confirm) from now on."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.down = False

    def __call__(self, routing_key: str, payload: dict[str, Any]) -> None:
        if self.down:
            raise ConnectionError("broker did not confirm")
        self.messages.append((routing_key, payload))


@pytest.fixture
def jobs(database_url: str) -> Iterator[WorkerJobs]:
    from omnistock_common.db import make_engine

    engine = make_engine(database_url)
    models.metadata.create_all(engine)
    yield WorkerJobs(engine=engine, uow=UnitOfWork(engine))
    engine.dispose()


def stock_changed(sku: str, version: int, available: int) -> dict[str, Any]:
    return {"skus": [{"sku": sku, "version": version, "available": available, "channels": []}]}


def test_relay_coalesces_stock_changes_per_tenant_and_routes_by_event_name(jobs: WorkerJobs) -> None:
    with jobs.engine.begin() as conn:
        for version in range(1, 6):
            add_event(
                conn,
                models.outbox,
                "t1",
                "inventory.stock_changed",
                stock_changed("A", version, 10 - version),
            )
        add_event(conn, models.outbox, "t1", "inventory.stock_changed", stock_changed("B", 3, 1))
        add_event(conn, models.outbox, "t2", "inventory.stock_changed", stock_changed("A", 1, 7))
        add_event(
            conn, models.outbox, "t1", "inventory.low_stock", {"sku": "B", "available": 1, "threshold": 5}
        )
    broker = FakeBroker()

    assert jobs.relay(broker) == 8
    assert [key for key, _ in broker.messages] == ["stock_changed", "stock_changed", "low_stock"]
    t1, t2, low = (payload for _, payload in broker.messages)
    assert (t1["tenant_id"], [(e["sku"], e["version"], e["available"]) for e in t1["skus"]]) == (
        "t1",
        [("A", 5, 5), ("B", 3, 1)],
    )
    assert (t2["tenant_id"], [(e["sku"], e["version"]) for e in t2["skus"]]) == ("t2", [("A", 1)])
    assert low["sku"] == "B" and low["tenant_id"] == "t1"
    assert count_unsent(jobs.engine, models.outbox) == 0


def test_rows_stay_unsent_while_the_broker_does_not_confirm(jobs: WorkerJobs) -> None:
    with jobs.engine.begin() as conn:
        add_event(conn, models.outbox, "t1", "inventory.stock_changed", stock_changed("A", 1, 3))
    broker = FakeBroker()
    broker.down = True

    with pytest.raises(ConnectionError):
        jobs.relay(broker)
    assert count_unsent(jobs.engine, models.outbox) == 1

    broker.down = False
    assert jobs.relay(broker) == 1
    assert broker.messages[0][1]["skus"][0]["version"] == 1


def test_purge_keeps_unsent_and_recent_rows(jobs: WorkerJobs) -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    jobs.clock = lambda: now
    with jobs.engine.begin() as conn:
        for n in range(3):
            add_event(conn, models.outbox, "t1", "inventory.low_stock", {"n": n})
    o = models.outbox
    with jobs.engine.begin() as conn:
        ids = list(conn.execute(select(o.c.id).order_by(o.c.id)).scalars())
        conn.execute(
            update(o).where(o.c.id == ids[0]).values(sent_at=now - relay.OUTBOX_RETENTION - timedelta(1))
        )
        conn.execute(update(o).where(o.c.id == ids[1]).values(sent_at=now - timedelta(hours=1)))

    assert jobs.purge_outbox() == 1
    with jobs.engine.connect() as conn:
        assert list(conn.execute(select(o.c.id).order_by(o.c.id)).scalars()) == ids[1:]


def test_routing_key_strips_only_the_own_service_prefix() -> None:
    assert relay.routing_key("inventory.stock_changed") == "stock_changed"
    assert relay.routing_key("low_stock") == "low_stock"
    assert relay.routing_key("catalog.product_changed") == "catalog.product_changed"


def test_expiry_job_releases_a_due_hold_exactly_once(jobs: WorkerJobs) -> None:
    from inventory import service
    from inventory.domain import AdjustmentLine, AdjustmentReason, ReserveLineInput
    from omnistock_common.context import CallContext

    ctx = CallContext(tenant_id="t1", user_id="u1")
    start = datetime(2026, 5, 1, 12, tzinfo=UTC)
    line = AdjustmentLine("A", "", None, 5, AdjustmentReason.RECEIVED)
    service.adjust(jobs.uow, ctx, line, jobs.policy, now=start)
    held = service.reserve(
        jobs.uow,
        ctx,
        service.ReserveCommand("order-1", [ReserveLineInput("A", 2)], ttl_seconds=60),
        jobs.policy,
        now=start,
    )

    jobs.clock = lambda: start + timedelta(seconds=30)
    assert jobs.expire_reservations() == 0
    jobs.clock = lambda: start + timedelta(seconds=61)
    assert jobs.expire_reservations() == 1
    assert jobs.expire_reservations() == 0

    assert service.get_reservation(jobs.uow, ctx, held.id).status.value == "EXPIRED"
    assert service.get_sku_stock(jobs.uow, ctx, "A", jobs.policy)[0].available == 5


def test_an_oversold_order_opens_one_alert_per_short_line_once(jobs: WorkerJobs) -> None:
    from inventory import service
    from inventory.domain import AlertKind, AlertStatus
    from omnistock_common.context import CallContext

    event = {
        "tenant_id": "t1",
        "order_id": "o-1",
        "lines": [
            {"sku": "A", "requested": 3, "reserved": 2},
            {"sku": "B", "requested": 1, "reserved": 1},  # fully held: nothing to alert
        ],
    }
    assert jobs.open_oversold_alerts(event) == 1
    assert jobs.open_oversold_alerts(event) == 0  # a re-delivered event opens nothing twice
    assert jobs.open_oversold_alerts({"tenant_id": "t1", "lines": [{"sku": "A"}]}) == 0  # malformed

    alerts, _ = service.list_alerts(jobs.uow, CallContext(tenant_id="t1"), AlertStatus.OPEN)
    assert [(a.kind, a.sku, a.reference, a.quantity_short) for a in alerts] == [
        (AlertKind.OVERSOLD, "A", "orders:o-1", 1)
    ]
    assert service.list_alerts(jobs.uow, CallContext(tenant_id="t2"), None)[0] == []
