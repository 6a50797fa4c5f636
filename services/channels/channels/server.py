"""Composition root of the channels gRPC server: Settings -> the core shared with the worker
(channels.composition: engine, Redis, key ring, connector registry, ConnectionCaller), catalog
client -> use-case collaborators (ChannelsDeps) -> servicer -> server.

`python -m channels.server` serves until SIGTERM/SIGINT, then drains. Migrations are not run
here (make migrate / the Kubernetes Job does that); tests call `build(settings)` with port 0 and
may hand in their own connector registry or Redis client. `build` returns a `BuiltServer` whose
`parts` are the engine and ChannelsDeps (what the use cases take).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis as redis_lib
from sqlalchemy import Engine

from channels.catalog_client import GrpcCatalog
from channels.composition import build_core, build_deps
from channels.config import Settings, load_settings, warn_about_dev_secrets
from channels.connector_calls import RedisLike
from channels.connector_clients import ConnectorRegistry
from channels.deps import ChannelsDeps
from channels.servicer import (
    MANAGE_METHODS,
    READ_ONLY_METHODS,
    SERVICE_NAME,
    TENANTLESS_METHODS,
    ChannelsServicer,
)
from omnistock.catalog.v1 import catalog_service_pb2_grpc
from omnistock.channels.v1 import channels_service_pb2_grpc
from omnistock_common import service_auth
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.config import run_entrypoint
from omnistock_common.grpc_server import BuiltServer, build_server, serve_forever
from omnistock_common.logging import setup_logging
from omnistock_common.service_auth import MANAGE_ROLES


@dataclass(frozen=True)
class ChannelsParts:
    """What tests reach in a built channels server: its engine and the use cases' collaborators."""

    engine: Engine
    deps: ChannelsDeps


Channels = BuiltServer[ChannelsParts]


def build(
    settings: Settings,
    *,
    connectors: ConnectorRegistry | None = None,
    redis: RedisLike | None = None,
) -> Channels:
    """Assemble and start the server on settings.server.bind_address (port 0 = any free port)."""
    closers: list[Callable[[], None]] = []
    if redis is None:
        client = redis_lib.Redis.from_url(
            settings.server.redis_url, socket_timeout=5.0, socket_connect_timeout=2.0
        )
        closers.append(client.close)
        redis = client
    if connectors is None:
        connectors = ConnectorRegistry.from_addresses(
            settings.connector_addrs, settings.connector_timeout_seconds
        )
        closers.append(connectors.close)
    core = build_core(
        settings,
        pool_size=min(settings.db_pool_size, settings.server.max_workers),
        redis=redis,
        connectors=connectors,
        closers=closers,
    )
    catalog_channel = make_channel(settings.catalog_addr)
    core.closers.append(catalog_channel.close)
    catalog = GrpcCatalog(
        DeadlineStub(
            catalog_service_pb2_grpc.CatalogServiceStub(catalog_channel), settings.catalog_timeout_seconds
        )
    )
    deps = build_deps(core, settings, catalog=catalog)
    servicer = ChannelsServicer(deps)
    running = build_server(
        [lambda server: channels_service_pb2_grpc.add_ChannelsServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        settings.server.bind_address,
        max_workers=settings.server.max_workers,
        tenantless_methods=TENANTLESS_METHODS,
        read_only_methods=READ_ONLY_METHODS,
        method_roles=dict.fromkeys(MANAGE_METHODS, MANAGE_ROLES),
    )
    return BuiltServer(running, ChannelsParts(core.sql, deps), core.closers)


def main() -> None:
    settings = load_settings()
    setup_logging("channels", settings.server.log_level, settings.server.log_format)
    warn_about_dev_secrets(settings)
    service_auth.configure("channels")
    serve_forever(build(settings), settings.server.grace_seconds)


if __name__ == "__main__":
    run_entrypoint(main)
