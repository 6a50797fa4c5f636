"""Channel orders: each version the channels service hands over (`channels.order_received`) is
upserted exactly once per (tenant, connection, external id), and the channel's answers to what
OmniStock asked it (`channels.order_action_synced`) are recorded."""

from __future__ import annotations

import logging
from datetime import datetime

from omnistock_common.context import CallContext
from orders import domain
from orders.domain import ActionSynced, ChannelOrderVersion, Order, OrderFlag, Policy, RawVersion, StockState
from orders.domain.events import Event, status_event
from orders.repository import Repository, UnitOfWork
from orders.service.ports import StockPort
from orders.service.stock_steps import new_id, now_or_utc, owe_stock, run_stock_steps

log = logging.getLogger(__name__)


def flag_duplicates(repo: Repository, tenant: str, order: Order, policy: Policy, now: datetime) -> bool:
    """Link a new order to its possible duplicates and flag them all (domain/duplicates.py).
    The customer's guard row is locked first, so two orders of one customer stored at once are
    checked one after the other and find each other."""
    key = domain.duplicate_key(order)
    if key is None:
        return False
    repo.guard_customer(tenant, key.email, now)
    others = [
        candidate.order_id
        for candidate in repo.duplicate_candidates(tenant, key, order.created_at, policy.duplicate_window)
        if domain.is_possible_duplicate(order, candidate, policy.duplicate_window)
    ]
    if not others:
        return False
    repo.link_duplicates(tenant, order.id, others, now)
    order.flags.add(OrderFlag.POSSIBLE_DUPLICATE)
    order.duplicate_of = sorted(set(order.duplicate_of) | set(others))
    return True


def _raw(version: ChannelOrderVersion) -> RawVersion:
    return RawVersion(version.updated_at, version.received_at, version.via, version.raw_json)


def apply_channel_order(
    uow: UnitOfWork,
    stock: StockPort,
    tenant_id: str,
    version: ChannelOrderVersion,
    policy: Policy,
    now: datetime | None = None,
) -> Order | None:
    """Upsert one version, then take the stock steps it made owed.

    The first transaction inserts the order with INSERT ... ON CONFLICT DO NOTHING on (tenant,
    connection, external id); when it exists, it locks the row and applies the version only if
    it is newer (domain.apply_version). Every payload is kept as a raw version. A version that
    changed nothing runs no stock step, unless the order's step is overdue (its runner died).
    Returns the order (None only if it vanished meanwhile).
    """
    now = now_or_utc(now)
    tenant = tenant_id

    def store(repo: Repository) -> tuple[str, bool]:
        fresh = domain.new_channel_order(version, new_id(), new_id, now)
        owe_stock(fresh, policy, now)
        if repo.insert_order_if_absent(tenant, fresh):
            repo.add_raw_version(tenant, fresh.id, _raw(version))
            if flag_duplicates(repo, tenant, fresh, policy, now):
                repo.save_order(tenant, fresh)
            return fresh.id, True
        order_id = repo.order_id_by_key(tenant, version.connection_id, version.external_id, lock=True)
        order = repo.load_order(tenant, order_id) if order_id else None
        if order is None:  # deleted between the two statements: never happens without deletes
            raise RuntimeError(f"order {version.connection_id}:{version.external_id} vanished")
        repo.add_raw_version(tenant, order.id, _raw(version))
        compared_by = domain.duplicate_key(order)
        outcome = domain.apply_version(order, version, new_id, now)
        if not outcome.applied:
            overdue = order.stock_state is StockState.PENDING and (order.stock_due_at or now) <= now
            return order.id, overdue
        if domain.duplicate_key(order) != compared_by:  # new email or total: compare it again
            flag_duplicates(repo, tenant, order, policy, now)
        events: list[Event] = []
        if outcome.status_change is not None and (event := status_event(order, now)) is not None:
            events.append(event)
        owed = owe_stock(order, policy, now)
        repo.save_order(tenant, order)
        repo.add_events(tenant, events)
        return order.id, owed

    order_id, owed = uow.run(store)
    ctx = CallContext(tenant_id=tenant)
    if owed:
        return run_stock_steps(uow, stock, ctx, order_id, policy, now)
    with uow.transaction() as repo:
        return repo.load_order(tenant, order_id)


def record_action_synced(
    uow: UnitOfWork, tenant_id: str, event: ActionSynced, now: datetime | None = None
) -> bool:
    """Record the channel's answer to a fulfilment or cancel (idempotent); False when it changed
    nothing (a repeat, an unknown order or fulfilment)."""
    now = now_or_utc(now)

    def work(repo: Repository) -> bool:
        order = repo.load_order(tenant_id, event.order_id, lock=True)
        if order is None:
            log.warning("order_action_synced for unknown order %s", event.order_id)
            return False
        if not domain.apply_action_synced(order, event):
            return False
        order.version += 1
        order.updated_at = now
        repo.save_order(tenant_id, order)
        return True

    return uow.run(work)
