"""nameko entry points of the catalog worker (service name `catalog`).

Run: `nameko run --config services/catalog/worker.yaml catalog.worker` (AMQP_URL and the catalog
settings come from the environment). Each timer is a few lines calling catalog.relay, which knows
nothing of nameko or eventlet; this module is the only eventlet-aware edge. Several replicas are
safe: the relay claims outbox rows with FOR UPDATE SKIP LOCKED (omnistock_common.outbox_relay).
"""

from __future__ import annotations

import psycopg.waiting
from nameko.amqp.publish import UndeliverableMessage
from nameko.events import EventDispatcher
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from catalog import relay
from catalog.config import load_settings
from omnistock_common.config import check_amqp_url, exit_on_config_error, load_internal_auth_settings
from omnistock_common.outbox_relay import unroutable_as
from omnistock_common.shared_locks import use_os_locks
from omnistock_common.stop_deadline import install_stop_deadline

# Refuse to start (one line, exit 2) on bad settings or, in production, development secrets.
exit_on_config_error(lambda: (check_amqp_url(), load_settings(), load_internal_auth_settings()))
# The module-level locks the hub and OS threads both take become OS locks (docs/development.md).
use_os_locks()
# After SIGTERM the process is gone within this many seconds (a publish waits for the broker).
STOP_DEADLINE = 8.0

# The relay runs often so a product change reaches the channels within a fraction of a second;
# each tick is bounded (relay.RELAY_MAX_BATCHES) and nameko never overlaps two runs of one timer.
RELAY_INTERVAL = 0.2
PURGE_INTERVAL = 3600.0


class CatalogJobs(DependencyProvider):
    """Builds the worker's engine once per container and disposes of it when the container stops."""

    def setup(self) -> None:
        # psycopg waits for its socket through eventlet, not in C (see inventory.worker).
        psycopg.waiting.wait = psycopg.waiting.wait_selector
        self.jobs = relay.build_jobs(load_settings(), load_internal_auth_settings().token_secret)

    def start(self) -> None:
        install_stop_deadline(STOP_DEADLINE)

    def stop(self) -> None:
        self.jobs.close()

    def get_dependency(self, worker_ctx: object) -> relay.WorkerJobs:
        return self.jobs


class CatalogWorker:
    """Outbox relay (catalog.product_changed, signed) and outbox purge of the catalog service."""

    # The service name makes events go out as catalog.<type> on `catalog.events`.
    name = relay.SERVICE_NAME
    # Publisher confirms: rows are marked sent only once RabbitMQ acknowledged them. Mandatory:
    # product_changed has a consumer (the channels worker), so one routed to no queue comes back
    # and its rows stay unsent until that queue exists (outbox_relay.Unroutable).
    dispatch = EventDispatcher(use_confirms=True, mandatory=True)
    jobs = CatalogJobs()

    @timer(interval=RELAY_INTERVAL, eager=True)
    def relay_outbox(self) -> None:
        self.jobs.relay(unroutable_as(self.dispatch, UndeliverableMessage))

    @timer(interval=PURGE_INTERVAL, eager=True)
    def purge_outbox(self) -> None:
        self.jobs.purge_outbox()
