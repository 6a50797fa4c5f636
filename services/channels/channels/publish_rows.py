"""SQL of publishing (channels.publishing): the product_listings rows and a connection's owned
fields. A mixin of channels.repository.Repository, like job_rows and order_repository.

A row is `pending` while the channel does not show its `wanted_version`; every write that moves
`wanted_version` up sets it, and a push that lands (or is refused) at that version clears it.
A version is only ever raised (`max`), so a late, older catalog event changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.engine import Connection as SqlConnection
from sqlalchemy.engine import Row

from channels import models
from channels.publish_domain import ProductListing, owned_fields_from_json, owned_fields_json
from omnistock_common.db import dialect_insert


def _listing(row: Row[Any]) -> ProductListing:
    return ProductListing(
        tenant_id=row.tenant_id,
        connection_id=row.connection_id,
        product_id=row.product_id,
        external_id=row.external_id,
        variant_ids=json.loads(row.variant_ids or "{}"),
        wanted_version=int(row.wanted_version),
        published_version=None if row.published_version is None else int(row.published_version),
        removed=bool(row.removed),
        pending=bool(row.pending),
        attempts=int(row.attempts),
        last_error=row.last_error,
        error_version=None if row.error_version is None else int(row.error_version),
    )


class PublishQueries:
    conn: SqlConnection

    def register_products(
        self, tenant_id: str, connection_id: str, versions: Mapping[str, int], now: datetime
    ) -> None:
        """Publish these products (product id -> the catalog's current version) on the connection:
        new rows are pending; an existing one is pending again (a product published once and
        archived is listed again; a rejected one is tried again) at the higher version."""
        t = models.product_listings
        for product_id, version in versions.items():
            stmt = dialect_insert(self.conn, t).values(
                tenant_id=tenant_id,
                connection_id=connection_id,
                product_id=product_id,
                wanted_version=version,
                pending=True,
                removed=False,
                created_at=now,
                updated_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[t.c.connection_id, t.c.product_id],
                set_={
                    "wanted_version": func.greatest(t.c.wanted_version, stmt.excluded.wanted_version)
                    if self.conn.dialect.name == "postgresql"
                    else func.max(t.c.wanted_version, stmt.excluded.wanted_version),
                    "pending": True,
                    "removed": False,
                    "retry_at": None,
                    "attempts": 0,
                    "updated_at": now,
                },
            )
            self.conn.execute(stmt)

    def product_changed(
        self, tenant_id: str, product_id: str, version: int, removed: bool, now: datetime
    ) -> int:
        """The catalog announced `version` of a product: every connection that lists it shows it
        next (only when newer than what was announced before). Returns the rows marked."""
        t = models.product_listings
        result = self.conn.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.product_id == product_id, t.c.wanted_version < version)
            .values(
                wanted_version=version,
                pending=True,
                removed=removed,
                retry_at=None,
                attempts=0,
                updated_at=now,
            )
        )
        return int(result.rowcount or 0)

    def due_product_connections(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(tenant, connection) pairs with products to push now, any tenant (the publisher's timer)."""
        t = models.product_listings
        rows = self.conn.execute(
            select(t.c.tenant_id, t.c.connection_id)
            .where(t.c.pending.is_(True), or_(t.c.retry_at.is_(None), t.c.retry_at <= now))
            .group_by(t.c.tenant_id, t.c.connection_id)
            .limit(limit)
        )
        return [(row.tenant_id, row.connection_id) for row in rows]

    def due_product_listings(
        self, tenant_id: str, connection_id: str, now: datetime, limit: int, product_ids: Sequence[str] = ()
    ) -> list[ProductListing]:
        t = models.product_listings
        stmt = select(t).where(
            t.c.tenant_id == tenant_id,
            t.c.connection_id == connection_id,
            t.c.pending.is_(True),
            or_(t.c.retry_at.is_(None), t.c.retry_at <= now),
        )
        if product_ids:
            stmt = stmt.where(t.c.product_id.in_(list(product_ids)))
        return [_listing(row) for row in self.conn.execute(stmt.order_by(t.c.product_id).limit(limit))]

    def product_listings(
        self, tenant_id: str, *, connection_id: str = "", product_ids: Sequence[str] = ()
    ) -> list[ProductListing]:
        t = models.product_listings
        stmt = select(t).where(t.c.tenant_id == tenant_id)
        if connection_id:
            stmt = stmt.where(t.c.connection_id == connection_id)
        if product_ids:
            stmt = stmt.where(t.c.product_id.in_(list(product_ids)))
        return [_listing(row) for row in self.conn.execute(stmt.order_by(t.c.connection_id, t.c.product_id))]

    def mark_off_sale(
        self, tenant_id: str, connection_id: str, skus: Sequence[str], off_sale: bool, now: datetime
    ) -> list[str]:
        """Set the listings' off_sale flag (the product is archived on the connection, or no longer
        is); returns the SKUs whose flag changed, whose stock must be pushed again."""
        t = models.listings
        if not skus:
            return []
        where = (
            t.c.tenant_id == tenant_id,
            t.c.connection_id == connection_id,
            t.c.sku.in_(list(skus)),
            t.c.off_sale.is_not(off_sale),
        )
        changed = sorted(self.conn.execute(select(t.c.sku).where(*where)).scalars())
        if changed:
            self.conn.execute(update(t).where(*where).values(off_sale=off_sale, updated_at=now))
        return changed

    def product_published(
        self,
        tenant_id: str,
        connection_id: str,
        product_id: str,
        version: int,
        external_id: str,
        variant_ids: Mapping[str, str],
        now: datetime,
    ) -> None:
        """The channel shows `version`: still pending only if a newer version arrived meanwhile."""
        t = models.product_listings
        self.conn.execute(
            update(t)
            .where(
                t.c.tenant_id == tenant_id, t.c.connection_id == connection_id, t.c.product_id == product_id
            )
            .values(
                external_id=external_id or t.c.external_id,
                variant_ids=json.dumps(dict(variant_ids), sort_keys=True),
                published_version=version,
                pending=t.c.wanted_version > version,
                retry_at=None,
                attempts=0,
                last_error="",
                error_version=None,
                error_at=None,
                updated_at=now,
            )
        )

    def product_refused(
        self, tenant_id: str, connection_id: str, product_id: str, version: int, message: str, now: datetime
    ) -> None:
        """The channel refused `version`: the error stays on the product until a newer version."""
        t = models.product_listings
        self.conn.execute(
            update(t)
            .where(
                t.c.tenant_id == tenant_id, t.c.connection_id == connection_id, t.c.product_id == product_id
            )
            .values(
                pending=t.c.wanted_version > version,
                last_error=message[:2000],
                error_version=version,
                error_at=now,
                retry_at=None,
                attempts=0,
                updated_at=now,
            )
        )

    def product_retry_later(
        self,
        tenant_id: str,
        connection_id: str,
        product_id: str,
        message: str,
        retry_at: datetime,
        now: datetime,
    ) -> None:
        t = models.product_listings
        self.conn.execute(
            update(t)
            .where(
                t.c.tenant_id == tenant_id, t.c.connection_id == connection_id, t.c.product_id == product_id
            )
            .values(
                retry_at=retry_at,
                attempts=t.c.attempts + 1,
                last_error=message[:2000],
                error_at=now,
                updated_at=now,
            )
        )

    def count_settled(self, tenant_id: str, connection_id: str, product_ids: Sequence[str]) -> int:
        t = models.product_listings
        return int(
            self.conn.execute(
                select(func.sum(case((t.c.pending.is_(False), 1), else_=0))).where(
                    t.c.tenant_id == tenant_id,
                    t.c.connection_id == connection_id,
                    t.c.product_id.in_(list(product_ids)),
                )
            ).scalar()
            or 0
        )

    # ----------------------------------------------------------------------- owned fields
    def owned_fields(self, tenant_id: str, connection_id: str) -> tuple[str, ...]:
        t = models.connections
        text = self.conn.execute(
            select(t.c.owned_fields).where(t.c.tenant_id == tenant_id, t.c.id == connection_id)
        ).scalar()
        return owned_fields_from_json(text)

    def set_owned_fields(
        self, tenant_id: str, connection_id: str, fields: Sequence[str], now: datetime
    ) -> bool:
        t = models.connections
        result = self.conn.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.id == connection_id)
            .values(owned_fields=owned_fields_json(fields), updated_at=now)
        )
        return bool(result.rowcount)
