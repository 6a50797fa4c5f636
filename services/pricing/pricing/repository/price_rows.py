"""Channel prices, their history, the outbox and bulk previews."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, tuple_, update

from omnistock_common.db import dialect_insert
from omnistock_common.outbox import add_event
from pricing import models
from pricing.domain.model import HistoryEntry, StoredPrice

_P = models.channel_prices.c
_H = models.price_history.c
_B = models.bulk_previews.c
_CHUNK = 500


def _price(row: Any) -> StoredPrice:
    return StoredPrice(
        row.sku,
        row.connection_id,
        row.amount_minor,
        row.currency,
        row.compare_at_minor,
        row.announced_minor,
        row.version,
        row.updated_at,
    )


class PriceRows:
    conn: Connection

    # ------------------------------------------------------------------ channel prices
    def prices(
        self,
        tenant_id: str,
        *,
        connection_id: str = "",
        sku: str = "",
        keys: Iterable[tuple[str, str]] | None = None,
        lock: bool = False,
    ) -> dict[tuple[str, str], StoredPrice]:
        """Rows by (connection, SKU); `keys` limits them to those pairs, `lock` takes row locks
        in key order (PostgreSQL; SQLite's write lock covers it)."""
        base = select(models.channel_prices).where(_P.tenant_id == tenant_id)
        if connection_id:
            base = base.where(_P.connection_id == connection_id)
        if sku:
            base = base.where(_P.sku == sku)
        base = base.order_by(_P.connection_id, _P.sku)
        if lock:
            base = base.with_for_update()
        if keys is None:
            return {(r.connection_id, r.sku): _price(r) for r in self.conn.execute(base)}
        wanted = sorted(set(keys))
        out: dict[tuple[str, str], StoredPrice] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            query = base.where(tuple_(_P.connection_id, _P.sku).in_(chunk))
            out.update({(r.connection_id, r.sku): _price(r) for r in self.conn.execute(query)})
        return out

    def save_price(self, tenant_id: str, price: StoredPrice) -> None:
        """Insert the row, or overwrite it when its version is the one before (the caller read it
        in this transaction, so the guard only catches a bug, never a race)."""
        values = {
            "amount_minor": price.amount_minor,
            "currency": price.currency,
            "compare_at_minor": price.compare_at_minor,
            "announced_minor": price.announced_minor,
            "version": price.version,
            "updated_at": price.updated_at,
        }
        if price.version == 1:
            self.conn.execute(
                dialect_insert(self.conn, models.channel_prices).values(
                    tenant_id=tenant_id, connection_id=price.connection_id, sku=price.sku, **values
                )
            )
            return
        done = self.conn.execute(
            update(models.channel_prices)
            .where(
                and_(
                    _P.tenant_id == tenant_id,
                    _P.connection_id == price.connection_id,
                    _P.sku == price.sku,
                    _P.version == price.version - 1,
                )
            )
            .values(**values)
        )
        if done.rowcount != 1:
            raise RuntimeError(f"channel price {price.connection_id}/{price.sku} changed under its lock")

    def set_pairs(self, tenant_id: str, connection_id: str) -> list[str]:
        """SKUs of the connection with a price set (not derived)."""
        query = select(_P.sku).where(
            _P.tenant_id == tenant_id, _P.connection_id == connection_id, _P.amount_minor.is_not(None)
        )
        return list(self.conn.execute(query).scalars())

    def connections_with_prices(self, tenant_id: str, sku: str) -> list[str]:
        query = select(_P.connection_id).where(_P.tenant_id == tenant_id, _P.sku == sku)
        return list(self.conn.execute(query).scalars())

    # ------------------------------------------------------------------ history and events
    def add_history(
        self,
        tenant_id: str,
        at: datetime,
        sku: str,
        connection_id: str,
        currency: str,
        before_minor: int | None,
        after_minor: int,
        actor: str,
        reason: str,
    ) -> None:
        self.conn.execute(
            models.price_history.insert().values(
                tenant_id=tenant_id,
                at=at,
                sku=sku,
                connection_id=connection_id,
                currency=currency,
                before_minor=before_minor,
                after_minor=after_minor,
                actor=actor[:128],
                reason=reason[:256],
            )
        )

    def history(self, tenant_id: str, sku: str, before_id: int | None, limit: int) -> list[HistoryEntry]:
        """Newest first; `before_id` is the keyset cursor."""
        query = select(models.price_history).where(_H.tenant_id == tenant_id, _H.sku == sku)
        if before_id is not None:
            query = query.where(_H.id < before_id)
        rows = self.conn.execute(query.order_by(_H.id.desc()).limit(limit))
        return [
            HistoryEntry(
                r.id,
                r.at,
                r.sku,
                r.connection_id,
                r.currency,
                r.before_minor,
                r.after_minor,
                r.actor,
                r.reason,
            )
            for r in rows
        ]

    def add_event(self, tenant_id: str, event_type: str, payload: dict[str, Any]) -> None:
        add_event(self.conn, models.outbox, tenant_id, event_type, payload)

    def outbox_rows(self, tenant_id: str) -> list[tuple[int, str, dict[str, Any]]]:
        query = (
            select(models.outbox.c.id, models.outbox.c.event_type, models.outbox.c.payload)
            .where(models.outbox.c.tenant_id == tenant_id)
            .order_by(models.outbox.c.id)
        )
        return [(r.id, r.event_type, json.loads(r.payload)) for r in self.conn.execute(query)]

    # ------------------------------------------------------------------ bulk previews
    def add_preview(
        self,
        tenant_id: str,
        preview_id: str,
        fingerprint: str,
        items: Sequence[dict[str, Any]],
        reason: str,
        now: datetime,
    ) -> None:
        self.conn.execute(
            models.bulk_previews.insert().values(
                id=preview_id,
                tenant_id=tenant_id,
                fingerprint=fingerprint,
                items=json.dumps(list(items), separators=(",", ":")),
                reason=reason,
                created_at=now,
                applied_at=None,
            )
        )

    def preview(
        self, tenant_id: str, preview_id: str
    ) -> tuple[str, list[dict[str, Any]], str, datetime | None] | None:
        """(fingerprint, items, reason, applied_at) of the tenant's preview."""
        row = self.conn.execute(
            select(models.bulk_previews).where(_B.tenant_id == tenant_id, _B.id == preview_id)
        ).first()
        if row is None:
            return None
        return row.fingerprint, json.loads(row.items), row.reason, row.applied_at

    def claim_preview(self, tenant_id: str, preview_id: str, now: datetime) -> bool:
        """Mark the preview applied unless it was already: True for the one caller that did."""
        done = self.conn.execute(
            update(models.bulk_previews)
            .where(_B.tenant_id == tenant_id, _B.id == preview_id, _B.applied_at.is_(None))
            .values(applied_at=now)
        )
        return done.rowcount == 1
