"""Composition root of the Amazon connector: settings → per-operation Redis buckets → servicer →
gRPC server.

`python -m amazon_connector.server` serves until SIGTERM/SIGINT; tests call `build()` with port 0.
The connector keeps no database; Redis holds the (connection, operation) rate-limit buckets
shared by every replica (throttling.OperationLimiter).
"""

from __future__ import annotations

from amazon_connector.client import ClientFactory, LwaApp
from amazon_connector.config import SERVICE, Settings, load_settings
from amazon_connector.servicer import AmazonConnectorServicer
from amazon_connector.throttling import OperationLimiter, rate_report
from omnistock_common.config import run_entrypoint
from omnistock_common.egress import Resolver, system_resolver
from omnistock_common.grpc_server import BuiltServer
from omnistock_connector_kit import composition
from omnistock_connector_kit.composition import Seams, with_port
from omnistock_connector_kit.rate_limit import RateLimiter, RedisTokenBucket
from omnistock_connector_kit.retry import RetryPolicy

__all__ = ["build", "main", "make_servicer", "operation_limiter", "with_port"]


def operation_limiter(settings: Settings) -> OperationLimiter:
    """Production buckets: one Redis bucket per (connection, operation), sized by the usage plan."""
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, health_check_interval=30)
    return OperationLimiter(lambda capacity, rate: RedisTokenBucket(client, capacity, rate))


def make_servicer(settings: Settings, seams: Seams = Seams()) -> AmazonConnectorServicer:  # noqa: B008 - frozen
    """The servicer and its collaborators; `seams` are what tests replace (a test limiter is
    used as given: wrap InMemoryTokenBucket in an OperationLimiter to test the usage plans)."""
    limiter = seams.limiter or operation_limiter(settings)
    http = composition.channel_http(
        settings,
        Seams(limiter=limiter, resolver=seams.resolver, sleep=seams.sleep, transport=seams.transport),
        retry=RetryPolicy(max_attempts=settings.max_attempts),
        timeout=settings.http_timeout_seconds,
        max_wait=settings.max_bucket_wait_seconds,
        bucket_observer=rate_report,
    )
    app = LwaApp(settings.lwa_client_id, settings.lwa_client_secret)
    clients = ClientFactory(
        http, app, feed_wait=settings.feed_wait_seconds, feed_poll=settings.feed_poll_seconds
    )
    return AmazonConnectorServicer(settings, clients)


def build(
    settings: Settings, *, limiter: RateLimiter | None = None, resolver: Resolver = system_resolver
) -> BuiltServer[AmazonConnectorServicer]:
    """Start the connector on settings.bind_address; `limiter` replaces the Redis buckets and
    `resolver` the DNS (tests of the egress guard: no packet leaves the machine)."""
    return composition.build_connector_server(
        settings, make_servicer(settings, Seams(limiter=limiter, resolver=resolver))
    )


def main() -> None:
    composition.serve_connector(SERVICE, load_settings, build)


if __name__ == "__main__":
    run_entrypoint(main)
