"""Reconciliation against the real inventory server (GetSkuStock), connectors and sandboxes.

Acceptance: a quantity changed by hand in a sandbox is overwritten with OmniStock's figure and
the conflict is logged ("channel had X, OmniStock says Y"); a `channels.sync_requested` job with
scope inventory runs it on demand and ends `done`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels import jobs, models, service
from channels.domain import SyncScope
from channels.sync import in_flight, inventory_source, reconcile
from inventory.config import load_settings as inventory_settings
from inventory.server import build as build_inventory
from omnistock.inventory.v1 import inventory_service_pb2 as inv_pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.context import CallContext
from omnistock_devtools.migrated import migrate

pytestmark = pytest.mark.redis
# The `stack` fixture (conftest.py) is a conftest.Stack; test modules cannot import conftest here.
Stack = Any
TENANT = "tenant-sync"


@pytest.fixture
def inventory(stack: Stack, tmp_path: Path) -> Iterator[Any]:
    """The real inventory server (its own SQLite database) wired into the sync engine."""
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    migrate("inventory", url)
    server = build_inventory(
        inventory_settings(
            {"INVENTORY_DATABASE_URL": url, "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"}
        )
    )
    address = f"127.0.0.1:{server.port}"
    port = inventory_source.GrpcInventory(address, 10.0)
    stack.engine.inventory = port
    channel = make_channel(address)
    stub = DeadlineStub(inv_grpc.InventoryServiceStub(channel), 10.0).call(
        CallContext(tenant_id=TENANT, user_id="t")
    )
    try:
        yield stub
    finally:
        channel.close()
        port.close()
        server.stop()


def set_stock(stub: Any, sku: str, quantity: int) -> None:
    stub.Adjust(
        inv_pb.AdjustRequest(
            line=inv_pb.AdjustmentLine(sku=sku, set=quantity, reason=inv_pb.ADJUSTMENT_REASON_CORRECTION),
            idempotency_key=str(uuid.uuid4()),
        )
    )


def test_reconciliation_overwrites_a_hand_edit_and_logs_the_conflict(stack: Stack, inventory: Any) -> None:
    stack.seed({"CUP": 0, "MUG": 0})
    set_stock(inventory, "CUP", 5)
    set_stock(inventory, "MUG", 2)
    stack.record(stack.event({"CUP": (5, 1), "MUG": (2, 1)}))
    stack.flush_until(lambda: stack.woo.inventory() == {"CUP": 5, "MUG": 2})
    # The merchant edits Woo's quantity by hand.
    assert stack.woo.post("/_sandbox/inventory", {"sku": "CUP", "quantity": 9}).status_code == 200
    assert stack.woo.inventory()["CUP"] == 9

    report = reconcile.reconcile_connection(stack.engine, TENANT, stack.woo_id)
    assert (report.checked, report.conflicts, report.corrected) == (2, 1, 1), report
    assert stack.woo.inventory() == {"CUP": 5, "MUG": 2}
    conflicts = [e for e in stack.sync_log(stack.woo_id) if e.outcome == "conflict"]
    assert [(e.operation, e.skus, e.message) for e in conflicts] == [
        ("reconcile", ["CUP"], "channel had 9, OmniStock says 5")
    ]
    # Nothing differs any more: a second run finds no conflict.
    again = reconcile.reconcile_connection(stack.engine, TENANT, stack.woo_id)
    assert again.conflicts == 0 and again.checked == 2


def test_an_off_sale_listing_is_reconciled_to_zero(stack: Stack, inventory: Any) -> None:
    """A listing whose product is archived on the connection (publishing marks it off sale) shows
    0 there: reconciliation does not bring inventory's figure back."""
    stack.seed({"CUP": 0, "MUG": 0})
    set_stock(inventory, "CUP", 5)
    set_stock(inventory, "MUG", 2)
    stack.record(stack.event({"CUP": (5, 1), "MUG": (2, 1)}))
    stack.flush_until(lambda: stack.woo.inventory() == {"CUP": 5, "MUG": 2})
    with stack.engine.uow.transaction() as repo:
        assert repo.mark_off_sale(TENANT, stack.woo_id, ["CUP"], True, datetime.now(UTC)) == ["CUP"]

    report = reconcile.reconcile_connection(stack.engine, TENANT, stack.woo_id)
    assert (report.conflicts, report.corrected) == (1, 1), report
    assert stack.woo.inventory() == {"CUP": 0, "MUG": 2}


def test_a_sync_request_runs_reconciliation_and_finishes_the_job(stack: Stack, inventory: Any) -> None:
    stack.seed({"CUP": 0})
    set_stock(inventory, "CUP", 3)
    stack.record(stack.event({"CUP": (3, 1)}))
    stack.flush_until(lambda: stack.shopify.inventory() == {"CUP": 3})
    assert stack.shopify.post("/_sandbox/inventory", {"sku": "CUP", "quantity": 0}).status_code == 200
    job_id = service.request_sync(stack.channels.parts.deps, stack.ctx, stack.shopify_id, SyncScope.INVENTORY)
    payload = {"job_id": job_id, "connection_id": stack.shopify_id, "scope": "inventory", "tenant_id": TENANT}

    assert reconcile.run_sync_job(stack.engine, payload) == "done"
    assert stack.shopify.inventory() == {"CUP": 3}
    assert reconcile.run_sync_job(stack.engine, payload) == "skipped"  # redelivered event
    t = models.sync_jobs
    with stack.channels.parts.deps.uow.transaction() as repo:
        row = repo.conn.execute(select(t).where(t.c.id == job_id)).one()
    assert row.status == "done" and "1 conflicts, 1 corrected" in row.message, row.message
    assert row.started_at is not None and row.finished_at is not None


def test_a_sync_request_right_after_an_order_poll_still_fixes_an_increase(
    stack: Stack, inventory: Any
) -> None:
    """A flush that just polled orders holds each connection's poll gate for a moment; the
    on-demand job must wait it out rather than finish 'done' with the increase left unfixed."""
    stack.seed({"CUP": 0})
    set_stock(inventory, "CUP", 3)
    stack.record(stack.event({"CUP": (3, 1)}))
    stack.flush_until(lambda: stack.shopify.inventory() == {"CUP": 3})
    assert stack.shopify.post("/_sandbox/inventory", {"sku": "CUP", "quantity": 0}).status_code == 200
    for connection_id in (stack.shopify_id, stack.woo_id):
        stack.redis.set(in_flight.POLL_GATE_PREFIX + connection_id, "1", px=150)
    job_id = service.request_sync(stack.channels.parts.deps, stack.ctx, stack.shopify_id, SyncScope.INVENTORY)
    payload = {"job_id": job_id, "connection_id": stack.shopify_id, "scope": "inventory", "tenant_id": TENANT}

    assert reconcile.run_sync_job(stack.engine, payload) == "done"
    assert stack.shopify.inventory() == {"CUP": 3}


def test_a_sync_job_that_fails_on_a_backend_call_stores_a_short_reason(stack: Stack) -> None:
    """The job's message is what GET /jobs/{id} shows the tenant: a failed gRPC call is named by
    its code, never by grpc's own text (addresses, debug strings)."""
    stack.seed({"CUP": 0})
    stack.engine.inventory = inventory_source.GrpcInventory("127.0.0.1:1", 2.0)
    job_id = service.request_sync(stack.channels.parts.deps, stack.ctx, stack.shopify_id, SyncScope.INVENTORY)
    assert reconcile.run_sync_job(stack.engine, {"job_id": job_id}) == "failed"
    job = jobs.get_job(stack.channels.parts.deps.uow, stack.ctx, job_id)
    assert job.error == "a backend call failed (UNAVAILABLE)", job.error
