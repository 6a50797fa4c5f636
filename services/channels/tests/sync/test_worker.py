"""The real worker: `nameko run --config services/channels/worker.yaml channels.worker` as a child
process consumes a real `inventory.stock_changed` nameko event (published with nameko's standalone
dispatcher, as the inventory worker does) and its flusher timer pushes the quantity to both
sandboxes through the real connectors. An unsigned event published next to it is dropped.

Isolation: a RabbitMQ virtual host of its own (conftest.vhost_url) and the sync tests' own Redis
database (conftest.sync_redis_url).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nameko.standalone.events import event_dispatcher

from channels import jobs
from channels.domain import AutoMapResult
from channels.job_domain import JobStatus
from omnistock_common.config import load_internal_auth_settings
from omnistock_common.service_auth import sign_event
from omnistock_devtools.worker_process import every, queues_exist

# The worker wiring does not depend on the database: covered once, on SQLite.
pytestmark = [
    pytest.mark.redis,
    pytest.mark.rabbitmq,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
# The `stack` fixture (conftest.py) is a conftest.Stack; test modules cannot import conftest here.
Stack = Any
QUEUE = "evt-inventory-stock_changed--channels_sync.on_stock_changed"
DEADLINE = 90.0


def test_the_worker_consumes_stock_changed_and_pushes_to_both_sandboxes(
    stack: Stack, vhost_url: str, tmp_path: Path
) -> None:
    stack.seed({"CUP": 0})
    env = stack.worker_env(vhost_url)
    with stack.worker(env, tmp_path / "worker.log", DEADLINE) as worker:
        worker.wait_until(lambda: queues_exist(vhost_url, QUEUE))
        dispatch = event_dispatcher({"AMQP_URI": vhost_url})
        secret = load_internal_auth_settings(env).token_secret

        def publish() -> None:
            # Anyone who can publish to the broker: unsigned, a newer version, another figure.
            # The worker must drop it (else 7 would reach the channels, and the genuine version 1
            # would be ignored as older).
            dispatch("inventory", "stock_changed", stack.event({"CUP": (7, 5)}))
            # Signed as the inventory worker signs.
            event = sign_event(secret, "inventory.stock_changed", stack.event({"CUP": (4, 1)}))
            dispatch("inventory", "stock_changed", event)

        # The same event (same version) is published every 5 s until it lands (worker_process.every).
        worker.wait_until(
            lambda: stack.shopify.inventory().get("CUP") == 4 and stack.woo.inventory().get("CUP") == 4,
            between=every(5, publish),
        )
        worker.wait_until(lambda: "dropped an unsigned or forged inventory.stock_changed" in worker.log())
    assert stack.listing(stack.woo_id, "CUP").last_pushed_version == 1


JOBS_QUEUE = "evt-channels-job_requested--channels_sync.on_job_requested"


def test_the_worker_runs_an_auto_map_job_from_its_event(stack: Stack, vhost_url: str, tmp_path: Path) -> None:
    """StartAutoMap's outbox event goes out through the worker's relay and comes back to its
    on_job_requested, which pages through the WooCommerce sandbox's catalogue (issue 14)."""
    items = [{"sku": sku, "title": sku, "quantity": 3, "price": "10.00"} for sku in ("JOB-A", "JOB-B")]
    assert stack.woo.post("/_sandbox/products", {"items": items}).status_code == 201
    deps = stack.channels.parts.deps
    with stack.worker(stack.worker_env(vhost_url), tmp_path / "worker.log", DEADLINE) as worker:
        worker.wait_until(lambda: queues_exist(vhost_url, JOBS_QUEUE))
        job_id = jobs.start_auto_map(deps, stack.ctx, stack.woo_id, ["JOB-A", "JOB-B", "JOB-MISSING"])
        job = jobs.get_job(deps.uow, stack.ctx, job_id)

        def finished() -> bool:
            nonlocal job
            job = jobs.get_job(deps.uow, stack.ctx, job_id)
            return job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

        worker.wait_until(finished, describe=lambda: job)
    assert job.status is JobStatus.SUCCEEDED, (job, worker.tail())
    assert isinstance(job.result, AutoMapResult)
    assert (job.result.mapped, job.result.unmapped_skus) == (2, ["JOB-MISSING"])
    assert job.progress_done == job.progress_total and job.progress_done >= 2
    assert stack.listing(stack.woo_id, "JOB-A") is not None
