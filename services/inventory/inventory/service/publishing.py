"""The bookkeeping every stock-changing transaction ends with, and the ledger row builder.

In the transaction of the change: bump the per-SKU event version of every touched SKU and of
every bundle containing one, open/close low-stock alerts, and write ONE `inventory.stock_changed`
outbox row covering all of them. `plan_events` decides all of it from figures read after the
locks; it is the one implementation used both by `publish` (every use case, through the
Repository) and by the reservation groups (through their batch primitives). The worker relays
outbox rows; nothing here talks to RabbitMQ.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from inventory import domain
from inventory.domain import Alert, AlertStatus, MovementKind, Policy, SkuSnapshot
from inventory.repository import Figures, Repository

STOCK_CHANGED = "inventory.stock_changed"
LOW_STOCK = "inventory.low_stock"


def sales_window_start(now: datetime) -> datetime:
    """Sales after this instant count towards the dynamic buffer."""
    return now - timedelta(seconds=domain.SALES_WINDOW_SECONDS)


def event_payload(tenant_id: str, snapshots: Iterable[SkuSnapshot]) -> dict[str, Any]:
    return {"tenant_id": tenant_id, "skus": [s.event_entry() for s in snapshots]}


def low_stock_payload(tenant_id: str, alert: Alert) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "alert_id": alert.id,
        "sku": alert.sku,
        "threshold": alert.threshold,
        "available": alert.available_at_open,
        "opened_at": alert.opened_at.isoformat(),
    }


@dataclass(frozen=True)
class EventPlan:
    """What a transaction writes after its changes: alerts to open and close, outbox events."""

    opens: list[Alert]
    closes: list[tuple[str, str]]
    events: list[tuple[str, dict[str, Any]]]
    snapshots: list[SkuSnapshot]


def plan_events(
    tenant_id: str,
    policy: Policy,
    now: datetime,
    skus: Iterable[str],
    figures: Figures,
    available_delta: Mapping[tuple[str, str], int],
    *,
    new_thresholds: Mapping[str, int] | None = None,
    previous_default: int | None = None,
    emit: bool = True,
) -> EventPlan:
    """Alerts and events of a change from the figures read after its locks (domain.plan_publish).

    available_delta: change of available per stock row (sku, location_id) made by this
    transaction, so the figure before it is known without a second read (alerts fire on
    crossings; a bundle's figure is per location). emit=False writes no
    stock_changed (threshold changes), only what alerts demand.
    """
    default = figures.default_threshold
    plan = domain.plan_publish(
        skus,
        figures.states,
        policy.default_low_stock_threshold if default is None else default,
        figures.definitions,
        figures.levels,
        figures.rules,
        figures.sales,
        available_delta,
        new_thresholds=new_thresholds,
        previous_default=previous_default,
    )
    opens = [
        Alert(str(uuid.uuid4()), sku, AlertStatus.OPEN, threshold, available, now, None)
        for sku, threshold, available in plan.opens
    ]
    events = [(STOCK_CHANGED, event_payload(tenant_id, plan.snapshots))] if emit else []
    events += [(LOW_STOCK, low_stock_payload(tenant_id, alert)) for alert in opens]
    return EventPlan(opens, plan.closes, events, plan.snapshots)


def publish(
    repo: Repository,
    tenant_id: str,
    policy: Policy,
    now: datetime,
    available_delta: Mapping[tuple[str, str], int],
    *,
    extra_skus: Iterable[str] = (),
    new_thresholds: Mapping[str, int] | None = None,
    previous_default: int | None = None,
    emit: bool = True,
) -> list[SkuSnapshot]:
    """End a stock-changing transaction (see the module docstring).

    Locks the sku_states rows (lock class 3) in sku order; every figure is read after that lock,
    so a concurrent rule/threshold change that republished first is seen.
    """
    changed = {sku for sku, _location in available_delta} | set(extra_skus)
    if not changed:
        return []
    skus = changed | repo.bundles_containing(tenant_id, changed)
    figures = repo.bump_and_read(tenant_id, skus, now, sales_window_start(now))
    for sku, threshold in (new_thresholds or {}).items():
        repo.set_sku_threshold(tenant_id, sku, threshold)
    plan = plan_events(
        tenant_id,
        policy,
        now,
        skus,
        figures,
        available_delta,
        new_thresholds=new_thresholds,
        previous_default=previous_default,
        emit=emit,
    )
    repo.write_alerts_and_events(tenant_id, plan.opens, plan.closes, plan.events, now)
    return plan.snapshots


def movement(
    sku: str,
    location_id: str,
    kind: MovementKind,
    on_hand_delta: int,
    reserved_delta: int,
    after: tuple[int, int],
    actor: str,
    reference: str,
    now: datetime,
    reason: domain.AdjustmentReason | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One ledger row (movements table) as the repositories write it."""
    return {
        "sku": sku,
        "location_id": location_id,
        "kind": kind.value,
        "reason": reason.value if reason else None,
        "on_hand_delta": on_hand_delta,
        "reserved_delta": reserved_delta,
        "on_hand_after": after[0],
        "reserved_after": after[1],
        "note": note,
        "actor": actor,
        "reference": reference,
        "at": now,
    }
