"""Analytics from the sales read model (domain/sales.py): revenue by channel, best sellers,
conversion and sales per day over a range of UTC days, read from the daily rows (never a scan of the orders), and the
rebuild of the read model from the orders (the upgrade backfill, or a repair)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from omnistock_common.context import CallContext
from orders.domain.sales import (
    BestSeller,
    ChannelConversion,
    ChannelRevenue,
    DailySales,
    DateRange,
    best_sellers_limit,
    conversion_by_channel,
    date_range,
    revenue_by_channel,
    sales_over_time,
    validate_channel,
)
from orders.domain.sessions import known_sessions, parse_sessions
from orders.repository import UnitOfWork
from orders.repository.sales_rows import rebuild_all_sales


def _today(today: date | None) -> date:
    return today or datetime.now(UTC).date()


def channel_revenue(
    uow: UnitOfWork, ctx: CallContext, first: str, last: str, today: date | None = None
) -> tuple[DateRange, list[ChannelRevenue]]:
    """Revenue, orders and units per (channel, currency) with the share of that currency."""
    span = date_range(first, last, _today(today))
    with uow.transaction() as repo:
        totals = repo.channel_totals(ctx.tenant_id, span)
    return span, revenue_by_channel(totals)


def channel_conversion(
    uow: UnitOfWork, ctx: CallContext, first: str, last: str, today: date | None = None
) -> tuple[DateRange, list[ChannelConversion]]:
    """Orders per channel, with sessions and conversion where the merchant's imported sessions
    cover every day of the range (unknown, None, elsewhere)."""
    span = date_range(first, last, _today(today))
    with uow.transaction() as repo:
        totals = repo.channel_totals(ctx.tenant_id, span)
        sessions = known_sessions(span, repo.session_totals(ctx.tenant_id, span))
    return span, conversion_by_channel(totals, sessions)


def import_sessions(uow: UnitOfWork, ctx: CallContext, rows: list[tuple[str, str, int]]) -> int:
    """Store the merchant's sessions per (UTC day, channel); all rows or, with one bad, none."""
    days = parse_sessions(rows)
    with uow.transaction() as repo:
        repo.store_sessions(ctx.tenant_id, days, datetime.now(UTC))
    return len(days)


def best_sellers(
    uow: UnitOfWork,
    ctx: CallContext,
    channel: str,
    first: str,
    last: str,
    limit: int = 0,
    today: date | None = None,
) -> tuple[DateRange, list[BestSeller]]:
    """The SKUs that sold the most units on a channel (type or connection id) or on all."""
    span = date_range(first, last, _today(today))
    size = best_sellers_limit(limit)
    wanted = validate_channel(channel)
    with uow.transaction() as repo:
        return span, repo.best_sellers(ctx.tenant_id, span, wanted, size)


def daily_sales(
    uow: UnitOfWork, ctx: CallContext, channel: str, first: str, last: str, today: date | None = None
) -> tuple[DateRange, list[DailySales]]:
    """Revenue, orders and units per day and currency on a channel (type or connection id) or on
    all, every day of the range present."""
    span = date_range(first, last, _today(today))
    wanted = validate_channel(channel)
    with uow.transaction() as repo:
        totals = repo.daily_totals(ctx.tenant_id, span, wanted)
    return span, sales_over_time(span, totals)


def rebuild_sales(uow: UnitOfWork, tenant_id: str | None = None) -> int:
    """Recompute the read model from the orders in one transaction; returns the orders read."""
    return uow.run(lambda repo: rebuild_all_sales(repo.conn, tenant_id))
