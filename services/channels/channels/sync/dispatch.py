"""The worker's dispatcher: every due connection's flush (and every requested order poll) on its
own thread of a bounded pool, so one channel's slowness never delays another's push.

Why: flushing connections one after another on one thread makes every channel wait for the
slowest one: with Shopify answering 500s or not answering at all, WooCommerce's pushes (decreases
included) waited behind Shopify's connector deadline. Here `tick()` (the worker's flush timer,
every FLUSH_INTERVAL) only reads what is due and hands each connection to an idle thread; it never
waits for a flush. Per connection, a flush is bounded by the connector deadline of its calls
(CHANNELS_CONNECTOR_TIMEOUT_SECONDS; the connector answers before it, call_budget.py) and by the
Redis lock's TTL across replicas. Nothing is shared between the threads but Redis and the database
(per-thread clients, runtime.py), and there is no lock across connections.

Bounded: at most `parallel_connections` flushes and polls run at once per process. A connection
is only handed over when a thread is idle (never queued behind busy ones), so if every thread is
stuck on a hung channel, the next due connection waits for the first thread to come back (at most
one connector deadline) or is taken by another replica. A connection already in flight here is
never submitted twice.

Threads: in the nameko worker the process is monkey-patched by eventlet, so the pool is built from
eventlet's ORIGINAL threading module (`threads` argument, as for runtime.py's per-thread clients):
real OS threads, like tpool's, each with its own hub.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from channels.sync import flusher, schedule, store
from channels.sync.engine import SyncEngine
from channels.thread_pool import ThreadPool

log = logging.getLogger(__name__)


class SyncDispatcher:
    """Hands due connections and requested order polls to the pool; see the module docstring."""

    def __init__(
        self, engine: SyncEngine, *, threads: ModuleType = threading, size: int | None = None
    ) -> None:
        self.engine = engine
        self.pool = ThreadPool(size or engine.settings.parallel_connections, threads, name="sync")
        self._lock = threads.Lock()
        self._running: set[tuple[str, str]] = set()
        self.finished: list[flusher.ConnectionFlush] = []  # last results (tests, benchmark)

    def running(self) -> set[tuple[str, str]]:
        with self._lock:
            return set(self._running)

    def tick(self) -> int:
        """Submit what is due now; returns how many jobs were handed over. Never waits for one."""
        engine = self.engine
        now_ms = store.ms(engine.clock())
        submitted = 0
        for tenant_id, connection_id in schedule.due_polls(engine.redis, now_ms, engine.settings.flush_limit):
            if self.pool.idle() <= 0:
                return submitted
            key = ("poll", connection_id)
            if key in self.running() or not schedule.claim_poll(engine.redis, tenant_id, connection_id):
                continue
            submitted += self._submit(key, flusher.run_poll, tenant_id, connection_id)
        for tenant_id, connection_id in flusher.due_connections(engine, now_ms):
            if self.pool.idle() <= 0:
                return submitted
            key = ("flush", connection_id)
            if key in self.running():
                continue
            submitted += self._submit(key, self._flush, tenant_id, connection_id)
        return submitted

    def _submit(self, key: tuple[str, str], fn: Callable[..., Any], *args: str) -> int:
        with self._lock:
            self._running.add(key)

        def job() -> None:
            try:
                fn(self.engine, *args)
            finally:
                with self._lock:
                    self._running.discard(key)

        if self.pool.submit(job):
            return 1
        with self._lock:
            self._running.discard(key)
        return 0

    def _flush(self, engine: SyncEngine, tenant_id: str, connection_id: str) -> None:
        try:
            result = flusher.flush_connection(engine, tenant_id, connection_id)
        except Exception:  # logged by flush_connection; it is due again after its backoff
            return
        if result is not None:
            with self._lock:
                self.finished = [*self.finished[-99:], result]

    def close(self, timeout: float = 2.0) -> int:
        """Stop dispatching; returns how many flushes or polls are still running after `timeout`
        (runtime.Runtime.close then leaves their clients open: see there)."""
        return self.pool.close(timeout)


__all__ = ["SyncDispatcher"]
