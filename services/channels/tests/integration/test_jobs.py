"""Auto-map as a background job (issue 14): StartAutoMap answers at once with a job id, the job
(run here as the worker runs it: jobs.run_job / jobs.resume_jobs) pages through the channel's
catalogue recording progress, GetJob shows queued -> running -> succeeded | failed with the result
or the reason; re-running is idempotent. Real gRPC server and database (SQLite and PostgreSQL),
fake connectors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import grpc
import pytest

from channels import jobs
from channels.composition import build_runtime
from channels.config import load_settings
from channels.job_domain import STALE_AFTER
from channels.server import Channels
from channels.sync.settings import SyncSettings
from omnistock.catalog.v1 import catalog_service_pb2 as catalog_pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc as catalog_grpc
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock.common.v1 import common_pb2
from omnistock_common.context import call_context
from omnistock_common.grpc_server import RunningServer, build_server
from omnistock_devtools.fake_connector import GOOD_KEY, GOOD_SECRET

REMOTE = [
    ("TEE-S", {"product_id": "10", "variation_id": "11"}),
    ("TEE-M", {"product_id": "10", "variation_id": "12"}),
    ("MUG", {"product_id": "20"}),
    ("REMOTE-ONLY", {"product_id": "30"}),
    ("BAD SKU\u202e", {"product_id": "40"}),
]


def _connect_woo(client: Any) -> str:
    request = pb.CreateConnectionRequest(
        type="woocommerce",
        name="Woo",
        settings={"api_base_url": "http://127.0.0.1:8702"},
        credentials={"consumer_key": GOOD_KEY, "consumer_secret": GOOD_SECRET},
    )
    return str(client.CreateConnection(request).connection.id)


def _start(client: Any, connection_id: str, skus: list[str]) -> str:
    return str(client.StartAutoMap(pb.StartAutoMapRequest(connection_id=connection_id, skus=skus)).job_id)


def _job(client: Any, job_id: str) -> pb.Job:
    return client.GetJob(pb.GetJobRequest(job_id=job_id)).job


def _listings(client: Any, connection_id: str) -> dict[str, dict[str, str]]:
    reply = client.ListListings(pb.ListListingsRequest(connection_id=connection_id))
    return {item.sku: dict(item.external_ids) for item in reply.listings}


def test_an_auto_map_job_is_queued_then_run_with_progress_and_result(
    client: Any, server: Channels, fakes: Any
) -> None:
    fakes.woocommerce.remote_products = REMOTE
    woo = _connect_woo(client)
    skus = ["TEE-S", "TEE-M", "MUG", "HAT"]
    job_id = _start(client, woo, skus)
    assert fakes.woocommerce.calls["ListRemoteProducts"] == 0  # nothing read while the caller waits
    queued = _job(client, job_id)
    assert (queued.kind, queued.status, queued.connection_id) == ("auto_map", pb.JOB_STATUS_QUEUED, woo)
    assert queued.progress.done == 0 and not queued.progress.HasField("total")
    assert queued.WhichOneof("result") is None and queued.error == ""
    assert _start(client, woo, skus) == job_id  # the same request while queued: the same job

    seen: list[tuple[int, int | None, int]] = []
    original = server.parts.deps.uow.run

    def watching(work: Any) -> Any:  # what GetJob shows after every page
        out = original(work)
        job = _job(client, job_id)
        seen.append(
            (job.status, job.progress.total if job.progress.HasField("total") else None, job.progress.done)
        )
        return out

    server.parts.deps.uow.run = watching  # type: ignore[method-assign]
    try:
        assert jobs.run_job(server.parts.deps, job_id) == "done"
    finally:
        server.parts.deps.uow.run = original  # type: ignore[method-assign]
    # Claimed, then one step per page of 2 (2, 4, 5 products), then finished with the total (every
    # transaction is watched, the connection's health updates too: repeats are dropped).
    running = [done for status, _total, done in seen if status == pb.JOB_STATUS_RUNNING]
    assert list(dict.fromkeys(running)) == [0, 2, 4, 5]
    assert seen[-1] == (pb.JOB_STATUS_SUCCEEDED, 5, 5)
    assert fakes.woocommerce.calls["ListRemoteProducts"] == 3

    done = _job(client, job_id)
    assert done.status == pb.JOB_STATUS_SUCCEEDED and done.finished_at.seconds > 0
    assert done.auto_map.mapped == 3
    assert list(done.auto_map.unmapped_skus) == ["HAT"]
    assert list(done.auto_map.unknown_remote_skus) == ["REMOTE-ONLY"]
    first = _listings(client, woo)
    assert set(first) == {"TEE-S", "TEE-M", "MUG"}

    # The event delivered again: the job is done, nothing runs. A new request is a new job, and
    # running the work again leaves the same listings.
    assert jobs.run_job(server.parts.deps, job_id) == "skipped"
    again = _start(client, woo, skus)
    assert again != job_id
    assert jobs.run_job(server.parts.deps, again) == "done"
    assert _listings(client, woo) == first
    assert _job(client, again).auto_map == done.auto_map


def test_a_failed_job_says_why_in_a_short_reason(client: Any, server: Channels, fakes: Any) -> None:
    fakes.woocommerce.remote_products = REMOTE
    woo = _connect_woo(client)
    job_id = _start(client, woo, ["MUG"])
    fakes.woocommerce.revoked = True
    assert jobs.run_job(server.parts.deps, job_id) == "failed"
    failed = _job(client, job_id)
    assert failed.status == pb.JOB_STATUS_FAILED and failed.WhichOneof("result") is None
    assert "revoked" in failed.error.lower() or "credentials" in failed.error.lower(), failed.error
    assert _listings(client, woo) == {}


def test_a_job_whose_worker_died_is_resumed_and_a_live_one_is_left_alone(
    client: Any, server: Channels, fakes: Any
) -> None:
    fakes.woocommerce.remote_products = REMOTE
    woo = _connect_woo(client)
    deps = server.parts.deps
    dead, live = _start(client, woo, ["MUG"]), _start(client, woo, ["TEE-S"])
    now = deps.clock()
    long_ago = now - STALE_AFTER - timedelta(seconds=1)
    # Both claimed by a worker; the first one's heartbeat stopped long ago (the worker died).
    assert deps.uow.run(lambda repo: repo.claim_job(dead, long_ago, long_ago - STALE_AFTER))
    assert deps.uow.run(lambda repo: repo.claim_job(live, now, now - STALE_AFTER))
    assert _job(client, dead).status == pb.JOB_STATUS_RUNNING
    assert jobs.run_job(deps, live) == "skipped"  # a redelivered event does not run a live job twice

    assert jobs.resume_jobs(deps) == 1
    assert _job(client, dead).status == pb.JOB_STATUS_SUCCEEDED
    assert _job(client, live).status == pb.JOB_STATUS_RUNNING
    assert _listings(client, woo) == {"MUG": {"product_id": "20"}}
    # A queued job whose event never came is run by the sweep too.
    lost = _start(client, woo, ["TEE-M"])
    assert jobs.resume_jobs(deps) == 1 and _job(client, lost).status == pb.JOB_STATUS_SUCCEEDED


def test_jobs_are_per_tenant_and_syncs_are_jobs_too(client: Any, client_for: Any) -> None:
    woo = _connect_woo(client)
    other = client_for("tenant-b")
    for call in (
        lambda: other.StartAutoMap(pb.StartAutoMapRequest(connection_id=woo, skus=["MUG"])),
        lambda: other.GetJob(pb.GetJobRequest(job_id=_start(client, woo, ["MUG"]))),
        lambda: client.GetJob(pb.GetJobRequest(job_id="no-such-job")),
    ):
        with pytest.raises(grpc.RpcError) as missing:
            call()
        assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    for bad in (
        pb.StartAutoMapRequest(connection_id=woo, skus=[" PADDED "]),
        pb.StartAutoMapRequest(skus=["A"]),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            client.StartAutoMap(bad)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT

    sync_id = client.RequestSync(
        pb.RequestSyncRequest(connection_id=woo, scope=pb.SYNC_SCOPE_INVENTORY)
    ).job_id
    sync = _job(client, sync_id)
    assert (sync.kind, sync.status, sync.progress.done, sync.progress.total) == (
        "sync",
        pb.JOB_STATUS_QUEUED,
        0,
        1,
    )
    # A viewer may read jobs (GetJob is read-only) but not start one.
    viewer = client_for("tenant-a", role="viewer")
    assert viewer.GetJob(pb.GetJobRequest(job_id=sync_id)).job.id == sync_id
    with pytest.raises(grpc.RpcError) as denied:
        viewer.StartAutoMap(pb.StartAutoMapRequest(connection_id=woo, skus=["MUG"]))
    assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED


class _Catalog(catalog_grpc.CatalogServiceServicer):
    """ListProducts only: tenant-a sells TEE-S, TEE-M and SOCKS, one product per page."""

    def ListProducts(self, request: Any, context: grpc.ServicerContext) -> Any:
        products = [
            catalog_pb.Product(
                id="p1", variants=[catalog_pb.Variant(sku="TEE-S"), catalog_pb.Variant(sku="TEE-M")]
            ),
            catalog_pb.Product(id="p2", variants=[catalog_pb.Variant(sku="SOCKS")]),
        ]
        if call_context(context).tenant_id != "tenant-a":
            products = []
        start = int(request.page.cursor or 0)
        more = start + 1 < len(products)
        return catalog_pb.ListProductsResponse(
            products=products[start : start + 1],
            page=common_pb2.PageResponse(next_cursor=str(start + 1) if more else ""),
        )


@pytest.fixture
def catalog_addr() -> Iterator[str]:
    name = catalog_pb.DESCRIPTOR.services_by_name["CatalogService"].full_name
    servicer = _Catalog()
    running: RunningServer = build_server(
        [lambda s: catalog_grpc.add_CatalogServiceServicer_to_server(servicer, s)], [name], "127.0.0.1:0"
    )
    yield f"127.0.0.1:{running.port}"
    running.server.stop(None).wait()


def test_the_worker_runtime_maps_the_whole_catalog_when_no_skus_are_given(
    client: Any, server: Channels, fakes: Any, env: dict[str, str], catalog_addr: str
) -> None:
    """The job runs in the worker's runtime (per-thread catalog and connector clients), which
    reads the tenant's catalog itself; the server's catalog is unreachable here (CATALOG_ADDR
    127.0.0.1:1), so a job run there fails with a short reason instead."""
    fakes.woocommerce.remote_products = REMOTE
    woo = _connect_woo(client)
    unreachable = _start(client, woo, [])
    assert jobs.run_job(server.parts.deps, unreachable) == "failed"
    assert "catalog" in _job(client, unreachable).error

    runtime = build_runtime(load_settings({**env, "CATALOG_ADDR": catalog_addr}), SyncSettings())
    try:
        assert runtime.deps is not None
        job_id = _start(client, woo, [])
        assert jobs.run_job(runtime.deps, job_id) == "done"
    finally:
        runtime.close()
    result = _job(client, job_id).auto_map
    assert (result.mapped, list(result.unmapped_skus)) == (2, ["SOCKS"])


def test_a_catalog_import_is_per_tenant_checked_and_needs_a_writer(client: Any, client_for: Any) -> None:
    """StartCatalogImport: bad choices change nothing (INVALID_ARGUMENT with the field), another
    tenant's connection is NOT_FOUND, a viewer may not start one, the same request is the same job."""
    woo = _connect_woo(client)
    start = pb.StartCatalogImportRequest(connection_id=woo, dry_run=True)
    job_id = client.StartCatalogImport(start).job_id
    assert client.StartCatalogImport(start).job_id == job_id
    queued = _job(client, job_id)
    assert (queued.kind, queued.status) == ("catalog_import", pb.JOB_STATUS_QUEUED)
    for bad in (
        pb.StartCatalogImportRequest(
            connection_id=woo,
            resolutions={"A": pb.FieldChoices(fields={"colour": pb.CONFLICT_CHOICE_CHANNEL})},
        ),
        pb.StartCatalogImportRequest(
            connection_id=woo,
            resolutions={" PADDED ": pb.FieldChoices(fields={"price": pb.CONFLICT_CHOICE_CHANNEL})},
        ),
        pb.StartCatalogImportRequest(connection_id=woo, without_sku=7),  # type: ignore[arg-type]
        pb.StartCatalogImportRequest(),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            client.StartCatalogImport(bad)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as missing:
        client_for("tenant-b").StartCatalogImport(start)
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as denied:
        client_for("tenant-a", role="viewer").StartCatalogImport(start)
    assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
