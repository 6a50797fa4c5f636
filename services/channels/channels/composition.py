"""The one composition root of channels, shared by the gRPC server and the sync worker.

`build_core` wires what both processes need to call a connector about a connection: database
engine + UnitOfWork, key ring, connector clients, Redis, the notifier and the ConnectionCaller;
`build_deps` the use cases' collaborators (ChannelsDeps) on top of it. server.py adds the
servicer and gRPC server; `build_runtime` adds the sync engine with per-OS-thread clients for
channels.worker (and benchmarks and tests without nameko), and ChannelsDeps for its jobs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import ModuleType
from typing import Any

from sqlalchemy import Engine

from channels.catalog_client import PerThreadCatalog
from channels.config import Settings
from channels.connector_calls import ConnectionCaller, RedisLike
from channels.connector_clients import ConnectorRegistry
from channels.crypto import KeyRing
from channels.deps import CatalogPort, ChannelsDeps, ImportTargets, OAuthConfig, PublishSources
from channels.import_clients import GrpcImportTargets
from channels.notify import Notifier
from channels.publish_clients import PerThreadPublishSources
from channels.repository import UnitOfWork
from channels.sync.dispatch import SyncDispatcher
from channels.sync.engine import SyncEngine
from channels.sync.inventory_source import GrpcInventory
from channels.sync.runtime import PerThreadConnectors, PerThreadRedis, Runtime
from channels.sync.settings import SyncSettings
from omnistock_common.config import load_internal_auth_settings
from omnistock_common.db import make_engine
from omnistock_common.egress import EgressPolicy


@dataclass
class ChannelsCore:
    """What server and worker share; `closers` close it in reverse order of creation."""

    sql: Engine
    uow: UnitOfWork
    keyring: KeyRing
    connectors: ConnectorRegistry
    redis: RedisLike
    notifier: Notifier
    caller: ConnectionCaller
    closers: list[Callable[[], None]] = field(default_factory=list)


def build_core(
    settings: Settings,
    *,
    pool_size: int,
    redis: RedisLike,
    connectors: ConnectorRegistry,
    closers: list[Callable[[], None]] | None = None,
    threads: ModuleType | None = None,
) -> ChannelsCore:
    """Engine, UnitOfWork, key ring, notifier and ConnectionCaller over the given Redis client and
    connector clients (the server shares one of each, the worker has one per OS thread).
    `closers` already holds how to close what the caller built; the engine and notifier join it.
    `threads`: whose locks guard the engine's pool (the worker: OS locks, see db.os_thread_pool)."""
    owned = list(closers or [])
    sql = make_engine(settings.database_url, pool_size=pool_size, threads=threads)
    owned.insert(0, sql.dispose)
    uow = UnitOfWork(sql)

    def notification_url(tenant_id: str) -> str:
        with uow.transaction() as repo:
            return repo.get_notification_url(tenant_id)

    notifier = Notifier(
        notification_url,
        timeout=settings.notify_timeout_seconds,
        egress=EgressPolicy(allowed=settings.allowed_hosts),
        # The worker raises alerts from OS threads: the notifier's pool must be OS threads too.
        threads=threads or threading,
    )
    owned.append(notifier.close)
    keyring = KeyRing(settings.credentials_keys)
    caller = ConnectionCaller(
        uow,
        keyring,
        connectors,
        redis,
        notifier,
        refresh_skew=timedelta(seconds=settings.refresh_skew_seconds),
    )
    return ChannelsCore(sql, uow, keyring, connectors, redis, notifier, caller, owned)


def build_deps(
    core: ChannelsCore,
    settings: Settings,
    *,
    catalog: CatalogPort | None,
    imports: ImportTargets | None = None,
    publish: PublishSources | None = None,
) -> ChannelsDeps:
    """The use cases' collaborators over the core (server: shared clients; worker: per thread)."""
    return ChannelsDeps(
        core.uow,
        core.keyring,
        core.connectors,
        core.caller,
        core.redis,  # type: ignore[arg-type]
        OAuthConfig(
            state_secret=settings.oauth_state_secret,
            default_redirect_uri=settings.oauth_redirect_uri,
            state_ttl=timedelta(seconds=settings.oauth_state_ttl_seconds),
        ),
        catalog=catalog,
        egress=EgressPolicy(allowed=settings.allowed_hosts),
        imports=imports,
        publish=publish,
    )


def build_runtime(
    settings: Settings,
    sync_settings: SyncSettings,
    *,
    local_factory: Callable[[], Any] = threading.local,
    db_pool_size: int | None = None,
    threads: ModuleType = threading,
) -> Runtime:
    """The sync worker's Runtime: the core with per-OS-thread Redis, connector and catalog
    clients, the inventory client, the SyncEngine and its dispatcher (a pool of `threads`' OS
    threads: the worker passes eventlet's original threading module), and the jobs' ChannelsDeps."""
    if db_pool_size is None:
        # Every flush/poll thread and the worker's own tpool jobs may hold a connection at once.
        db_pool_size = sync_settings.parallel_connections + 8
    # Their locks are taken by OS threads: they come from `threads` (OS locks in the worker).
    redis = PerThreadRedis(settings.server.redis_url, local_factory, threads)
    connectors = PerThreadConnectors(
        settings.connector_addrs, settings.connector_timeout_seconds, local_factory, threads
    )
    core = build_core(
        settings,
        pool_size=db_pool_size,
        redis=redis,
        connectors=connectors,  # type: ignore[arg-type]  # duck-typed ConnectorRegistry (get)
        closers=[redis.close, connectors.close],
        # Its tpool and dispatcher threads share the engine: its pool must lock with OS locks.
        threads=threads,
    )
    inventory = GrpcInventory(
        sync_settings.inventory_addr, sync_settings.inventory_timeout.total_seconds(), local_factory, threads
    )
    core.closers.append(inventory.close)
    engine = SyncEngine(core.uow, redis, core.caller, settings=sync_settings, inventory=inventory)
    catalog = None
    imports = None
    if settings.catalog_addr:
        catalog = PerThreadCatalog(
            settings.catalog_addr, settings.catalog_timeout_seconds, local_factory, threads
        )
        core.closers.append(catalog.close)
        # The onboarding import writes the catalog and inventory (channels.catalog_import).
        imports = GrpcImportTargets(
            settings.catalog_addr,
            sync_settings.inventory_addr,
            settings.catalog_timeout_seconds,
            local_factory,
            threads,
        )
        core.closers.append(imports.close)
    publish = None
    if settings.catalog_addr and settings.pricing_addr:
        # Publishing reads products from the catalog and channel prices from pricing.
        publish = PerThreadPublishSources(
            settings.catalog_addr,
            settings.pricing_addr,
            settings.catalog_timeout_seconds,
            local_factory,
            threads,
        )
        core.closers.append(publish.close)
    # Runtime.close stops it before any closer runs: no flush may outlive the clients it uses.
    dispatcher = SyncDispatcher(engine, threads=threads)
    return Runtime(
        engine,
        core.sql,
        settings,
        core.closers,
        event_secret=load_internal_auth_settings().token_secret,
        deps=build_deps(core, settings, catalog=catalog, imports=imports, publish=publish),
        dispatcher=dispatcher,
    )


__all__ = ["ChannelsCore", "build_core", "build_deps", "build_runtime"]
