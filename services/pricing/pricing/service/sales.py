"""Timed sales: create and list them; the worker's `run_due_sales` starts and ends them.

Each transition is a compare-and-set on the sale's state inside the transaction that announces
the price, so with several worker replicas exactly one of them moves a sale and pushes it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime

from omnistock_common.context import CallContext
from omnistock_common.errors import FailedPrecondition, FieldViolation, InvalidArgument
from omnistock_common.paging import encode_cursor, page_limit, read_cursor
from pricing.domain.sales import SaleState, TimedSale, Transition, check_window, due_transition, state_after
from pricing.domain.validation import key_problems, money_problems, raise_if
from pricing.repository import Repository
from pricing.service.effective import base_prices, resolve, snapshot
from pricing.service.ports import PricingDeps
from pricing.service.publishing import announce

log = logging.getLogger(__name__)
SALE_ACTOR = "system:timed-sale"


def create_sale(
    deps: PricingDeps,
    ctx: CallContext,
    sku: str,
    connection_id: str,
    sale_price: tuple[int, str] | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    key: str,
) -> TimedSale:
    problems = key_problems(sku, connection_id)
    if sale_price is None:
        problems.append(FieldViolation("sale_price", "required"))
    else:
        problems += money_problems(*sale_price, "sale_price")
    if starts_at is None:
        problems.append(FieldViolation("starts_at", "required"))
    if ends_at is None:
        problems.append(FieldViolation("ends_at", "required"))
    raise_if(problems)
    assert sale_price is not None and starts_at is not None and ends_at is not None
    check_window(starts_at, ends_at)
    now = deps.clock()
    if ends_at <= now:
        raise InvalidArgument(
            "the sale would be over already", violations=[FieldViolation("ends_at", "in the future")]
        )
    sale = TimedSale(str(uuid.uuid4()), sku, connection_id, sale_price[0], sale_price[1], starts_at, ends_at)
    tenant = ctx.tenant_id

    def work(repo: Repository) -> TimedSale:
        if key:
            existing = repo.sale_by_key(tenant, key)
            if existing is not None:
                if replace(existing, id=sale.id, state=sale.state) != sale:
                    raise InvalidArgument(
                        "this Idempotency-Key was used for a different request",
                        reason="IDEMPOTENCY_KEY_REUSED",
                    )
                return existing
        settings = repo.connection(tenant, connection_id)
        if settings is not None and settings.currency and settings.currency != sale.currency:
            raise InvalidArgument(
                f"connection {connection_id} prices in {settings.currency}",
                violations=[FieldViolation("sale_price.currency", f"use {settings.currency}")],
            )
        for other in repo.open_sales(tenant, connection_id, sku):
            if other.starts_at < sale.ends_at and sale.starts_at < other.ends_at:
                raise FailedPrecondition(f"sale {other.id} overlaps this one", reason="SALE_OVERLAPS")
        repo.add_sale(tenant, sale, key or None, now)
        return sale

    return deps.uow.run(work)


def list_sales(
    deps: PricingDeps, ctx: CallContext, sku: str, connection_id: str, limit: int, cursor: str
) -> tuple[list[TimedSale], str]:
    size = page_limit(limit)
    after = read_cursor(cursor, str)
    sales = deps.uow.run(
        lambda repo: repo.sales(
            ctx.tenant_id,
            sku=sku,
            connection_id=connection_id,
            after_id=after[0] if after else "",
            limit=size + 1,
        )
    )
    more = len(sales) > size
    sales = sales[:size]
    return sales, encode_cursor([sales[-1].id]) if more else ""


def _transition(deps: PricingDeps, tenant: str, sale: TimedSale, move: Transition, now: datetime) -> bool:
    pair = (sale.connection_id, sale.sku)
    bases = base_prices(deps, CallContext(tenant), [sale.sku]) if move is not Transition.EXPIRE else {}

    def work(repo: Repository) -> bool:
        snap = snapshot(repo, tenant, [pair], lock=True)
        before = resolve(pair, snap, bases.get(sale.sku))
        if not repo.move_sale(sale.id, sale.state, state_after(move), now):
            return False  # another replica moved it first
        if move is Transition.EXPIRE:
            return True
        moved = replace(sale, state=state_after(move))
        sales = dict(snap.sales)
        if moved.state is SaleState.ACTIVE:
            sales[pair] = moved
        else:
            sales.pop(pair, None)
        after = resolve(pair, replace(snap, sales=sales), bases.get(sale.sku))
        if after is None:
            log.warning("timed sale %s: %s has no price on %s", sale.id, sale.sku, sale.connection_id)
            return True
        stored = snap.stored.get(pair)
        announce(
            repo,
            tenant,
            now,
            stored,
            after,
            set_minor=stored.amount_minor if stored else None,
            compare_at_minor=stored.compare_at_minor if stored else None,
            before_minor=before.amount_minor if before else None,
            actor=SALE_ACTOR,
            reason=f"timed sale {sale.id} {'started' if move is Transition.START else 'ended'}",
        )
        return True

    return deps.uow.run(work)


def run_due_sales(deps: PricingDeps, limit: int = 100) -> int:
    """Start and end every due sale of every tenant; returns the transitions this caller made."""
    now = deps.clock()
    done = 0
    for tenant, sale in deps.uow.run(lambda repo: repo.due_sales(now, limit)):
        move = due_transition(sale, now)
        if move is not None and _transition(deps, tenant, sale, move, now):
            done += 1
    return done
