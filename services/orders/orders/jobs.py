"""The orders worker's jobs as plain functions: consume the channels' order events, relay the
outbox (signed), retry owed stock steps, finish interrupted requests, purge sent rows.

worker.py's nameko entry points call these in a few lines each. Nothing here imports nameko,
kombu or eventlet: the broker is reached only through the `dispatch(routing_key, payload)`
callable handed in, which returns once the broker confirmed and raises otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DataError

from omnistock_common.db import make_engine
from omnistock_common.errors import DomainError, InvalidArgument
from omnistock_common.outbox_relay import purge_sent, relay_pending
from omnistock_common.service_auth import event_signature_valid, sign_event
from orders import mapping, models, service
from orders.config import SERVICE, Settings
from orders.domain import Policy
from orders.inventory_client import InventoryStock
from orders.repository import UnitOfWork
from orders.service import StockPort

log = logging.getLogger(__name__)

# Events leave on nameko's `orders.events` exchange: @event_handler("orders", "order_imported").
SERVICE_NAME = SERVICE
ORDER_RECEIVED = "channels.order_received"
ACTION_SYNCED = "channels.order_action_synced"
RELAY_BATCH_SIZE = 200
RELAY_MAX_BATCHES = 5
# Published for whoever listens (no consumer yet): reaching no queue counts as sent. Every other
# event (order_imported, fulfillment_requested, cancel_requested: the channels worker's;
# order_oversold: the inventory worker's, which opens the merchant's alert) must be
# routed to a queue, else its rows stay unsent and are retried (outbox_relay).
OPTIONAL_EVENTS = frozenset(
    {
        f"{SERVICE_NAME}.order_shipped",
        f"{SERVICE_NAME}.order_cancelled",
        f"{SERVICE_NAME}.order_refunded",
    }
)
STOCK_RETRY_BATCH = 100
OUTBOX_RETENTION = timedelta(hours=72)

# Receives the routing key inside the service ("order_imported") and the payload.
Dispatch = Callable[[str, dict[str, Any]], None]


def routing_key(event_type: str) -> str:
    """`orders.order_imported` -> `order_imported`: nameko puts the service in the exchange name."""
    return event_type.removeprefix(f"{SERVICE_NAME}.")


def _tenant_of(payload: Mapping[str, Any]) -> str:
    tenant = str(payload.get("tenant_id") or "")
    if not tenant or len(tenant) > 64:
        raise InvalidArgument("invalid event: tenant_id is required (at most 64 characters)")
    return tenant


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class WorkerJobs:
    engine: Engine
    uow: UnitOfWork
    stock: StockPort
    secret: str
    policy: Policy = field(default_factory=Policy)
    clock: Callable[[], datetime] = _utcnow

    def accept(self, event_type: str, payload: Mapping[str, Any]) -> bool:
        """Only events signed by an OmniStock process (INTERNAL_TOKEN_SECRET) are applied."""
        if event_signature_valid(self.secret, event_type, payload):
            return True
        log.warning(
            "dropped an unsigned or forged %s event (tenant %r)",
            event_type,
            str(payload.get("tenant_id"))[:64],
        )
        return False

    def on_order_received(self, payload: Mapping[str, Any]) -> bool:
        """Apply one order version; a malformed event is logged and dropped (redelivering it
        cannot help). Returns whether it was applied."""
        if not self.accept(ORDER_RECEIVED, payload):
            return False
        try:
            tenant = _tenant_of(payload)
            version = mapping.channel_order_in(payload)
        except DomainError as exc:
            log.error("dropped a malformed %s event: %s", ORDER_RECEIVED, exc.message)
            return False
        try:
            service.apply_channel_order(self.uow, self.stock, tenant, version, self.policy, self.clock())
        except DataError:
            # The database refuses a value of this order (e.g. a NUL character): redelivering the
            # event cannot help, so it is dropped loudly instead of requeued forever.
            log.exception(
                "dropped a %s event the database cannot store (order %r)", ORDER_RECEIVED, version.external_id
            )
            return False
        return True

    def on_action_synced(self, payload: Mapping[str, Any]) -> bool:
        if not self.accept(ACTION_SYNCED, payload):
            return False
        try:
            tenant = _tenant_of(payload)
            event = mapping.action_synced_in(payload)
        except DomainError as exc:
            log.error("dropped a malformed %s event: %s", ACTION_SYNCED, exc.message)
            return False
        try:
            return service.record_action_synced(self.uow, tenant, event, self.clock())
        except DataError:
            log.exception("dropped a %s event the database cannot store", ACTION_SYNCED)
            return False

    def relay(self, dispatch: Dispatch) -> int:
        """Publish pending outbox rows, each signed, and mark them sent; returns rows marked."""

        def publish(event_type: str, payload: dict[str, Any]) -> None:
            dispatch(routing_key(event_type), sign_event(self.secret, event_type, payload))

        return relay_pending(
            self.engine,
            models.outbox,
            publish,
            batch_size=RELAY_BATCH_SIZE,
            max_batches=RELAY_MAX_BATCHES,
            optional=OPTIONAL_EVENTS,
        )

    def retry_stock(self) -> int:
        return service.retry_due_stock(self.uow, self.stock, self.policy, self.clock(), STOCK_RETRY_BATCH)

    def resume_operations(self) -> int:
        return service.resume_stale_operations(self.uow, self.stock, self.policy, self.clock())

    def purge_outbox(self) -> int:
        return purge_sent(self.engine, models.outbox, OUTBOX_RETENTION, now=self.clock())

    def close(self) -> None:
        close = getattr(self.stock, "close", None)
        if close is not None:
            close()
        self.engine.dispose()


def build_jobs(
    settings: Settings, secret: str, wrap_stock: Callable[[InventoryStock], StockPort] | None = None
) -> WorkerJobs:
    """Composition root of the worker's database and inventory side (the broker side is nameko's).
    `wrap_stock`: how the worker runs inventory calls (on eventlet's tpool threads under nameko)."""
    engine = make_engine(settings.database_url, pool_size=min(settings.db_pool_size, 8))
    inventory = InventoryStock(settings.inventory_addr, settings.inventory_timeout_seconds)
    stock = wrap_stock(inventory) if wrap_stock is not None else inventory
    return WorkerJobs(engine, UnitOfWork(engine), stock, secret, settings.policy)
