"""Connection pricing and schedules, the tenant's FX table and its audit trail, timed sales."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from omnistock_common.db import dialect_insert, insert_if_absent
from pricing import models
from pricing.domain.fx import FxTable
from pricing.domain.model import ConnectionSettings, FxRateRow
from pricing.domain.sales import SaleState, TimedSale

_C = models.connection_pricing.c
_T = models.fx_tables.c
_R = models.fx_rates.c
_S = models.timed_sales.c


def _settings(row: Any) -> ConnectionSettings:
    return ConnectionSettings(
        row.connection_id,
        row.currency,
        row.rounding,
        row.floor_minor,
        row.schedule_cron,
        row.schedule_timezone,
        row.next_push_at,
    )


def _sale(row: Any) -> TimedSale:
    return TimedSale(
        row.id,
        row.sku,
        row.connection_id,
        row.sale_minor,
        row.currency,
        row.starts_at,
        row.ends_at,
        SaleState(row.state),
    )


class SettingRows:
    conn: Connection

    # ------------------------------------------------------------------ connections
    def connection(self, tenant_id: str, connection_id: str) -> ConnectionSettings | None:
        row = self.conn.execute(
            select(models.connection_pricing).where(
                _C.tenant_id == tenant_id, _C.connection_id == connection_id
            )
        ).first()
        return None if row is None else _settings(row)

    def connections(self, tenant_id: str) -> dict[str, ConnectionSettings]:
        rows = self.conn.execute(
            select(models.connection_pricing).where(_C.tenant_id == tenant_id).order_by(_C.connection_id)
        )
        return {r.connection_id: _settings(r) for r in rows}

    def save_connection(self, tenant_id: str, settings: ConnectionSettings, now: datetime) -> None:
        values = {
            "currency": settings.currency,
            "rounding": settings.rounding,
            "floor_minor": settings.floor_minor,
            "schedule_cron": settings.schedule_cron,
            "schedule_timezone": settings.schedule_timezone,
            "next_push_at": settings.next_push_at,
            "updated_at": now,
        }
        statement = dialect_insert(self.conn, models.connection_pricing).values(
            tenant_id=tenant_id, connection_id=settings.connection_id, **values
        )
        self.conn.execute(
            statement.on_conflict_do_update(index_elements=["tenant_id", "connection_id"], set_=values)
        )

    def due_schedules(self, now: datetime, limit: int) -> list[tuple[str, ConnectionSettings]]:
        """(tenant, connection) whose re-push is due or was never planned, every tenant."""
        rows = self.conn.execute(
            select(models.connection_pricing)
            .where(or_(_C.next_push_at.is_(None), _C.next_push_at <= now))
            .order_by(_C.tenant_id, _C.connection_id)
            .limit(limit)
        )
        return [(r.tenant_id, _settings(r)) for r in rows]

    def move_schedule(
        self, tenant_id: str, connection_id: str, seen: datetime | None, next_push_at: datetime
    ) -> bool:
        """Compare-and-set of next_push_at: True for the one replica that moved it from `seen`."""
        guard = _C.next_push_at.is_(None) if seen is None else _C.next_push_at == seen
        done = self.conn.execute(
            update(models.connection_pricing)
            .where(_C.tenant_id == tenant_id, _C.connection_id == connection_id, guard)
            .values(next_push_at=next_push_at)
        )
        return done.rowcount == 1

    # ------------------------------------------------------------------ FX
    def fx_table(self, tenant_id: str, *, lock: bool = False) -> tuple[FxTable, list[FxRateRow]] | None:
        query = select(models.fx_tables).where(_T.tenant_id == tenant_id)
        if lock:
            query = query.with_for_update()
        head = self.conn.execute(query).first()
        if head is None:
            return None
        rows = [
            FxRateRow(r.currency, r.rate, r.updated_at)
            for r in self.conn.execute(
                select(models.fx_rates).where(_R.tenant_id == tenant_id).order_by(_R.currency)
            )
        ]
        table = FxTable(head.base, {r.currency: Decimal(r.rate) for r in rows}, head.updated_at)
        return table, rows

    def fx_threshold(self, tenant_id: str) -> str | None:
        """The tenant's own threshold in percent (None: the service default)."""
        return self.conn.execute(select(_T.threshold_percent).where(_T.tenant_id == tenant_id)).scalar()

    def replace_fx_table(
        self,
        tenant_id: str,
        base: str,
        rates: Mapping[str, Decimal],
        previous: FxTable | None,
        previous_rows: list[FxRateRow],
        actor: str,
        now: datetime,
        threshold_percent: str | None = None,
    ) -> None:
        """The new table; a rate keeps its updated_at when it did not change; one audit row per
        currency whose rate changed, appeared or went (a base change audits every rate)."""
        base_changed = previous is None or previous.base != base
        stamps = {r.currency: r.updated_at for r in previous_rows}
        old = {} if previous is None else {c: str(v) for c, v in previous.rates.items()}
        new = {c: str(v) for c, v in rates.items()}
        head = {"base": base, "threshold_percent": threshold_percent, "updated_at": now}
        statement = dialect_insert(self.conn, models.fx_tables).values(tenant_id=tenant_id, **head)
        self.conn.execute(statement.on_conflict_do_update(index_elements=["tenant_id"], set_=head))
        self.conn.execute(delete(models.fx_rates).where(_R.tenant_id == tenant_id))
        if new:
            self.conn.execute(
                models.fx_rates.insert(),
                [
                    {
                        "tenant_id": tenant_id,
                        "currency": c,
                        "rate": rate,
                        "updated_at": now if base_changed or old.get(c) != rate else stamps[c],
                    }
                    for c, rate in sorted(new.items())
                ],
            )
        audit = [
            {
                "tenant_id": tenant_id,
                "at": now,
                "actor": actor[:128],
                "base": base,
                "currency": c,
                "before": old.get(c),
                "after": new.get(c),
            }
            for c in sorted(set(old) | set(new))
            if base_changed or old.get(c) != new.get(c)
        ]
        if audit:
            self.conn.execute(models.fx_audit.insert(), audit)

    def fx_audit(self, tenant_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(models.fx_audit)
            .where(models.fx_audit.c.tenant_id == tenant_id)
            .order_by(models.fx_audit.c.id)
        )
        return [dict(r._mapping) for r in rows]

    # ------------------------------------------------------------------ timed sales
    def add_sale(self, tenant_id: str, sale: TimedSale, key: str | None, now: datetime) -> bool:
        """False when the tenant already used `key` (the caller reads that sale)."""
        values = {
            "id": sale.id,
            "tenant_id": tenant_id,
            "sku": sale.sku,
            "connection_id": sale.connection_id,
            "sale_minor": sale.sale_minor,
            "currency": sale.currency,
            "starts_at": sale.starts_at,
            "ends_at": sale.ends_at,
            "state": sale.state.value,
            "idempotency_key": key,
            "created_at": now,
            "updated_at": now,
        }
        if key is None:
            self.conn.execute(models.timed_sales.insert().values(**values))
            return True
        return insert_if_absent(self.conn, models.timed_sales, ["tenant_id", "idempotency_key"], values)

    def sale_by_key(self, tenant_id: str, key: str) -> TimedSale | None:
        row = self.conn.execute(
            select(models.timed_sales).where(_S.tenant_id == tenant_id, _S.idempotency_key == key)
        ).first()
        return None if row is None else _sale(row)

    def sales(
        self, tenant_id: str, *, sku: str = "", connection_id: str = "", after_id: str = "", limit: int = 500
    ) -> list[TimedSale]:
        query = select(models.timed_sales).where(_S.tenant_id == tenant_id)
        if sku:
            query = query.where(_S.sku == sku)
        if connection_id:
            query = query.where(_S.connection_id == connection_id)
        if after_id:
            query = query.where(_S.id > after_id)
        return [_sale(r) for r in self.conn.execute(query.order_by(_S.id).limit(limit))]

    def open_sales(self, tenant_id: str, connection_id: str, sku: str) -> list[TimedSale]:
        """Sales of the pair not ended yet (scheduled or active)."""
        query = select(models.timed_sales).where(
            _S.tenant_id == tenant_id,
            _S.connection_id == connection_id,
            _S.sku == sku,
            _S.state != SaleState.ENDED.value,
        )
        return [_sale(r) for r in self.conn.execute(query)]

    def active_sales(self, tenant_id: str, connection_id: str = "") -> dict[tuple[str, str], TimedSale]:
        query = select(models.timed_sales).where(
            _S.tenant_id == tenant_id, _S.state == SaleState.ACTIVE.value
        )
        if connection_id:
            query = query.where(_S.connection_id == connection_id)
        return {(s.connection_id, s.sku): s for s in map(_sale, self.conn.execute(query))}

    def due_sales(self, now: datetime, limit: int) -> list[tuple[str, TimedSale]]:
        """(tenant, sale) whose start or end is due, every tenant, oldest first."""
        query = (
            select(models.timed_sales)
            .where(
                or_(
                    (_S.state == SaleState.SCHEDULED.value) & (_S.starts_at <= now),
                    (_S.state == SaleState.ACTIVE.value) & (_S.ends_at <= now),
                )
            )
            .order_by(_S.starts_at, _S.id)
            .limit(limit)
        )
        return [(r.tenant_id, _sale(r)) for r in self.conn.execute(query)]

    def move_sale(self, sale_id: str, seen: SaleState, new: SaleState, now: datetime) -> bool:
        """Compare-and-set of the sale's state: True for the one replica whose UPDATE moved it
        (on PostgreSQL a second replica waits for the first one's row lock, then matches none)."""
        done = self.conn.execute(
            update(models.timed_sales)
            .where(_S.id == sale_id, _S.state == seen.value)
            .values(state=new.value, updated_at=now)
        )
        return done.rowcount == 1
