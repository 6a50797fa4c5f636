"""SyncEngine: the collaborators the flusher, in-flight protection and reconciliation share."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import grpc

from channels import mapping
from channels.connector_calls import ConnectionCaller
from channels.repository import UnitOfWork
from channels.sync import in_flight, schedule, store
from channels.sync.inventory_source import InventoryPort
from channels.sync.settings import SyncSettings
from omnistock_common.context import CallContext

log = logging.getLogger(__name__)

# Used when a connector does not say (or cannot be asked) how many items one push may carry.
DEFAULT_BATCH = 100


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SyncEngine:
    """Collaborators of the flusher and reconciliation; safe to share between threads."""

    uow: UnitOfWork
    redis: store.SyncRedis
    caller: ConnectionCaller
    settings: SyncSettings = field(default_factory=SyncSettings)
    inventory: InventoryPort | None = None
    clock: Callable[[], datetime] = utcnow
    _batch_limits: dict[str, tuple[dict[str, int], float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Any call the channel answers ends the connection's backoff (schedule.channel_answered).
        self.caller.success_listeners.append(self._channel_answered)

    def _channel_answered(self, tenant_id: str, connection_id: str) -> None:
        schedule.channel_answered(self.redis, tenant_id, connection_id, store.ms(self.clock()))

    def batch_limit(self, tenant_id: str, channel_type: str, field: str = "max_inventory_batch") -> int:
        """Describe's `field` (max_inventory_batch, max_price_batch) of the connector, cached (a
        constant of the channel)."""
        cached = self._batch_limits.get(channel_type)
        if cached and cached[1] > time.monotonic():
            return cached[0].get(field) or DEFAULT_BATCH
        try:
            reply = (
                self.caller.connectors.get(channel_type)
                .call(CallContext(tenant_id=tenant_id))
                .Describe(mapping.describe_request())
            )
        except grpc.RpcError as err:
            log.warning(
                "Describe of the %s connector failed (%s); using %d", channel_type, err, DEFAULT_BATCH
            )
            return DEFAULT_BATCH
        limits = {
            "max_inventory_batch": int(reply.max_inventory_batch) or DEFAULT_BATCH,
            "max_price_batch": int(reply.max_price_batch) or DEFAULT_BATCH,
        }
        self._batch_limits[channel_type] = (
            limits,
            time.monotonic() + self.settings.batch_limit_ttl.total_seconds(),
        )
        return limits.get(field) or DEFAULT_BATCH

    def log_sync(
        self,
        operation: str,
        tenant_id: str,
        connection_id: str,
        skus: Sequence[str],
        outcome: str,
        message: str,
    ) -> None:
        """One sync_log row for what a job decided without a connector call (no latency, no calls)."""
        now = self.clock()
        self.uow.run(
            lambda repo: repo.add_sync_log(
                tenant_id,
                connection_id,
                at=now,
                operation=operation,
                skus=list(skus)[:1000],
                outcome=outcome,
                message=message,
                latency_ms=0,
                calls=0,
            )
        )

    def requeue(self, tenant_id: str, seen_on: str, skus: Sequence[str]) -> None:
        """in_flight's callback: a commitment changed, re-push the SKUs to the OTHER connections."""
        store.requeue_skus(self.redis, self.uow, tenant_id, skus, exclude_connection_id=seen_on)

    def poll_orders(self, tenant_id: str, connection_id: str) -> list[str]:
        """One order poll of the connection with the engine's settings; SKUs whose commitments
        changed are re-pushed to the other connections. Returns those SKUs."""
        return in_flight.poll_orders(
            self.caller,
            self.uow,
            tenant_id,
            connection_id,
            settings=self.settings.polls,
            on_changed=self.requeue,
            clock=self.clock,
        )


__all__ = ["DEFAULT_BATCH", "SyncEngine"]
