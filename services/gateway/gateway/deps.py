"""Composition root: Settings → engine, Redis, gRPC channels → GatewayDeps (what the identity use
cases of gateway.service take) and the backends' clients.

Nothing here runs at import. create_app() calls build_deps(settings) unless a test hands it a
ready Deps (fakes, a different catalog address...).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import grpc
import redis

from gateway.auth import Passwords, TokenCodec
from gateway.clients import CatalogClient, Channels, ReadinessProbe, catalog_client
from gateway.config import Settings
from gateway.errors import ErrorMapper
from gateway.live import LiveHub, build_hub
from gateway.ratelimit import RedisAttemptLimiter, RedisTokenDenylist
from gateway.repository import SqlUnitOfWork
from gateway.service import AttemptLimiter, GatewayDeps, LoginLimits, TokenVersions
from omnistock.channels.v1 import channels_service_pb2_grpc
from omnistock_common import service_auth
from omnistock_common.clients import DeadlineStub
from omnistock_common.db import make_engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelsClient:
    """The channels stub twice: the API's usual deadline, and a short one for webhook intake
    (channels retry deliveries that are not acknowledged within a few seconds)."""

    rpc: DeadlineStub[channels_service_pb2_grpc.ChannelsServiceStub]
    webhooks: DeadlineStub[channels_service_pb2_grpc.ChannelsServiceStub]


def channels_client(channel: grpc.Channel, timeout: float, webhook_timeout: float) -> ChannelsClient:
    stub = channels_service_pb2_grpc.ChannelsServiceStub(channel)
    return ChannelsClient(rpc=DeadlineStub(stub, timeout), webhooks=DeadlineStub(stub, webhook_timeout))


@dataclass
class Deps:
    settings: Settings
    # What the sessions and users use cases take (gateway.service).
    identity: GatewayDeps
    catalog: CatalogClient
    readiness: ReadinessProbe
    errors: ErrorMapper
    closers: list[Callable[[], None]] = field(default_factory=list)
    # None only in tests that build Deps by hand without the channels routes' backend.
    channels: ChannelsClient | None = None
    # Per-connection webhook rate limit (Redis, shared by replicas); None only in hand-built Deps.
    webhook_limiter: AttemptLimiter | None = None
    # Per-tenant order export rate limit (Redis); None only in hand-built Deps.
    export_limiter: AttemptLimiter | None = None
    # Live updates (tickets, stream slots, pub/sub); None only in hand-built Deps.
    live: LiveHub | None = None

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.closers.clear()


def build_deps(settings: Settings) -> Deps:
    if settings.uses_dev_jwt_secret:
        log.warning(
            "!!! GATEWAY_JWT_SECRET is not set: using the built-in DEVELOPMENT secret. Anyone can "
            "forge access tokens for this gateway. Set GATEWAY_JWT_SECRET (>= 32 random bytes) "
            "before exposing it. !!!"
        )
    # Backends trust only what the gateway signs with INTERNAL_TOKEN_SECRET (see service_auth).
    service_auth.configure("gateway")
    engine = make_engine(settings.database_url)
    redis_client = redis.Redis.from_url(settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
    channels = Channels()
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    tokens = TokenCodec(settings.jwt_secret, settings.access_token_ttl_seconds)

    live = build_hub(
        settings.redis_url,
        ticket_seconds=settings.live_ticket_seconds,
        max_streams=settings.live_max_streams,
        max_seconds=settings.live_max_seconds,
        heartbeat_seconds=settings.live_heartbeat_seconds,
    )

    uow = SqlUnitOfWork(engine)
    identity = GatewayDeps(
        uow=uow,
        passwords=passwords,
        tokens=tokens,
        limiter=RedisAttemptLimiter(redis_client),
        denylist=RedisTokenDenylist(redis_client),
        versions=TokenVersions(uow, settings.token_version_cache_seconds),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        family_max_age=timedelta(seconds=settings.refresh_family_max_age_seconds),
        limits=LoginLimits(
            free_failures=settings.login_free_failures,
            backoff_max_seconds=settings.login_backoff_max_seconds,
            failure_memory_seconds=settings.login_failure_memory_seconds,
            max_attempts_per_ip=settings.login_max_attempts_per_ip,
            ip_window_seconds=settings.login_ip_window_seconds,
            max_registrations_per_ip=settings.register_max_per_ip,
            registration_window_seconds=settings.register_ip_window_seconds,
        ),
    )
    return Deps(
        settings=settings,
        identity=identity,
        catalog=catalog_client(
            channels.get(settings.catalog_addr), settings.grpc_timeout_seconds, settings.bulk_timeout_seconds
        ),
        readiness=ReadinessProbe(
            {name: channels.get(addr) for name, addr in settings.backends.items()},
            settings.readiness_timeout_seconds,
        ),
        errors=ErrorMapper(),
        closers=[engine.dispose, redis_client.close, live.redis.close, channels.close],
        channels=channels_client(
            channels.get(settings.channels_addr),
            settings.grpc_timeout_seconds,
            settings.webhook_timeout_seconds,
        ),
        webhook_limiter=RedisAttemptLimiter(redis_client),
        export_limiter=RedisAttemptLimiter(redis_client),
        live=live,
    )
