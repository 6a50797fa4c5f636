"""Composition root of the WooCommerce (REST wc/v3) connector: settings → limiter → servicer.

`python -m woocommerce_connector.server` serves until SIGTERM/SIGINT; tests call `build()` with
port 0 and their own limiter (and a no-wait sleep) so no test waits on real backoff.
The connector keeps no database: Redis holds only the per-connection token buckets.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from omnistock_common.config import run_entrypoint
from omnistock_common.egress import Resolver, system_resolver
from omnistock_common.grpc_server import BuiltServer
from omnistock_connector_kit import composition
from omnistock_connector_kit.composition import Seams, with_port
from omnistock_connector_kit.rate_limit import RateLimiter
from omnistock_connector_kit.retry import RetryPolicy
from woocommerce_connector.client import ClientFactory
from woocommerce_connector.config import SERVICE, Settings, load_settings
from woocommerce_connector.servicer import WooCommerceConnectorServicer

__all__ = ["build", "main", "make_servicer", "with_port"]


def make_servicer(settings: Settings, seams: Seams = Seams()) -> WooCommerceConnectorServicer:  # noqa: B008 - frozen
    """The servicer and its collaborators; `seams` are what tests replace."""
    http = composition.channel_http(
        settings,
        seams,
        retry=RetryPolicy(max_attempts=settings.http_max_attempts, max_delay=settings.http_max_delay_seconds),
        timeout=settings.http_timeout_seconds,
    )
    return WooCommerceConnectorServicer(ClientFactory(http))


def build(
    settings: Settings,
    *,
    limiter: RateLimiter | None = None,
    sleep: Callable[[float], None] | None = None,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver = system_resolver,
) -> BuiltServer[WooCommerceConnectorServicer]:
    """Start a connector server on settings.bind_address.

    Without `limiter` the buckets live in Redis (settings.redis_url), shared by every replica.
    `resolver` replaces DNS in tests of the egress guard (a stub: no packet leaves the machine).
    """
    seams = Seams(
        limiter=limiter,
        resolver=resolver,
        sleep=sleep,
        transport=(lambda: transport) if transport is not None else None,
    )
    return composition.build_connector_server(settings, make_servicer(settings, seams))


def main() -> None:
    composition.serve_connector(SERVICE, load_settings, build)


if __name__ == "__main__":
    run_entrypoint(main)
