"""Reconciliation (OmniStock always wins), on-demand sync jobs and the scheduled order polls.

Why reconcile at all when every change is pushed: a merchant edits a quantity in the channel's
admin, an app on the channel adjusts stock, a push was rejected... Each run reads the channel's
quantities back (ReadInventory through with_connection), compares them with what OmniStock says
NOW (inventory.GetSkuStock per SKU: the connection's available_to_sell, else available, minus the
pending commitments of in_flight.py), overwrites every difference with a bulk push and writes
one `sync_log` row per conflict (`outcome=conflict`, "channel had X, OmniStock says Y").

It runs under the connection's push lock (the flusher's), and leaves alone SKUs that are pending
in Redis: those are about to be pushed with a newer figure anyway.

Prices are reconciled the same way (`reconcile_prices`): ReadPrices in chunks of the connector's
`max_price_batch`, compared with the last price OmniStock pushed to that listing
(`listings.last_pushed_price`: the newest price pricing announced that the channel accepted); a
difference is a `reconcile_prices` conflict row and is pushed again through the flusher's
PushPrices path. SKUs with a pending price are left to the flusher; SKUs OmniStock never priced on
this connection are left alone. A correction upwards follows the
in-flight rule too: it is made only when the tenant's orders are known current.

Plain functions over a SyncEngine: nothing here knows nameko or eventlet; the SQL is in
sync/repository.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import grpc

from channels import mapping
from channels.domain import ConnectionStatus, SyncScope, order_poll_interval
from channels.price_domain import ChannelPrice
from channels.sync import in_flight, schedule, store
from channels.sync.engine import SyncEngine
from channels.sync.flusher import (
    PRICE_PUSH,
    ConnectionFlush,
    ConnectionLock,
    Planned,
    PlannedPrice,
    push_planned,
)
from channels.sync.repository import ListingPushState
from omnistock_common.errors import DomainError, FailedPrecondition, NotFound

log = logging.getLogger(__name__)

LISTING_PAGE = 500
LOCK_WAIT_SECONDS = 30.0


@dataclass
class ReconcileReport:
    connection_id: str
    checked: int = 0
    conflicts: int = 0
    corrected: int = 0
    skipped_pending: int = 0
    waiting_for_orders: int = 0
    not_on_channel: int = 0
    unknown_to_inventory: int = 0
    busy: bool = False
    failures: list[str] = field(default_factory=list)


def _all_listings(engine: SyncEngine, tenant_id: str, connection_id: str) -> dict[str, Any]:
    listings: dict[str, Any] = {}
    after: str | None = None
    while True:
        with engine.uow.transaction() as repo:
            page = repo.list_listings(tenant_id, connection_id, after, LISTING_PAGE)
        listings.update({item.sku: item for item in page})
        if len(page) < LISTING_PAGE:
            return listings
        after = page[-1].sku


def reconcile_connection(engine: SyncEngine, tenant_id: str, connection_id: str) -> ReconcileReport:
    """Read back every listed SKU of the connection and overwrite what differs from OmniStock."""
    report = ReconcileReport(connection_id)
    if engine.inventory is None:
        raise FailedPrecondition("reconciliation needs the inventory service", reason="NO_INVENTORY")
    lock = ConnectionLock(engine.redis, connection_id, engine.settings.lock_ttl)
    if not lock.acquire(wait=LOCK_WAIT_SECONDS):
        report.busy = True
        return report
    try:
        _reconcile_locked(engine, tenant_id, connection_id, report)
    finally:
        lock.release()
    return report


def _reconcile_locked(
    engine: SyncEngine, tenant_id: str, connection_id: str, report: ReconcileReport
) -> None:
    assert engine.inventory is not None
    stored = engine.caller.load(tenant_id, connection_id)
    if stored.connection.status is ConnectionStatus.DISCONNECTED:
        raise FailedPrecondition(
            f"connection {connection_id} is disconnected; reconnect it first",
            reason="CONNECTION_DISCONNECTED",
        )
    orders_current = _orders_current(engine, tenant_id)
    listings = _all_listings(engine, tenant_id, connection_id)
    mapped = {sku: item for sku, item in listings.items() if item.external_ids}
    limit = engine.batch_limit(tenant_id, stored.connection.type)
    skus = sorted(mapped)
    for start in range(0, len(skus), limit):
        chunk = skus[start : start + limit]
        items = [(sku, mapped[sku].external_ids) for sku in chunk]
        reply = engine.caller.with_connection(
            tenant_id,
            connection_id,
            "read_inventory",
            lambda stub, conn, items=items: stub.ReadInventory(mapping.read_inventory_request(conn, items)),
            skus=chunk,
        )
        remote = {q.sku: q for q in reply.quantities}
        figures = engine.inventory.figures(tenant_id, chunk)
        with engine.uow.transaction() as repo:
            commitments = repo.pending_commitments(tenant_id, chunk)
        pending = store.pending_snapshot(engine.redis, connection_id)
        fixes: list[Planned] = []
        for sku in chunk:
            report.checked += 1
            if sku in pending:
                report.skipped_pending += 1
                continue
            if sku not in figures:
                report.unknown_to_inventory += 1
                continue
            found = remote.get(sku)
            if found is None or not found.found:
                report.not_on_channel += 1
                engine.log_sync(
                    "reconcile",
                    tenant_id,
                    connection_id,
                    [sku],
                    "error",
                    "not found on the channel (stale mapping)",
                )
                continue
            desired = (
                0
                if listings[sku].off_sale
                else max(0, figures[sku].for_connection(connection_id) - commitments.get(sku, 0))
            )
            if int(found.quantity) == desired:
                continue
            report.conflicts += 1
            if desired > int(found.quantity) and not orders_current:
                report.waiting_for_orders += 1
                continue
            engine.log_sync(
                "reconcile",
                tenant_id,
                connection_id,
                [sku],
                "conflict",
                f"channel had {int(found.quantity)}, OmniStock says {desired}",
            )
            version = mapped[sku].last_pushed_version or 0
            fixes.append(Planned(sku, "", desired, version, False))
        if fixes:
            result = ConnectionFlush(connection_id)
            listing_rows = {
                sku: ListingPushState(dict(mapped[sku].external_ids), None, mapped[sku].last_pushed_version)
                for sku in (p.sku for p in fixes)
            }
            failed = push_planned(
                engine, tenant_id, connection_id, stored.connection.type, fixes, listing_rows, result
            )
            report.corrected += result.applied
            if failed is not None:
                report.failures.append(result.failed)
                return


@dataclass
class PriceReconcileReport:
    connection_id: str
    checked: int = 0
    conflicts: int = 0
    corrected: int = 0
    skipped_pending: int = 0
    not_on_channel: int = 0
    never_priced: int = 0
    busy: bool = False
    failures: list[str] = field(default_factory=list)


def reconcile_prices(engine: SyncEngine, tenant_id: str, connection_id: str) -> PriceReconcileReport:
    """Read back the price of every priced listing of the connection and push OmniStock's again
    where the channel shows another one."""
    report = PriceReconcileReport(connection_id)
    lock = ConnectionLock(engine.redis, connection_id, engine.settings.lock_ttl)
    if not lock.acquire(wait=LOCK_WAIT_SECONDS):
        report.busy = True
        return report
    try:
        _reconcile_prices_locked(engine, tenant_id, connection_id, report)
    finally:
        lock.release()
    return report


def _reconcile_prices_locked(
    engine: SyncEngine, tenant_id: str, connection_id: str, report: PriceReconcileReport
) -> None:
    stored = engine.caller.load(tenant_id, connection_id)
    if stored.connection.status is ConnectionStatus.DISCONNECTED:
        raise FailedPrecondition(
            f"connection {connection_id} is disconnected; reconnect it first",
            reason="CONNECTION_DISCONNECTED",
        )
    channel_type = stored.connection.type
    mapped = sorted(
        sku for sku, item in _all_listings(engine, tenant_id, connection_id).items() if item.external_ids
    )
    limit = engine.batch_limit(tenant_id, channel_type, PRICE_PUSH.batch_field)
    for start in range(0, len(mapped), limit):
        chunk = mapped[start : start + limit]
        with engine.uow.transaction() as repo:
            states = repo.listing_push_states(tenant_id, connection_id, chunk)
        pending = store.pending_entries(engine.redis, connection_id, store.PRICES)
        desired: dict[str, tuple[ChannelPrice, int]] = {}
        for sku in chunk:
            report.checked += 1
            state = states.get(sku)
            price = ChannelPrice.from_token(state.last_pushed_price or "") if state else None
            if sku in pending:
                report.skipped_pending += 1
            elif state is None or price is None:
                report.never_priced += 1
            else:
                desired[sku] = (price, int(state.last_pushed_price_version or 0))
        if not desired:
            continue
        items = [(sku, price, states[sku].external_ids) for sku, (price, _) in desired.items()]
        reply = engine.caller.with_connection(
            tenant_id,
            connection_id,
            "read_prices",
            lambda stub, conn, items=items: stub.ReadPrices(mapping.read_prices_request(conn, items)),
            skus=list(desired),
        )
        remote = {p.sku: mapping.remote_price(p) for p in reply.prices}
        fixes: list[PlannedPrice] = []
        for sku, (price, version) in desired.items():
            shown = remote.get(sku)
            if shown is None:
                report.not_on_channel += 1
                engine.log_sync(
                    "reconcile_prices",
                    tenant_id,
                    connection_id,
                    [sku],
                    "error",
                    "no price found on the channel",
                )
                continue
            if shown.shown() == price.shown():
                continue
            report.conflicts += 1
            engine.log_sync(
                "reconcile_prices",
                tenant_id,
                connection_id,
                [sku],
                "conflict",
                f"channel had {shown.describe()}, OmniStock says {price.describe()}",
            )
            fixes.append(PlannedPrice(sku, "", price, version))
        if fixes:
            result = ConnectionFlush(connection_id)
            failed = push_planned(
                engine, tenant_id, connection_id, channel_type, fixes, states, result, PRICE_PUSH
            )
            report.corrected += result.applied
            if failed is not None:
                report.failures.append(result.failed)
                return


# A flush that just polled orders holds the per-connection poll gate for `min_interval`; an
# on-demand reconciliation waits it out (a few times at most) instead of leaving increases unfixed.
ORDER_POLL_ATTEMPTS = 3


def _orders_current(engine: SyncEngine, tenant_id: str) -> bool:
    """True once every connection of the tenant has polled its orders since this call began."""
    started = engine.clock()
    for attempt in range(1, ORDER_POLL_ATTEMPTS + 1):
        if in_flight.ensure_orders_current(
            engine.caller,
            engine.uow,
            engine.redis,
            tenant_id,
            started,
            settings=engine.settings.polls,
            on_changed=engine.requeue,
            clock=engine.clock,
        ):
            return True
        if attempt < ORDER_POLL_ATTEMPTS:
            time.sleep(engine.settings.polls.min_interval.total_seconds() + 0.05)
    return False


def live_connections_any_tenant(engine: SyncEngine) -> list[tuple[str, str]]:
    """(tenant_id, connection_id) of every connection that can be called: scheduled jobs only."""
    with engine.uow.transaction() as repo:
        return repo.live_connections_any_tenant()


def reconcile_all(engine: SyncEngine) -> list[ReconcileReport | PriceReconcileReport]:
    """The scheduled run: quantities, then prices, of every live connection of every tenant; one
    failure does not stop the rest."""
    reports: list[ReconcileReport | PriceReconcileReport] = []
    for tenant_id, connection_id in live_connections_any_tenant(engine):
        try:
            reports.append(reconcile_connection(engine, tenant_id, connection_id))
        except (DomainError, grpc.RpcError) as exc:
            log.warning(
                "reconciliation of connection %s failed: %s", connection_id, exc, extra={"tenant": tenant_id}
            )
            reports.append(ReconcileReport(connection_id, failures=[str(exc)]))
        try:
            reports.append(reconcile_prices(engine, tenant_id, connection_id))
        except (DomainError, grpc.RpcError) as exc:
            log.warning(
                "price reconciliation of connection %s failed: %s",
                connection_id,
                exc,
                extra={"tenant": tenant_id},
            )
            reports.append(PriceReconcileReport(connection_id, failures=[str(exc)]))
    return reports


def _poll_interval(engine: SyncEngine, tenant_id: str, connection_id: str) -> timedelta:
    """The connection's `order_poll_interval_seconds`, else CHANNELS_ORDER_POLL_INTERVAL_SECONDS."""
    default = engine.settings.order_poll_interval
    try:
        return order_poll_interval(engine.caller.load(tenant_id, connection_id).connection.settings, default)
    except NotFound:
        return default


def _due_for_poll(engine: SyncEngine, moment: datetime) -> list[tuple[str, str]]:
    """(tenant, connection) of every live connection whose last poll is older than its interval."""
    by_tenant: dict[str, list[str]] = {}
    for tenant_id, connection_id in live_connections_any_tenant(engine):
        by_tenant.setdefault(tenant_id, []).append(connection_id)
    due = []
    for tenant_id, connection_ids in by_tenant.items():
        with engine.uow.transaction() as repo:
            states = repo.poll_states(tenant_id)
        for connection_id in connection_ids:
            state = states.get(connection_id)
            last = state.last_attempt_at if state else None
            if last is None or moment - last >= _poll_interval(engine, tenant_id, connection_id):
                due.append((tenant_id, connection_id))
    return due


def request_due_polls(engine: SyncEngine, *, now: datetime | None = None) -> int:
    """The worker's scheduled order poll: asks the dispatcher (schedule.request_polls) for a poll of
    every connection due for one, so each runs on its own thread and a hung order feed neither
    delays the other connections' polls nor holds up the worker's stop. Returns how many."""
    moment = now or engine.clock()
    due = _due_for_poll(engine, moment)
    by_tenant: dict[str, list[str]] = {}
    for tenant_id, connection_id in due:
        by_tenant.setdefault(tenant_id, []).append(connection_id)
    for tenant_id, connection_ids in by_tenant.items():
        schedule.request_polls(engine.redis, tenant_id, connection_ids, store.ms(moment))
    return len(due)


def poll_all_orders(engine: SyncEngine, *, now: datetime | None = None) -> int:
    """The scheduled order poll on the caller's thread, one connection after another (tools and
    tests; the worker uses request_due_polls): every live connection whose last poll is older than
    its interval (the connection setting `order_poll_interval_seconds`, default
    CHANNELS_ORDER_POLL_INTERVAL_SECONDS). Returns how many connections were polled successfully."""
    moment = now or engine.clock()
    polled = 0
    for tenant_id, connection_id in _due_for_poll(engine, moment):
        try:
            engine.poll_orders(tenant_id, connection_id)
            polled += 1
        except DomainError as exc:
            log.warning(
                "order poll of connection %s failed: %s", connection_id, exc, extra={"tenant": tenant_id}
            )
    return polled


def run_sync_job(engine: SyncEngine, payload: Mapping[str, Any]) -> str:
    """Handle a `channels.sync_requested` event: requested -> running -> done | failed.

    The claim is a conditional UPDATE on status='requested', so a redelivered event does nothing.
    Returns the final status (or "skipped" when the job was already claimed or does not exist).
    """
    job_id = str(payload.get("job_id") or "")
    with engine.uow.transaction() as repo:
        row = repo.get_sync_job_any_tenant(job_id)
    if row is None:
        return "skipped"
    tenant_id, connection_id, scope = row.tenant_id, row.connection_id, row.scope
    started = engine.clock()
    claimed = engine.uow.run(lambda repo: repo.claim_sync_job(tenant_id, job_id, started))
    if not claimed:
        return "skipped"
    messages: list[str] = []
    status = "done"
    try:
        if scope in (SyncScope.ORDERS.value, SyncScope.ALL.value):
            changed = engine.poll_orders(tenant_id, connection_id)
            messages.append(f"orders polled; {len(changed)} SKUs with new commitments")
        if scope in (SyncScope.INVENTORY.value, SyncScope.ALL.value):
            report = reconcile_connection(engine, tenant_id, connection_id)
            if report.busy:
                raise FailedPrecondition(
                    "another push of this connection is running; try again", reason="BUSY"
                )
            messages.append(
                f"inventory: {report.checked} checked, {report.conflicts} conflicts, {report.corrected} corrected"
                + (
                    f", {report.waiting_for_orders} increases wait for order polls"
                    if report.waiting_for_orders
                    else ""
                )
            )
            if report.failures:
                raise FailedPrecondition("; ".join(report.failures), reason="PUSH_FAILED")
        if scope in (SyncScope.PRICES.value, SyncScope.ALL.value):
            # service.request_sync asked pricing in the job's own transaction; its answers arrive
            # as pricing.price_changed events and are pushed like any price change. Meanwhile the
            # prices OmniStock already pushed are read back and drift is corrected.
            prices = reconcile_prices(engine, tenant_id, connection_id)
            if prices.busy:
                raise FailedPrecondition(
                    "another push of this connection is running; try again", reason="BUSY"
                )
            messages.append(
                "prices: the pricing service was asked to announce every price again; "
                f"{prices.checked} checked, {prices.conflicts} conflicts, {prices.corrected} corrected"
            )
            if prices.failures:
                raise FailedPrecondition("; ".join(prices.failures), reason="PUSH_FAILED")
        if scope == SyncScope.CATALOG.value:
            messages.append(f"scope {scope!r} is not handled by the sync engine yet")
    except DomainError as exc:
        status = "failed"
        messages.append(str(exc))
    except grpc.RpcError as exc:  # the job's message is shown to the tenant (GET /jobs): no internals
        status = "failed"
        code = exc.code() if isinstance(exc, grpc.Call) else None
        messages.append(f"a backend call failed ({code.name if code else 'UNKNOWN'})")
    finished = engine.clock()
    message = "; ".join(messages)[:4000]
    engine.uow.run(
        lambda repo: repo.finish_sync_job(
            tenant_id, job_id, status=status, message=message, finished=finished
        )
    )
    return status


__all__ = [
    "PriceReconcileReport",
    "ReconcileReport",
    "live_connections_any_tenant",
    "poll_all_orders",
    "reconcile_all",
    "reconcile_connection",
    "reconcile_prices",
    "request_due_polls",
    "run_sync_job",
]
