"""nameko entry points of the pricing worker (service name `pricing`).

Run: `nameko run --config services/pricing/worker.yaml pricing.worker` (AMQP_URL and the pricing
settings come from the environment). Each entry point is a few lines over pricing.jobs, which
knows nothing of nameko or eventlet; this module is the only eventlet-aware edge.

Threads, as in orders.worker: the database stays on nameko's green threads (psycopg waits through
eventlet), and only the catalog and channels gRPC calls (base prices, listings) leave it: each
runs on an eventlet tpool OS thread with one channel + stub per OS thread, always with a deadline.

Several replicas are safe: a timed sale moves by a compare-and-set on its state and a schedule
by one on its next run time, in the transaction that writes the events, so each transition and
each scheduled re-push happens once; the relay claims outbox rows with FOR UPDATE SKIP LOCKED.
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
from omnistock_common.outbox_relay import unroutable_as
from omnistock_common.shared_locks import use_os_locks
from omnistock_common.stop_deadline import install_stop_deadline
from pricing import jobs as worker_jobs
from pricing.clients import CatalogPrices, ChannelListings
from pricing.config import load_settings
from pricing.domain.model import BasePrice
from pricing.server import build_deps

exit_on_config_error(lambda: (check_amqp_url(), load_settings(), load_internal_auth_settings()))
use_os_locks()
STOP_DEADLINE = 8.0

RELAY_INTERVAL = 0.2
SALES_INTERVAL = 1.0
SCHEDULES_INTERVAL = 15.0
PURGE_INTERVAL = 3600.0


class TpoolCatalog:
    """The catalog port with every call on a tpool OS thread (per-thread stubs)."""

    def __init__(self, inner: CatalogPrices) -> None:
        self.inner = inner

    def base_prices(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, BasePrice]:
        return tpool.execute(self.inner.base_prices, ctx, skus)


class TpoolListings:
    """The listings port with every call on a tpool OS thread (per-thread stubs)."""

    def __init__(self, inner: ChannelListings) -> None:
        self.inner = inner

    def listed_skus(self, ctx: CallContext, connection_id: str) -> list[str]:
        return tpool.execute(self.inner.listed_skus, ctx, connection_id)


class PricingJobs(DependencyProvider):
    """Builds the worker's engine and clients once per container."""

    def setup(self) -> None:
        psycopg.waiting.wait = psycopg.waiting.wait_selector
        service_auth.configure("pricing-worker")
        settings = load_settings()
        threads = patcher.original("threading")
        catalog = CatalogPrices(settings.catalog_addr, settings.call_timeout_seconds, threads=threads)
        listings = ChannelListings(settings.channels_addr, settings.call_timeout_seconds, threads=threads)
        deps, closers = build_deps(
            settings, catalog=TpoolCatalog(catalog), listings=TpoolListings(listings), pool_size=8
        )
        self.closers = [catalog.close, listings.close, *closers]
        secret = load_internal_auth_settings().token_secret
        self.jobs = worker_jobs.WorkerJobs(deps.uow.engine, deps, secret)

    def start(self) -> None:
        install_stop_deadline(STOP_DEADLINE)

    def stop(self) -> None:
        self.jobs.close(self.closers)

    def get_dependency(self, worker_ctx: object) -> worker_jobs.WorkerJobs:
        return self.jobs


class PricingWorker:
    """The outbox relay, timed sales, price-sync schedules and channels' price sync requests."""

    name = worker_jobs.SERVICE_NAME
    dispatch = EventDispatcher(use_confirms=True, mandatory=True)
    jobs = PricingJobs()

    # requeue_on_error: catalog or channels unreachable redelivers the request; an unsigned or
    # malformed one is dropped by the job itself, never requeued.
    @event_handler("channels", "price_sync_requested", requeue_on_error=True)
    def on_price_sync_requested(self, payload: dict[str, Any]) -> None:
        self.jobs.on_price_sync_requested(payload)

    @timer(interval=RELAY_INTERVAL, eager=True)
    def relay_outbox(self) -> None:
        self.jobs.relay(unroutable_as(self.dispatch, UndeliverableMessage))

    @timer(interval=SALES_INTERVAL, eager=True)
    def run_sales(self) -> None:
        self.jobs.run_sales()

    @timer(interval=SCHEDULES_INTERVAL, eager=True)
    def run_schedules(self) -> None:
        self.jobs.run_schedules()

    @timer(interval=PURGE_INTERVAL)
    def purge_outbox(self) -> None:
        self.jobs.purge_outbox()
