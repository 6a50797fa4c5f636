"""Background jobs: what the REST API answers with 202 and a job id instead of holding a request
open while a channel is read (issue 14: an auto-map of a large catalogue used to run inside the
gateway's 5 s deadline).

- `start_auto_map` (the gRPC server, StartAutoMap) checks the request, records the job and its
  `channels.job_requested` event in one transaction and returns the id at once; a queued or
  running auto-map of the same connection and SKUs is reused.
- `run_job` (the channels worker, on that event) claims the job, runs the work
  (listing_mapping.auto_map) recording progress after every page of the channel's catalogue,
  and stores the result or the failure.
- `resume_jobs` (the worker, on a timer) runs what no event started: a job whose event was lost,
  or whose worker died mid-way (its heartbeat went stale, job_domain.STALE_AFTER). The work is
  idempotent (listings are upserted), so running it again is safe.
- `get_job` (GetJob) shows any job of the tenant, syncs included.

The event carries only the job id and the row says what to do, so an event from anyone can at
most start a queued job sooner; it needs no signature.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from channels import catalog_import, listing_mapping, publishing
from channels.catalog_import_domain import ImportTally
from channels.deps import ChannelsDeps
from channels.domain import AutoMapResult
from channels.job_domain import (
    STALE_AFTER,
    Job,
    JobKind,
    auto_map_params,
    auto_map_result_json,
    auto_map_skus,
    job_from_row,
)
from channels.publish_domain import PublishTally
from channels.repository import Repository, UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.errors import DomainError, FieldViolation, InvalidArgument, NotFound

log = logging.getLogger(__name__)

JOB_REQUESTED_EVENT = "channels.job_requested"
# Jobs this module runs (syncs are run by channels.sync.reconcile on channels.sync_requested).
RUNS = (JobKind.AUTO_MAP, JobKind.CATALOG_IMPORT, JobKind.PUBLISH)
RESUME_BATCH = 20


def start_auto_map(deps: ChannelsDeps, ctx: CallContext, connection_id: str, skus: Sequence[str]) -> str:
    """Queue an auto-map of the connection; returns the job id (nothing is read from the channel here)."""
    listing_mapping.validate_skus(skus)
    wanted = list(dict.fromkeys(skus))
    if not wanted and deps.catalog is None:
        raise InvalidArgument(
            "no catalog is configured: pass the SKUs to map",
            violations=[FieldViolation("skus", "required without a catalog")],
        )
    params = auto_map_params(wanted)
    now = deps.clock()
    new_id = str(uuid.uuid4())

    def work(repo: Repository) -> str:
        if repo.get_connection(ctx.tenant_id, connection_id) is None:
            raise NotFound("connection not found")
        running = repo.active_job_id(ctx.tenant_id, connection_id, JobKind.AUTO_MAP.value, params)
        if running is not None:
            return running
        repo.insert_job(
            job_id=new_id,
            tenant_id=ctx.tenant_id,
            connection_id=connection_id,
            kind=JobKind.AUTO_MAP.value,
            params=params,
            requested_by=ctx.actor,
            now=now,
        )
        repo.add_event(ctx.tenant_id, JOB_REQUESTED_EVENT, {"job_id": new_id, "kind": JobKind.AUTO_MAP.value})
        return new_id

    return deps.uow.run(work)


def get_job(uow: UnitOfWork, ctx: CallContext, job_id: str) -> Job:
    with uow.transaction() as repo:
        row = repo.get_job(ctx.tenant_id, job_id) if job_id else None
    if row is None:
        raise NotFound("job not found")
    return job_from_row(row)


def run_job(deps: ChannelsDeps, job_id: str, *, now: datetime | None = None) -> str:
    """Claim and run one job; returns its final stored status, or "skipped" when it is unknown,
    not of a kind run here, or already claimed by a live worker."""
    with deps.uow.transaction() as repo:
        row = repo.get_job_any_tenant(job_id) if job_id else None
    if row is None or row.kind not in RUNS:
        return "skipped"
    started = now or deps.clock()
    if not deps.uow.run(lambda repo: repo.claim_job(job_id, started, started - STALE_AFTER)):
        return "skipped"
    ctx = CallContext(tenant_id=row.tenant_id)
    read = 0

    def progress(products_read: int) -> None:
        nonlocal read
        read = products_read
        moment = deps.clock()
        deps.uow.run(lambda repo: repo.job_progress(job_id, products_read, moment))

    if row.kind == JobKind.CATALOG_IMPORT.value:
        return _run_import(deps, job_id, row, progress)
    if row.kind == JobKind.PUBLISH.value:
        return _run_publish(deps, job_id, row, progress)
    try:
        result = listing_mapping.auto_map(
            deps, ctx, row.connection_id, auto_map_skus(row.params), on_page=progress
        )
    except DomainError as exc:  # the channel or the catalog refused or failed: a short reason
        return _finish(deps, job_id, None, exc.message, read)
    except Exception:
        log.exception("job %s failed", job_id, extra={"tenant": row.tenant_id})
        return _finish(deps, job_id, None, "internal error", read)
    summary = f"mapped {result.mapped}; {len(result.unmapped_skus)} OmniStock SKUs not on the channel"
    return _finish(deps, job_id, result, summary, read)


def _run_import(deps: ChannelsDeps, job_id: str, row: Any, progress: Callable[[int], None]) -> str:
    """The catalog import's work (channels.catalog_import); it records its own progress."""
    try:
        outcome = catalog_import.run_catalog_import(deps, job_id, row)
    except DomainError as exc:
        return _finish(deps, job_id, None, exc.message, 0)
    except Exception:
        log.exception("job %s failed", job_id, extra={"tenant": row.tenant_id})
        return _finish(deps, job_id, None, "internal error", 0)
    if isinstance(outcome, catalog_import.Stopped):
        return "running"
    return _finish(deps, job_id, outcome, catalog_import.summary(outcome), outcome.variants)


def _run_publish(deps: ChannelsDeps, job_id: str, row: Any, progress: Callable[[int], None]) -> str:
    """The publish job's work (channels.publishing); progress counts the products pushed."""
    try:
        tally = publishing.run_publish(deps, row, progress)
    except DomainError as exc:
        return _finish(deps, job_id, None, exc.message, 0)
    except Exception:
        log.exception("job %s failed", job_id, extra={"tenant": row.tenant_id})
        return _finish(deps, job_id, None, "internal error", 0)
    done = len(tally.published) + len(tally.rejected) + len(tally.waiting)
    return _finish(deps, job_id, tally, tally.summary(), done)


def _finish(
    deps: ChannelsDeps,
    job_id: str,
    result: AutoMapResult | ImportTally | PublishTally | None,
    message: str,
    read: int,
) -> str:
    moment = deps.clock()
    if isinstance(result, ImportTally | PublishTally):
        text = result.to_json()
    else:
        text = auto_map_result_json(result) if result is not None else ""
    deps.uow.run(
        lambda repo: repo.finish_job(
            job_id,
            succeeded=result is not None,
            message=message,
            result=text,
            total=read if result is not None else None,
            now=moment,
        )
    )
    return "done" if result is not None else "failed"


def resume_jobs(deps: ChannelsDeps, *, now: datetime | None = None) -> int:
    """Run the jobs no event started: still queued, or running with a stale heartbeat. Returns
    how many this call ran (others may have been claimed by another worker meanwhile)."""
    moment = now or deps.clock()
    with deps.uow.transaction() as repo:
        due = repo.resumable_job_ids_any_tenant(
            [kind.value for kind in RUNS], moment - STALE_AFTER, RESUME_BATCH
        )
    return sum(run_job(deps, job_id) != "skipped" for job_id in due)


__all__ = ["JOB_REQUESTED_EVENT", "get_job", "resume_jobs", "run_job", "start_auto_map"]
