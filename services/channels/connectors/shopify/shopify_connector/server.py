"""Composition root of the Shopify connector: settings → Redis token bucket → servicer → gRPC server.

`python -m shopify_connector.server` serves until SIGTERM/SIGINT; tests call `build()` with port 0.
The connector keeps no database; Redis holds the per-connection rate-limit buckets shared by every
replica.
"""

from __future__ import annotations

from omnistock_common.config import run_entrypoint
from omnistock_common.egress import Resolver, system_resolver
from omnistock_common.grpc_server import BuiltServer
from omnistock_connector_kit import composition
from omnistock_connector_kit.composition import Seams, with_port
from omnistock_connector_kit.rate_limit import RateLimiter
from omnistock_connector_kit.retry import RetryPolicy
from shopify_connector.client import ClientFactory
from shopify_connector.config import SERVICE, Settings, load_settings
from shopify_connector.servicer import ShopifyConnectorServicer
from shopify_connector.throttling import reported_bucket_level, throttle_delay

__all__ = ["build", "main", "make_servicer", "with_port"]


def make_servicer(settings: Settings, seams: Seams = Seams()) -> ShopifyConnectorServicer:  # noqa: B008 - frozen
    """The servicer and its collaborators; `seams` are what tests replace."""
    http = composition.channel_http(
        settings,
        seams,
        retry=RetryPolicy(max_attempts=settings.max_attempts),
        timeout=settings.http_timeout_seconds,
        max_wait=settings.max_bucket_wait_seconds,
        throttle_delay=throttle_delay,
        bucket_observer=reported_bucket_level,
    )
    return ShopifyConnectorServicer(settings, ClientFactory(http))


def build(
    settings: Settings, *, limiter: RateLimiter | None = None, resolver: Resolver = system_resolver
) -> BuiltServer[ShopifyConnectorServicer]:
    """Start the connector on settings.bind_address; `limiter` replaces the Redis bucket and
    `resolver` the DNS (tests of the egress guard: no packet leaves the machine)."""
    return composition.build_connector_server(
        settings, make_servicer(settings, Seams(limiter=limiter, resolver=resolver))
    )


def main() -> None:
    composition.serve_connector(SERVICE, load_settings, build)


if __name__ == "__main__":
    run_entrypoint(main)
