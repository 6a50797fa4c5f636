"""nameko entry points of the orders worker (service name `orders`).

Run: `nameko run --config services/orders/worker.yaml orders.worker` (AMQP_URL and the orders
settings come from the environment). Each entry point is a few lines over orders.jobs, which
knows nothing of nameko or eventlet; this module is the only eventlet-aware edge.

Threads, as docs/architecture.md (Events) measured: everything runs on nameko's green threads,
the database included (psycopg waits through eventlet, so a query never freezes the hub), and
only the inventory gRPC calls leave it: `TpoolStock` runs each on an eventlet tpool OS thread
with one channel + stub per OS thread, always with a deadline. Keep EVENTLET_THREADPOOL_SIZE >=
max_workers (worker.yaml). The database stays on the green threads because SQLAlchemy's pool
locks are green under `nameko run`: shared with tpool threads they fail ("Cannot switch to a
different thread", seen on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg.waiting
from eventlet import patcher, tpool
from nameko.amqp.publish import UndeliverableMessage
from nameko.events import EventDispatcher, event_handler
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from omnistock_common import service_auth
from omnistock_common.config import check_amqp_url, exit_on_config_error, load_internal_auth_settings
from omnistock_common.context import CallContext
from omnistock_common.outbox_relay import mandatory_unless_optional, unroutable_as
from omnistock_common.shared_locks import use_os_locks
from omnistock_common.stop_deadline import install_stop_deadline
from orders import jobs as worker_jobs
from orders.config import load_settings
from orders.domain import HoldOutcome
from orders.inventory_client import InventoryStock
from orders.service import HoldRequest

# Refuse to start (one line, exit 2) on bad settings or, in production, development secrets.
exit_on_config_error(lambda: (check_amqp_url(), load_settings(), load_internal_auth_settings()))
# OS threads (tpool, the sync dispatcher) log too: the logging locks must be OS locks.
use_os_locks()
# After SIGTERM the process is gone within this many seconds, whatever is still running (a relay
# publish waits for the broker as long as it is away).
STOP_DEADLINE = 8.0

RELAY_INTERVAL = 0.2
STOCK_RETRY_INTERVAL = 5.0
RESUME_INTERVAL = 30.0
PURGE_INTERVAL = 3600.0


class TpoolStock:
    """The stock port with every inventory call on a tpool OS thread (per-thread stubs)."""

    def __init__(self, inner: InventoryStock) -> None:
        self.inner = inner

    def hold(self, ctx: CallContext, request: HoldRequest) -> HoldOutcome:
        return tpool.execute(self.inner.hold, ctx, request)

    def commit(
        self, ctx: CallContext, reservation_id: str, lines: Sequence[tuple[str, int]], key: str
    ) -> None:
        tpool.execute(self.inner.commit, ctx, reservation_id, lines, key)

    def release(self, ctx: CallContext, reservation_id: str) -> None:
        tpool.execute(self.inner.release, ctx, reservation_id)

    def restock(self, ctx: CallContext, sku: str, quantity: int, key: str, reference: str) -> None:
        tpool.execute(self.inner.restock, ctx, sku, quantity, key, reference)

    def close(self) -> None:
        self.inner.close()


def in_tpool(inner: InventoryStock) -> TpoolStock:
    inner.use_os_threads(patcher.original("threading"))
    return TpoolStock(inner)


class OrdersJobs(DependencyProvider):
    """Builds the worker's engine and inventory client once per container."""

    def setup(self) -> None:
        # psycopg waits for its socket through `selectors`, which nameko run has monkey-patched:
        # a query yields to the other green threads instead of blocking the hub.
        psycopg.waiting.wait = psycopg.waiting.wait_selector
        service_auth.configure("orders-worker")
        secret = load_internal_auth_settings().token_secret
        self.jobs = worker_jobs.build_jobs(load_settings(), secret, in_tpool)

    def start(self) -> None:
        # SIGTERM: at most STOP_DEADLINE seconds to a stopped process (omnistock_common.stop_deadline).
        install_stop_deadline(STOP_DEADLINE)

    def stop(self) -> None:
        self.jobs.close()

    def get_dependency(self, worker_ctx: object) -> worker_jobs.WorkerJobs:
        return self.jobs


class OrdersWorker:
    """Order intake from the channels, the outbox relay, stock retries, request recovery."""

    # The service name makes events go out as orders.<type> on `orders.events`.
    name = worker_jobs.SERVICE_NAME
    # Confirmed and mandatory: an event no queue took comes back and its rows stay unsent.
    dispatch = EventDispatcher(use_confirms=True, mandatory=True)
    # Types nothing has to consume (jobs.OPTIONAL_EVENTS) go out without `mandatory`.
    dispatch_optional = EventDispatcher(use_confirms=True)
    jobs = OrdersJobs()

    # requeue_on_error: an infrastructure failure (database down) redelivers the event; a
    # malformed or unsigned event is dropped by the job itself, never requeued.
    @event_handler("channels", "order_received", requeue_on_error=True)
    def on_order_received(self, payload: dict[str, Any]) -> None:
        self.jobs.on_order_received(payload)

    @event_handler("channels", "order_action_synced", requeue_on_error=True)
    def on_order_action_synced(self, payload: dict[str, Any]) -> None:
        self.jobs.on_action_synced(payload)

    @timer(interval=RELAY_INTERVAL, eager=True)
    def relay_outbox(self) -> None:
        dispatch = mandatory_unless_optional(
            worker_jobs.SERVICE_NAME, worker_jobs.OPTIONAL_EVENTS, self.dispatch, self.dispatch_optional
        )
        self.jobs.relay(unroutable_as(dispatch, UndeliverableMessage))

    @timer(interval=STOCK_RETRY_INTERVAL, eager=True)
    def retry_stock(self) -> None:
        self.jobs.retry_stock()

    @timer(interval=RESUME_INTERVAL)
    def resume_operations(self) -> None:
        self.jobs.resume_operations()

    @timer(interval=PURGE_INTERVAL)
    def purge_outbox(self) -> None:
        self.jobs.purge_outbox()
