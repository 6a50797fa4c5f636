"""nameko entry points of the channels sync worker (service name `channels_sync`).

Run: `nameko run --config services/channels/worker.yaml channels.worker` (AMQP_URL and the channels
settings come from the environment). Every entry point is a few lines handing a plain function of
channels.sync (store, flusher, reconcile) to `eventlet.tpool.execute`: those functions make blocking gRPC, Redis and
database calls, and on a green thread one such call freezes the whole process (AMQP heartbeats
included). In tpool they run on real OS threads, each with its own gRPC channels and Redis client
(`eventlet.patcher.original('threading').local`), as DESIGN ("Events") measured to be the one
arrangement that works. Keep EVENTLET_THREADPOOL_SIZE >= max_workers (worker.yaml).

The outbox relay of the channels service (channels.sync_requested, channels.webhook_received,
channels.order_received, channels.order_action_synced, channels.connection_*) also lives here: it
must publish through nameko's dispatcher, which is green, so it runs on the green thread like the
inventory worker's relay, and signs every event (channels.events). Consumed events are checked
the same way: orders.* (order_imported, fulfillment_requested, cancel_requested) and
inventory.stock_changed and pricing.price_changed that are not signed with INTERNAL_TOKEN_SECRET
are dropped.
"""

from __future__ import annotations

from typing import Any

from eventlet import patcher, tpool
from nameko.amqp.publish import UndeliverableMessage
from nameko.events import EventDispatcher, event_handler
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from channels import events, jobs, order_actions, publishing
from channels.composition import build_runtime
from channels.config import load_settings
from channels.sync import flusher, reconcile, settlement, store
from channels.sync.runtime import Runtime
from channels.sync.settings import load_sync_settings
from omnistock_common import service_auth
from omnistock_common.config import check_amqp_url, exit_on_config_error, load_internal_auth_settings
from omnistock_common.outbox_relay import mandatory_unless_optional, unroutable_as
from omnistock_common.shared_locks import use_os_locks
from omnistock_common.stop_deadline import install_stop_deadline

# Refuse to start (one line, exit 2) on bad settings or, in production, development secrets.
exit_on_config_error(lambda: (check_amqp_url(), load_settings(), load_internal_auth_settings()))
# OS threads (tpool, the sync dispatcher) log too: the logging locks must be OS locks.
use_os_locks()

SERVICE_NAME = "channels_sync"
# The channels service's own events go out as channels.<type> (on `channels.events`).
CHANNELS_EVENTS = events.SERVICE_NAME
# The dispatcher's tick: hands due connections to its threads (never waits for a flush), so this is
# also the longest a recovered channel or a finished order poll waits for the next push.
FLUSH_INTERVAL = 0.1
RELAY_INTERVAL = 0.2
# How often the worker looks for a Redis that lost the store's data (sync/recovery.py): a lost
# figure is re-pushed from inventory within this plus one flush.
EPOCH_CHECK_INTERVAL = 1.0
_SETTINGS = load_sync_settings()
RECONCILE_INTERVAL = _SETTINGS.reconcile_interval.total_seconds()
# Checked every minute; each connection is polled once per its `order_poll_interval_seconds`
# setting (default CHANNELS_ORDER_POLL_INTERVAL_SECONDS).
ORDER_POLL_CHECK_INTERVAL = 60.0
# Fulfilments and cancellations due to be sent to the channels are looked for this often.
ORDER_ACTIONS_INTERVAL = 1.0
# The orders service's events (nameko service `orders`).
ORDERS_EVENTS = "orders"
# The pricing service's events (nameko service `pricing`): price_changed per (connection, SKU).
PRICING_EVENTS = "pricing"
# The catalog's events (nameko service `catalog`): product_changed per product edit.
CATALOG_EVENTS = "catalog"
# Published products with a newer version (or a retry that came due) are pushed this often.
PUBLISH_INTERVAL = 1.0
# Background jobs whose event was lost or whose worker died are looked for this often.
JOB_SWEEP_INTERVAL = 30.0
# After SIGTERM the process is gone within this many seconds, whatever is still running.
STOP_DEADLINE = 8.0


class SyncRuntime(DependencyProvider):
    """Builds the runtime (engine, Redis, connectors, inventory client) once per container."""

    def setup(self) -> None:
        service_auth.configure(SERVICE_NAME)
        local = patcher.original("threading").local
        self.runtime = build_runtime(
            load_settings(), _SETTINGS, local_factory=local, threads=patcher.original("threading")
        )

    def start(self) -> None:
        # SIGTERM: at most STOP_DEADLINE seconds to a stopped process (omnistock_common.stop_deadline).
        install_stop_deadline(STOP_DEADLINE)

    def stop(self) -> None:
        self.runtime.close()

    def get_dependency(self, worker_ctx: object) -> Runtime:
        return self.runtime


class ChannelsRelay:
    """Publishes the channels outbox as signed nameko events `channels.<type>`."""

    name = CHANNELS_EVENTS
    # Confirmed and mandatory: an event no queue took comes back and its rows stay unsent.
    dispatch = EventDispatcher(use_confirms=True, mandatory=True)
    # Types nothing has to consume (events.OPTIONAL_EVENTS) go out without `mandatory`.
    dispatch_optional = EventDispatcher(use_confirms=True)
    runtime = SyncRuntime()

    @timer(interval=RELAY_INTERVAL, eager=True)
    def relay_outbox(self) -> None:
        routed = mandatory_unless_optional(
            events.SERVICE_NAME, events.OPTIONAL_EVENTS, self.dispatch, self.dispatch_optional
        )
        dispatch = unroutable_as(routed, UndeliverableMessage)
        events.relay_outbox(self.runtime.sql, dispatch, self.runtime.event_secret)


class ChannelsSyncWorker:
    """Stock and price intake, the flusher, reconciliation, sync jobs, background jobs (auto-map,
    catalog import, publish), order polls, imported orders, the order actions sent back to the
    channels, and published products kept current (catalog.product_changed, the publish timer)."""

    name = SERVICE_NAME
    runtime = SyncRuntime()

    @event_handler("inventory", "stock_changed")
    def on_stock_changed(self, payload: dict[str, Any]) -> None:
        if not store.accept_stock_changed(payload, self.runtime.event_secret):
            return
        tpool.execute(self.runtime.epoch.record_or_flag, self.runtime.engine, payload)

    @event_handler(PRICING_EVENTS, "price_changed")
    def on_price_changed(self, payload: dict[str, Any]) -> None:
        change = store.accept_price_changed(payload, self.runtime.event_secret)
        if change is None:
            return
        tpool.execute(self.runtime.epoch.record_price_or_flag, self.runtime.engine, change)

    @timer(interval=EPOCH_CHECK_INTERVAL, eager=True)
    def check_sync_store(self) -> None:
        tpool.execute(self.runtime.epoch.check, self.runtime.engine)

    @timer(interval=FLUSH_INTERVAL, eager=True)
    def flush(self) -> None:
        dispatcher = self.runtime.dispatcher
        if dispatcher is None:
            tpool.execute(flusher.flush_due, self.runtime.engine)
        else:
            tpool.execute(dispatcher.tick)

    @timer(interval=RECONCILE_INTERVAL)
    def reconcile(self) -> None:
        tpool.execute(reconcile.reconcile_all, self.runtime.engine)

    @event_handler(CHANNELS_EVENTS, "sync_requested")
    def on_sync_requested(self, payload: dict[str, Any]) -> None:
        tpool.execute(reconcile.run_sync_job, self.runtime.engine, payload)

    @timer(interval=ORDER_POLL_CHECK_INTERVAL, eager=True)
    def poll_orders(self) -> None:
        tpool.execute(reconcile.request_due_polls, self.runtime.engine)

    @event_handler(ORDERS_EVENTS, "order_imported")
    def on_order_imported(self, payload: dict[str, Any]) -> None:
        tpool.execute(settlement.settle_imported, self.runtime.engine, payload, self.runtime.event_secret)

    @event_handler(ORDERS_EVENTS, "fulfillment_requested")
    def on_fulfillment_requested(self, payload: dict[str, Any]) -> None:
        secret = self.runtime.event_secret
        tpool.execute(
            order_actions.accept_request, self.runtime.engine, order_actions.FULFILLMENT, payload, secret
        )

    @event_handler(ORDERS_EVENTS, "cancel_requested")
    def on_cancel_requested(self, payload: dict[str, Any]) -> None:
        secret = self.runtime.event_secret
        tpool.execute(
            order_actions.accept_request, self.runtime.engine, order_actions.CANCEL, payload, secret
        )

    @timer(interval=ORDER_ACTIONS_INTERVAL, eager=True)
    def send_order_actions(self) -> None:
        tpool.execute(order_actions.send_due, self.runtime.engine)

    @event_handler(CHANNELS_EVENTS, "job_requested")
    def on_job_requested(self, payload: dict[str, Any]) -> None:
        tpool.execute(jobs.run_job, self.runtime.deps, str(payload.get("job_id") or ""))

    @timer(interval=JOB_SWEEP_INTERVAL, eager=True)
    def resume_jobs(self) -> None:
        tpool.execute(jobs.resume_jobs, self.runtime.deps)

    @event_handler(CATALOG_EVENTS, "product_changed")
    def on_product_changed(self, payload: dict[str, Any]) -> None:
        tpool.execute(publishing.product_changed, self.runtime.deps, payload, self.runtime.event_secret)

    @timer(interval=PUBLISH_INTERVAL, eager=True)
    def publish_products(self) -> None:
        tpool.execute(publishing.push_due, self.runtime.deps)
