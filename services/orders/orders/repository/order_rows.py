"""Rows of one order: the upsert by (tenant, connection, external id), loading an order with its
parts, and saving what a use case changed."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from omnistock_common.db import dialect_insert, insert_if_absent
from omnistock_common.rows import from_row
from orders import models
from orders.domain import (
    Address,
    Fulfillment,
    FulfillmentLine,
    Order,
    OrderFlag,
    OrderLine,
    OrderStatus,
    RawVersion,
    StatusChange,
    StockState,
    SyncState,
    Totals,
    sales,
)
from orders.repository.sales_rows import apply_sales, stored_contribution

o, ol, sh = models.orders, models.order_lines, models.status_history
rv, ff, dl = models.raw_versions, models.fulfillments, models.duplicate_links


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def order_values(tenant_id: str, order: Order) -> dict[str, Any]:
    """The orders row of a domain order (everything but id, tenant and the unique key on update)."""
    return {
        "tenant_id": tenant_id,
        "source": order.source,
        "connection_id": order.connection_id,
        "external_id": order.external_id,
        "external_name": order.external_name,
        "customer_email": order.customer_email,
        "customer_email_lower": order.customer_email.strip().lower(),
        "customer_name": order.customer_name,
        "shipping_address": _json(asdict(order.shipping_address)),
        "currency": order.currency,
        "subtotal_minor": order.totals.subtotal,
        "discount_minor": order.totals.discount,
        "shipping_minor": order.totals.shipping,
        "tax_minor": order.totals.tax,
        "total_minor": order.totals.total,
        "status": order.status.value,
        "channel_status": _json(order.channel_status),
        "possible_duplicate": OrderFlag.POSSIBLE_DUPLICATE in order.flags,
        "oversold": OrderFlag.OVERSOLD in order.flags,
        "unmapped_sku": OrderFlag.UNMAPPED_SKU in order.flags,
        "reservation_id": order.reservation_id,
        "stock_state": order.stock_state.value,
        "stock_due_at": order.stock_due_at,
        "stock_error": order.stock_error[:512],
        "announced": order.announced,
        "replan_owed": order.replan_owed,
        "hold_round": order.hold_round,
        "cancel_sync_state": order.cancel_sync_state.value if order.cancel_sync_state else None,
        "cancel_sync_message": order.cancel_sync_message,
        "channel_updated_at": order.channel_updated_at,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "version": order.version,
    }


def order_from_row(row: Row[Any]) -> Order:
    flags = {
        flag
        for flag, column in (
            (OrderFlag.POSSIBLE_DUPLICATE, row.possible_duplicate),
            (OrderFlag.OVERSOLD, row.oversold),
            (OrderFlag.UNMAPPED_SKU, row.unmapped_sku),
        )
        if column
    }
    return Order(
        id=row.id,
        source=row.source,
        connection_id=row.connection_id,
        external_id=row.external_id,
        currency=row.currency,
        status=OrderStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        external_name=row.external_name,
        customer_email=row.customer_email,
        customer_name=row.customer_name,
        shipping_address=Address(**json.loads(row.shipping_address)),
        totals=Totals(
            row.subtotal_minor, row.discount_minor, row.shipping_minor, row.tax_minor, row.total_minor
        ),
        channel_status=json.loads(row.channel_status),
        flags=flags,
        channel_updated_at=row.channel_updated_at,
        reservation_id=row.reservation_id,
        version=row.version,
        cancel_sync_state=SyncState(row.cancel_sync_state) if row.cancel_sync_state else None,
        cancel_sync_message=row.cancel_sync_message,
        stock_state=StockState(row.stock_state),
        stock_due_at=row.stock_due_at,
        stock_error=row.stock_error,
        announced=row.announced,
        replan_owed=row.replan_owed,
        hold_round=row.hold_round,
    )


def _line_from_row(row: Row[Any]) -> OrderLine:
    return from_row(
        OrderLine, row, unit_price=row.unit_price_minor, discount=row.discount_minor, tax=row.tax_minor
    )


def _fulfillment_from_row(row: Row[Any]) -> Fulfillment:
    return from_row(
        Fulfillment,
        row,
        lines=[FulfillmentLine(**line) for line in json.loads(row.lines)],
        sync_state=SyncState(row.sync_state),
    )


class OrderRows:
    """Order rows on one connection (one transaction). Remembers what it loaded, so `save_order`
    appends only new history entries and inserts only new fulfillments, and what each order
    contributed to the sales read model, so a save applies the difference (same transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._loaded: dict[str, tuple[int, set[str]]] = {}
        self._sales: dict[str, sales.Contribution] = {}

    # ----------------------------------------------------------------------- insert / lock

    def insert_order_if_absent(self, tenant_id: str, order: Order) -> bool:
        """INSERT ... ON CONFLICT (tenant, connection, external id) DO NOTHING: True when this
        call created the order (then its parts are written too), False when it exists."""
        row = {"id": order.id, **order_values(tenant_id, order)}
        if not insert_if_absent(self.conn, o, ["tenant_id", "connection_id", "external_id"], row):
            return False
        self._loaded[order.id] = (0, set())
        self._write_parts(tenant_id, order)
        self._book_sales(tenant_id, order, {})
        return True

    def order_id_by_key(
        self, tenant_id: str, connection_id: str, external_id: str, *, lock: bool
    ) -> str | None:
        query = select(o.c.id).where(
            o.c.tenant_id == tenant_id, o.c.connection_id == connection_id, o.c.external_id == external_id
        )
        return self.conn.execute(query.with_for_update() if lock else query).scalar()

    # ----------------------------------------------------------------------- load

    def load_order(
        self, tenant_id: str, order_id: str, *, lock: bool = False, raw: bool = False
    ) -> Order | None:
        """The order with its lines, history, fulfillments and links (and raw versions when
        `raw`); `lock` takes its row lock first (PostgreSQL; SQLite's transaction holds the
        database lock already)."""
        query = select(o).where(o.c.tenant_id == tenant_id, o.c.id == order_id)
        row = self.conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            return None
        order = self._complete([order_from_row(row)])[0]
        if raw:
            order.raw_versions = self._raw_versions(order.id)
        return order

    def load_orders(self, rows: Sequence[Row[Any]]) -> list[Order]:
        """Orders of already-read rows (a list page), completed with their parts in 4 queries."""
        return self._complete([order_from_row(row) for row in rows])

    def _complete(self, found: list[Order]) -> list[Order]:
        ids = [order.id for order in found]
        if not ids:
            return found
        lines: dict[str, list[OrderLine]] = defaultdict(list)
        for row in self.conn.execute(
            select(ol).where(ol.c.order_id.in_(ids)).order_by(ol.c.order_id, ol.c.line_no)
        ):
            lines[row.order_id].append(_line_from_row(row))
        history: dict[str, list[StatusChange]] = defaultdict(list)
        for row in self.conn.execute(select(sh).where(sh.c.order_id.in_(ids)).order_by(sh.c.id)):
            history[row.order_id].append(
                StatusChange(
                    OrderStatus(row.from_status) if row.from_status else None,
                    OrderStatus(row.to_status),
                    row.at,
                    row.actor,
                    row.reason,
                )
            )
        fulfillments: dict[str, list[Fulfillment]] = defaultdict(list)
        for row in self.conn.execute(
            select(ff).where(ff.c.order_id.in_(ids)).order_by(ff.c.created_at, ff.c.id)
        ):
            fulfillments[row.order_id].append(_fulfillment_from_row(row))
        links: dict[str, list[str]] = defaultdict(list)
        query = (
            select(dl.c.order_id, dl.c.other_order_id)
            .where(dl.c.order_id.in_(ids))
            .order_by(dl.c.other_order_id)
        )
        for row in self.conn.execute(query):
            links[row.order_id].append(row.other_order_id)
        for order in found:
            order.lines = lines[order.id]
            order.history = history[order.id]
            order.fulfillments = fulfillments[order.id]
            order.duplicate_of = links[order.id]
            self._loaded[order.id] = (len(order.history), {f.id for f in order.fulfillments})
            self._sales[order.id] = sales.contribution(order)
        return found

    def _raw_versions(self, order_id: str) -> list[RawVersion]:
        rows = self.conn.execute(select(rv).where(rv.c.order_id == order_id).order_by(rv.c.id))
        return [RawVersion(r.channel_updated_at, r.received_at, r.via, r.payload) for r in rows]

    # ----------------------------------------------------------------------- save

    def save_order(self, tenant_id: str, order: Order) -> None:
        """Write the order row and its changed parts (it was loaded or inserted in this
        transaction). Raw versions are written by add_raw_version, never here."""
        before = self._sales.get(order.id)
        if before is None:  # not read in this transaction: what is stored is the state before
            before = stored_contribution(self.conn, tenant_id, order.id)
        values = order_values(tenant_id, order)
        self.conn.execute(update(o).where(o.c.tenant_id == tenant_id, o.c.id == order.id).values(**values))
        self.conn.execute(delete(ol).where(ol.c.order_id == order.id))
        self._write_parts(tenant_id, order)
        self._book_sales(tenant_id, order, before)

    def _book_sales(self, tenant_id: str, order: Order, before: sales.Contribution) -> None:
        """Apply what this state of the order changes in the sales read model."""
        after = sales.contribution(order)
        apply_sales(self.conn, tenant_id, sales.difference(before, after))
        self._sales[order.id] = after

    def _write_parts(self, tenant_id: str, order: Order) -> None:
        history_saved, fulfillments_saved = self._loaded.get(order.id, (0, set()))
        if order.lines:
            self.conn.execute(insert(ol), [_line_values(tenant_id, order.id, line) for line in order.lines])
        if len(order.history) > history_saved:
            self.conn.execute(
                insert(sh),
                [
                    {
                        "order_id": order.id,
                        "tenant_id": tenant_id,
                        "from_status": c.from_status.value if c.from_status else None,
                        "to_status": c.to_status.value,
                        "at": c.at,
                        "actor": c.actor,
                        "reason": c.reason,
                    }
                    for c in order.history[history_saved:]
                ],
            )
        for fulfillment in order.fulfillments:
            values = _fulfillment_values(fulfillment, order.updated_at)
            if fulfillment.id in fulfillments_saved:
                self.conn.execute(update(ff).where(ff.c.id == fulfillment.id).values(**values))
            else:
                self.conn.execute(
                    insert(ff).values(
                        id=fulfillment.id,
                        order_id=order.id,
                        tenant_id=tenant_id,
                        created_at=fulfillment.created_at,
                        **values,
                    )
                )
        self._loaded[order.id] = (len(order.history), {f.id for f in order.fulfillments})

    def add_raw_version(self, tenant_id: str, order_id: str, version: RawVersion) -> None:
        """Keep a payload as received (an identical one by the same path is kept once)."""
        digest = hashlib.sha256(version.payload_json.encode()).hexdigest()
        self.conn.execute(
            dialect_insert(self.conn, rv)
            .values(
                order_id=order_id,
                tenant_id=tenant_id,
                via=version.via,
                payload_sha256=digest,
                channel_updated_at=version.channel_updated_at,
                received_at=version.received_at,
                payload=version.payload_json,
            )
            .on_conflict_do_nothing(index_elements=["order_id", "via", "payload_sha256"])
        )

    # ----------------------------------------------------------------------- duplicates

    def link_duplicates(self, tenant_id: str, order_id: str, others: Iterable[str], now: datetime) -> None:
        """Link both ways and flag the other orders (the caller flags its own order)."""
        others = sorted(set(others))
        rows = [
            {"tenant_id": tenant_id, "order_id": a, "other_order_id": b}
            for other in others
            for a, b in ((order_id, other), (other, order_id))
        ]
        if not rows:
            return
        self.conn.execute(dialect_insert(self.conn, dl).values(rows).on_conflict_do_nothing())
        self.conn.execute(
            update(o)
            .where(o.c.tenant_id == tenant_id, o.c.id.in_(others))
            .values(possible_duplicate=True, version=o.c.version + 1, updated_at=now)
        )

    def unlink_duplicates(self, tenant_id: str, order_id: str, now: datetime) -> None:
        """Drop every link of the order; an order left without links loses its flag."""
        others = list(
            self.conn.execute(
                select(dl.c.other_order_id).where(dl.c.tenant_id == tenant_id, dl.c.order_id == order_id)
            ).scalars()
        )
        self.conn.execute(delete(dl).where(dl.c.tenant_id == tenant_id, dl.c.order_id == order_id))
        self.conn.execute(delete(dl).where(dl.c.tenant_id == tenant_id, dl.c.other_order_id == order_id))
        if not others:
            return
        still_linked = select(dl.c.order_id).where(dl.c.tenant_id == tenant_id).scalar_subquery()
        self.conn.execute(
            update(o)
            .where(o.c.tenant_id == tenant_id, o.c.id.in_(others), o.c.id.not_in(still_linked))
            .values(possible_duplicate=False, version=o.c.version + 1, updated_at=now)
        )


def _line_values(tenant_id: str, order_id: str, line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "order_id": order_id,
        "tenant_id": tenant_id,
        "line_no": line.line_no,
        "external_line_id": line.external_line_id,
        "sku": line.sku,
        "title": line.title,
        "quantity": line.quantity,
        "unit_price_minor": line.unit_price,
        "discount_minor": line.discount,
        "tax_minor": line.tax,
        "quantity_shipped": line.quantity_shipped,
        "quantity_returned": line.quantity_returned,
        "quantity_reserved": line.quantity_reserved,
        "sku_known": line.sku_known,
        "channel_fulfilled": line.channel_fulfilled,
    }


def _fulfillment_values(fulfillment: Fulfillment, now: datetime) -> dict[str, Any]:
    return {
        "carrier": fulfillment.carrier,
        "tracking_number": fulfillment.tracking_number,
        "tracking_url": fulfillment.tracking_url,
        "lines": _json([asdict(line) for line in fulfillment.lines]),
        "sync_state": fulfillment.sync_state.value,
        "external_fulfillment_id": fulfillment.external_fulfillment_id,
        "sync_message": fulfillment.sync_message,
        "updated_at": now,
    }
