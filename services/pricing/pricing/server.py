"""Composition root of the pricing gRPC server: Settings -> engine -> UoW + catalog and channels
clients -> PricingDeps -> servicer -> server.

`python -m pricing.server` serves until SIGTERM/SIGINT, then drains. Migrations are not run here
(make migrate / the Kubernetes Job does that); tests call `build(settings)` with port 0, or
`build(settings, catalog=..., listings=...)` with fakes of the ports.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from omnistock.pricing.v1 import pricing_service_pb2, pricing_service_pb2_grpc
from omnistock_common import service_auth
from omnistock_common.config import run_entrypoint
from omnistock_common.db import make_engine
from omnistock_common.grpc_server import BuiltServer, build_server, serve_forever
from omnistock_common.logging import setup_logging
from pricing.clients import CatalogPrices, ChannelListings
from pricing.config import Settings, load_settings
from pricing.repository import UnitOfWork
from pricing.service import CatalogPort, ListingsPort, PricingDeps
from pricing.servicer import PricingServicer

SERVICE_NAME = pricing_service_pb2.DESCRIPTOR.services_by_name["PricingService"].full_name
# RPCs any authenticated role (viewers too) may call; every other RPC needs a writing role.
READ_ONLY_METHODS = frozenset(
    f"/{SERVICE_NAME}/{name}"
    for name in ("ListPrices", "GetPriceHistory", "GetFxRates", "GetConnectionPricing", "ListTimedSales")
)

# `parts`: the use cases' collaborators (tests reach the unit of work and the ports through them).
Pricing = BuiltServer[PricingDeps]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def build_deps(
    settings: Settings,
    *,
    catalog: CatalogPort | None = None,
    listings: ListingsPort | None = None,
    clock: Callable[[], datetime] = _utcnow,
    pool_size: int | None = None,
) -> tuple[PricingDeps, list[Callable[[], None]]]:
    """The deps (server and worker share this) and what closes what it built."""
    engine = make_engine(settings.database_url, pool_size=pool_size or settings.db_pool_size)
    closers: list[Callable[[], None]] = [engine.dispose]
    if catalog is None:
        catalog_client = CatalogPrices(settings.catalog_addr, settings.call_timeout_seconds)
        closers.append(catalog_client.close)
        catalog = catalog_client
    if listings is None:
        listings_client = ChannelListings(settings.channels_addr, settings.call_timeout_seconds)
        closers.append(listings_client.close)
        listings = listings_client
    deps = PricingDeps(UnitOfWork(engine), catalog, listings, clock, settings.fx_threshold)
    return deps, closers


def build(
    settings: Settings,
    *,
    catalog: CatalogPort | None = None,
    listings: ListingsPort | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> Pricing:
    """Assemble and start the server on settings.server.bind_address (port 0 = any free port)."""
    deps, closers = build_deps(
        settings,
        catalog=catalog,
        listings=listings,
        clock=clock,
        pool_size=min(settings.db_pool_size, settings.server.max_workers),
    )
    servicer = PricingServicer(deps)
    running = build_server(
        [lambda server: pricing_service_pb2_grpc.add_PricingServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        settings.server.bind_address,
        max_workers=settings.server.max_workers,
        read_only_methods=READ_ONLY_METHODS,
    )
    return BuiltServer(running, deps, closers)


def main() -> None:
    settings = load_settings()
    setup_logging("pricing", settings.server.log_level, settings.server.log_format)
    service_auth.configure("pricing")
    serve_forever(build(settings), settings.server.grace_seconds)


if __name__ == "__main__":
    run_entrypoint(main)
