"""The real worker: `nameko run --config services/orders/worker.yaml orders.worker` as a child
process on a real RabbitMQ (the vhost of TEST_AMQP_URL) consumes a signed
`channels.order_received` nameko event, stores the order and holds its stock in a real inventory
server, and relays `orders.order_imported` signed; it drops an unsigned event; it relays a
merchant's fulfilment request and records the channel's `channels.order_action_synced` answer.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kombu
import pytest
from nameko.standalone.events import event_dispatcher

from inventory.config import load_settings as load_inventory_settings
from inventory.server import Inventory
from inventory.server import build as build_inventory
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as connector_pb
from omnistock.inventory.v1 import inventory_service_pb2 as inv
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.config import load_internal_auth_settings
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_common.service_auth import event_signature_valid, sign_event
from omnistock_common.timestamps import to_timestamp
from omnistock_devtools.migrated import migrate
from omnistock_devtools.worker_process import event_tap, running_worker
from orders import mapping, service
from orders.domain import FulfillCommand, Order
from orders.inventory_client import InventoryStock
from orders.repository import UnitOfWork

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

QUEUES = (
    "evt-channels-order_received--orders.on_order_received",
    "evt-channels-order_action_synced--orders.on_order_action_synced",
)
TENANT = "worker-tenant"
DEADLINE = 90.0


@pytest.fixture
def inventory_server(make_postgres_database: Callable[[], str]) -> Iterator[Inventory]:
    url = make_postgres_database()
    migrate("inventory", url)
    server = build_inventory(
        load_inventory_settings(
            {"INVENTORY_DATABASE_URL": url, "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"}
        )
    )
    yield server
    server.stop()


def _queues_bound(url: str) -> bool:
    try:
        with kombu.Connection(url, connect_timeout=5) as conn:
            for name in QUEUES:
                conn.default_channel.queue_declare(name, passive=True)
        return True
    except Exception:
        return False


def _purge_leftovers(url: str) -> None:
    """Events a previous run left in the durable queues must not reach this run's worker."""
    with kombu.Connection(url, connect_timeout=5) as conn:
        for name in QUEUES:
            with contextlib.suppress(Exception):
                conn.default_channel.queue_purge(name)


def channel_order(external_id: str) -> connector_pb.ChannelOrder:
    return connector_pb.ChannelOrder(
        external_id=external_id,
        external_name=f"#{external_id}",
        status=connector_pb.ORDER_STATUS_PAID,
        raw_status="paid",
        customer_email="eve@example.com",
        total=common_pb2.Money(amount_minor=3000, currency="USD"),
        lines=[
            connector_pb.OrderLine(
                external_line_id=f"{external_id}-1",
                sku="MUG",
                quantity=3,
                unit_price=common_pb2.Money(amount_minor=1000, currency="USD"),
            )
        ],
        created_at=to_timestamp(datetime(2026, 12, 1, tzinfo=UTC)),
        updated_at=to_timestamp(datetime(2026, 12, 1, 0, 5, tzinfo=UTC)),
        channel_status={"financial_status": "paid"},
        raw_json='{"id": ' + external_id + "}",
    )


def order_received(external_id: str) -> dict[str, Any]:
    payload = mapping.channel_order_payload(
        channel_order(external_id), "conn-shop", "shopify", "webhook", datetime.now(UTC)
    )
    return {"tenant_id": TENANT, **payload}


def find_order(uow: UnitOfWork, external_id: str) -> Order | None:
    with uow.transaction() as repo:
        order_id = repo.order_id_by_key(TENANT, "conn-shop", external_id, lock=False)
        return repo.load_order(TENANT, order_id) if order_id else None


def test_the_worker_consumes_signed_order_events_and_publishes_signed_orders_events(
    postgres_url: str, inventory_server: Inventory, amqp_url: str, tmp_path: Path
) -> None:
    migrate("orders", postgres_url)
    inventory_addr = f"127.0.0.1:{inventory_server.port}"
    with make_channel(inventory_addr) as channel:
        stub = DeadlineStub(inv_grpc.InventoryServiceStub(channel), 10.0).call(CallContext(tenant_id=TENANT))
        stub.Adjust(
            inv.AdjustRequest(
                line=inv.AdjustmentLine(sku="MUG", set=10, reason=inv.ADJUSTMENT_REASON_RECEIVED)
            )
        )
        env = {
            **os.environ,
            "ORDERS_DATABASE_URL": postgres_url,
            "INVENTORY_ADDR": inventory_addr,
            "AMQP_URL": amqp_url,
            "EVENTLET_THREADPOOL_SIZE": "16",
            "LOG_LEVEL": "INFO",
            "PYTHONWARNINGS": "ignore",
        }
        secret = load_internal_auth_settings(env).token_secret
        engine = make_engine(postgres_url)
        uow = UnitOfWork(engine)
        try:
            with event_tap(amqp_url, "orders.events", prefix="test-orders-events") as events:
                _purge_leftovers(amqp_url)
                with running_worker(
                    "services/orders/worker.yaml",
                    "orders.worker",
                    env=env,
                    log_path=tmp_path / "worker.log",
                    deadline=DEADLINE,
                ) as worker:

                    def wait_for(condition: Callable[[], bool]) -> None:
                        worker.wait_until(condition, interval=0, between=events.drain, timeout=DEADLINE)

                    wait_for(lambda: _queues_bound(amqp_url))
                    dispatch = event_dispatcher({"AMQP_URI": amqp_url})
                    signed = sign_event(secret, "channels.order_received", order_received("5001"))
                    forged = order_received("6666")  # anyone who can reach the broker: unsigned
                    # The queue exists a moment before its binding does: publish until it lands (the
                    # same version again is harmless, consumers are idempotent).
                    published_at = 0.0

                    def imported() -> bool:
                        nonlocal published_at
                        if time.monotonic() - published_at > 5:
                            dispatch("channels", "order_received", forged)
                            dispatch("channels", "order_received", signed)
                            published_at = time.monotonic()
                        return any(key == "order_imported" for key, _ in events.received)

                    wait_for(imported)
                    order = find_order(uow, "5001")
                    assert (
                        order is not None and order.reservation_id and order.lines[0].quantity_reserved == 3
                    )
                    assert stub.GetSkuStock(inv.GetSkuStockRequest(sku="MUG")).reserved == 3  # one hold
                    (body,) = [b for key, b in events.received if key == "order_imported"]
                    assert body["order_id"] == order.id and body["tenant_id"] == TENANT
                    assert event_signature_valid(secret, "orders.order_imported", body)
                    wait_for(lambda: "dropped an unsigned or forged channels.order_received" in worker.log())
                    assert find_order(uow, "6666") is None

                    # A merchant ships it: the worker relays the request; the channel's answer comes back.
                    stock = InventoryStock(inventory_addr, 10.0)
                    try:
                        _, fulfillment = service.fulfill_order(
                            uow, stock, CallContext(tenant_id=TENANT), FulfillCommand(order.id, "UPS", "1Z9")
                        )
                    finally:
                        stock.close()
                    wait_for(lambda: any(k == "fulfillment_requested" for k, _ in events.received))
                    (request,) = [b for key, b in events.received if key == "fulfillment_requested"]
                    assert request["lines"] == [{"external_line_id": "5001-1", "sku": "MUG", "quantity": 3}]
                    assert event_signature_valid(secret, "orders.fulfillment_requested", request)
                    answer = {
                        "tenant_id": TENANT,
                        "order_id": order.id,
                        "action": "fulfillment",
                        "fulfillment_id": fulfillment.id,
                        "outcome": "synced",
                        "external_id": "gid://shopify/Fulfillment/1",
                        "message": "",
                    }
                    dispatch(
                        "channels",
                        "order_action_synced",
                        sign_event(secret, "channels.order_action_synced", answer),
                    )

                    def synced() -> bool:
                        current = find_order(uow, "5001")
                        return current is not None and current.fulfillments[0].sync_state.value == "SYNCED"

                    wait_for(synced)
                    assert stub.GetSkuStock(inv.GetSkuStockRequest(sku="MUG")).on_hand == 7
        finally:
            engine.dispose()
