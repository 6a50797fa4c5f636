"""The `pricing.price_changed` event: the one payload the channels worker consumes.

Shape (agreed with the channels-side consumer; change it only together with it):
`{"tenant_id", "connection_id", "sku", "price": {"amount_minor", "currency"},
"compare_at_price": {...} | null, "version", "changed_at", "reason"}`. `version` is monotonic per
(tenant, connection, SKU), so a consumer drops anything older than what it pushed last. The worker
signs it (service_auth.sign_event) when it relays the outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from omnistock_common.timestamps import iso_z

PRICE_CHANGED = "pricing.price_changed"


def money(amount_minor: int, currency: str) -> dict[str, Any]:
    return {"amount_minor": int(amount_minor), "currency": currency}


def price_changed(
    tenant_id: str,
    connection_id: str,
    sku: str,
    amount_minor: int,
    currency: str,
    compare_at_minor: int | None,
    version: int,
    changed_at: datetime,
    reason: str,
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "connection_id": connection_id,
        "sku": sku,
        "price": money(amount_minor, currency),
        "compare_at_price": None if compare_at_minor is None else money(compare_at_minor, currency),
        "version": int(version),
        "changed_at": iso_z(changed_at),
        "reason": reason,
    }
