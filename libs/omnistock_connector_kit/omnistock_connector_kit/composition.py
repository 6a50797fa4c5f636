"""Composition-root helpers of a connector process (its server.py stays a few lines).

A connector's `Settings` (its config.py, the only module that reads the environment) is a frozen
dataclass that mixes in `ConnectorSettings`. Its server.py has `make_servicer(settings, seams)`:
`channel_http(settings, seams, ...)` with the channel's retry/timeout/hooks, its ClientFactory and
servicer; `build()` hands the servicer to `build_connector_server` (a `BuiltServer` whose `parts` is
the servicer, like every service's `build`); `serve_connector` is `main()`.
`Seams` is what tests replace (bucket, DNS, sleeping, network); production uses the defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import httpx

from omnistock.connector.v1 import connector_service_pb2_grpc
from omnistock_common import service_auth
from omnistock_common.config import ServiceSettings
from omnistock_common.egress import AllowList, EgressPolicy, Resolver, system_resolver
from omnistock_common.grpc_server import BuiltServer, build_server, serve_forever
from omnistock_common.logging import setup_logging
from omnistock_connector_kit.call_budget import DeadlineInterceptor
from omnistock_connector_kit.clients import ChannelHttpFactory
from omnistock_connector_kit.connector_base import CONNECTOR_SERVICE_NAME, READ_ONLY_METHODS, redis_limiter
from omnistock_connector_kit.rate_limit import RateLimiter

__all__ = [
    "CONNECTOR_SERVICE_NAME",
    "ConnectorSettings",
    "Seams",
    "build_connector_server",
    "channel_http",
    "connector_limiter",
    "egress_policy",
    "serve_connector",
    "with_port",
]


class ConnectorSettings:
    """Mixin of a connector's Settings dataclass: the fields every connector has, and the
    properties the composition root reads. (Annotations only: the dataclass declares the fields.)"""

    service: ServiceSettings
    # Token bucket per connection (Redis), sized to the channel's limits.
    bucket_capacity: float
    bucket_refill_per_second: float
    # CHANNEL_ALLOWED_HOSTS: host:port patterns besides the channel's own https hosts.
    allowed_hosts: AllowList

    @property
    def redis_url(self) -> str:
        return self.service.redis_url

    @property
    def bind_address(self) -> str:
        return self.service.bind_address


SettingsT = TypeVar("SettingsT", bound=ConnectorSettings)


def with_port(settings: SettingsT, host: str, port: int) -> SettingsT:
    """Settings bound to another address (tests use port 0)."""
    return replace(settings, service=replace(settings.service, grpc_host=host, grpc_port=port))  # type: ignore[type-var]


def connector_limiter(settings: ConnectorSettings, limiter: RateLimiter | None = None) -> RateLimiter:
    """`limiter` (tests), else the production one: a Redis bucket per connection shared by every
    replica, sized by the settings."""
    return limiter or redis_limiter(
        settings.redis_url,
        capacity=settings.bucket_capacity,
        refill_per_second=settings.bucket_refill_per_second,
    )


def egress_policy(settings: ConnectorSettings, resolver: Resolver) -> EgressPolicy:
    """The egress rules (egress.py): the operator's CHANNEL_ALLOWED_HOSTS, otherwise https:443 to
    public addresses only; `resolver` is a stub in tests of the guard (no packet leaves)."""
    return EgressPolicy(allowed=settings.allowed_hosts, resolver=resolver)


@dataclass(frozen=True)
class Seams:
    """What a test replaces in a connector process; production uses the defaults.

    `limiter` replaces the Redis bucket, `resolver` the DNS (tests of the egress guard: no packet
    leaves the machine), `sleep` real backoff waits, and `transport` the network, which takes the
    egress guard with it.
    """

    limiter: RateLimiter | None = None
    resolver: Resolver = system_resolver
    sleep: Callable[[float], None] | None = None
    transport: Callable[[], httpx.BaseTransport] | None = None


def channel_http(settings: ConnectorSettings, seams: Seams, **options: Any) -> ChannelHttpFactory:
    """The connector's ChannelHttpFactory: bucket and egress rules from the settings (or the
    seams); `options` are the channel's retry policy, timeout, bucket wait and hooks."""
    return ChannelHttpFactory(
        limiter=connector_limiter(settings, seams.limiter),
        egress=egress_policy(settings, seams.resolver),
        sleep=seams.sleep,
        transport=seams.transport,
        **options,
    )


ServicerT = TypeVar("ServicerT")


def build_connector_server(
    settings: ConnectorSettings, servicer: ServicerT, **options: Any
) -> BuiltServer[ServicerT]:
    """Start `servicer` as omnistock.connector.v1.ConnectorService on settings.bind_address; the
    `BuiltServer`'s `parts` is the servicer (a connector keeps no database and no other state).

    Every connector has the same read-only RPCs (connector_base.READ_ONLY_METHODS: any internal
    role may call them, the others need a writing role). `options` go to
    omnistock_common.grpc_server.build_server (e.g. interceptors). Every RPC's deadline bounds the
    retries of its channel calls (call_budget.DeadlineInterceptor).
    """
    options["interceptors"] = [DeadlineInterceptor(), *options.get("interceptors", ())]
    running = build_server(
        [lambda server: connector_service_pb2_grpc.add_ConnectorServiceServicer_to_server(servicer, server)],
        [CONNECTOR_SERVICE_NAME],
        settings.bind_address,
        max_workers=settings.service.max_workers,
        read_only_methods=READ_ONLY_METHODS,
        **options,
    )
    return BuiltServer(running, servicer)


def serve_connector(
    name: str, load_settings: Callable[[], SettingsT], build: Callable[[SettingsT], BuiltServer[Any]]
) -> None:
    """A connector process's main(): settings, logging, internal-token identity (a bad
    INTERNAL_TOKEN_SECRET stops the process before it serves), server; serves until SIGTERM/SIGINT."""
    settings = load_settings()
    setup_logging(name, settings.service.log_level, settings.service.log_format)
    service_auth.configure(name)
    serve_forever(build(settings), settings.service.grace_seconds)
