"""Background jobs of a connection as the API shows them (GET /jobs/{id}): plain data, no SQL.

One table holds them (`sync_jobs`): syncs (RequestSync, run by channels.sync.reconcile) and
auto-maps (StartAutoMap, run by channels.jobs). Its stored statuses are the sync engine's
(requested, running, done, failed); the API's are queued, running, succeeded, failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from channels.catalog_import_domain import ImportTally
from channels.domain import AutoMapResult, SyncScope
from channels.publish_domain import PublishTally


class JobKind(StrEnum):
    SYNC = "sync"
    AUTO_MAP = "auto_map"
    CATALOG_IMPORT = "catalog_import"
    PUBLISH = "publish"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# What the sync_jobs.status column holds (the sync engine's words) -> the API's.
STORED_STATUS = {
    "requested": JobStatus.QUEUED,
    "running": JobStatus.RUNNING,
    "done": JobStatus.SUCCEEDED,
    "failed": JobStatus.FAILED,
}
REQUESTED, RUNNING, DONE, FAILED = "requested", "running", "done", "failed"

# A running job writes its heartbeat with every page it reads (one connector call, at most
# CHANNELS_CONNECTOR_TIMEOUT_SECONDS, 30 s by default, plus a token refresh). A heartbeat older
# than this means its worker died: the job may be claimed again and re-run (its work is
# idempotent: listings are upserted).
STALE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class SyncJobResult:
    scope: SyncScope
    message: str


@dataclass(frozen=True)
class Job:
    id: str
    kind: JobKind
    status: JobStatus
    connection_id: str
    progress_done: int
    progress_total: int | None
    result: AutoMapResult | SyncJobResult | ImportTally | PublishTally | None
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def auto_map_params(skus: list[str]) -> str:
    return json.dumps({"skus": skus}, separators=(",", ":"))


def auto_map_skus(params: str) -> list[str]:
    return [str(sku) for sku in json.loads(params or "{}").get("skus", [])]


def auto_map_result_json(result: AutoMapResult) -> str:
    return json.dumps(
        {
            "mapped": result.mapped,
            "unmapped_skus": result.unmapped_skus,
            "unknown_remote_skus": result.unknown_remote_skus,
        },
        separators=(",", ":"),
    )


def job_from_row(row: Any) -> Job:
    """A Job from a sync_jobs row: its result only once it succeeded, its error only once it failed."""
    kind = JobKind(row.kind) if row.kind in JobKind._value2member_map_ else JobKind.SYNC
    status = STORED_STATUS.get(row.status, JobStatus.QUEUED)
    result: AutoMapResult | SyncJobResult | ImportTally | PublishTally | None = None
    paged = kind in (JobKind.AUTO_MAP, JobKind.CATALOG_IMPORT, JobKind.PUBLISH)
    if status is JobStatus.SUCCEEDED and kind is JobKind.CATALOG_IMPORT and row.result:
        result = ImportTally.from_json(row.result)
    elif status is JobStatus.SUCCEEDED and kind is JobKind.PUBLISH and row.result:
        result = PublishTally.from_json(row.result)
    elif status is JobStatus.SUCCEEDED:
        if kind is JobKind.AUTO_MAP and row.result:
            data = json.loads(row.result)
            result = AutoMapResult(
                int(data["mapped"]), list(data["unmapped_skus"]), list(data["unknown_remote_skus"])
            )
        elif kind is JobKind.SYNC:
            scope = SyncScope(row.scope) if row.scope in SyncScope._value2member_map_ else SyncScope.ALL
            result = SyncJobResult(scope, row.message)
    return Job(
        id=row.id,
        kind=kind,
        status=status,
        connection_id=row.connection_id,
        # A sync is one step: 0 of 1 until it ends, 1 of 1 after.
        progress_done=int(row.progress_done or 0) if paged else int(row.finished_at is not None),
        progress_total=((None if row.progress_total is None else int(row.progress_total)) if paged else 1),
        result=result,
        error=row.message if status is JobStatus.FAILED else "",
        created_at=row.requested_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )
