"""The worker's jobs (orders.jobs) on a real database and a real inventory server, with a fake
broker: what they accept, what they drop, and that every relayed event is signed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as connector_pb
from omnistock_common.config import DEV_INTERNAL_TOKEN_SECRET
from omnistock_common.outbox_relay import count_unsent
from omnistock_common.service_auth import event_signature_valid, sign_event
from omnistock_common.timestamps import to_timestamp
from orders import mapping, models
from orders.domain import OrderFilter
from orders.inventory_client import InventoryStock
from orders.jobs import ORDER_RECEIVED, WorkerJobs
from orders.repository import UnitOfWork

SECRET = DEV_INTERNAL_TOKEN_SECRET
TENANT = "tenant-a"


@pytest.fixture
def jobs(engine: Engine, uow: UnitOfWork, stock: InventoryStock) -> WorkerJobs:
    return WorkerJobs(engine, uow, stock, SECRET)


def received(external_id: str = "9001", *, customer: str = "Zoe", tenant: str = TENANT) -> dict[str, Any]:
    order = connector_pb.ChannelOrder(
        external_id=external_id,
        status=connector_pb.ORDER_STATUS_PENDING,
        customer_name=customer,
        total=common_pb2.Money(amount_minor=100, currency="USD"),
        lines=[connector_pb.OrderLine(external_line_id="1", sku="A", quantity=1)],
        updated_at=to_timestamp(datetime(2026, 12, 1, tzinfo=UTC)),
    )
    payload = mapping.channel_order_payload(order, "conn-1", "woocommerce", "poll", datetime.now(UTC))
    return {"tenant_id": tenant, **payload}


def signed(payload: dict[str, Any]) -> dict[str, Any]:
    return sign_event(SECRET, ORDER_RECEIVED, payload)


def orders_of(uow: UnitOfWork) -> list[Any]:
    with uow.transaction() as repo:
        return repo.list_orders(TENANT, OrderFilter(), None, 100)


def test_signed_events_are_applied_everything_else_is_dropped(
    jobs: WorkerJobs, uow: UnitOfWork, set_stock: Any
) -> None:
    set_stock("A", 5)
    assert not jobs.on_order_received(received("1"))  # unsigned
    tampered = signed(received("2"))
    tampered["order"]["external_id"] = "3"
    assert not jobs.on_order_received(tampered)  # signed, then changed
    assert not jobs.on_order_received(
        signed({"tenant_id": TENANT, "connection_id": "c", "order": {}})
    )  # malformed
    assert not jobs.on_order_received(signed(received("4", tenant="")))  # no tenant
    assert orders_of(uow) == []
    assert jobs.on_order_received(signed(received("5")))
    (order,) = orders_of(uow)
    assert (order.source, order.external_id, order.lines[0].quantity_reserved) == ("WOOCOMMERCE", "5", 1)


def test_an_order_the_database_cannot_store_is_dropped_not_requeued(
    jobs: WorkerJobs, uow: UnitOfWork, orders_url: str
) -> None:
    if not orders_url.startswith("postgresql"):
        pytest.skip("SQLite stores NUL characters; PostgreSQL text cannot")
    assert not jobs.on_order_received(signed(received("6", customer="bad\x00name")))
    assert orders_of(uow) == []


def test_the_relay_signs_every_event_and_marks_it_sent(
    jobs: WorkerJobs, engine: Engine, set_stock: Any
) -> None:
    set_stock("A", 5)
    assert jobs.on_order_received(signed(received("7")))
    sent: list[tuple[str, dict[str, Any]]] = []
    assert jobs.relay(lambda key, payload: sent.append((key, payload))) == 1
    ((key, payload),) = sent
    assert key == "order_imported" and payload["tenant_id"] == TENANT and payload["event_id"]
    assert event_signature_valid(SECRET, "orders.order_imported", payload)
    assert count_unsent(engine, models.outbox) == 0


def test_action_synced_events(jobs: WorkerJobs, set_stock: Any) -> None:
    answer = {"tenant_id": TENANT, "order_id": "nope", "action": "cancel", "outcome": "synced"}
    assert not jobs.on_action_synced(answer)  # unsigned
    assert not jobs.on_action_synced(
        sign_event(SECRET, "channels.order_action_synced", answer)
    )  # unknown order
