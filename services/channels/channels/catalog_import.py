"""The onboarding import (issue 15): fill OmniStock from the channel a merchant already sells on.

- `start_catalog_import` (StartCatalogImport) checks the choices, records the job and its
  `channels.job_requested` event; the same request while one is queued or running is that job.
- `run_catalog_import` (channels.jobs.run_job, on the worker) pages through the channel's
  catalogue (ListRemoteProducts with include_catalog) and per page: reads what the catalog has
  for its SKUs, plans the page (catalog_import_domain.plan_page), and unless it is a dry run sets
  the quantities of the variants it creates (inventory BatchAdjust, reason IMPORTED, one
  idempotency key per (job, page)), upserts the variants (catalog BulkUpsertVariants) and maps
  the listings; then stores the next cursor and the tally in the job row.

Resuming: a job whose worker died is claimed again (channels.jobs) and goes on from the stored
cursor. Before writing a page the job records which SKUs that page creates (`pending`); a page
replayed after a crash plans those SKUs as creates again, so its inventory call repeats the same
lines under the same key (inventory answers the first result: nothing applied twice) and the
tally comes out as if nothing had happened. A second import of an unchanged shop creates,
updates and adjusts nothing: every SKU exists with the chosen values.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from channels import mapping
from channels.catalog_import_domain import Checkpoint, ImportParams, ImportTally, page_skus, plan_page
from channels.deps import ChannelsDeps
from channels.job_domain import JobKind
from channels.repository import Repository
from omnistock_common.context import CallContext
from omnistock_common.errors import FailedPrecondition, NotFound

log = logging.getLogger(__name__)

JOB_REQUESTED_EVENT = "channels.job_requested"
# Products per page asked of the connector (each connector caps it at what its channel allows:
# Shopify 6 whole products per query, WooCommerce 100).
IMPORT_PAGE = 100
# A channel that keeps answering "more" cannot hold the worker: 2,000 pages x 100 products.
MAX_PAGES = 2000


def start_catalog_import(
    deps: ChannelsDeps, ctx: CallContext, connection_id: str, params: ImportParams
) -> str:
    """Queue an import (or its dry run); returns the job id. Nothing is read from the channel here."""
    text = params.to_json()
    now = deps.clock()
    new_id = str(uuid.uuid4())

    def work(repo: Repository) -> str:
        if repo.get_connection(ctx.tenant_id, connection_id) is None:
            raise NotFound("connection not found")
        running = repo.active_job_id(ctx.tenant_id, connection_id, JobKind.CATALOG_IMPORT.value, text)
        if running is not None:
            return running
        repo.insert_job(
            job_id=new_id,
            tenant_id=ctx.tenant_id,
            connection_id=connection_id,
            kind=JobKind.CATALOG_IMPORT.value,
            params=text,
            requested_by=ctx.actor,
            now=now,
        )
        repo.add_event(
            ctx.tenant_id, JOB_REQUESTED_EVENT, {"job_id": new_id, "kind": JobKind.CATALOG_IMPORT.value}
        )
        return new_id

    return deps.uow.run(work)


@dataclass(frozen=True)
class Stopped:
    """The import stopped before the channel's last page (a test's simulated crash)."""

    pages: int


def run_catalog_import(
    deps: ChannelsDeps,
    job_id: str,
    row: Any,
    *,
    stop_after_pages: int | None = None,
    on_page: Callable[[int], None] | None = None,
) -> ImportTally | Stopped:
    """The job's work from its stored checkpoint to the channel's last page. `stop_after_pages`
    returns early as a killed worker would (its checkpoint stays, the job stays running)."""
    ctx = CallContext(tenant_id=row.tenant_id)
    params = ImportParams.from_json(row.params)
    checkpoint = Checkpoint.from_json(getattr(row, "checkpoint", "") or "")
    checkpoint.tally.dry_run = params.dry_run
    stored = deps.caller.load(row.tenant_id, row.connection_id)
    if not params.dry_run and deps.imports is None:
        raise FailedPrecondition(
            "the catalog import has no catalog/inventory configured", reason="NO_TARGETS"
        )
    note = (
        f"imported from {stored.connection.type} connection {stored.connection.name!r} ({row.connection_id})"
    )
    seen = set(checkpoint.seen)
    if checkpoint.pages:  # resumed: the claim reset the progress, the checkpoint knows it
        resumed_at, read = deps.clock(), checkpoint.tally.variants
        deps.uow.run(lambda repo: repo.job_progress(job_id, read, resumed_at))
    done_here = 0
    while not checkpoint.finished:
        if checkpoint.pages >= MAX_PAGES:
            checkpoint.tally.errors.append(f"stopped after {MAX_PAGES} pages of the channel's catalogue")
            break
        if stop_after_pages is not None and done_here >= stop_after_pages:
            return Stopped(checkpoint.pages)
        cursor = checkpoint.cursor
        reply = deps.caller.with_connection(
            row.tenant_id,
            row.connection_id,
            "list_remote_products",
            lambda stub, conn, cursor=cursor: stub.ListRemoteProducts(
                mapping.list_remote_products_request(
                    conn, cursor=cursor, limit=IMPORT_PAGE, include_catalog=True
                )
            ),
        )
        products = mapping.catalog_page_in(reply)
        skus = page_skus(row.connection_id, products, params.policy)
        existing = deps.imports.existing(ctx, skus) if deps.imports is not None and skus else {}
        pending = set(checkpoint.pending.get(str(checkpoint.pages), []))
        page_existing = {sku: v for sku, v in existing.items() if sku not in pending}
        page_seen = set(seen)
        plan = plan_page(row.connection_id, products, page_existing, params.policy, page_seen)
        mapped = applied = 0
        errors: list[str] = []
        if not params.dry_run and deps.imports is not None:
            _save_pending(deps, job_id, checkpoint, [w.sku for w in plan.creates])
            key = _page_key(row.connection_id, job_id, checkpoint.pages)
            applied, quantity_errors = deps.imports.set_quantities(
                ctx,
                plan.quantities,
                note=note,
                reference=f"channel-import:{row.connection_id}",
                idempotency_key=key,
            )
            errors.extend(quantity_errors)
            errors.extend(deps.imports.upsert(ctx, [*plan.creates, *plan.updates]))
            mapped = len(plan.listings)
        seen = page_seen
        checkpoint.tally.add(plan, mapped=mapped, quantities_set=applied, errors=errors)
        checkpoint.pages += 1
        next_cursor = reply.next_cursor
        checkpoint.finished = not next_cursor or next_cursor == cursor
        checkpoint.cursor = next_cursor
        checkpoint.seen = sorted(seen)
        done_here += 1
        _commit_page(deps, row, job_id, checkpoint, plan.listings if not params.dry_run else [])
        if on_page is not None:
            on_page(checkpoint.tally.variants)
    return checkpoint.tally


def _page_key(connection_id: str, job_id: str, page: int) -> str:
    digest = hashlib.sha256(f"{connection_id}\n{job_id}\n{page}".encode()).hexdigest()[:32]
    return f"catalog-import:{digest}"


def _save_pending(deps: ChannelsDeps, job_id: str, checkpoint: Checkpoint, creates: list[str]) -> None:
    checkpoint.pending = {str(checkpoint.pages): creates}
    text = checkpoint.to_json()
    moment = deps.clock()
    if not deps.uow.run(lambda repo: repo.save_checkpoint(job_id, text, checkpoint.tally.variants, moment)):
        raise FailedPrecondition("the job is no longer running here", reason="JOB_TAKEN")


def _commit_page(
    deps: ChannelsDeps,
    row: Any,
    job_id: str,
    checkpoint: Checkpoint,
    listings: list[tuple[str, dict[str, str]]],
) -> None:
    """The page's listings and the checkpoint after it, in one transaction."""
    checkpoint.pending = {}
    text = checkpoint.to_json()
    moment = deps.clock()

    def work(repo: Repository) -> bool:
        if listings:
            repo.upsert_listings(row.tenant_id, row.connection_id, listings, moment)
        return repo.save_checkpoint(job_id, text, checkpoint.tally.variants, moment)

    if not deps.uow.run(work):
        raise FailedPrecondition("the job is no longer running here", reason="JOB_TAKEN")


def summary(tally: ImportTally) -> str:
    verb = "would create" if tally.dry_run else "created"
    return (
        f"{tally.products} products, {tally.variants} variants: {verb} {tally.to_create}, "
        f"updated {tally.to_update}, unchanged {tally.unchanged}, skipped {tally.skipped}; "
        f"{len(tally.collisions)} collisions"
    )
