"""The `catalog.product_changed` event: what channels need to re-publish a product. Pure.

Shape: `{"tenant_id", "product_id", "version", "change": "created"|"updated"|"deleted", "skus",
"removed_skus", "changed_at"}`. `version` is the product's version after the change (every change
of the product or of one of its variants bumps it; a deletion is announced as the version after
the last one), so a consumer drops anything at or below what it already applied. `skus` are the
product's SKUs after the change in variant order (empty once deleted), `removed_skus` the SKUs the
change took away (a deleted variant, a renamed SKU, every SKU of a deleted product). One event per
product per transaction; the catalog worker relays it signed (service_auth.sign_event), with
`event_id` added by the relay (omnistock_common.outbox_relay.publish_one_by_one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from omnistock_common.timestamps import iso_z

PRODUCT_CHANGED = "catalog.product_changed"


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


@dataclass(frozen=True)
class ProductChange:
    """One product a transaction changed, as it announces it."""

    product_id: str
    version: int
    change: Change
    removed_skus: tuple[str, ...] = ()


def product_changed(
    tenant_id: str, change: ProductChange, skus: Sequence[str], changed_at: datetime
) -> dict[str, Any]:
    """The payload of one change; `skus` are the product's SKUs after it (ignored once deleted)."""
    current = [] if change.change is Change.DELETED else list(skus)
    return {
        "tenant_id": tenant_id,
        "product_id": change.product_id,
        "version": int(change.version),
        "change": change.change.value,
        "skus": current,
        "removed_skus": sorted(set(change.removed_skus) - set(current)),
        "changed_at": iso_z(changed_at),
    }
