"""End-to-end stack: the real gateway app in front of the real catalog gRPC server.

Each service has its own migrated database (SQLite files, or two fresh PostgreSQL databases),
the gateway uses the real Redis, and the catalog listens on 127.0.0.1:0. Inventory's
readiness is played by a bare gRPC server with only the health service (the gateway only asks
it for grpc.health.v1), so /readyz can be observed going from 200 to 503.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalog.config import load_settings as load_catalog_settings
from catalog.server import Catalog, with_port
from catalog.server import build as build_catalog
from gateway.app import create_app
from gateway.config import Settings
from omnistock_common.db import make_engine
from omnistock_common.grpc_server import RunningServer, build_server
from omnistock_devtools.migrated import migrate

JWT_SECRET = "e2e-secret-" + "q" * 40
PASSWORD = "correct-horse-battery"


@dataclass
class Stack:
    app: Flask
    client: FlaskClient
    catalog: Catalog
    inventory: RunningServer
    settings: Settings
    password: str = PASSWORD

    def register(self, tenant: str, email: str) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/auth/register", json={"tenant_name": tenant, "email": email, "password": self.password}
        )
        assert response.status_code == 201, response.json
        return response.json

    def login(self, email: str) -> dict[str, Any]:
        response = self.client.post("/api/v1/auth/login", json={"email": email, "password": self.password})
        assert response.status_code == 200, response.json
        return response.json


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service_databases(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(gateway URL, catalog URL): one database per service, as in production."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}", f"sqlite:///{tmp_path / 'catalog.db'}"
    make: Callable[[], str] = request.getfixturevalue("make_postgres_database")
    return make(), make()


@pytest.fixture
def stack(service_databases: tuple[str, str], redis_url: str) -> Iterator[Stack]:
    gateway_url, catalog_url = service_databases
    migrate("gateway", gateway_url)
    migrate("catalog", catalog_url)

    catalog_engine = make_engine(catalog_url)
    catalog_settings = with_port(load_catalog_settings({"CATALOG_DATABASE_URL": catalog_url}), "127.0.0.1", 0)
    catalog = build_catalog(catalog_settings, engine=catalog_engine)
    inventory = build_server([], ["omnistock.inventory.v1.InventoryService"], "127.0.0.1:0", max_workers=2)

    catalog_addr = f"127.0.0.1:{catalog.port}"
    settings = Settings(
        database_url=gateway_url,
        redis_url=redis_url,
        jwt_secret=JWT_SECRET,
        catalog_addr=catalog_addr,
        inventory_addr=f"127.0.0.1:{inventory.port}",
        backends={"catalog": catalog_addr, "inventory": f"127.0.0.1:{inventory.port}"},
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        grpc_timeout_seconds=10.0,
    )
    app = create_app(settings)
    try:
        yield Stack(app, app.test_client(), catalog, inventory, settings)
    finally:
        app.extensions["omnistock"].close()
        inventory.shutdown(0)
        catalog.stop()
        catalog_engine.dispose()
