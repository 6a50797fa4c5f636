"""nameko entry points of the orders worker (service name `orders`).

Run: `nameko run --config services/orders/worker.yaml orders.worker` (AMQP_URL and the orders
settings come from the environment). Each entry point is a few lines over orders.jobs, which
knows nothing of nameko or eventlet. Handlers and timers that call inventory run in
`eventlet.tpool` with one gRPC channel per OS thread (`patcher.original('threading').local`),
the one arrangement that works (docs/architecture.md, Events); keep EVENTLET_THREADPOOL_SIZE >=
max_workers (worker.yaml). The relay publishes through nameko's dispatcher, which is green, so it
runs on the green thread.
"""

from __future__ import annotations

from typing import Any

from eventlet import patcher, tpool
from nameko.events import EventDispatcher, event_handler
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from omnistock_common import service_auth
from omnistock_common.config import check_amqp_url, exit_on_config_error, load_internal_auth_settings
from orders import jobs as worker_jobs
from orders.config import load_settings

# Refuse to start (one line, exit 2) on bad settings or, in production, development secrets.
exit_on_config_error(lambda: (check_amqp_url(), load_settings(), load_internal_auth_settings()))

RELAY_INTERVAL = 0.2
STOCK_RETRY_INTERVAL = 5.0
RESUME_INTERVAL = 30.0
PURGE_INTERVAL = 3600.0


class OrdersJobs(DependencyProvider):
    """Builds the worker's engine and inventory client once per container."""

    def setup(self) -> None:
        service_auth.configure("orders-worker")
        secret = load_internal_auth_settings().token_secret
        self.jobs = worker_jobs.build_jobs(load_settings(), secret, patcher.original("threading").local)

    def stop(self) -> None:
        self.jobs.close()

    def get_dependency(self, worker_ctx: object) -> worker_jobs.WorkerJobs:
        return self.jobs


class OrdersWorker:
    """Order intake from the channels, the outbox relay, stock retries, request recovery."""

    # The service name makes events go out as orders.<type> on `orders.events`.
    name = worker_jobs.SERVICE_NAME
    dispatch = EventDispatcher(use_confirms=True)
    jobs = OrdersJobs()

    # requeue_on_error: an infrastructure failure (database down) redelivers the event; a
    # malformed or unsigned event is dropped by the job itself, never requeued.
    @event_handler("channels", "order_received", requeue_on_error=True)
    def on_order_received(self, payload: dict[str, Any]) -> None:
        tpool.execute(self.jobs.on_order_received, payload)

    @event_handler("channels", "order_action_synced", requeue_on_error=True)
    def on_order_action_synced(self, payload: dict[str, Any]) -> None:
        tpool.execute(self.jobs.on_action_synced, payload)

    @timer(interval=RELAY_INTERVAL, eager=True)
    def relay_outbox(self) -> None:
        self.jobs.relay(self.dispatch)

    @timer(interval=STOCK_RETRY_INTERVAL, eager=True)
    def retry_stock(self) -> None:
        tpool.execute(self.jobs.retry_stock)

    @timer(interval=RESUME_INTERVAL)
    def resume_operations(self) -> None:
        tpool.execute(self.jobs.resume_operations)

    @timer(interval=PURGE_INTERVAL)
    def purge_outbox(self) -> None:
        tpool.execute(self.jobs.purge_outbox)
