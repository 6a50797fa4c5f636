"""Announcing a price: the row's next version, a history entry and a `pricing.price_changed`
outbox event, all in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from pricing.domain.events import PRICE_CHANGED, price_changed
from pricing.domain.model import StoredPrice
from pricing.repository import Repository
from pricing.service.effective import Effective


def announce(
    repo: Repository,
    tenant_id: str,
    now: datetime,
    stored: StoredPrice | None,
    after: Effective,
    *,
    set_minor: int | None,
    compare_at_minor: int | None,
    before_minor: int | None,
    actor: str,
    reason: str,
    history: bool = True,
) -> StoredPrice:
    """Write (connection, SKU)'s row at its next version with `set_minor` (None: derived) and
    announce `after`, the price the channel should now show."""
    row = StoredPrice(
        after.sku,
        after.connection_id,
        set_minor,
        after.currency,
        compare_at_minor if set_minor is not None else None,
        after.amount_minor,
        (stored.version if stored is not None else 0) + 1,
        now,
    )
    repo.save_price(tenant_id, row)
    if history:
        repo.add_history(
            tenant_id,
            now,
            after.sku,
            after.connection_id,
            after.currency,
            before_minor,
            after.amount_minor,
            actor,
            reason,
        )
    repo.add_event(
        tenant_id,
        PRICE_CHANGED,
        price_changed(
            tenant_id,
            after.connection_id,
            after.sku,
            after.amount_minor,
            after.currency,
            after.compare_at_minor,
            row.version,
            now,
            reason,
        ),
    )
    return row
