"""Composition root of the catalog gRPC server: settings -> engine -> unit of work -> servicer.

`python -m catalog.server` serves until SIGTERM/SIGINT; tests call `build()` with port 0.
"""

from __future__ import annotations

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
from omnistock_common.grpc_server import RunningServer, build_server, serve_forever
from omnistock_common.logging import setup_logging

SERVICE_NAME = catalog_service_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name
# RPCs any authenticated role (viewers too) may call; every other RPC needs a writing role.
READ_ONLY_METHODS = frozenset(
    f"/{SERVICE_NAME}/{name}" for name in ("GetProduct", "ListProducts", "GetVariantsBySku", "ExportProducts")
)


def build(
    settings: Settings, *, engine: Engine | None = None, stock: StockPort | None = None
) -> RunningServer:
    """Start a catalog server on settings.bind_address; pass `engine`/`stock` to own or fake them."""
    engine = engine or make_engine(settings.database_url)
    stock = stock or InventoryStock.connect(settings.inventory_addr, settings.inventory_timeout_seconds)
    servicer = CatalogServicer(SqlAlchemyUnitOfWork(make_session_factory(engine)), stock)
    return build_server(
        [lambda server: catalog_service_pb2_grpc.add_CatalogServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        settings.bind_address,
        max_workers=settings.service.max_workers,
        read_only_methods=READ_ONLY_METHODS,
    )


def main() -> None:
    settings = load_settings()
    setup_logging("catalog", settings.service.log_level, settings.service.log_format)
    service_auth.configure("catalog")
    engine = make_engine(settings.database_url)
    running = build(settings, engine=engine)
    serve_forever(running, settings.service.grace_seconds, on_stop=engine.dispose)


def with_port(settings: Settings, host: str, port: int) -> Settings:
    """Settings bound to another address (tests use port 0)."""
    return replace(settings, service=replace(settings.service, grpc_host=host, grpc_port=port))


if __name__ == "__main__":
    run_entrypoint(main)
