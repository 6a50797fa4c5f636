"""SQL of the channels side of orders: published order versions and pending order actions.

A mixin of channels.repository.Repository (bound to one open transaction), like sync/repository.py,
so order intake and the order-action sender reach these queries through the same
`uow.transaction()` / `uow.run(work)` and hold no SQL themselves. Every query filters on tenant_id
except the sender's scheduled reads (`*_any_tenant`), which say so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection as SqlConnection

from channels import models
from channels.sync.repository import PENDING as COMMITMENT_PENDING
from omnistock_common.db import dialect_insert, insert_if_absent

# Status of an order_actions row.
ACTION_PENDING = "pending"
ACTION_SYNCED = "synced"
ACTION_FAILED = "failed"


@dataclass(frozen=True)
class OrderAction:
    """One order_actions row, its request decoded."""

    id: str
    tenant_id: str
    order_id: str
    action: str
    fulfillment_id: str
    connection_id: str
    external_order_id: str
    request: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    external_id: str
    last_error: str


def _action(row: Any) -> OrderAction:
    return OrderAction(
        id=row.id,
        tenant_id=row.tenant_id,
        order_id=row.order_id,
        action=row.action,
        fulfillment_id=row.fulfillment_id,
        connection_id=row.connection_id,
        external_order_id=row.external_order_id,
        request=json.loads(row.request),
        status=row.status,
        attempts=int(row.attempts),
        next_attempt_at=row.next_attempt_at,
        external_id=row.external_id,
        last_error=row.last_error,
    )


class OrderQueries:
    """The order queries; mixed into Repository, never commits."""

    conn: SqlConnection

    # ----------------------------------------------------------------------- order versions
    def record_order_version(
        self,
        tenant_id: str,
        connection_id: str,
        external_order_id: str,
        *,
        digest: str,
        order_updated_at: datetime | None,
        now: datetime,
    ) -> bool:
        """True when this state of the order was not the last one published (so publish it now).

        One statement: INSERT .. ON CONFLICT DO UPDATE .. WHERE the digest differs, RETURNING. Of two
        transactions reporting the same state at once, the second waits for the first's row lock
        and then finds the digest equal: exactly one of them publishes.
        """
        t = models.order_versions
        stmt = dialect_insert(self.conn, t).values(
            connection_id=connection_id,
            external_order_id=external_order_id,
            tenant_id=tenant_id,
            digest=digest,
            order_updated_at=order_updated_at,
            published_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.connection_id, t.c.external_order_id],
            set_={
                "digest": stmt.excluded.digest,
                "order_updated_at": stmt.excluded.order_updated_at,
                "published_at": stmt.excluded.published_at,
            },
            where=and_(t.c.tenant_id == tenant_id, t.c.digest != stmt.excluded.digest),
        ).returning(t.c.connection_id)
        return self.conn.execute(stmt).first() is not None

    def pending_commitment_skus(
        self, tenant_id: str, connection_id: str, external_order_id: str
    ) -> list[str]:
        """The SKUs of one channel order whose commitments are still pending."""
        t = models.channel_commitments
        rows = self.conn.execute(
            select(t.c.sku).where(
                t.c.tenant_id == tenant_id,
                t.c.connection_id == connection_id,
                t.c.external_order_id == external_order_id,
                t.c.status == COMMITMENT_PENDING,
            )
        )
        return sorted(r.sku for r in rows)

    # ----------------------------------------------------------------------- order actions
    def insert_order_action(
        self,
        *,
        action_id: str,
        tenant_id: str,
        order_id: str,
        action: str,
        fulfillment_id: str,
        connection_id: str,
        external_order_id: str,
        request: Mapping[str, Any],
        status: str,
        last_error: str,
        now: datetime,
    ) -> bool:
        """INSERT .. ON CONFLICT DO NOTHING on (tenant, order, action, fulfillment): False when
        the same request was stored before (a repeated event)."""
        t = models.order_actions
        row = {
            "id": action_id,
            "tenant_id": tenant_id,
            "order_id": order_id,
            "action": action,
            "fulfillment_id": fulfillment_id,
            "connection_id": connection_id,
            "external_order_id": external_order_id,
            "request": json.dumps(dict(request), sort_keys=True),
            "status": status,
            "attempts": 0,
            "next_attempt_at": now,
            "external_id": "",
            "last_error": last_error,
            "created_at": now,
            "updated_at": now,
        }
        unique = [t.c.tenant_id, t.c.order_id, t.c.action, t.c.fulfillment_id]
        return insert_if_absent(self.conn, t, unique, row)

    def due_order_actions_any_tenant(self, now: datetime, limit: int) -> list[OrderAction]:
        """Pending actions whose time has come, oldest first: the scheduled sender only."""
        t = models.order_actions
        rows = self.conn.execute(
            select(t)
            .where(t.c.status == ACTION_PENDING, t.c.next_attempt_at <= now)
            .order_by(t.c.next_attempt_at, t.c.id)
            .limit(limit)
        )
        return [_action(row) for row in rows]

    def claim_order_action(self, action: OrderAction, until: datetime, now: datetime) -> bool:
        """Take a due action until `until` (a lease): a conditional UPDATE on the time it was due,
        so of two senders that read it, one wins; if the winner dies, the action is due again."""
        t = models.order_actions
        result = self.conn.execute(
            update(t)
            .where(
                t.c.id == action.id,
                t.c.tenant_id == action.tenant_id,
                t.c.status == ACTION_PENDING,
                t.c.next_attempt_at == action.next_attempt_at,
            )
            .values(next_attempt_at=until, updated_at=now)
        )
        return bool(result.rowcount)

    def finish_order_action(
        self,
        action: OrderAction,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime,
        external_id: str,
        last_error: str,
        now: datetime,
    ) -> bool:
        """Record an attempt's result (still pending: `next_attempt_at` is when to try again);
        False when the action was no longer pending."""
        t = models.order_actions
        result = self.conn.execute(
            update(t)
            .where(t.c.id == action.id, t.c.tenant_id == action.tenant_id, t.c.status == ACTION_PENDING)
            .values(
                status=status,
                attempts=attempts,
                next_attempt_at=next_attempt_at,
                external_id=external_id[:255],
                last_error=last_error[:4000],
                updated_at=now,
            )
        )
        return bool(result.rowcount)

    def get_order_action(self, tenant_id: str, action_id: str) -> OrderAction | None:
        t = models.order_actions
        row = self.conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.id == action_id)).first()
        return _action(row) if row else None

    def order_actions_of(self, tenant_id: str, order_id: str) -> list[OrderAction]:
        """Every action of one order (for the dashboard and tests)."""
        t = models.order_actions
        rows = self.conn.execute(
            select(t)
            .where(t.c.tenant_id == tenant_id, t.c.order_id == order_id)
            .order_by(t.c.created_at, t.c.id)
        )
        return [_action(row) for row in rows]
