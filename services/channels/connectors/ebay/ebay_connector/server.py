"""Composition root of the eBay connector: settings → Redis bucket and revision ledger → servicer
→ gRPC server. `python -m ebay_connector.server` serves until SIGTERM/SIGINT; tests call `build()`
with port 0."""

from __future__ import annotations

from ebay_connector.client import AppCredentials, ClientFactory
from ebay_connector.config import SERVICE, Settings, load_settings
from ebay_connector.revisions import RedisRevisionLedger, RevisionLedger
from ebay_connector.servicer import EbayConnectorServicer
from omnistock_common.config import run_entrypoint
from omnistock_common.egress import Resolver, system_resolver
from omnistock_common.grpc_server import BuiltServer
from omnistock_connector_kit import composition
from omnistock_connector_kit.composition import Seams, with_port
from omnistock_connector_kit.rate_limit import RateLimiter
from omnistock_connector_kit.retry import RetryPolicy

__all__ = ["build", "main", "make_servicer", "with_port"]


def make_servicer(
    settings: Settings,
    seams: Seams = Seams(),  # noqa: B008 - frozen
    ledger: RevisionLedger | None = None,
) -> EbayConnectorServicer:
    """The servicer and its collaborators; `seams` and `ledger` are what tests replace (the
    ledger defaults to Redis at REDIS_URL, where the rate-limit buckets live)."""
    http = composition.channel_http(
        settings,
        seams,
        retry=RetryPolicy(max_attempts=settings.max_attempts),
        timeout=settings.http_timeout_seconds,
        max_wait=settings.max_bucket_wait_seconds,
    )
    app = AppCredentials(settings.client_id, settings.client_secret, settings.ru_name, settings.scopes)
    return EbayConnectorServicer(
        settings, ClientFactory(http, app), ledger or RedisRevisionLedger.from_url(settings.redis_url)
    )


def build(
    settings: Settings,
    *,
    limiter: RateLimiter | None = None,
    resolver: Resolver = system_resolver,
    ledger: RevisionLedger | None = None,
) -> BuiltServer[EbayConnectorServicer]:
    """Start the connector on settings.bind_address."""
    return composition.build_connector_server(
        settings, make_servicer(settings, Seams(limiter=limiter, resolver=resolver), ledger)
    )


def main() -> None:
    composition.serve_connector(SERVICE, load_settings, build)


if __name__ == "__main__":
    run_entrypoint(main)
