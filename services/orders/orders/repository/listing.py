"""The consolidated list and the export: filters in SQL, keyset pages (newest first, never
OFFSET), so a page is stable while orders keep arriving and an export reads page by page."""

from __future__ import annotations

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from orders import models
from orders.domain import Order, OrderFilter, OrderFlag, PageKey
from orders.repository.order_rows import OrderRows

o, ol = models.orders, models.order_lines

FLAG_COLUMNS = {
    OrderFlag.POSSIBLE_DUPLICATE: o.c.possible_duplicate,
    OrderFlag.OVERSOLD: o.c.oversold,
    OrderFlag.UNMAPPED_SKU: o.c.unmapped_sku,
}


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filter_conditions(tenant_id: str, flt: OrderFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [o.c.tenant_id == tenant_id]
    if flt.channel:
        source = flt.source
        conditions.append(o.c.source == source if source else o.c.connection_id == flt.channel)
    if flt.statuses:
        conditions.append(o.c.status.in_([status.value for status in flt.statuses]))
    if flt.created_from:
        conditions.append(o.c.created_at >= flt.created_from)
    if flt.created_to:
        conditions.append(o.c.created_at < flt.created_to)
    for flag in flt.flags:
        conditions.append(FLAG_COLUMNS[flag].is_(True))
    if flt.query.strip():
        pattern = _like_pattern(flt.query.strip())
        sku_match = exists().where(ol.c.order_id == o.c.id, func.lower(ol.c.sku).like(pattern, escape="\\"))
        conditions.append(
            or_(
                o.c.customer_email_lower.like(pattern, escape="\\"),
                func.lower(o.c.external_name).like(pattern, escape="\\"),
                func.lower(o.c.external_id).like(pattern, escape="\\"),
                sku_match,
            )
        )
    return conditions


class ListingRows(OrderRows):
    def list_orders(self, tenant_id: str, flt: OrderFilter, after: PageKey | None, limit: int) -> list[Order]:
        """At most `limit` orders matching `flt`, newest first, after the `after` key."""
        conditions = filter_conditions(tenant_id, flt)
        if after is not None:
            conditions.append(
                or_(
                    o.c.created_at < after.created_at,
                    and_(o.c.created_at == after.created_at, o.c.id < after.order_id),
                )
            )
        query = select(o).where(*conditions).order_by(o.c.created_at.desc(), o.c.id.desc()).limit(limit)
        return self.load_orders(list(self.conn.execute(query)))
