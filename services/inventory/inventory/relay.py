"""The inventory worker's jobs as plain functions: relay the outbox, expire holds, purge sent rows.

worker.py's nameko timers call these in a few lines each. Nothing here imports nameko, kombu or
eventlet, so the jobs are tested (and could be scheduled) without them: the broker is reached
only through the `dispatch(routing_key, payload)` callable handed in, which must return once the
broker confirmed and raise otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table

from inventory import models, service
from inventory.config import SERVICE, Settings
from inventory.domain import Policy
from inventory.repository import UnitOfWork
from omnistock_common.db import make_engine
from omnistock_common.outbox_relay import (
    Coalescer,
    Publish,
    latest_version_per_key,
    purge_sent,
    relay_pending,
)

log = logging.getLogger(__name__)

# Events leave on nameko's `inventory.events` exchange: handlers subscribe with
# @event_handler("inventory", "stock_changed").
SERVICE_NAME = SERVICE
# Rows per relay transaction, and transactions per timer tick (a backlog drains over ticks).
RELAY_BATCH_SIZE = 500
RELAY_MAX_BATCHES = 10
# Holds released per expiry pass; each is its own short transaction in the service layer.
EXPIRY_BATCH = 200
# Sent rows are kept this long for inspection and replay, then purged.
OUTBOX_RETENTION = timedelta(hours=72)

# Receives the routing key inside the service ("stock_changed") and the payload.
Dispatch = Callable[[str, dict[str, Any]], None]

# Published for whoever listens (no consumer yet): reaching no queue counts as sent. Every other
# event must be routed to a queue, else its rows stay unsent and are retried (outbox_relay).
OPTIONAL_EVENTS = frozenset({f"{SERVICE_NAME}.low_stock"})

# Several stock_changed rows of one tenant become one event with the newest entry per SKU.
COALESCERS: Mapping[str, Coalescer] = {
    f"{SERVICE_NAME}.stock_changed": latest_version_per_key(items_key="skus", key="sku"),
    "stock_changed": latest_version_per_key(items_key="skus", key="sku"),
}


def routing_key(event_type: str) -> str:
    """`inventory.stock_changed` → `stock_changed`: nameko puts the service in the exchange name."""
    prefix = f"{SERVICE_NAME}."
    return event_type[len(prefix) :] if event_type.startswith(prefix) else event_type


def make_publish(dispatch: Dispatch) -> Publish:
    """Adapt a nameko-style dispatch (routing key within the service) to the relay's publish."""

    def publish(event_type: str, payload: dict[str, Any]) -> None:
        dispatch(routing_key(event_type), payload)

    return publish


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class WorkerJobs:
    """The worker's database handles and the three jobs its timers run."""

    engine: Engine
    uow: UnitOfWork
    policy: Policy = field(default_factory=Policy)
    outbox: Table = field(default=models.outbox)
    clock: Callable[[], datetime] = _utcnow

    def relay(self, dispatch: Dispatch) -> int:
        """Publish pending outbox rows (coalesced) and mark them sent; returns rows marked.
        `dispatch` raises outbox_relay.Unroutable for an event no queue took."""
        sent = relay_pending(
            self.engine,
            self.outbox,
            make_publish(dispatch),
            batch_size=RELAY_BATCH_SIZE,
            max_batches=RELAY_MAX_BATCHES,
            coalescers=COALESCERS,
            optional=OPTIONAL_EVENTS,
        )
        if sent:
            log.debug("relayed outbox rows", extra={"rows": sent})
        return sent

    def expire_reservations(self) -> int:
        """Release holds past their TTL (each exactly once, enforced by the service layer)."""
        return service.expire_due_reservations(self.uow, self.clock(), EXPIRY_BATCH, policy=self.policy)

    def purge_outbox(self) -> int:
        """Delete rows sent longer ago than OUTBOX_RETENTION."""
        purged = purge_sent(self.engine, self.outbox, OUTBOX_RETENTION, now=self.clock())
        if purged:
            log.info("purged sent outbox rows", extra={"rows": purged})
        return purged

    def open_oversold_alerts(self, payload: Mapping[str, Any]) -> int:
        """`orders.order_oversold` (already verified): one OVERSOLD alert per short line. A
        malformed payload is logged and dropped (asking again would fail the same way)."""
        try:
            tenant_id = str(payload["tenant_id"])
            reference = f"orders:{payload['order_id']}"
            short = [
                (str(line["sku"]), int(line["requested"]) - int(line["reserved"]))
                for line in payload["lines"]
            ]
        except (KeyError, TypeError, ValueError):
            log.warning("dropped a malformed orders.order_oversold event")
            return 0
        return service.open_oversold_alerts(self.uow, tenant_id, reference, short, self.clock())

    def close(self) -> None:
        self.engine.dispose()


def build_jobs(settings: Settings) -> WorkerJobs:
    """Composition root of the worker's database side (the broker side is nameko's)."""
    # A worker needs few connections: the relay, the expiry and the purge timers.
    engine = make_engine(settings.database_url, pool_size=3)
    return WorkerJobs(engine=engine, uow=UnitOfWork(engine), policy=settings.policy)
