"""The pricing worker's jobs as plain functions: relay the outbox (signed), start and end timed
sales, run the price-sync schedules, purge sent rows.

worker.py's nameko entry points call these in a few lines each. Nothing here imports nameko,
kombu or eventlet: the broker is reached only through the `dispatch(routing_key, payload)`
callable handed in, which returns once the broker confirmed and raises otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from omnistock_common.errors import DomainError, Unavailable
from omnistock_common.identifiers import identifier_problem
from omnistock_common.outbox_relay import OutboxRow, OutgoingEvent, purge_sent, relay_pending
from omnistock_common.service_auth import event_signature_valid, sign_event
from pricing import models, service
from pricing.config import SERVICE
from pricing.domain.events import PRICE_CHANGED
from pricing.service import PricingDeps

log = logging.getLogger(__name__)

# The channels service asks for every price of a connection again (a price sync job, a Redis
# that lost its data): {tenant_id, connection_id, job_id}, signed.
PRICE_SYNC_REQUESTED = "channels.price_sync_requested"

# Events leave on nameko's `pricing.events` exchange: @event_handler("pricing", "price_changed").
SERVICE_NAME = SERVICE
RELAY_BATCH_SIZE = 500
RELAY_MAX_BATCHES = 10
SALES_BATCH = 100
SCHEDULES_BATCH = 20
OUTBOX_RETENTION = timedelta(hours=72)

# Receives the routing key inside the service ("price_changed") and the payload.
Dispatch = Callable[[str, dict[str, Any]], None]


def routing_key(event_type: str) -> str:
    """`pricing.price_changed` -> `price_changed`: nameko puts the service in the exchange name."""
    return event_type.removeprefix(f"{SERVICE_NAME}.")


def newest_per_price(rows: Sequence[OutboxRow]) -> list[OutgoingEvent]:
    """`pricing.price_changed` rows of one batch: only the newest version of each (tenant,
    connection, SKU) goes out, with its payload exactly as written (the agreed shape, no keys
    added); the superseded rows are marked sent with it (consumers drop older versions anyway,
    and a 10,000-price bulk change that is changed again before the relay ran sends one event
    per price, not two)."""
    newest: dict[tuple[str, str, str], tuple[OutboxRow, list[int]]] = {}
    for row in rows:
        key = (row.tenant_id, str(row.payload.get("connection_id")), str(row.payload.get("sku")))
        current = newest.get(key)
        ids = [*current[1], row.id] if current else [row.id]
        if current is None or int(row.payload.get("version", 0)) >= int(current[0].payload.get("version", 0)):
            newest[key] = (row, ids)
        else:
            newest[key] = (current[0], ids)
    return [OutgoingEvent(row.event_type, dict(row.payload), tuple(ids)) for row, ids in newest.values()]


COALESCERS = {PRICE_CHANGED: newest_per_price}


@dataclass
class WorkerJobs:
    engine: Engine
    deps: PricingDeps
    secret: str

    def relay(self, dispatch: Dispatch) -> int:
        """Publish pending outbox rows, each signed, and mark them sent; returns rows marked.
        `pricing.price_changed` must reach a queue (the channels worker's): an unroutable one
        stays unsent and is retried (omnistock_common.outbox_relay)."""

        def publish(event_type: str, payload: dict[str, Any]) -> None:
            dispatch(routing_key(event_type), sign_event(self.secret, event_type, payload))

        return relay_pending(
            self.engine,
            models.outbox,
            publish,
            batch_size=RELAY_BATCH_SIZE,
            max_batches=RELAY_MAX_BATCHES,
            coalescers=COALESCERS,
        )

    def on_price_sync_requested(self, payload: Mapping[str, Any]) -> int:
        """Announce every price of the connection again; an unsigned or malformed request is
        logged and dropped (redelivering it cannot help). Returns the prices announced."""
        if not event_signature_valid(self.secret, PRICE_SYNC_REQUESTED, payload):
            log.warning("dropped an unsigned or forged %s event", PRICE_SYNC_REQUESTED)
            return 0
        tenant, connection_id = payload.get("tenant_id"), payload.get("connection_id")
        if not all(
            isinstance(v, str) and v and len(v) <= 64 and identifier_problem(v) is None
            for v in (tenant, connection_id)
        ):
            log.error("dropped a malformed %s event", PRICE_SYNC_REQUESTED)
            return 0
        assert isinstance(tenant, str) and isinstance(connection_id, str)
        try:
            return service.repush_connection(self.deps, tenant, connection_id)
        except Unavailable:
            raise  # catalog or channels away: nameko redelivers the request
        except DomainError as exc:
            log.error("dropped a %s event: %s", PRICE_SYNC_REQUESTED, exc.message)
            return 0

    def run_sales(self) -> int:
        return service.run_due_sales(self.deps, SALES_BATCH)

    def run_schedules(self) -> int:
        return service.run_due_schedules(self.deps, SCHEDULES_BATCH)

    def purge_outbox(self) -> int:
        return purge_sent(self.engine, models.outbox, OUTBOX_RETENTION, now=self.deps.clock())

    def close(self, closers: Sequence[Callable[[], None]] = ()) -> None:
        for close in closers:
            close()
