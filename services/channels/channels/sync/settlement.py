"""`orders.order_imported`: the orders service imported a channel order and reserved its stock, so
the order's in-flight commitments are settled (sync/in_flight.py, `mark_imported`).

The event is checked first (signed with INTERNAL_TOKEN_SECRET as `orders.order_imported`, see
channels.events); a repeat settles nothing. The settled SKUs are then pushed again at the figure
inventory reports at flush time: inventory counted the reservation before the orders service
announced the import, while the last `stock_changed` figure the engine holds may not have yet.
Plain functions over a SyncEngine; channels.worker is the nameko edge.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from channels import events
from channels.sync import in_flight, store
from channels.sync.engine import SyncEngine

log = logging.getLogger(__name__)

ORDER_IMPORTED_EVENT = "orders.order_imported"


def settle_imported(engine: SyncEngine, payload: Mapping[str, Any], secret: str) -> int:
    """Settle the imported order's pending commitments and re-push their SKUs; unsigned or
    malformed events change nothing. Returns the commitment lines settled (0 for a repeat)."""
    if not events.verified(secret, ORDER_IMPORTED_EVENT, payload):
        return 0
    tenant_id, connection_id, external_id = (
        str(payload.get(key) or "") for key in ("tenant_id", "connection_id", "external_id")
    )
    if not (tenant_id and connection_id and external_id):
        log.warning("orders.order_imported without tenant, connection or external id; ignored")
        return 0
    with engine.uow.transaction() as repo:
        skus = repo.pending_commitment_skus(tenant_id, connection_id, external_id[:255])
    settled = in_flight.mark_imported(engine.uow, tenant_id, connection_id, external_id[:255])
    if settled and skus:
        store.requeue_from_inventory(engine.redis, engine.uow, tenant_id, skus)
    return settled


__all__ = ["ORDER_IMPORTED_EVENT", "settle_imported"]
