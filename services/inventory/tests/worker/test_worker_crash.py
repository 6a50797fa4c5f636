"""The real worker (`nameko run`) relays every stock change, even when it is killed -9 mid-stream.

A test consumer bound to nameko's `inventory.events` exchange before anything is published plays
the channels worker: it keeps the newest entry per SKU. 1,000 adjustments stream in through the
gRPC server while the worker is killed with SIGKILL and later restarted; in the end the consumer
must hold the FINAL version (and final availability) of every SKU the database knows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import grpc
import kombu
import pytest
from sqlalchemy import func, select

from inventory import models
from inventory.config import load_settings
from inventory.server import build
from omnistock.inventory.v1 import inventory_service_pb2 as pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as pb_grpc
from omnistock_common.db import make_engine
from omnistock_common.migrations import upgrade
from omnistock_common.outbox_relay import count_unsent

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[4]
NAMEKO = str(Path(sys.executable).parent / "nameko")
SKUS = [f"CRASH-{i:02d}" for i in range(40)]
ADJUSTMENTS = 1000
# Generous bound for a machine shared with other work; a healthy run needs a few seconds.
DELIVERY_DEADLINE_SECONDS = 180


class StockChangedCollector:
    """Consumes `inventory.stock_changed` for one tenant, keeping the newest entry per SKU."""

    def __init__(self, amqp_url: str, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.latest: dict[str, dict[str, Any]] = {}
        self.messages = 0
        self.connection = kombu.Connection(amqp_url)
        # Same attributes as nameko's events exchange, so declaring it here is a no-op for nameko.
        exchange = kombu.Exchange("inventory.events", type="topic", durable=True)
        queue = kombu.Queue(
            f"test-inventory-crash-{uuid.uuid4().hex[:8]}",
            exchange,
            routing_key="stock_changed",
            exclusive=True,
        )
        # Bound BEFORE the worker publishes anything: events are never missed by the test itself.
        self.consumer = kombu.Consumer(
            self.connection.default_channel, queues=[queue], callbacks=[self._on_message], accept=["json"]
        )
        self.consumer.consume()

    def _on_message(self, body: dict[str, Any], message: kombu.Message) -> None:
        if body.get("tenant_id") == self.tenant_id:
            self.messages += 1
            for entry in body["skus"]:
                current = self.latest.get(entry["sku"])
                if current is None or entry["version"] > current["version"]:
                    self.latest[entry["sku"]] = entry
        message.ack()

    def wait_until(self, done: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() > deadline:
                return False
            with contextlib.suppress(TimeoutError):
                self.connection.drain_events(timeout=0.5)
        return True

    def close(self) -> None:
        self.consumer.cancel()
        self.connection.release()


class WorkerProcess:
    """`nameko run --config services/inventory/worker.yaml inventory.worker` as a child process."""

    def __init__(self, migrated_url: str, amqp_url: str, log: IO[bytes]) -> None:
        env = {
            **os.environ,
            "INVENTORY_DATABASE_URL": migrated_url,
            "AMQP_URL": amqp_url,
            "LOG_LEVEL": "WARNING",
            "PYTHONWARNINGS": "ignore",
        }
        self.process = subprocess.Popen(
            [NAMEKO, "run", "--config", "services/inventory/worker.yaml", "inventory.worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill_9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill_9()


@pytest.fixture
def migrated_url(postgres_url: str) -> str:
    upgrade("inventory", postgres_url)
    return postgres_url


@pytest.fixture
def stub(migrated_url: str) -> Iterator[pb_grpc.InventoryServiceStub]:
    settings = load_settings(
        {"INVENTORY_DATABASE_URL": migrated_url, "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"}
    )
    inventory = build(settings)
    channel = grpc.insecure_channel(f"127.0.0.1:{inventory.port}")
    yield pb_grpc.InventoryServiceStub(channel)
    channel.close()
    inventory.stop()


def test_kill_9_of_the_worker_mid_stream_loses_no_stock_change(
    migrated_url: str, amqp_url: str, stub: pb_grpc.InventoryServiceStub, tmp_path: Path
) -> None:
    tenant_id = f"crash-{uuid.uuid4().hex[:8]}"
    metadata = (("x-tenant-id", tenant_id), ("x-user-id", "crash-test"))

    def adjust(n: int) -> None:
        line = pb.AdjustmentLine(
            sku=SKUS[n % len(SKUS)], delta=1 + n % 3, reason=pb.ADJUSTMENT_REASON_RECEIVED
        )
        stub.Adjust(pb.AdjustRequest(line=line), metadata=metadata, timeout=30)

    collector = StockChangedCollector(amqp_url, tenant_id)
    engine = make_engine(migrated_url)
    log_path = tmp_path / "worker.log"
    workers: list[WorkerProcess] = []
    try:
        with log_path.open("ab") as log:
            workers.append(WorkerProcess(migrated_url, amqp_url, log))
            # The first event proves the worker is up and relaying before the stream starts.
            adjust(0)
            assert collector.wait_until(lambda: collector.messages > 0, DELIVERY_DEADLINE_SECONDS), (
                log_path.read_text()
            )
            for n in range(1, ADJUSTMENTS):
                if n == 350:
                    workers[-1].kill_9()
                if n == 650:
                    # The changes made while no worker ran wait in the outbox for the new one.
                    assert count_unsent(engine, models.outbox) > 0
                    workers.append(WorkerProcess(migrated_url, amqp_url, log))
                adjust(n)

            with engine.connect() as conn:
                s, levels = models.sku_states, models.stock_levels
                final_versions = dict(
                    conn.execute(select(s.c.sku, s.c.version).where(s.c.tenant_id == tenant_id)).all()
                )
                final_available = dict(
                    conn.execute(
                        select(levels.c.sku, func.sum(levels.c.on_hand - levels.c.reserved))
                        .where(levels.c.tenant_id == tenant_id)
                        .group_by(levels.c.sku)
                    ).all()
                )
            assert sorted(final_versions) == SKUS

            def all_final_versions_seen() -> bool:
                return all(
                    sku in collector.latest and collector.latest[sku]["version"] >= version
                    for sku, version in final_versions.items()
                )

            delivered = collector.wait_until(all_final_versions_seen, DELIVERY_DEADLINE_SECONDS)
            missing = {
                sku: (collector.latest.get(sku, {}).get("version"), version)
                for sku, version in final_versions.items()
                if collector.latest.get(sku, {}).get("version") != version
            }
            assert delivered and not missing, f"(seen, final) per SKU: {missing}\n{log_path.read_text()}"
            assert {sku: entry["available"] for sku, entry in collector.latest.items()} == final_available
            # Everything the consumer saw was confirmed and marked: nothing waits in the outbox.
            assert collector.wait_until(lambda: count_unsent(engine, models.outbox) == 0, 30)
    finally:
        for worker in workers:
            worker.stop()
        collector.close()
        engine.dispose()
