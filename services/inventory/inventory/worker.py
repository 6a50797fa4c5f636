"""nameko entry points of the inventory worker.

Run: `nameko run --config services/inventory/worker.yaml inventory.worker` (AMQP_URL and the
inventory settings come from the environment). Each timer is a few lines calling inventory.relay,
which knows nothing of nameko or eventlet; this module is the only eventlet-aware edge.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg.waiting
from nameko.amqp.publish import UndeliverableMessage
from nameko.events import EventDispatcher, event_handler
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from inventory import relay
from inventory.config import load_settings
from omnistock_common.config import check_amqp_url, exit_on_config_error, load_internal_auth_settings
from omnistock_common.outbox_relay import mandatory_unless_optional, unroutable_as
from omnistock_common.service_auth import event_signature_valid, sign_event
from omnistock_common.shared_locks import use_os_locks
from omnistock_common.stop_deadline import install_stop_deadline

log = logging.getLogger(__name__)

# Refuse to start (one line, exit 2) on bad settings or, in production, development secrets.
exit_on_config_error(lambda: (check_amqp_url(), load_settings(), load_internal_auth_settings()))
# OS threads (tpool, the sync dispatcher) log too: the logging locks must be OS locks.
use_os_locks()
# After SIGTERM the process is gone within this many seconds, whatever is still running (a relay
# publish waits for the broker as long as it is away).
STOP_DEADLINE = 8.0

# Timer periods in seconds. The relay runs often so a change reaches the channels within a
# fraction of a second; each tick is bounded (relay.RELAY_MAX_BATCHES) and nameko never
# overlaps two runs of one timer.
RELAY_INTERVAL = 0.2
EXPIRY_INTERVAL = 5.0
PURGE_INTERVAL = 3600.0


def make_psycopg_cooperative() -> None:
    """Make psycopg 3 wait for its socket through eventlet instead of blocking the hub.

    psycopg's default wait (`wait_c`) polls the socket in C, so under `nameko run` one query
    freezes the whole process (AMQP heartbeats and the other timers included) for its duration.
    `wait_selector` waits through `selectors`, which `nameko run` has monkey-patched: measured
    with `SELECT pg_sleep(1)`, a 50 ms green ticker ran 1 time with wait_c and 20 times with
    wait_selector. psycopg looks the function up at call time (`waiting.wait`), so assigning it
    here affects every connection of this process, and only this process.
    """
    psycopg.waiting.wait = psycopg.waiting.wait_selector


class InventoryJobs(DependencyProvider):
    """Builds the worker's engine once per container and disposes of it when the container stops."""

    def setup(self) -> None:
        make_psycopg_cooperative()
        self.jobs = relay.build_jobs(load_settings())
        self.event_secret = load_internal_auth_settings().token_secret

    def start(self) -> None:
        # SIGTERM: at most STOP_DEADLINE seconds to a stopped process (omnistock_common.stop_deadline).
        install_stop_deadline(STOP_DEADLINE)

    def stop(self) -> None:
        self.jobs.close()

    def get_dependency(self, worker_ctx: object) -> SigningJobs:
        return SigningJobs(self.jobs, self.event_secret)


class SigningJobs:
    """The worker's jobs with every relayed event signed (INTERNAL_TOKEN_SECRET), so consumers
    can refuse events that did not come from here even if others can publish to the broker."""

    def __init__(self, jobs: relay.WorkerJobs, secret: str) -> None:
        self._jobs = jobs
        self._secret = secret

    def relay(self, dispatch: relay.Dispatch) -> int:
        def signed(routing_key: str, payload: dict[str, Any]) -> None:
            dispatch(routing_key, sign_event(self._secret, f"{relay.SERVICE_NAME}.{routing_key}", payload))

        return self._jobs.relay(signed)

    def expire_reservations(self) -> int:
        return self._jobs.expire_reservations()

    def on_order_oversold(self, payload: dict[str, Any]) -> int:
        """Alerts for an order imported short of stock; an unsigned or forged event is dropped."""
        if not event_signature_valid(self._secret, "orders.order_oversold", payload):
            log.warning("dropped an unsigned or forged orders.order_oversold event")
            return 0
        return self._jobs.open_oversold_alerts(payload)

    def purge_outbox(self) -> int:
        return self._jobs.purge_outbox()


class InventoryWorker:
    """Outbox relay, reservation expiry and outbox purge for the inventory service."""

    # The service name makes events go out as inventory.<type> on `inventory.events`.
    name = relay.SERVICE_NAME

    # Publisher confirms: dispatch returns only once RabbitMQ acknowledged the message, which is
    # what lets the relay mark rows sent. Measured: while the broker is unreachable, dispatch keeps
    # retrying (it neither returns nor raises) and completes once the broker is back; the rows stay
    # unsent meanwhile, and no lock a service writer needs is held (see outbox_relay).
    # Mandatory: an event the broker routes to no queue comes back (UndeliverableMessage) instead
    # of being confirmed and lost; the relay keeps its rows unsent and retries them.
    dispatch = EventDispatcher(use_confirms=True, mandatory=True)
    # Types nothing has to consume (relay.OPTIONAL_EVENTS) go out without `mandatory`.
    dispatch_optional = EventDispatcher(use_confirms=True)
    jobs = InventoryJobs()

    @timer(interval=RELAY_INTERVAL, eager=True)
    def relay_outbox(self) -> None:
        dispatch = mandatory_unless_optional(
            relay.SERVICE_NAME, relay.OPTIONAL_EVENTS, self.dispatch, self.dispatch_optional
        )
        self.jobs.relay(unroutable_as(dispatch, UndeliverableMessage))

    # The merchant's alert for an order that came in short of stock. requeue_on_error: a database
    # outage redelivers it; a malformed or unsigned event is dropped by the job, never requeued.
    @event_handler("orders", "order_oversold", requeue_on_error=True)
    def on_order_oversold(self, payload: dict[str, Any]) -> None:
        self.jobs.on_order_oversold(payload)

    @timer(interval=EXPIRY_INTERVAL, eager=True)
    def expire_reservations(self) -> None:
        self.jobs.expire_reservations()

    @timer(interval=PURGE_INTERVAL, eager=True)
    def purge_outbox(self) -> None:
        self.jobs.purge_outbox()
