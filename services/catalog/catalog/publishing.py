"""Announcing product changes: one `catalog.product_changed` outbox row per changed product, in
the transaction of the change (the catalog worker relays them). Called by the use cases only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from catalog.events import PRODUCT_CHANGED, Change, ProductChange, product_changed

if TYPE_CHECKING:
    from catalog.repository import CatalogRepository


def announce(
    repo: CatalogRepository, tenant_id: str, changes: Sequence[ProductChange], changed_at: datetime
) -> None:
    """Write the event of each change; call it after the writes, so the SKUs read are the new ones.
    A product named twice would break "one event per product per transaction": callers never do."""
    assert len({c.product_id for c in changes}) == len(changes), "one event per product"
    live = [c.product_id for c in changes if c.change is not Change.DELETED]
    skus = repo.skus_of(tenant_id, live) if live else {}
    for change in changes:
        payload = product_changed(tenant_id, change, skus.get(change.product_id, ()), changed_at)
        repo.add_event(tenant_id, PRODUCT_CHANGED, payload)
