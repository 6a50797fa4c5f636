"""Inventory turnover over a range of UTC days, read from the daily read model (domain.turnover)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from inventory import domain
from inventory.domain import Turnover
from inventory.repository import UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.day_range import DateRange, date_range


def inventory_turnover(
    uow: UnitOfWork, ctx: CallContext, first: str, last: str, limit: int, today: date | None = None
) -> tuple[DateRange, list[Turnover], Turnover]:
    """The range answered, the SKUs' figures (at most `limit`) and the overall ones. Both reads
    in one transaction, so the opening and the days are of the same moment."""
    span = date_range(first, last, today or datetime.now(UTC).date())
    with uow.transaction() as repo:
        opening = repo.daily_stock_before(ctx.tenant_id, span.first)
        days = repo.daily_stock_days(ctx.tenant_id, span.first, span.last)
    items, overall = domain.turnover(span, opening, days, domain.turnover_limit(limit))
    return span, items, overall
