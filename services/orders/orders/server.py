"""Composition root of the orders gRPC server: Settings -> engine -> UoW + inventory client ->
servicer -> server.

`python -m orders.server` serves until SIGTERM/SIGINT, then drains. Migrations are not run here
(make migrate / the Kubernetes Job does that); tests call `build(settings)` with port 0.
"""

from __future__ import annotations

from omnistock.orders.v1 import orders_service_pb2, orders_service_pb2_grpc
from omnistock_common import service_auth
from omnistock_common.config import run_entrypoint
from omnistock_common.db import make_engine
from omnistock_common.grpc_server import BuiltServer, build_server, serve_forever
from omnistock_common.logging import setup_logging
from orders.config import Settings, load_settings
from orders.inventory_client import InventoryStock
from orders.repository import UnitOfWork
from orders.servicer import OrdersServicer

SERVICE_NAME = orders_service_pb2.DESCRIPTOR.services_by_name["OrdersService"].full_name
# RPCs any authenticated role (viewers too) may call; every other RPC needs a writing role.
READ_ONLY_METHODS = frozenset(
    f"/{SERVICE_NAME}/{name}"
    for name in (
        "ListOrders",
        "GetOrder",
        "ExportOrders",
        "GetRevenueByChannel",
        "GetBestSellers",
        "GetConversionByChannel",
        "GetSalesOverTime",
    )
)


# `parts`: the unit of work (tests reach the service layer on the server's database with it).
Orders = BuiltServer[UnitOfWork]


def build(settings: Settings) -> Orders:
    """Assemble and start the server on settings.server.bind_address (port 0 = any free port)."""
    engine = make_engine(
        settings.database_url, pool_size=min(settings.db_pool_size, settings.server.max_workers)
    )
    uow = UnitOfWork(engine)
    stock = InventoryStock(settings.inventory_addr, settings.inventory_timeout_seconds)
    servicer = OrdersServicer(uow, stock, settings.policy)
    running = build_server(
        [lambda server: orders_service_pb2_grpc.add_OrdersServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        settings.server.bind_address,
        max_workers=settings.server.max_workers,
        read_only_methods=READ_ONLY_METHODS,
    )
    return BuiltServer(running, uow, [engine.dispose, stock.close])


def main() -> None:
    settings = load_settings()
    setup_logging("orders", settings.server.log_level, settings.server.log_format)
    service_auth.configure("orders")
    serve_forever(build(settings), settings.server.grace_seconds)


if __name__ == "__main__":
    run_entrypoint(main)
