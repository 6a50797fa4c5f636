"""Fixtures of the orders integration tests: a real inventory gRPC server and a real orders gRPC
server (both on 127.0.0.1:0, built by their composition roots), each on its own migrated
database: SQLite files, or PostgreSQL databases for the `postgres` run of `database_url`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from inventory.config import load_settings as load_inventory_settings
from inventory.server import Inventory
from inventory.server import build as build_inventory
from omnistock.inventory.v1 import inventory_service_pb2 as inv
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from omnistock.orders.v1 import orders_service_pb2_grpc as pb_grpc
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_devtools.migrated import migrate
from orders.config import load_settings
from orders.domain import Policy
from orders.inventory_client import InventoryStock
from orders.repository import UnitOfWork
from orders.server import Orders, build

TENANT = "tenant-a"
Client = Any  # a bound stub: DeadlineStub.call(ctx)


@pytest.fixture
def orders_url(database_url: str) -> str:
    migrate("orders", database_url)
    return database_url


@pytest.fixture
def inventory_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Inventory's own database, of the same kind as the orders one."""
    if database_url.startswith("postgresql"):
        url = request.getfixturevalue("make_postgres_database")()
    else:
        url = f"sqlite:///{tmp_path / 'inventory.db'}"
    migrate("inventory", url)
    return url


@pytest.fixture
def inventory_server(inventory_url: str) -> Iterator[Inventory]:
    settings = load_inventory_settings(
        {"INVENTORY_DATABASE_URL": inventory_url, "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"}
    )
    server = build_inventory(settings)
    yield server
    server.stop()


@pytest.fixture
def inventory_addr(inventory_server: Inventory) -> str:
    return f"127.0.0.1:{inventory_server.port}"


@pytest.fixture
def orders_server(orders_url: str, inventory_addr: str) -> Iterator[Orders]:
    settings = load_settings(
        {
            "ORDERS_DATABASE_URL": orders_url,
            "ORDERS_GRPC_PORT": "0",
            "INVENTORY_ADDR": inventory_addr,
            "LOG_LEVEL": "WARNING",
        }
    )
    server = build(settings)
    yield server
    server.stop()


@pytest.fixture
def client_for(orders_server: Orders) -> Iterator[Callable[..., Client]]:
    """client_for("tenant-b", role="viewer") -> an orders stub acting for that caller."""
    with make_channel(f"127.0.0.1:{orders_server.port}") as channel:
        stub = DeadlineStub(pb_grpc.OrdersServiceStub(channel), timeout=30.0)

        def make(tenant: str = TENANT, role: str = "staff") -> Client:
            return stub.call(CallContext(tenant_id=tenant, user_id="u1", role=role))

        yield make


@pytest.fixture
def client(client_for: Callable[..., Client]) -> Client:
    return client_for()


@pytest.fixture
def inventory(inventory_addr: str) -> Iterator[Client]:
    """An inventory stub for the tenant (stock the tests start from, figures they check)."""
    with make_channel(inventory_addr) as channel:
        yield DeadlineStub(inv_grpc.InventoryServiceStub(channel), timeout=30.0).call(
            CallContext(tenant_id=TENANT)
        )


@pytest.fixture
def engine(orders_url: str) -> Iterator[Engine]:
    eng = make_engine(orders_url)
    yield eng
    eng.dispose()


@pytest.fixture
def uow(engine: Engine) -> UnitOfWork:
    """The service layer on the orders server's database (the worker's path)."""
    return UnitOfWork(engine)


@pytest.fixture
def stock(inventory_addr: str) -> Iterator[InventoryStock]:
    port = InventoryStock(inventory_addr, timeout=30.0)
    yield port
    port.close()


@pytest.fixture
def policy() -> Policy:
    return Policy()


@pytest.fixture
def set_stock(inventory: Client) -> Callable[[str, int], None]:
    """set_stock("A", 5): the tenant's on-hand of A at the default location becomes 5."""

    def adjust(sku: str, quantity: int) -> None:
        line = inv.AdjustmentLine(sku=sku, set=quantity, reason=inv.ADJUSTMENT_REASON_CYCLE_COUNT)
        inventory.Adjust(inv.AdjustRequest(line=line))

    return adjust


@pytest.fixture
def figures(inventory: Client) -> Callable[[str], tuple[int, int, int]]:
    """figures("A") -> (on_hand, reserved, available) of A in inventory."""

    def read(sku: str) -> tuple[int, int, int]:
        level = inventory.GetSkuStock(inv.GetSkuStockRequest(sku=sku))
        return level.on_hand, level.reserved, level.available

    return read
