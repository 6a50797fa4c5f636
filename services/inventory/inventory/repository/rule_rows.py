"""Repository rows of bundles, allocation rules, channel sales, alerts and the outbox, and the
figures an event is computed from."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

from inventory import models
from inventory.domain import Alert, AlertKind, AlertStatus, AllocationRule, BundleComponent
from inventory.repository.sql_base import Rows, chunks, dialect_insert
from omnistock_common import outbox as outbox_writer
from omnistock_common.db import insert_if_absent


class RuleRows(Rows):
    # ----------------------------------------------------------------------- bundles

    def bundles(self, tenant_id: str, bundle_skus: Iterable[str]) -> dict[str, list[BundleComponent]]:
        b = models.bundle_components
        out: dict[str, list[BundleComponent]] = {}
        for chunk in chunks(sorted(set(bundle_skus))):
            rows = self.conn.execute(
                select(b)
                .where(b.c.tenant_id == tenant_id, b.c.bundle_sku.in_(chunk))
                .order_by(b.c.bundle_sku, b.c.component_sku)
            )
            for row in rows:
                out.setdefault(row.bundle_sku, []).append(BundleComponent(row.component_sku, row.quantity))
        return out

    def bundles_containing(self, tenant_id: str, component_skus: Iterable[str]) -> set[str]:
        b = models.bundle_components
        out: set[str] = set()
        for chunk in chunks(sorted(set(component_skus))):
            rows = self.conn.execute(
                select(b.c.bundle_sku).where(b.c.tenant_id == tenant_id, b.c.component_sku.in_(chunk))
            )
            out.update(row[0] for row in rows)
        return out

    def replace_bundle(self, tenant_id: str, sku: str, components: Sequence[BundleComponent]) -> None:
        self.delete_bundle(tenant_id, sku)
        self.conn.execute(
            insert(models.bundle_components),
            [
                {"tenant_id": tenant_id, "bundle_sku": sku, "component_sku": c.sku, "quantity": c.quantity}
                for c in components
            ],
        )

    def delete_bundle(self, tenant_id: str, sku: str) -> int:
        b = models.bundle_components
        return self.conn.execute(delete(b).where(b.c.tenant_id == tenant_id, b.c.bundle_sku == sku)).rowcount

    def has_stock_rows(self, tenant_id: str, sku: str) -> bool:
        t = models.stock_levels
        query = select(t.c.sku).where(
            t.c.tenant_id == tenant_id, t.c.sku == sku, or_(t.c.on_hand != 0, t.c.reserved != 0)
        )
        return self.conn.execute(query.limit(1)).first() is not None

    def stocked_skus(self, tenant_id: str, skus: Iterable[str]) -> set[str]:
        """The SKUs with a stock row at any location (whatever its figures): the ones inventory
        knows. A row, once created by an adjustment, is never deleted."""
        t = models.stock_levels
        wanted = sorted(set(skus))
        if not wanted:
            return set()
        query = select(t.c.sku).where(t.c.tenant_id == tenant_id, t.c.sku.in_(wanted)).distinct()
        return set(self.conn.execute(query).scalars())

    # ----------------------------------------------------------------------- allocation rules

    def rules(self, tenant_id: str) -> list[AllocationRule]:
        a, lat = models.allocation_rules, models.connection_latencies
        rows = self.conn.execute(
            select(a, lat.c.latency_ms)
            .outerjoin(lat, and_(lat.c.tenant_id == a.c.tenant_id, lat.c.connection_id == a.c.connection_id))
            .where(a.c.tenant_id == tenant_id)
            .order_by(a.c.connection_id)
        )
        return [
            AllocationRule(
                connection_id=row.connection_id,
                channel=row.channel,
                buffer=row.buffer,
                max_quantity=row.max_quantity,
                percentage=row.percentage,
                dynamic_buffer=row.dynamic_buffer,
                measured_sync_latency_ms=row.latency_ms or 0,
            )
            for row in rows
        ]

    def put_rule(self, tenant_id: str, rule: AllocationRule, now: datetime) -> None:
        a = models.allocation_rules
        values = {
            "channel": rule.channel,
            "buffer": rule.buffer,
            "max_quantity": rule.max_quantity,
            "percentage": rule.percentage,
            "dynamic_buffer": rule.dynamic_buffer,
            "updated_at": now,
        }
        stmt = dialect_insert(self.conn, a).values(
            tenant_id=tenant_id, connection_id=rule.connection_id, **values
        )
        self.conn.execute(
            stmt.on_conflict_do_update(index_elements=[a.c.tenant_id, a.c.connection_id], set_=values)
        )

    def delete_rule(self, tenant_id: str, connection_id: str) -> bool:
        a = models.allocation_rules
        result = self.conn.execute(
            delete(a).where(a.c.tenant_id == tenant_id, a.c.connection_id == connection_id)
        )
        return result.rowcount > 0

    def record_latency(self, tenant_id: str, connection_id: str, latency_ms: int, now: datetime) -> None:
        lat = models.connection_latencies
        stmt = dialect_insert(self.conn, lat).values(
            tenant_id=tenant_id, connection_id=connection_id, latency_ms=latency_ms, updated_at=now
        )
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[lat.c.tenant_id, lat.c.connection_id],
                set_={"latency_ms": latency_ms, "updated_at": now},
            )
        )

    def add_sales(self, tenant_id: str, connection_id: str, units: dict[str, int], now: datetime) -> None:
        if units:
            self.conn.execute(
                insert(models.channel_sales),
                [
                    {
                        "tenant_id": tenant_id,
                        "connection_id": connection_id,
                        "sku": sku,
                        "quantity": qty,
                        "at": now,
                    }
                    for sku, qty in sorted(units.items())
                ],
            )

    def sales_since(
        self, tenant_id: str, skus: Iterable[str], connection_ids: Sequence[str], since: datetime
    ) -> dict[tuple[str, str], int]:
        """Units committed per (sku, connection_id) since `since`."""
        if not connection_ids:
            return {}
        s = models.channel_sales
        out: dict[tuple[str, str], int] = {}
        for chunk in chunks(sorted(set(skus))):
            rows = self.conn.execute(
                select(s.c.sku, s.c.connection_id, func.sum(s.c.quantity))
                .where(
                    s.c.tenant_id == tenant_id,
                    s.c.sku.in_(chunk),
                    s.c.connection_id.in_(list(connection_ids)),
                    s.c.at >= since,
                )
                .group_by(s.c.sku, s.c.connection_id)
            )
            out.update({(sku, conn): int(total) for sku, conn, total in rows})
        return out

    # ----------------------------------------------------------------------- alerts

    def write_alerts(
        self, tenant_id: str, opens: Sequence[Alert], closes: Sequence[tuple[str, str]], now: datetime
    ) -> None:
        """Open `opens` and close (sku, alert_id) `closes`, keeping sku_states.open_alert_id in step."""
        al, st = models.alerts, models.sku_states
        for alert in opens:
            self.conn.execute(
                insert(al).values(
                    id=alert.id,
                    tenant_id=tenant_id,
                    sku=alert.sku,
                    status=alert.status.value,
                    threshold=alert.threshold,
                    available_at_open=alert.available_at_open,
                    opened_at=alert.opened_at,
                )
            )
        for _sku, alert_id in closes:
            self.conn.execute(
                update(al)
                .where(al.c.tenant_id == tenant_id, al.c.id == alert_id)
                .values(status=AlertStatus.CLOSED.value, closed_at=now)
            )
        changes = [(alert.sku, alert.id) for alert in opens] + [(sku, None) for sku, _ in closes]
        for sku, alert_id in changes:
            self.conn.execute(
                update(st).where(st.c.tenant_id == tenant_id, st.c.sku == sku).values(open_alert_id=alert_id)
            )

    def list_alerts(
        self, tenant_id: str, status: AlertStatus | None, after: tuple[datetime, str] | None, limit: int
    ) -> list[Alert]:
        """Newest first, keyset on (opened_at, id)."""
        al = models.alerts
        query = (
            select(al)
            .where(al.c.tenant_id == tenant_id)
            .order_by(al.c.opened_at.desc(), al.c.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(al.c.status == status.value)
        if after is not None:
            opened_at, alert_id = after
            query = query.where(
                or_(al.c.opened_at < opened_at, and_(al.c.opened_at == opened_at, al.c.id < alert_id))
            )
        return [_alert(row) for row in self.conn.execute(query)]

    def add_alert_if_absent(self, tenant_id: str, alert: Alert) -> bool:
        """Insert an alert that has no SKU state of its own (OVERSOLD); False when its id (derived
        from what it is about) is already there: a re-delivered event opens nothing twice."""
        values = {
            "id": alert.id,
            "tenant_id": tenant_id,
            "sku": alert.sku,
            "status": alert.status.value,
            "threshold": alert.threshold,
            "available_at_open": alert.available_at_open,
            "opened_at": alert.opened_at,
            "kind": alert.kind.value,
            "reference": alert.reference,
            "quantity_short": alert.quantity_short,
        }
        return insert_if_absent(self.conn, models.alerts, [models.alerts.c.id], values)

    def alert(self, tenant_id: str, alert_id: str, *, lock: bool = False) -> Alert | None:
        al = models.alerts
        query = select(al).where(al.c.tenant_id == tenant_id, al.c.id == alert_id)
        row = self.conn.execute(query.with_for_update() if lock else query).first()
        return _alert(row) if row is not None else None

    def close_alert(self, tenant_id: str, alert_id: str, now: datetime) -> None:
        al = models.alerts
        self.conn.execute(
            update(al)
            .where(al.c.tenant_id == tenant_id, al.c.id == alert_id)
            .values(status=AlertStatus.CLOSED.value, closed_at=now)
        )

    # ----------------------------------------------------------------------- outbox

    def add_event(self, tenant_id: str, event_type: str, payload: dict[str, Any]) -> None:
        outbox_writer.add_event(self.conn, models.outbox, tenant_id, event_type, payload)

    def outbox_rows(self, tenant_id: str | None = None) -> list[tuple[int, str, dict[str, Any]]]:
        """(id, event_type, payload) in id order — for reconciliation tooling and tests."""
        o = models.outbox
        query = select(o.c.id, o.c.event_type, o.c.payload).order_by(o.c.id)
        if tenant_id is not None:
            query = query.where(o.c.tenant_id == tenant_id)
        return [(row.id, row.event_type, json.loads(row.payload)) for row in self.conn.execute(query)]


def _alert(row: Any) -> Alert:
    return Alert(
        row.id,
        row.sku,
        AlertStatus(row.status),
        row.threshold,
        row.available_at_open,
        row.opened_at,
        row.closed_at,
        AlertKind(row.kind),
        row.reference,
        row.quantity_short,
    )
