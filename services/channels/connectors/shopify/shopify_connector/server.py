"""Composition root of the Shopify connector: settings → Redis token bucket → servicer → gRPC server.

`python -m shopify_connector.server` serves until SIGTERM/SIGINT; tests call `build()` with port 0.
The connector keeps no database; Redis holds the per-connection rate-limit buckets shared by every
replica.
"""

from __future__ import annotations

from dataclasses import replace

from omnistock.connector.v1 import connector_service_pb2, connector_service_pb2_grpc
from omnistock_common import service_auth
from omnistock_common.config import run_entrypoint
from omnistock_common.grpc_server import RunningServer, build_server, serve_forever
from omnistock_common.logging import setup_logging
from omnistock_connector_kit.channel_http import RateLimiter
from omnistock_connector_kit.connector_base import READ_ONLY_METHODS, redis_limiter
from omnistock_connector_kit.egress import Resolver, system_resolver
from shopify_connector.config import Settings, load_settings
from shopify_connector.servicer import ShopifyConnectorServicer

SERVICE_NAME = connector_service_pb2.DESCRIPTOR.services_by_name["ConnectorService"].full_name


def build(
    settings: Settings, *, limiter: RateLimiter | None = None, resolver: Resolver = system_resolver
) -> RunningServer:
    """Start the connector on settings.bind_address; `limiter` replaces the Redis bucket and
    `resolver` the DNS (tests of the egress guard: no packet leaves the machine)."""
    limiter = limiter or redis_limiter(
        settings.redis_url,
        capacity=settings.bucket_capacity,
        refill_per_second=settings.bucket_refill_per_second,
    )
    servicer = ShopifyConnectorServicer(settings, limiter, resolver=resolver)
    return build_server(
        [lambda server: connector_service_pb2_grpc.add_ConnectorServiceServicer_to_server(servicer, server)],
        [SERVICE_NAME],
        settings.bind_address,
        max_workers=settings.service.max_workers,
        read_only_methods=READ_ONLY_METHODS,
    )


def with_port(settings: Settings, host: str, port: int) -> Settings:
    """Settings bound to another address (tests use port 0)."""
    return replace(settings, service=replace(settings.service, grpc_host=host, grpc_port=port))


def main() -> None:
    settings = load_settings()
    setup_logging("shopify_connector", settings.service.log_level, settings.service.log_format)
    service_auth.configure("shopify_connector")
    running = build(settings)
    serve_forever(running, settings.service.grace_seconds)


if __name__ == "__main__":
    run_entrypoint(main)
