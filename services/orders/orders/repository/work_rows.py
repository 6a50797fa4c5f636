"""Rows that organise the work around orders: idempotent operations, the outbox, orders whose
stock step is due, and the duplicate lookup."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update

from omnistock_common import outbox as outbox_writer
from omnistock_common.db import dialect_insert, insert_if_absent
from orders import models
from orders.domain import Candidate, DuplicateKey, Operation, StockState

o, op = models.orders, models.operations


def _operation(row: Any) -> Operation:
    return Operation(
        scope=row.scope,
        key=row.key,
        request_hash=row.request_hash,
        order_id=row.order_id,
        payload=json.loads(row.payload),
        done=row.done,
        response=json.loads(row.response) if row.response else None,
    )


class WorkRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ----------------------------------------------------------------------- operations

    def claim_operation(self, tenant_id: str, operation: Operation, now: datetime) -> Operation | None:
        """Insert the claim unless (tenant, scope, key) exists: None when this call claimed it,
        else the existing operation (locked until this transaction ends)."""
        claim = {
            "tenant_id": tenant_id,
            "scope": operation.scope,
            "key": operation.key,
            "request_hash": operation.request_hash,
            "order_id": operation.order_id,
            "done": False,
            "payload": json.dumps(operation.payload, separators=(",", ":")),
            "response": None,
            "created_at": now,
            "updated_at": now,
        }
        if insert_if_absent(self.conn, op, ["tenant_id", "scope", "key"], claim):
            return None
        return self.operation(tenant_id, operation.scope, operation.key, lock=True)

    def operation(self, tenant_id: str, scope: str, key: str, *, lock: bool = False) -> Operation | None:
        query = select(op).where(op.c.tenant_id == tenant_id, op.c.scope == scope, op.c.key == key)
        row = self.conn.execute(query.with_for_update() if lock else query).first()
        return _operation(row) if row else None

    def busy_operation(self, tenant_id: str, order_id: str, key: str, since: datetime) -> Operation | None:
        """Another unfinished operation on the order, started after `since` (an older one was
        interrupted and is left to the worker)."""
        row = self.conn.execute(
            select(op)
            .where(
                op.c.tenant_id == tenant_id,
                op.c.order_id == order_id,
                op.c.done.is_(False),
                op.c.key != key,
                op.c.updated_at > since,
            )
            .limit(1)
        ).first()
        return _operation(row) if row else None

    def finish_operation(
        self, tenant_id: str, scope: str, key: str, response: dict[str, Any], now: datetime
    ) -> None:
        self.conn.execute(
            update(op)
            .where(op.c.tenant_id == tenant_id, op.c.scope == scope, op.c.key == key)
            .values(done=True, response=json.dumps(response, separators=(",", ":")), updated_at=now)
        )

    def drop_operation(self, tenant_id: str, scope: str, key: str) -> None:
        """Forget a claim whose request inventory refused: nothing changed, a retry starts over."""
        self.conn.execute(
            delete(op).where(
                op.c.tenant_id == tenant_id, op.c.scope == scope, op.c.key == key, op.c.done.is_(False)
            )
        )

    def stale_operations(self, before: datetime, limit: int) -> list[tuple[str, str, str]]:
        """(tenant, scope, key) of unfinished operations untouched since `before`, oldest first."""
        rows = self.conn.execute(
            select(op.c.tenant_id, op.c.scope, op.c.key)
            .where(op.c.done.is_(False), op.c.updated_at < before)
            .order_by(op.c.updated_at)
            .limit(limit)
        )
        return [(r.tenant_id, r.scope, r.key) for r in rows]

    def touch_operation(self, tenant_id: str, scope: str, key: str, now: datetime) -> None:
        self.conn.execute(
            update(op)
            .where(op.c.tenant_id == tenant_id, op.c.scope == scope, op.c.key == key)
            .values(updated_at=now)
        )

    # ----------------------------------------------------------------------- outbox

    def add_events(self, tenant_id: str, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
        for event_type, payload in events:
            outbox_writer.add_event(
                self.conn, models.outbox, tenant_id, event_type, {"tenant_id": tenant_id, **payload}
            )

    def outbox_rows(self, tenant_id: str | None = None) -> list[tuple[int, str, dict[str, Any]]]:
        """(id, event type, payload) in order (tests and tools)."""
        t = models.outbox
        query = select(t.c.id, t.c.event_type, t.c.payload).order_by(t.c.id)
        if tenant_id is not None:
            query = query.where(t.c.tenant_id == tenant_id)
        return [(r.id, r.event_type, json.loads(r.payload)) for r in self.conn.execute(query)]

    # ----------------------------------------------------------------------- stock steps

    def due_stock_orders(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(tenant, order id) of orders whose stock step is owed and due, oldest due first."""
        rows = self.conn.execute(
            select(o.c.tenant_id, o.c.id)
            .where(o.c.stock_state == StockState.PENDING.value, o.c.stock_due_at <= now)
            .order_by(o.c.stock_due_at, o.c.id)
            .limit(limit)
        )
        return [(r.tenant_id, r.id) for r in rows]

    def postpone_stock(self, tenant_id: str, order_id: str, due_at: datetime, error: str) -> None:
        """A stock step failed for now: try again at `due_at` (only while still owed)."""
        self.conn.execute(
            update(o)
            .where(
                o.c.tenant_id == tenant_id, o.c.id == order_id, o.c.stock_state == StockState.PENDING.value
            )
            .values(stock_due_at=due_at, stock_error=error[:512])
        )

    # ----------------------------------------------------------------------- duplicates

    def guard_customer(self, tenant_id: str, email_lower: str, now: datetime) -> None:
        """Upsert (so row-lock) the customer's guard row: duplicate checks of one customer's
        orders run one after the other, each seeing the orders committed before it."""
        g = models.duplicate_guards
        self.conn.execute(
            dialect_insert(self.conn, g)
            .values(tenant_id=tenant_id, email_lower=email_lower, touched_at=now)
            .on_conflict_do_update(index_elements=["tenant_id", "email_lower"], set_={"touched_at": now})
        )

    def duplicate_candidates(
        self, tenant_id: str, key: DuplicateKey, created_at: datetime, window: timedelta
    ) -> list[Candidate]:
        rows = self.conn.execute(
            select(o.c.id, o.c.customer_email_lower, o.c.total_minor, o.c.currency, o.c.created_at).where(
                o.c.tenant_id == tenant_id,
                o.c.customer_email_lower == key.email,
                o.c.total_minor == key.total,
                o.c.currency == key.currency,
                o.c.created_at >= created_at - window,
                o.c.created_at <= created_at + window,
            )
        )
        return [
            Candidate(r.id, r.customer_email_lower, r.total_minor, r.currency, r.created_at) for r in rows
        ]
