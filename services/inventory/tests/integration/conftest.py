"""Fixtures of the inventory integration tests: a migrated database, a real gRPC server on
127.0.0.1:0 built by the composition root, and tenant-scoped clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from sqlalchemy import Engine

from inventory.config import load_settings
from inventory.repository import UnitOfWork
from inventory.server import Inventory, build
from omnistock.inventory.v1 import inventory_service_pb2_grpc as pb_grpc
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_devtools.migrated import migrate

Client = Any  # a bound InventoryServiceStub (DeadlineStub.call(...)) — every call has a deadline


@pytest.fixture
def migrated_url(database_url: str) -> str:
    migrate("inventory", database_url)
    return database_url


@pytest.fixture
def server(migrated_url: str) -> Iterator[Inventory]:
    settings = load_settings(
        {"INVENTORY_DATABASE_URL": migrated_url, "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"}
    )
    inventory = build(settings)
    yield inventory
    inventory.stop()


@pytest.fixture
def channel(server: Inventory) -> Iterator[grpc.Channel]:
    with make_channel(f"127.0.0.1:{server.port}") as ch:
        yield ch


@pytest.fixture
def client_for(channel: grpc.Channel) -> Callable[..., Client]:
    """client_for("tenant-b") -> a stub whose calls carry that tenant (and user u1)."""
    stub = DeadlineStub(pb_grpc.InventoryServiceStub(channel), timeout=30.0)

    def make(tenant: str = "tenant-a", user: str = "u1") -> Client:
        return stub.call(CallContext(tenant_id=tenant, user_id=user))

    return make


@pytest.fixture
def client(client_for: Callable[..., Client]) -> Client:
    return client_for("tenant-a")


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    eng = make_engine(migrated_url)
    yield eng
    eng.dispose()


@pytest.fixture
def uow(engine: Engine) -> UnitOfWork:
    """Direct access to the service layer on the server's database (SQLite and PostgreSQL)."""
    return UnitOfWork(engine)
