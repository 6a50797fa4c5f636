"""Composition root of the inventory gRPC server: Settings -> engine -> UoW -> servicer -> server.

`python -m inventory.server` serves until SIGTERM/SIGINT, then drains. Migrations are not run
here (make migrate / the Kubernetes Job does that); tests call `build(settings)` with port 0.
`build` returns a `BuiltServer` whose `parts` is the unit of work the use cases
(inventory.service) take; it owns the engine.
"""

from __future__ import annotations

from inventory.config import Settings, load_settings
from inventory.repository import UnitOfWork
from inventory.service import make_commit_group, make_reserve_group
from inventory.servicer import InventoryServicer
from omnistock.inventory.v1 import inventory_service_pb2, inventory_service_pb2_grpc
from omnistock_common import service_auth
from omnistock_common.config import run_entrypoint
from omnistock_common.db import make_engine
from omnistock_common.grpc_server import BuiltServer, build_server, serve_forever
from omnistock_common.logging import setup_logging

SERVICE_NAME = inventory_service_pb2.DESCRIPTOR.services_by_name["InventoryService"].full_name
# RPCs any authenticated role (viewers too) may call; every other RPC needs a writing role.
READ_ONLY_METHODS = frozenset(
    f"/{SERVICE_NAME}/{name}"
    for name in (
        "ListLocations",
        "ListStockLevels",
        "GetSkuStock",
        "ListMovements",
        "Reconcile",
        "GetReservation",
        "ListReservations",
        "ListAlerts",
        "GetAllocationRule",
        "GetAvailableToSell",
        "GetBundle",
        "GetInventoryTurnover",
    )
)


Inventory = BuiltServer[UnitOfWork]


def build(settings: Settings) -> Inventory:
    """Assemble and start the server on settings.server.bind_address (port 0 = any free port)."""
    # At most db_pool_size connections, kept open, no overflow: threads beyond the pool wait for
    # one. Overflow connections were opened and closed again on every burst (under hot-SKU
    # reserve+commit they were most of the server's CPU: a new backend and every statement
    # prepared again), and the database's row locks serialise the work behind them anyway.
    engine = make_engine(
        settings.database_url,
        pool_size=min(settings.db_pool_size, settings.server.max_workers),
        max_overflow=0,
    )
    uow = UnitOfWork(engine)
    # Concurrent Reserve calls of a tenant share one transaction (group commit, decision 0004),
    # on every database: the grouped execution is the only implementation of reserve.
    reserve_group = make_reserve_group(uow, settings.policy)
    # Concurrent commits likewise: a hot SKU's row gets one writer per group, not one per call.
    commit_group = make_commit_group(uow, settings.policy)
    servicer = InventoryServicer(uow, settings.policy, reserve_group, commit_group)
    running = build_server(
        [lambda server: inventory_service_pb2_grpc.add_InventoryServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        settings.server.bind_address,
        max_workers=settings.server.max_workers,
        read_only_methods=READ_ONLY_METHODS,
    )
    return BuiltServer(running, uow, [engine.dispose])


def main() -> None:
    settings = load_settings()
    setup_logging("inventory", settings.server.log_level, settings.server.log_format)
    service_auth.configure("inventory")
    serve_forever(build(settings), settings.server.grace_seconds)


if __name__ == "__main__":
    run_entrypoint(main)
