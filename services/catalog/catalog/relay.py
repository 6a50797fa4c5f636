"""The catalog worker's jobs as plain functions: relay the outbox signed, purge sent rows.

worker.py's nameko timers call these in a few lines each. Nothing here imports nameko, kombu or
eventlet: the broker is reached only through the `dispatch(routing_key, payload)` callable handed
in, which returns once the broker confirmed and raises otherwise (outbox_relay.Unroutable when no
queue took the event).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from catalog import models
from catalog.config import Settings
from omnistock_common.db import make_engine
from omnistock_common.outbox_relay import purge_sent, relay_pending
from omnistock_common.service_auth import sign_event

log = logging.getLogger(__name__)

# Events leave on nameko's `catalog.events` exchange: @event_handler("catalog", "product_changed").
SERVICE_NAME = "catalog"
RELAY_BATCH_SIZE = 500
RELAY_MAX_BATCHES = 10
# Sent rows are kept this long for inspection and replay, then purged.
OUTBOX_RETENTION = timedelta(hours=72)

# Receives the routing key inside the service ("product_changed") and the payload.
Dispatch = Callable[[str, dict[str, Any]], None]


def routing_key(event_type: str) -> str:
    """`catalog.product_changed` -> `product_changed`: nameko puts the service in the exchange name."""
    return event_type.removeprefix(f"{SERVICE_NAME}.")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class WorkerJobs:
    """The worker's engine, the secret its events are signed with, and the jobs its timers run."""

    engine: Engine
    secret: str
    clock: Callable[[], datetime] = field(default=_utcnow)

    def relay(self, dispatch: Dispatch) -> int:
        """Publish pending outbox rows, each signed (consumers drop unsigned ones), one event per
        row, and mark them sent once confirmed; returns rows marked. `catalog.product_changed`
        must reach a queue (the channels worker's): an unroutable one stays unsent and is retried
        (omnistock_common.outbox_relay)."""

        def publish(event_type: str, payload: dict[str, Any]) -> None:
            dispatch(routing_key(event_type), sign_event(self.secret, event_type, payload))

        sent = relay_pending(
            self.engine,
            models.outbox,
            publish,
            batch_size=RELAY_BATCH_SIZE,
            max_batches=RELAY_MAX_BATCHES,
            coalescers={},
        )
        if sent:
            log.debug("relayed outbox rows", extra={"rows": sent})
        return sent

    def purge_outbox(self) -> int:
        """Delete rows sent longer ago than OUTBOX_RETENTION."""
        purged = purge_sent(self.engine, models.outbox, OUTBOX_RETENTION, now=self.clock())
        if purged:
            log.info("purged sent outbox rows", extra={"rows": purged})
        return purged

    def close(self) -> None:
        self.engine.dispose()


def build_jobs(settings: Settings, secret: str) -> WorkerJobs:
    """Composition root of the worker's database side (the broker side is nameko's)."""
    # Two timers, one connection each at most.
    return WorkerJobs(engine=make_engine(settings.database_url, pool_size=2), secret=secret)
