"""Composition root of the catalog gRPC server: settings -> engine -> unit of work -> servicer.

`python -m catalog.server` serves until SIGTERM/SIGINT; tests call `build()` with port 0. `build`
returns a `BuiltServer` whose `parts` is the unit of work the use cases (catalog.service) take.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import Engine

from catalog.config import Settings, load_settings
from catalog.inventory_client import InventoryStock
from catalog.repository import SqlAlchemyUnitOfWork
from catalog.service import StockPort
from catalog.servicer import CatalogServicer
from omnistock.catalog.v1 import catalog_service_pb2, catalog_service_pb2_grpc
from omnistock_common import service_auth
from omnistock_common.config import run_entrypoint
from omnistock_common.db import make_engine, make_session_factory
from omnistock_common.grpc_server import BuiltServer, build_server, serve_forever
from omnistock_common.logging import setup_logging

SERVICE_NAME = catalog_service_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name
# RPCs any authenticated role (viewers too) may call; every other RPC needs a writing role.
READ_ONLY_METHODS = frozenset(
    f"/{SERVICE_NAME}/{name}"
    for name in ("GetProduct", "ListProducts", "CountProducts", "GetVariantsBySku", "ExportProducts")
)


Catalog = BuiltServer[SqlAlchemyUnitOfWork]


def build(settings: Settings, *, engine: Engine | None = None, stock: StockPort | None = None) -> Catalog:
    """Start a catalog server on settings.bind_address; pass `engine`/`stock` to own or fake them
    (the server closes only what it created)."""
    closers: list[Callable[[], None]] = []
    if engine is None:
        engine = make_engine(settings.database_url)
        closers.append(engine.dispose)
    if stock is None:
        inventory = InventoryStock.connect(settings.inventory_addr, settings.inventory_timeout_seconds)
        closers.append(inventory.close)
        stock = inventory
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    servicer = CatalogServicer(uow, stock)
    running = build_server(
        [lambda server: catalog_service_pb2_grpc.add_CatalogServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        settings.bind_address,
        max_workers=settings.service.max_workers,
        read_only_methods=READ_ONLY_METHODS,
    )
    return BuiltServer(running, uow, closers)


def main() -> None:
    settings = load_settings()
    setup_logging("catalog", settings.service.log_level, settings.service.log_format)
    service_auth.configure("catalog")
    serve_forever(build(settings), settings.service.grace_seconds)


def with_port(settings: Settings, host: str, port: int) -> Settings:
    """Settings bound to another address (tests use port 0)."""
    return replace(settings, service=replace(settings.service, grpc_host=host, grpc_port=port))


if __name__ == "__main__":
    run_entrypoint(main)
