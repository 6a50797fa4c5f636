"""Composition root of the TikTok Shop connector: settings → Redis token bucket → servicer → gRPC.

`python -m tiktok_connector.server` serves until SIGTERM/SIGINT; tests call `build()` with port 0.
The connector keeps no database; Redis holds the per-connection rate-limit buckets.
"""

from __future__ import annotations

from collections.abc import Callable

from omnistock_common.config import run_entrypoint
from omnistock_common.egress import Resolver, system_resolver
from omnistock_common.grpc_server import BuiltServer
from omnistock_connector_kit import composition
from omnistock_connector_kit.composition import Seams, with_port
from omnistock_connector_kit.rate_limit import RateLimiter
from omnistock_connector_kit.retry import RetryPolicy
from tiktok_connector.client import ClientFactory, throttle_delay
from tiktok_connector.config import SERVICE, Settings, load_settings
from tiktok_connector.servicer import TikTokConnectorServicer

__all__ = ["build", "main", "make_servicer", "with_port"]


def make_servicer(settings: Settings, seams: Seams = Seams()) -> TikTokConnectorServicer:  # noqa: B008 - frozen
    """The servicer and its collaborators; `seams` are what tests replace."""
    http = composition.channel_http(
        settings,
        seams,
        retry=RetryPolicy(max_attempts=settings.max_attempts),
        timeout=settings.http_timeout_seconds,
        max_wait=settings.max_bucket_wait_seconds,
        throttle_delay=throttle_delay,
    )
    return TikTokConnectorServicer(settings, ClientFactory(http, settings.app_key, settings.app_secret))


def build(
    settings: Settings,
    *,
    limiter: RateLimiter | None = None,
    resolver: Resolver = system_resolver,
    sleep: Callable[[float], None] | None = None,
) -> BuiltServer[TikTokConnectorServicer]:
    """Start the connector on settings.bind_address; `limiter`, `resolver` and `sleep` replace the
    Redis bucket, the DNS and backoff waits in tests."""
    return composition.build_connector_server(
        settings, make_servicer(settings, Seams(limiter=limiter, resolver=resolver, sleep=sleep))
    )


def main() -> None:
    composition.serve_connector(SERVICE, load_settings, build)


if __name__ == "__main__":
    run_entrypoint(main)
