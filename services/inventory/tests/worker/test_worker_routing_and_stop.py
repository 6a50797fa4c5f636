"""Issue 14, through the real inventory worker (`nameko run ... inventory.worker`) on a fresh
RabbitMQ virtual host and a real PostgreSQL database:

- an event the broker accepts but routes to no queue (nobody has bound one yet) is NOT marked
  sent: the worker publishes `mandatory` with confirms, the broker returns it, the row stays unsent
  and is retried; once a consumer binds its queue the same row goes out and is marked;
- SIGTERM stops the worker within 10 s with no greenlet error in its output.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from inventory import models, service
from inventory.domain import AdjustmentLine, AdjustmentReason, Policy
from inventory.repository import UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_common.migrations import upgrade
from omnistock_common.outbox_relay import count_unsent
from omnistock_devtools.fullstack import isolated_vhost
from omnistock_devtools.worker_process import event_tap, running_worker

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

STOP_SECONDS = 10.0
GREENLET_ERRORS = ("greenlet.error", "Cannot switch to a different thread")


@pytest.fixture
def vhost_url(amqp_url: str) -> Iterator[str]:
    with isolated_vhost(amqp_url, prefix="inventory-routing-test") as (url, isolated):
        if not isolated:
            pytest.skip("needs a RabbitMQ virtual host of its own (rabbitmqctl)")
        yield url


def wait_for(done: Callable[[], bool], seconds: float, what: str) -> None:
    give_up = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < give_up, what
        time.sleep(0.1)


def test_an_unroutable_event_stays_unsent_until_a_queue_is_bound_and_sigterm_stops_the_worker(
    postgres_url: str, vhost_url: str, tmp_path: Path
) -> None:
    upgrade("inventory", postgres_url)
    engine = make_engine(postgres_url)
    uow = UnitOfWork(engine)
    tenant = f"route-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "INVENTORY_DATABASE_URL": postgres_url,
        "AMQP_URL": vhost_url,
        "LOG_LEVEL": "WARNING",
    }
    try:
        with running_worker(
            "services/inventory/worker.yaml",
            "inventory.worker",
            env=env,
            log_path=log_path,
            deadline=60,
            stop_timeout=0,
        ) as worker:
            line = AdjustmentLine("CUP", "", 5, None, AdjustmentReason.RECEIVED)
            service.adjust(uow, CallContext(tenant_id=tenant, user_id="t"), line, Policy())
            # The broker returns it: no queue is bound to inventory.events yet.
            wait_for(
                lambda: "inventory.stock_changed was routed to no queue" in worker.log(),
                60,
                "the worker never saw its event come back",
            )
            assert worker.process.poll() is None, worker.log()
            assert count_unsent(engine, models.outbox) == 1

            with event_tap(
                vhost_url, "inventory.events", routing_key="stock_changed", prefix="test-routing"
            ) as events:
                give_up = time.monotonic() + 30
                while not events.received:
                    assert time.monotonic() < give_up, worker.tail(3000)
                    events.drain(0.5)
                wait_for(
                    lambda: count_unsent(engine, models.outbox) == 0, 30, "the row was never marked sent"
                )
                received = events.received[0][1]
                assert [entry["sku"] for entry in received["skus"]] == ["CUP"]
                assert received["tenant_id"] == tenant

                took = worker.seconds_to_stop_after_sigterm(STOP_SECONDS + 5)
    finally:
        engine.dispose()
    output = log_path.read_text()
    assert took < STOP_SECONDS, f"stopped after {took:.1f}s\n{output[-5000:]}"
    for error in GREENLET_ERRORS:
        assert error not in output, output[-8000:]
