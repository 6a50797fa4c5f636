"""SQL of the sales read model (models.sales_daily): applying an order's difference (in the
transaction that saves the order), the two reports, and the rebuild from the orders tables.

The rebuild and the stored-state read select only the columns the arithmetic needs (those of
migration 0002), so migration 0003 can run them on a database that later migrations change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, desc, func, or_, select, text

from omnistock_common.db import dialect_insert
from orders import models
from orders.domain import Order, OrderLine, OrderStatus
from orders.domain.sales import (
    ORDER_ROW,
    BestSeller,
    Contribution,
    DateRange,
    Figures,
    SalesKey,
    contribution,
)
from orders.domain.sessions import SessionsDay

o, ol, sd = models.orders, models.order_lines, models.sales_daily
_ORDER_COLUMNS = (
    o.c.id,
    o.c.tenant_id,
    o.c.source,
    o.c.connection_id,
    o.c.currency,
    o.c.status,
    o.c.created_at,
)
_LINE_COLUMNS = (
    ol.c.order_id,
    ol.c.line_no,
    ol.c.sku,
    ol.c.quantity,
    ol.c.unit_price_minor,
    ol.c.discount_minor,
    ol.c.quantity_returned,
)
REBUILD_BATCH = 500


def apply_sales(conn: Connection, tenant_id: str, delta: Mapping[SalesKey, Figures]) -> None:
    """Add the difference to the rows (upsert adding to what is there, in key order so concurrent
    saves lock rows in one order); a row left all zero is deleted, so the table holds only days
    with sales."""
    if not delta:
        return
    for key in sorted(delta):
        figures = delta[key]
        values = {
            "tenant_id": tenant_id,
            "day": key.day,
            "channel": key.channel,
            "connection_id": key.connection_id,
            "currency": key.currency,
            "sku": key.sku,
            "orders": figures.orders,
            "units": figures.units,
            "revenue_minor": figures.revenue,
        }
        stmt = dialect_insert(conn, sd).values(**values)
        upsert = stmt.on_conflict_do_update(
            index_elements=[
                sd.c.tenant_id,
                sd.c.day,
                sd.c.channel,
                sd.c.connection_id,
                sd.c.currency,
                sd.c.sku,
            ],
            set_={
                "orders": sd.c.orders + stmt.excluded.orders,
                "units": sd.c.units + stmt.excluded.units,
                "revenue_minor": sd.c.revenue_minor + stmt.excluded.revenue_minor,
            },
        ).returning(sd.c.orders, sd.c.units, sd.c.revenue_minor)
        if not any(conn.execute(upsert).one()):  # nothing left on this row (it is locked: ours)
            conn.execute(
                delete(sd).where(
                    sd.c.tenant_id == tenant_id,
                    sd.c.day == key.day,
                    sd.c.channel == key.channel,
                    sd.c.connection_id == key.connection_id,
                    sd.c.currency == key.currency,
                    sd.c.sku == key.sku,
                )
            )


def _skeletons(conn: Connection, order_rows: list[Any]) -> list[tuple[str, Order]]:
    """(tenant, order) with only what `contribution` reads, for the given orders rows."""
    lines: dict[str, list[OrderLine]] = defaultdict(list)
    ids = [row.id for row in order_rows]
    if ids:
        query = select(*_LINE_COLUMNS).where(ol.c.order_id.in_(ids)).order_by(ol.c.order_id, ol.c.line_no)
        for row in conn.execute(query):
            lines[row.order_id].append(
                OrderLine(
                    id="",
                    line_no=row.line_no,
                    sku=row.sku,
                    quantity=row.quantity,
                    unit_price=row.unit_price_minor,
                    discount=row.discount_minor,
                    quantity_returned=row.quantity_returned,
                )
            )
    return [
        (
            row.tenant_id,
            Order(
                id=row.id,
                source=row.source,
                connection_id=row.connection_id,
                external_id="",
                currency=row.currency,
                status=OrderStatus(row.status),
                created_at=row.created_at,
                updated_at=row.created_at,
                lines=lines[row.id],
            ),
        )
        for row in order_rows
    ]


def stored_contribution(conn: Connection, tenant_id: str, order_id: str) -> Contribution:
    """What the order as stored now contributes (before this transaction changes it)."""
    rows = list(conn.execute(select(*_ORDER_COLUMNS).where(o.c.tenant_id == tenant_id, o.c.id == order_id)))
    found = _skeletons(conn, rows)
    return contribution(found[0][1]) if found else {}


def rebuild_all_sales(conn: Connection, tenant_id: str | None = None) -> int:
    """Recompute the read model from the orders (every tenant, or one): delete, then add every
    order's contribution, in batches of orders by id. Returns the orders read.

    On PostgreSQL the orders table is locked in SHARE mode first: order saves (which add their
    difference) wait until the rebuild commits, so none is lost or counted twice; SQLite's
    BEGIN IMMEDIATE already keeps writers out."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE orders IN SHARE MODE"))
    scope = [] if tenant_id is None else [sd.c.tenant_id == tenant_id]
    conn.execute(delete(sd).where(*scope))
    order_scope = [] if tenant_id is None else [o.c.tenant_id == tenant_id]
    last = ""
    count = 0
    while True:
        query = (
            select(*_ORDER_COLUMNS).where(*order_scope, o.c.id > last).order_by(o.c.id).limit(REBUILD_BATCH)
        )
        rows = list(conn.execute(query))
        if not rows:
            return count
        per_tenant: dict[str, Contribution] = defaultdict(dict)
        for tenant, order in _skeletons(conn, rows):
            sums = per_tenant[tenant]
            for key, figures in contribution(order).items():
                sums[key] = sums.get(key, Figures()) + figures
        for tenant, sums in per_tenant.items():
            apply_sales(conn, tenant, sums)
        count += len(rows)
        last = rows[-1].id


class SalesRows:
    """The reports, on the repository's connection."""

    conn: Connection

    def store_sessions(self, tenant_id: str, days: list[SessionsDay], now: datetime) -> None:
        """Upsert: a day imported again replaces its figure."""
        cs = models.channel_sessions
        for row in days:
            stmt = dialect_insert(self.conn, cs).values(
                tenant_id=tenant_id, channel=row.channel, day=row.day, sessions=row.sessions, updated_at=now
            )
            self.conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[cs.c.tenant_id, cs.c.channel, cs.c.day],
                    set_={"sessions": stmt.excluded.sessions, "updated_at": stmt.excluded.updated_at},
                )
            )

    def session_totals(self, tenant_id: str, span: DateRange) -> dict[str, tuple[int, int]]:
        """channel → (days with a figure, sessions summed) over the span."""
        cs = models.channel_sessions
        query = (
            select(cs.c.channel, func.count().label("days"), func.sum(cs.c.sessions).label("sessions"))
            .where(cs.c.tenant_id == tenant_id, cs.c.day >= span.first, cs.c.day <= span.last)
            .group_by(cs.c.channel)
        )
        return {row.channel: (int(row.days), int(row.sessions)) for row in self.conn.execute(query)}

    def channel_totals(self, tenant_id: str, span: DateRange) -> list[tuple[str, str, Figures]]:
        """(channel, currency, figures) summed over the days (whole-order rows)."""
        query = (
            select(
                sd.c.channel,
                sd.c.currency,
                func.sum(sd.c.orders).label("orders"),
                func.sum(sd.c.units).label("units"),
                func.sum(sd.c.revenue_minor).label("revenue"),
            )
            .where(
                sd.c.tenant_id == tenant_id,
                sd.c.sku == ORDER_ROW,
                sd.c.day >= span.first,
                sd.c.day <= span.last,
            )
            .group_by(sd.c.channel, sd.c.currency)
        )
        return [
            (row.channel, row.currency, Figures(int(row.orders), int(row.units), int(row.revenue)))
            for row in self.conn.execute(query)
        ]

    def daily_totals(self, tenant_id: str, span: DateRange, channel: str) -> list[tuple[date, str, Figures]]:
        """(day, currency, figures) of the whole-order rows; `channel` is a channel type, a
        connection id, or "" for all. Only days with sales have rows (the domain fills the gaps)."""
        conditions = [
            sd.c.tenant_id == tenant_id,
            sd.c.sku == ORDER_ROW,
            sd.c.day >= span.first,
            sd.c.day <= span.last,
        ]
        if channel:
            conditions.append(or_(sd.c.channel == channel, sd.c.connection_id == channel))
        query = (
            select(
                sd.c.day,
                sd.c.currency,
                func.sum(sd.c.orders).label("orders"),
                func.sum(sd.c.units).label("units"),
                func.sum(sd.c.revenue_minor).label("revenue"),
            )
            .where(*conditions)
            .group_by(sd.c.day, sd.c.currency)
        )
        return [
            (row.day, row.currency, Figures(int(row.orders), int(row.units), int(row.revenue)))
            for row in self.conn.execute(query)
        ]

    def best_sellers(self, tenant_id: str, span: DateRange, channel: str, limit: int) -> list[BestSeller]:
        """The SKUs with the most units (then revenue) per currency; `channel` is a channel type,
        a connection id, or "" for all."""
        conditions = [
            sd.c.tenant_id == tenant_id,
            sd.c.sku != ORDER_ROW,
            sd.c.day >= span.first,
            sd.c.day <= span.last,
        ]
        if channel:
            conditions.append(or_(sd.c.channel == channel, sd.c.connection_id == channel))
        units = func.sum(sd.c.units).label("units")
        revenue = func.sum(sd.c.revenue_minor).label("revenue")
        query = (
            select(sd.c.sku, sd.c.currency, units, revenue, func.sum(sd.c.orders).label("orders"))
            .where(*conditions)
            .group_by(sd.c.sku, sd.c.currency)
            .having(units > 0)
            .order_by(desc(units), desc(revenue), sd.c.sku, sd.c.currency)
            .limit(limit)
        )
        return [
            BestSeller(row.sku, row.currency, int(row.units), int(row.revenue), int(row.orders))
            for row in self.conn.execute(query)
        ]
