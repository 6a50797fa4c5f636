"""Thread plumbing of the sync worker: per-OS-thread clients and the Runtime its jobs share.

The worker runs every job in eventlet's tpool threads, where one gRPC channel or redis-py client
shared between threads deadlocks (DESIGN, Events): each thread gets its own (`local_factory`,
eventlet's original threading.local in the worker). channels.composition builds the Runtime.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import redis as redis_lib
from sqlalchemy import Engine

from channels.config import Settings
from channels.connector_clients import ConnectorRegistry, ConnectorStub
from channels.deps import ChannelsDeps
from channels.sync.dispatch import SyncDispatcher
from channels.sync.engine import SyncEngine
from channels.sync.recovery import EpochWatch
from omnistock_common.clients import DeadlineStub

log = logging.getLogger(__name__)


class PerThreadConnectors:
    """A ConnectorRegistry per OS thread (`local_factory`): the worker runs connector calls in
    eventlet tpool threads, where one gRPC channel shared between threads deadlocks (DESIGN)."""

    def __init__(
        self,
        addresses: Mapping[str, str],
        timeout: float,
        local_factory: Callable[[], Any] = threading.local,
        threads: ModuleType = threading,
    ) -> None:
        self.addresses = dict(addresses)
        self.timeout = timeout
        self._local = local_factory()
        self._lock = threads.Lock()  # an OS lock in the worker: OS threads take it
        self._registries: list[ConnectorRegistry] = []

    def _registry(self) -> ConnectorRegistry:
        registry = getattr(self._local, "registry", None)
        if registry is None:
            registry = ConnectorRegistry.from_addresses(self.addresses, self.timeout)
            with self._lock:
                self._registries.append(registry)
            self._local.registry = registry
        return registry

    def get(self, channel_type: str) -> DeadlineStub[ConnectorStub]:
        return self._registry().get(channel_type)

    def close(self) -> None:
        with self._lock:
            for registry in self._registries:
                registry.close()
            self._registries.clear()


class PerThreadRedis:
    """One redis-py client per OS thread, for the same reason as PerThreadConnectors."""

    def __init__(
        self, url: str, local_factory: Callable[[], Any] = threading.local, threads: ModuleType = threading
    ) -> None:
        self.url = url
        self._local = local_factory()
        self._lock = threads.Lock()  # an OS lock in the worker: OS threads take it
        self._clients: list[redis_lib.Redis] = []

    def _client(self) -> redis_lib.Redis:
        client = getattr(self._local, "client", None)
        if client is None:
            client = redis_lib.Redis.from_url(self.url, socket_timeout=10.0, socket_connect_timeout=2.0)
            with self._lock:
                self._clients.append(client)
            self._local.client = client
        return client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client(), name)

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()


@dataclass
class Runtime:
    """Everything the worker's jobs share, and how to close it."""

    engine: SyncEngine
    sql: Engine
    settings: Settings
    closers: list[Callable[[], None]] = field(default_factory=list)
    # Verifies the signature of consumed events (INTERNAL_TOKEN_SECRET).
    event_secret: str = field(default="", repr=False)
    # Runs each due connection's flush on its own thread (the worker's flush timer ticks it).
    dispatcher: SyncDispatcher | None = None
    # The use cases' collaborators, for the background jobs (channels.jobs).
    deps: ChannelsDeps | None = None
    # Notices that Redis lost the store's data and re-pushes everything (recovery.py).
    epoch: EpochWatch = field(default_factory=EpochWatch)

    def close(self) -> None:
        """Stop the dispatcher first (no new flush); then close the clients, unless a flush or poll
        is still inside a call after the dispatcher's grace: its thread owns per-thread clients
        (gRPC channels, a Redis client, a database connection) and closing them under it from this
        thread is a cross-thread switch eventlet refuses ("greenlet.error: cannot switch to a
        different thread"). Those are left to the process exit, which is next."""
        if self.dispatcher is not None:
            busy = self.dispatcher.close()
            if busy:
                log.warning(
                    "%d sync jobs still running at stop; their clients are left to the process exit", busy
                )
                self.closers.clear()
                return
        for close in reversed(self.closers):
            close()
        self.closers.clear()


__all__ = ["PerThreadConnectors", "PerThreadRedis", "Runtime"]
