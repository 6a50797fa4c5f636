"""Server plumbing: health, reflection, migrations, settings and the inventory adapter."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from typing import TYPE_CHECKING

import grpc
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from catalog import models
from catalog.config import load_settings
from catalog.inventory_client import InventoryStock
from catalog.server import SERVICE_NAME
from catalog.service import StockLine, StockUnavailable
from omnistock.inventory.v1 import inventory_service_pb2 as inv
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.config import ConfigError
from omnistock_common.context import CallContext, call_context
from omnistock_common.db import make_engine

if TYPE_CHECKING:
    from conftest import Catalog  # type: ignore[import-not-found]


def test_health_is_serving_and_reflection_lists_the_service(catalog: Catalog) -> None:
    health = health_pb2_grpc.HealthStub(catalog.channel)
    for name in ("", SERVICE_NAME):
        response = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(catalog.channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    (answer,) = list(reflection.ServerReflectionInfo(iter([request]), timeout=5))
    names = {s.name for s in answer.list_services_response.service}
    assert {"omnistock.catalog.v1.CatalogService", "grpc.health.v1.Health"} <= names


def test_migrations_match_the_models(database_url: str) -> None:
    from omnistock_devtools.migrated import migrate

    migrate("catalog", database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), models.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_migrate_all_uses_the_catalog_settings(tmp_path: os.PathLike[str]) -> None:
    db = f"{tmp_path}/migrated.db"
    env = {**os.environ, "CATALOG_DATABASE_URL": f"sqlite:///{db}"}
    subprocess.run(
        [sys.executable, "-m", "omnistock_common.migrate_all", "catalog"], env=env, check=True, timeout=120
    )
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            tables = set(connection.dialect.get_table_names(connection))
    finally:
        engine.dispose()
    assert {"products", "variants", "alembic_version"} <= tables


def test_settings_are_validated() -> None:
    settings = load_settings({"INVENTORY_ADDR": "inventory:50052", "CATALOG_GRPC_PORT": "6000"})
    assert (settings.inventory_addr, settings.bind_address) == ("inventory:50052", "127.0.0.1:6000")
    with pytest.raises(ConfigError) as exc:
        load_settings({"CATALOG_DATABASE_URL": "mysql://x", "CATALOG_INVENTORY_TIMEOUT_SECONDS": "soon"})
    assert "CATALOG_DATABASE_URL" in str(exc.value) and "CATALOG_INVENTORY_TIMEOUT_SECONDS" in str(exc.value)


class FakeInventory(inv_grpc.InventoryServiceServicer):
    """Refuses lines for location NOWHERE; fails the whole call for SKU BOOM."""

    def __init__(self) -> None:
        self.requests: list[tuple[inv.BatchAdjustRequest, CallContext]] = []

    def BatchAdjust(
        self, request: inv.BatchAdjustRequest, context: grpc.ServicerContext
    ) -> inv.BatchAdjustResponse:
        # A bare grpc server (no interceptor): call_context verifies the internal token itself.
        self.requests.append((request, call_context(context)))
        if any(line.sku == "BOOM" for line in request.lines):
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "no default location")
        results = []
        for i, line in enumerate(request.lines):
            if line.location_code == "NOWHERE":
                error = inv.LineError(
                    code="NOT_FOUND", field="location_code", message="unknown location NOWHERE"
                )
                results.append(inv.BatchAdjustLineResult(index=i, error=error))
            elif i < 2:  # a broken server that forgets lines past the second
                results.append(
                    inv.BatchAdjustLineResult(index=i, level=inv.StockLevel(sku=line.sku, on_hand=line.set))
                )
        return inv.BatchAdjustResponse(results=results)


@pytest.fixture
def inventory() -> Iterator[tuple[FakeInventory, InventoryStock]]:
    fake = FakeInventory()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    inv_grpc.add_InventoryServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = make_channel(f"127.0.0.1:{port}")
    try:
        yield fake, InventoryStock(DeadlineStub(inv_grpc.InventoryServiceStub(channel), timeout=5))
    finally:
        channel.close()
        server.stop(0)


def test_inventory_adapter_sends_set_lines_with_the_callers_context(
    inventory: tuple[FakeInventory, InventoryStock],
) -> None:
    fake, stock = inventory
    ctx = CallContext(tenant_id="tenant-x", user_id="u1", request_id="req-1")
    refused = stock.set_stock(
        ctx, [StockLine("A", "WH1", 5), StockLine("B", "NOWHERE", 1), StockLine("C", "", 0)]
    )
    assert refused == {
        1: "inventory refused the quantity (NOT_FOUND): unknown location NOWHERE",
        2: "inventory returned no result for this line; stock not confirmed",
    }
    (request, caller) = fake.requests[0]
    assert [(line.sku, line.location_code, line.set) for line in request.lines] == [
        ("A", "WH1", 5),
        ("B", "NOWHERE", 1),
        ("C", "", 0),
    ]
    assert all(line.WhichOneof("change") == "set" for line in request.lines)
    assert {line.reason for line in request.lines} == {inv.ADJUSTMENT_REASON_IMPORT}
    assert {line.reference for line in request.lines} == {"catalog-import"}
    assert (caller.tenant_id, caller.user_id, caller.request_id) == (
        "tenant-x",
        "u1",
        "req-1",
    )
    with pytest.raises(StockUnavailable, match="FAILED_PRECONDITION"):
        stock.set_stock(ctx, [StockLine("BOOM", "", 1)])


def test_inventory_adapter_reports_an_unreachable_service() -> None:
    stock = InventoryStock.connect("127.0.0.1:1", timeout=1.0)
    with pytest.raises(StockUnavailable, match="UNAVAILABLE"):
        stock.set_stock(CallContext(tenant_id="t"), [StockLine("A", "", 1)])
