"""Publishing products from OmniStock to a channel, and keeping them there (issue 15).

- `start_publish` (gRPC PublishListings, `POST /channels/{id}/listings/publish`) checks the
  request and queues a job (kind `publish`) with its `channels.job_requested` event.
- `run_publish` (the worker, through channels.jobs) resolves SKUs to their products, registers
  each product on the connection (`product_listings`, pending at the catalog's version) and pushes
  them at once; what the channel asked to retry stays pending for the timer.
- `product_changed` (the worker, on `catalog.product_changed`) marks every connection listing the
  product pending at the new version: edits flow through the same outbox -> worker -> connector
  path as stock.
- `push_due` (the worker's timer) pushes every pending product whose retry time has come.

One push of a connection (`push_connection`) runs under the sync engine's per-connection lock (one
replica talks to a connection at a time, stock and products alike), reads each product from the
catalog at push time (so ten quick edits are one push: coalesced by version) and its channel
prices from pricing, and sends them in UpsertProducts calls of the connector's batch size through
ConnectionCaller (token refresh, rate-limit buckets in the connector, sync log, health). Per
product: APPLIED records the channel's ids, maps every variant's SKU (listings) and queues the
new SKUs' stock; REJECTED keeps the channel's words on the product until a newer version; RETRY
waits 2, 4, 8 ... s. A product the catalog no longer has is archived on the channel.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import grpc

from channels import mapping, publish_mapping
from channels.connector_calls import SyncLogRecord
from channels.deps import ChannelsDeps, PublishSources
from channels.job_domain import JobKind
from channels.publish_domain import (
    ProductListing,
    ProductOutcome,
    ProductView,
    PublishRequest,
    PublishTally,
    retry_delay,
    validate_owned_fields,
)
from channels.repository import Repository
from channels.sync import store
from channels.sync.flusher import ConnectionLock, retry_info
from channels.sync.settings import SyncSettings
from omnistock_common import service_auth
from omnistock_common.context import CallContext
from omnistock_common.errors import DomainError, FailedPrecondition, NotFound

log = logging.getLogger(__name__)

JOB_REQUESTED_EVENT = "channels.job_requested"
# The catalog's event (its worker relays it, signed like every event), consumed here.
PRODUCT_CHANGED_EVENT = "catalog.product_changed"
PUBLISH_OPERATION = "publish_products"
ARCHIVE_OPERATION = "archive_products"
# Products one UpsertProducts call carries when the connector does not say.
DEFAULT_PRODUCT_BATCH = 25
# Connections one timer tick looks at, and products one push of a connection takes.
DUE_CONNECTIONS = 50
PUSH_LIMIT = 200
# How long a job waits for the connection's lock (a flush or reconciliation holding it).
LOCK_WAIT_SECONDS = 30.0
LOCK_TTL = SyncSettings().lock_ttl


# ----------------------------------------------------------------------------- requests
def start_publish(
    deps: ChannelsDeps, ctx: CallContext, connection_id: str, skus: Sequence[str], product_ids: Sequence[str]
) -> str:
    """Queue a publish job; returns its id (nothing is read from the catalog or the channel here)."""
    request = PublishRequest.checked(skus, product_ids)
    now = deps.clock()
    new_id = str(uuid.uuid4())

    def work(repo: Repository) -> str:
        if repo.get_connection(ctx.tenant_id, connection_id) is None:
            raise NotFound("connection not found")
        repo.insert_job(
            job_id=new_id,
            tenant_id=ctx.tenant_id,
            connection_id=connection_id,
            kind=JobKind.PUBLISH.value,
            params=request.to_json(),
            requested_by=ctx.actor,
            now=now,
        )
        repo.add_event(ctx.tenant_id, JOB_REQUESTED_EVENT, {"job_id": new_id, "kind": JobKind.PUBLISH.value})
        return new_id

    return deps.uow.run(work)


def product_listings(
    deps: ChannelsDeps, ctx: CallContext, *, connection_id: str = "", product_ids: Sequence[str] = ()
) -> list[ProductListing]:
    """Where products are published and how each fares (state, the channel's last error)."""
    with deps.uow.transaction() as repo:
        if connection_id and repo.get_connection(ctx.tenant_id, connection_id) is None:
            raise NotFound("connection not found")
        return repo.product_listings(ctx.tenant_id, connection_id=connection_id, product_ids=product_ids)


def owned_fields(deps: ChannelsDeps, ctx: CallContext, connection_id: str) -> tuple[str, ...]:
    with deps.uow.transaction() as repo:
        if repo.get_connection(ctx.tenant_id, connection_id) is None:
            raise NotFound("connection not found")
        return repo.owned_fields(ctx.tenant_id, connection_id)


def set_owned_fields(
    deps: ChannelsDeps, ctx: CallContext, connection_id: str, fields: Sequence[str]
) -> tuple[str, ...]:
    """Which product fields OmniStock writes on this channel from now on (the next edit uses them)."""
    owned = validate_owned_fields(fields)
    now = deps.clock()

    def work(repo: Repository) -> tuple[str, ...]:
        if not repo.set_owned_fields(ctx.tenant_id, connection_id, owned, now):
            raise NotFound("connection not found")
        return owned

    return deps.uow.run(work)


# ----------------------------------------------------------------------------- the worker
def product_changed(deps: ChannelsDeps, payload: Mapping[str, Any], secret: str) -> int:
    """`catalog.product_changed`: every connection listing the product shows the new version
    next (the push reads the product from the catalog then: ten quick edits are one push).
    Unsigned or forged events (not signed with INTERNAL_TOKEN_SECRET) are dropped. Returns the
    rows marked."""
    if not service_auth.event_signature_valid(secret, PRODUCT_CHANGED_EVENT, payload):
        log.warning("dropped an unsigned or forged %s event", PRODUCT_CHANGED_EVENT)
        return 0
    tenant_id = str(payload.get("tenant_id") or "")
    product_id = str(payload.get("product_id") or "")
    try:
        version = int(payload.get("version") or 0)
    except (TypeError, ValueError):
        version = 0
    if not tenant_id or not product_id or version <= 0:
        log.warning("catalog.product_changed without tenant, product or version: dropped")
        return 0
    removed = payload.get("change") == "deleted"
    now = deps.clock()
    return deps.uow.run(lambda repo: repo.product_changed(tenant_id, product_id, version, removed, now))


def run_publish(deps: ChannelsDeps, row: Any, progress: Any) -> PublishTally:
    """The publish job's work: register its products on the connection and push them now."""
    sources = _sources(deps)
    ctx = CallContext(tenant_id=row.tenant_id)
    request = PublishRequest.from_json(row.params)
    tally = PublishTally()
    owners = sources.products_of_skus(ctx, list(request.skus)) if request.skus else {}
    tally.not_found.extend(sku for sku in request.skus if sku not in owners)
    wanted = list(dict.fromkeys([*request.product_ids, *(owners[s] for s in request.skus if s in owners)]))
    found = sources.products(ctx, wanted)
    tally.not_found.extend(pid for pid in wanted if found.get(pid) is None)
    versions = {pid: view.version for pid, view in found.items() if view is not None}
    now = deps.clock()
    deps.uow.run(lambda repo: repo.register_products(row.tenant_id, row.connection_id, versions, now))
    lock = ConnectionLock(deps.redis, row.connection_id, LOCK_TTL)  # type: ignore[arg-type]
    if not lock.acquire(wait=LOCK_WAIT_SECONDS):
        tally.waiting.extend(versions)  # the timer pushes them once the connection is free
        return tally
    try:
        outcomes = push_connection(deps, row.tenant_id, row.connection_id, list(versions), progress=progress)
    finally:
        lock.release()
    tally.add_outcomes((o.product_id, o.outcome, o.message) for o in outcomes)
    pushed = {o.product_id for o in outcomes}
    tally.published.extend(pid for pid in versions if pid not in pushed and _is_settled(deps, row, pid))
    return tally


def _is_settled(deps: ChannelsDeps, row: Any, product_id: str) -> bool:
    """A product already showing its version (published before, nothing to push) counts as published."""
    with deps.uow.transaction() as repo:
        listed = repo.product_listings(
            row.tenant_id, connection_id=row.connection_id, product_ids=[product_id]
        )
    return bool(listed) and listed[0].state == "published"


def push_due(deps: ChannelsDeps) -> int:
    """The timer: push every connection's due products, one connection at a time under its lock
    (a connection another replica is pushing is skipped: it is due again next tick)."""
    now = deps.clock()
    with deps.uow.transaction() as repo:
        due = repo.due_product_connections(now, DUE_CONNECTIONS)
    pushed = 0
    for tenant_id, connection_id in due:
        lock = ConnectionLock(deps.redis, connection_id, LOCK_TTL)  # type: ignore[arg-type]
        if not lock.acquire():
            continue
        try:
            pushed += len(push_connection(deps, tenant_id, connection_id))
        except DomainError as exc:
            log.warning(
                "publishing to connection %s failed: %s", connection_id, exc, extra={"tenant": tenant_id}
            )
        finally:
            lock.release()
    return pushed


def push_connection(
    deps: ChannelsDeps,
    tenant_id: str,
    connection_id: str,
    product_ids: Sequence[str] = (),
    *,
    progress: Any = None,
) -> list[ProductOutcome]:
    """Push the connection's due products (only `product_ids` when given). The caller holds the
    connection's lock. Returns one outcome per product the channel was asked about."""
    now = deps.clock()
    with deps.uow.transaction() as repo:
        due = repo.due_product_listings(tenant_id, connection_id, now, PUSH_LIMIT, product_ids)
        owned = repo.owned_fields(tenant_id, connection_id)
    if not due:
        return []
    sources = _sources(deps)
    ctx = CallContext(tenant_id=tenant_id)
    products = sources.products(ctx, [listing.product_id for listing in due])
    gone = [listing for listing in due if products.get(listing.product_id) is None]
    live = [listing for listing in due if products.get(listing.product_id) is not None]
    skus = [sku for listing in live for sku in products[listing.product_id].skus]  # type: ignore[union-attr]
    prices = sources.channel_prices(ctx, connection_id, skus) if skus else {}
    batch = _batch_size(deps, tenant_id, connection_id)
    outcomes: list[ProductOutcome] = []
    for start in range(0, len(live), batch):
        chunk = live[start : start + batch]
        views = {item.product_id: products[item.product_id].with_prices(prices) for item in chunk}  # type: ignore[union-attr]
        outcomes += _upsert(deps, tenant_id, connection_id, chunk, views, owned)
        if progress is not None:
            progress(len(outcomes))
    archivable = [listing for listing in gone if listing.external_id]
    for listing in gone:
        if not listing.external_id:  # never reached the channel: nothing to archive there
            deps.uow.run(
                lambda repo, item=listing: repo.product_published(
                    tenant_id, connection_id, item.product_id, item.wanted_version, "", item.variant_ids, now
                )
            )
    for start in range(0, len(archivable), batch):
        outcomes += _archive(deps, tenant_id, connection_id, archivable[start : start + batch])
    return outcomes


def _sources(deps: ChannelsDeps) -> PublishSources:
    if deps.publish is None:
        raise FailedPrecondition("publishing needs the catalog and pricing (CATALOG_ADDR, PRICING_ADDR)")
    return deps.publish


def _batch_size(deps: ChannelsDeps, tenant_id: str, connection_id: str) -> int:
    stored = deps.caller.load(tenant_id, connection_id)
    try:
        described = (
            deps.connectors.get(stored.connection.type)
            .call(CallContext(tenant_id=tenant_id))
            .Describe(mapping.describe_request())
        )
    except grpc.RpcError:  # a connector that cannot describe itself gets the default
        return DEFAULT_PRODUCT_BATCH
    return int(getattr(described, "max_product_batch", 0)) or DEFAULT_PRODUCT_BATCH


def _describe(reply: Any) -> SyncLogRecord:
    """An UpsertProducts/ArchiveProducts reply as its sync-log row, with the channel's words for
    every refused product (the error is also kept on the product)."""
    outcomes = publish_mapping.product_outcomes(reply)
    refused = [f"{o.product_id}: {o.message}" for o in outcomes if o.outcome == "rejected"]
    retry = sum(o.outcome == "retry" for o in outcomes)
    applied = sum(o.outcome == "applied" for o in outcomes)
    message = f"{applied} applied, {retry} to retry, {len(refused)} rejected"
    if refused:
        message += " (" + "; ".join(refused)[:1500] + ")"
    return SyncLogRecord(
        outcome="ok" if not refused and not retry else ("retry" if retry and not refused else "error"),
        message=message,
        calls=int(reply.calls) if reply.calls > 0 else None,
    )


def _upsert(
    deps: ChannelsDeps,
    tenant_id: str,
    connection_id: str,
    chunk: Sequence[ProductListing],
    views: Mapping[str, ProductView],
    owned: Sequence[str],
) -> list[ProductOutcome]:
    skus = [sku for view in views.values() for sku in view.skus]
    try:
        reply = deps.caller.with_connection(
            tenant_id,
            connection_id,
            PUBLISH_OPERATION,
            lambda stub, conn: stub.UpsertProducts(
                publish_mapping.upsert_products_request(
                    conn,
                    [(views[item.product_id], item.external_id, item.variant_ids) for item in chunk],
                    owned,
                )
            ),
            skus=skus,
            describe=_describe,
        )
    except DomainError as exc:  # the whole call failed (channel down, rate limited, disconnected)
        _retry_later(deps, tenant_id, connection_id, chunk, exc)
        return [ProductOutcome(item.product_id, "retry", str(exc)) for item in chunk]
    outcomes = publish_mapping.product_outcomes(reply)
    answered = {o.product_id for o in outcomes}
    missing = [item for item in chunk if item.product_id not in answered]
    if missing:
        _retry_later(deps, tenant_id, connection_id, missing, None)
    for outcome in outcomes:
        item = next((i for i in chunk if i.product_id == outcome.product_id), None)
        if item is not None:
            _record(deps, tenant_id, connection_id, item, views[item.product_id], outcome, owned)
    return outcomes


def _record(
    deps: ChannelsDeps,
    tenant_id: str,
    connection_id: str,
    item: ProductListing,
    view: ProductView,
    outcome: ProductOutcome,
    owned: Sequence[str],
) -> None:
    now = deps.clock()
    if outcome.outcome == "rejected":
        deps.uow.run(
            lambda repo: repo.product_refused(
                tenant_id, connection_id, item.product_id, view.version, outcome.message, now
            )
        )
        return
    if outcome.outcome != "applied":
        _retry_later(deps, tenant_id, connection_id, [item], None, outcome.message)
        return
    variant_ids = {**item.variant_ids, **{sku: ids[0] for sku, ids in outcome.variants.items() if ids[0]}}
    mapped = [(sku, dict(ids[1])) for sku, ids in outcome.variants.items() if ids[1]]
    new_skus = [sku for sku, _ in mapped if sku not in item.variant_ids]
    writes_status = not owned or "status" in owned or not item.external_id

    def work(repo: Repository) -> list[str]:
        repo.upsert_listings(tenant_id, connection_id, mapped, now)
        repo.product_published(
            tenant_id,
            connection_id,
            item.product_id,
            view.version,
            outcome.external_id or item.external_id,
            variant_ids,
            now,
        )
        # An archived product shows 0 on the channel whatever inventory says (and its stock again
        # once it is not): what a channel without a product status of its own (Amazon) needs.
        # Where the merchant keeps the channel's own status (owned fields), it is left as it is.
        if not writes_status:
            return []
        return repo.mark_off_sale(tenant_id, connection_id, view.skus, view.status == "archived", now)

    flipped = deps.uow.run(work)
    _push_stock_again(deps, tenant_id, connection_id, [*new_skus, *flipped])


def _push_stock_again(deps: ChannelsDeps, tenant_id: str, connection_id: str, skus: Sequence[str]) -> None:
    """The sync engine's flusher pushes these SKUs next, at inventory's figure (0 when off sale)."""
    if skus:
        now_ms = store.ms(deps.clock())
        store.requeue_unknown(deps.redis, tenant_id, connection_id, sorted(set(skus)), now_ms)  # type: ignore[arg-type]


def _archive(
    deps: ChannelsDeps, tenant_id: str, connection_id: str, chunk: Sequence[ProductListing]
) -> list[ProductOutcome]:
    try:
        reply = deps.caller.with_connection(
            tenant_id,
            connection_id,
            ARCHIVE_OPERATION,
            lambda stub, conn: stub.ArchiveProducts(
                publish_mapping.archive_products_request(
                    conn, [(item.product_id, item.external_id) for item in chunk]
                )
            ),
            describe=_describe,
        )
    except DomainError as exc:
        _retry_later(deps, tenant_id, connection_id, chunk, exc)
        return [ProductOutcome(item.product_id, "retry", str(exc)) for item in chunk]
    outcomes = publish_mapping.product_outcomes(reply)
    now = deps.clock()
    for outcome in outcomes:
        item = next((i for i in chunk if i.product_id == outcome.product_id), None)
        if item is None:
            continue
        if outcome.outcome == "applied":

            def archived(repo: Repository, item: ProductListing = item) -> list[str]:
                repo.product_published(
                    tenant_id,
                    connection_id,
                    item.product_id,
                    item.wanted_version,
                    item.external_id,
                    item.variant_ids,
                    now,
                )
                return repo.mark_off_sale(tenant_id, connection_id, list(item.variant_ids), True, now)

            _push_stock_again(deps, tenant_id, connection_id, deps.uow.run(archived))
        elif outcome.outcome == "rejected":
            deps.uow.run(
                lambda repo, item=item, outcome=outcome: repo.product_refused(
                    tenant_id, connection_id, item.product_id, item.wanted_version, outcome.message, now
                )
            )
        else:
            _retry_later(deps, tenant_id, connection_id, [item], None, outcome.message)
    return outcomes


def _retry_later(
    deps: ChannelsDeps,
    tenant_id: str,
    connection_id: str,
    items: Sequence[ProductListing],
    exc: DomainError | None,
    message: str = "",
) -> None:
    now = deps.clock()
    text = str(exc) if exc is not None else (message or "the channel asked to retry")
    wait = retry_delay(0)
    hinted = retry_info(exc) if exc is not None else None
    if hinted:
        wait = max(wait, timedelta(seconds=hinted))

    def work(repo: Repository) -> None:
        for item in items:
            delay = max(wait, retry_delay(item.attempts + 1))
            repo.product_retry_later(tenant_id, connection_id, item.product_id, text, now + delay, now)

    deps.uow.run(work)


__all__ = [
    "ARCHIVE_OPERATION",
    "PUBLISH_OPERATION",
    "PublishSources",
    "owned_fields",
    "product_changed",
    "product_listings",
    "push_connection",
    "push_due",
    "run_publish",
    "set_owned_fields",
    "start_publish",
]
