"""Composition root of the Meta connector: settings → Redis token bucket → servicer → gRPC server.

`python -m meta_connector.server` serves until SIGTERM/SIGINT; tests call `build()` with port 0.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from meta_connector.client import ClientFactory, throttle_delay, usage_observer
from meta_connector.config import SERVICE, Settings, load_settings
from meta_connector.servicer import MetaConnectorServicer
from omnistock_common.config import run_entrypoint
from omnistock_common.egress import Resolver, system_resolver
from omnistock_common.grpc_server import BuiltServer
from omnistock_connector_kit import composition
from omnistock_connector_kit.composition import Seams, with_port
from omnistock_connector_kit.rate_limit import RateLimiter
from omnistock_connector_kit.retry import RetryPolicy

__all__ = ["build", "main", "make_servicer", "with_port"]


def make_servicer(settings: Settings, seams: Seams = Seams()) -> MetaConnectorServicer:  # noqa: B008 - frozen
    """The servicer and its collaborators; `seams` are what tests replace."""
    http = composition.channel_http(
        settings,
        seams,
        retry=RetryPolicy(max_attempts=settings.http_max_attempts),
        timeout=settings.http_timeout_seconds,
        max_wait=settings.max_bucket_wait_seconds,
        throttle_delay=throttle_delay,
        bucket_observer=usage_observer(settings.bucket_capacity),
    )
    clients = ClientFactory(
        http, batch_wait=settings.batch_wait_seconds, poll_interval=settings.batch_poll_interval_seconds
    )
    return MetaConnectorServicer(settings, clients)


def build(
    settings: Settings,
    *,
    limiter: RateLimiter | None = None,
    sleep: Callable[[float], None] | None = None,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver = system_resolver,
) -> BuiltServer[MetaConnectorServicer]:
    """Start the connector on settings.bind_address; `limiter` replaces the Redis bucket, `sleep`
    real waits (backoff, batch polling), `transport` the network and `resolver` the DNS."""
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
