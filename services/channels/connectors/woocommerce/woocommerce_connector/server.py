"""Composition root of the WooCommerce (REST wc/v3) connector: settings → limiter → servicer.

`python -m woocommerce_connector.server` serves until SIGTERM/SIGINT; tests call `build()` with
port 0 and their own limiter (and a no-wait sleep) so no test waits on real backoff.
The connector keeps no database: Redis holds only the per-connection token buckets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import httpx

from omnistock.connector.v1 import connector_service_pb2, connector_service_pb2_grpc
from omnistock_common import service_auth
from omnistock_common.config import run_entrypoint
from omnistock_common.grpc_server import RunningServer, build_server, serve_forever
from omnistock_common.logging import setup_logging
from omnistock_connector_kit.channel_http import RateLimiter, RetryPolicy
from omnistock_connector_kit.connector_base import READ_ONLY_METHODS, redis_limiter
from omnistock_connector_kit.egress import EgressPolicy, Resolver, system_resolver
from woocommerce_connector.client import ClientFactory
from woocommerce_connector.config import SERVICE, Settings, load_settings
from woocommerce_connector.servicer import WooCommerceConnectorServicer

SERVICE_NAME = connector_service_pb2.DESCRIPTOR.services_by_name["ConnectorService"].full_name


def build(
    settings: Settings,
    *,
    limiter: RateLimiter | None = None,
    sleep: Callable[[float], None] | None = None,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver = system_resolver,
) -> RunningServer:
    """Start a connector server on settings.bind_address.

    Without `limiter` the buckets live in Redis (settings.redis_url), shared by every replica.
    `resolver` replaces DNS in tests of the egress guard (a stub: no packet leaves the machine).
    """
    limiter = limiter or redis_limiter(
        settings.redis_url,
        capacity=settings.bucket_capacity,
        refill_per_second=settings.bucket_refill_per_second,
    )
    clients = ClientFactory(
        limiter=limiter,
        retry=RetryPolicy(max_attempts=settings.http_max_attempts, max_delay=settings.http_max_delay_seconds),
        timeout=settings.http_timeout_seconds,
        sleep=sleep,
        transport=transport,
        egress=EgressPolicy(allowed=settings.allowed_hosts, resolver=resolver),
    )
    servicer = WooCommerceConnectorServicer(clients)
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
    setup_logging(SERVICE, settings.service.log_level, settings.service.log_format)
    service_auth.configure(SERVICE)
    running = build(settings)
    serve_forever(running, settings.service.grace_seconds)


if __name__ == "__main__":
    run_entrypoint(main)
