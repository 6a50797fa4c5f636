"""How a sync_jobs row reads as the API's Job: statuses, progress, result only once succeeded,
error only once failed."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from channels.domain import AutoMapResult, SyncScope
from channels.job_domain import (
    JobKind,
    JobStatus,
    SyncJobResult,
    auto_map_params,
    auto_map_result_json,
    auto_map_skus,
    job_from_row,
)

NOW = datetime(2026, 2, 1, tzinfo=UTC)


def _row(**values: Any) -> SimpleNamespace:
    base = {
        "id": "j1",
        "kind": "auto_map",
        "scope": "",
        "status": "requested",
        "connection_id": "c1",
        "message": "",
        "params": auto_map_params(["A"]),
        "result": "",
        "progress_done": 0,
        "progress_total": None,
        "requested_at": NOW,
        "started_at": None,
        "finished_at": None,
    }
    return SimpleNamespace(**(base | values))


def test_stored_statuses_read_as_the_apis() -> None:
    assert [job_from_row(_row(status=s)).status for s in ("requested", "running", "done", "failed")] == [
        JobStatus.QUEUED,
        JobStatus.RUNNING,
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
    ]


def test_an_auto_map_shows_its_result_only_once_succeeded_and_its_reason_only_once_failed() -> None:
    result = AutoMapResult(2, ["HAT"], ["REMOTE"])
    running = job_from_row(_row(status="running", progress_done=250, result=auto_map_result_json(result)))
    assert (running.kind, running.progress_done, running.progress_total, running.result) == (
        JobKind.AUTO_MAP,
        250,
        None,
        None,
    )
    done = job_from_row(
        _row(
            status="done",
            message="mapped 2",
            result=auto_map_result_json(result),
            progress_done=3,
            progress_total=3,
        )
    )
    assert done.result == result and done.error == "" and (done.progress_done, done.progress_total) == (3, 3)
    failed = job_from_row(_row(status="failed", message="the channel refused the credentials"))
    assert failed.result is None and failed.error == "the channel refused the credentials"


def test_a_sync_is_one_step_with_its_scope_and_message() -> None:
    queued = job_from_row(_row(kind="sync", scope="inventory", params=""))
    assert (queued.kind, queued.progress_done, queued.progress_total, queued.result) == (
        JobKind.SYNC,
        0,
        1,
        None,
    )
    done = job_from_row(
        _row(kind="sync", scope="inventory", status="done", message="3 checked", finished_at=NOW)
    )
    assert (done.progress_done, done.progress_total) == (1, 1)
    assert done.result == SyncJobResult(SyncScope.INVENTORY, "3 checked")


def test_auto_map_params_round_trip() -> None:
    assert auto_map_skus(auto_map_params(["A", "B/1"])) == ["A", "B/1"]
    assert auto_map_skus("") == []
