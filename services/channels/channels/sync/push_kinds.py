"""What one push of a connection is made of, for stock and for prices: the planned items, how each
kind is sent (PushInventory or PushPrices, its batch limit and sync-log operation), how the
channel's answer is recorded, and the sync-log row of a reply. The flusher (flusher.py) and
reconciliation (reconcile.py) push through `flusher.push_planned` with one of these kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from channels import mapping
from channels.connector_calls import SyncLogRecord, reported_limits, retried_note
from channels.price_domain import ChannelPrice
from channels.sync import store
from channels.sync.engine import SyncEngine
from channels.sync.repository import ListingPushState, PushedPrice, PushedQuantity


@dataclass(frozen=True)
class Planned:
    sku: str
    raw: str
    quantity: int
    version: int
    increase: bool


@dataclass(frozen=True)
class PlannedPrice:
    sku: str
    raw: str
    price: ChannelPrice
    version: int


P = TypeVar("P", Planned, PlannedPrice)


def grouped_by_product(plan: Sequence[P], listings: Mapping[str, ListingPushState]) -> list[P]:
    """`plan` with the SKUs of one channel product next to each other (otherwise in order), before
    it is cut into chunks. Both connectors make one vendor call per product and chunk for variants
    (Shopify's productVariantsBulkUpdate takes one product's variants; WooCommerce updates
    variations only through products/<parent>/variations/batch), so a chunk taken in the order the
    pending figures come out of Redis (hash order) spans nearly as many products as it has SKUs: a
    +10% on 10,000 SKUs that are 20 variants of 500 products went out at ~2 SKUs per Shopify call
    and ~1 per WooCommerce call, against 20 when whole products travel together
    (bench/price_bulk.py, docs/performance.md "Bulk price change"). Both connectors name the product
    in the listing's ids `product_id`; a listing without one sorts first and is pushed as before."""
    return sorted(
        plan, key=lambda p: listings[p.sku].external_ids.get("product_id", "") if p.sku in listings else ""
    )


def describe_push(reply: Any) -> SyncLogRecord:
    """PushInventory's or PushPrices' reply as its sync-log row."""
    counts = {"applied": 0, "retry": 0, "rejected": 0}
    for item in reply.results:
        outcome = mapping.item_outcome(item.outcome)
        counts[outcome] = counts.get(outcome, 0) + 1
    applied, retry, rejected = counts["applied"], counts["retry"], counts["rejected"]
    outcome = "ok" if not retry and not rejected else ("retry" if retry else "error")
    note = retried_note(reply)
    return SyncLogRecord(
        outcome=outcome,
        message=f"{applied} applied, {retry} to retry, {rejected} rejected" + (f" ({note})" if note else ""),
        calls=int(reply.calls) if reply.calls > 0 else None,
        limits=reported_limits(reply),
    )


def mark_pushed(engine: SyncEngine, tenant_id: str, connection_id: str, planned: Sequence[Planned]) -> None:
    """The channel holds these quantities now: record them (never over a newer version), then drop
    the pending entries that are still the ones pushed."""
    now = engine.clock()
    pushed = [PushedQuantity(p.sku, p.quantity, p.version) for p in planned]
    engine.uow.run(lambda repo: repo.record_pushed(tenant_id, connection_id, pushed, now))
    store.cas_delete(engine.redis, connection_id, [(p.sku, p.raw) for p in planned])


def mark_prices_pushed(
    engine: SyncEngine, tenant_id: str, connection_id: str, planned: Sequence[PlannedPrice]
) -> None:
    """The channel shows these prices now: record them (never over a newer version), then drop the
    pending entries that are still the ones pushed."""
    now = engine.clock()
    pushed = [PushedPrice(p.sku, p.price.token(), p.version) for p in planned]
    engine.uow.run(lambda repo: repo.record_pushed_prices(tenant_id, connection_id, pushed, now))
    store.cas_delete(engine.redis, connection_id, [(p.sku, p.raw) for p in planned if p.raw], store.PRICES)


@dataclass(frozen=True)
class PushKind:
    """What differs between pushing stock and pushing prices; everything else in push_planned
    (chunking, with_connection's bucket/refresh/health/sync log, per-item outcomes) is shared."""

    item: store.ItemKind
    operation: str  # the sync log's operation
    batch_field: str  # Describe's limit for one call
    call: Callable[[Any, mapping.ConnectionContext, Sequence[Any], Mapping[str, ListingPushState]], Any]
    mark_pushed: Callable[[SyncEngine, str, str, Sequence[Any]], None]


STOCK_PUSH = PushKind(
    store.STOCK,
    "push_inventory",
    "max_inventory_batch",
    lambda stub, conn, chunk, listings: stub.PushInventory(
        mapping.push_inventory_request(
            conn, [(p.sku, p.quantity, listings[p.sku].external_ids) for p in chunk]
        )
    ),
    mark_pushed,
)
PRICE_PUSH = PushKind(
    store.PRICES,
    "push_prices",
    "max_price_batch",
    lambda stub, conn, chunk, listings: stub.PushPrices(
        mapping.push_prices_request(conn, [(p.sku, p.price, listings[p.sku].external_ids) for p in chunk])
    ),
    mark_prices_pushed,
)
