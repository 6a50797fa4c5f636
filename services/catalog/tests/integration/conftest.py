"""A real catalog gRPC server on 127.0.0.1:0 over a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import grpc
import pytest

from catalog.config import load_settings
from catalog.server import build, with_port
from catalog.service import StockLine, StockUnavailable
from omnistock.catalog.v1 import catalog_service_pb2_grpc
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_common.service_auth import internal_metadata
from omnistock_devtools.migrated import migrate


@dataclass
class FakeStock:
    """Records what the import would send to inventory; refuses SKUs starting with REFUSE."""

    calls: list[tuple[CallContext, list[StockLine]]] = field(default_factory=list)
    down: bool = False

    def set_stock(self, ctx: CallContext, lines: Sequence[StockLine]) -> dict[int, str]:
        if self.down:
            raise StockUnavailable("inventory service UNAVAILABLE: connection refused")
        self.calls.append((ctx, list(lines)))
        return {i: "unknown location" for i, line in enumerate(lines) if line.sku.startswith("REFUSE")}


@dataclass
class Catalog:
    stub: catalog_service_pb2_grpc.CatalogServiceStub
    channel: grpc.Channel
    stock: FakeStock
    database_url: str

    def md(self, tenant: str = "tenant-a", role: str = "owner") -> tuple[tuple[str, str], ...]:
        return internal_metadata(tenant, "tester", role)


@pytest.fixture
def catalog(database_url: str) -> Iterator[Catalog]:
    migrate("catalog", database_url)
    engine = make_engine(database_url)
    stock = FakeStock()
    settings = with_port(load_settings({"CATALOG_DATABASE_URL": database_url}), "127.0.0.1", 0)
    running = build(settings, engine=engine, stock=stock)
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield Catalog(catalog_service_pb2_grpc.CatalogServiceStub(channel), channel, stock, database_url)
    finally:
        channel.close()
        running.stop()
        engine.dispose()
