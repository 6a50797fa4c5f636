"""The real worker (`nameko run`) relays every stock change, even when it or its broker link dies.

A test consumer bound to nameko's `inventory.events` exchange before anything is published plays
the channels worker: it keeps the newest entry per SKU. Adjustments stream in through the gRPC
server while (1) the worker is killed with SIGKILL and later restarted, or (2) the worker's
connection to RabbitMQ is cut and later restored (through a TCP proxy: the shared RabbitMQ itself
cannot be restarted here). In the end the consumer must hold the FINAL version (and final
availability) of every SKU the database knows, and nothing may wait in the outbox.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import grpc
import kombu
import pytest
from sqlalchemy import Engine, func, select

from inventory import models
from inventory.config import load_settings
from inventory.server import build
from omnistock.inventory.v1 import inventory_service_pb2 as pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as pb_grpc
from omnistock_common.db import make_engine
from omnistock_common.outbox_relay import count_unsent
from omnistock_common.service_auth import internal_metadata
from omnistock_devtools.migrated import migrate
from omnistock_devtools.worker_process import RunningWorker, running_worker

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

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


def inventory_worker(
    migrated_url: str, amqp_url: str, log_path: Path
) -> AbstractContextManager[RunningWorker]:
    """`nameko run --config services/inventory/worker.yaml inventory.worker` as a child process;
    restarted workers append to the same log."""
    env = {
        **os.environ,
        "INVENTORY_DATABASE_URL": migrated_url,
        "AMQP_URL": amqp_url,
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore",
    }
    return running_worker(
        "services/inventory/worker.yaml",
        "inventory.worker",
        env=env,
        log_path=log_path,
        deadline=DELIVERY_DEADLINE_SECONDS,
    )


def kill_9(worker: RunningWorker) -> None:
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait(timeout=30)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to RabbitMQ; `cut()` drops every connection and refuses new ones.

    Stands in for a broker outage: the worker's AMQP link dies mid-stream exactly as if RabbitMQ
    went away, while the shared RabbitMQ (and the test's own consumer) keep running.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def assert_every_final_version_delivered(
    engine: Engine, collector: StockChangedCollector, tenant_id: str, log_path: Path
) -> None:
    """The consumer ends up with every SKU's final version and availability; the outbox is drained."""
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


@pytest.fixture
def migrated_url(postgres_url: str) -> str:
    migrate("inventory", postgres_url)
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

    def adjust(n: int) -> None:
        line = pb.AdjustmentLine(
            sku=SKUS[n % len(SKUS)], delta=1 + n % 3, reason=pb.ADJUSTMENT_REASON_RECEIVED
        )
        stub.Adjust(
            pb.AdjustRequest(line=line), metadata=internal_metadata(tenant_id, "crash-test"), timeout=30
        )

    collector = StockChangedCollector(amqp_url, tenant_id)
    engine = make_engine(migrated_url)
    log_path = tmp_path / "worker.log"
    try:
        with contextlib.ExitStack() as workers:
            first = workers.enter_context(inventory_worker(migrated_url, amqp_url, log_path))
            # The first event proves the worker is up and relaying before the stream starts.
            adjust(0)
            assert collector.wait_until(lambda: collector.messages > 0, DELIVERY_DEADLINE_SECONDS), (
                log_path.read_text()
            )
            for n in range(1, ADJUSTMENTS):
                if n == 350:
                    kill_9(first)
                if n == 650:
                    # The changes made while no worker ran wait in the outbox for the new one.
                    assert count_unsent(engine, models.outbox) > 0
                    workers.enter_context(inventory_worker(migrated_url, amqp_url, log_path))
                adjust(n)

            assert_every_final_version_delivered(engine, collector, tenant_id, log_path)
    finally:
        collector.close()
        engine.dispose()


def test_cutting_the_broker_link_mid_stream_loses_no_stock_change(
    migrated_url: str, amqp_url: str, stub: pb_grpc.InventoryServiceStub, tmp_path: Path
) -> None:
    tenant_id = f"cut-{uuid.uuid4().hex[:8]}"

    def adjust(n: int) -> None:
        line = pb.AdjustmentLine(sku=SKUS[n % len(SKUS)], delta=1, reason=pb.ADJUSTMENT_REASON_RECEIVED)
        stub.Adjust(
            pb.AdjustRequest(line=line), metadata=internal_metadata(tenant_id, "crash-test"), timeout=30
        )

    broker = urlparse(amqp_url)
    proxy = TcpProxy((broker.hostname or "127.0.0.1", broker.port or 5672))
    proxy.start()
    worker_amqp_url = broker._replace(
        netloc=f"{broker.username}:{broker.password}@127.0.0.1:{proxy.port}"
    ).geturl()
    collector = StockChangedCollector(amqp_url, tenant_id)
    engine = make_engine(migrated_url)
    log_path = tmp_path / "worker.log"
    try:
        with inventory_worker(migrated_url, worker_amqp_url, log_path) as worker:
            adjust(0)
            assert collector.wait_until(lambda: collector.messages > 0, DELIVERY_DEADLINE_SECONDS), (
                log_path.read_text()
            )
            for n in range(1, 400):
                if n == 100:
                    proxy.cut()
                if n == 300:
                    # No confirm can arrive while the link is down, so the changes made since the
                    # cut are still unsent. (nameko's dispatcher does not raise here: it keeps
                    # retrying until the broker is reachable again, and then the relay resumes.)
                    assert count_unsent(engine, models.outbox) > 0
                    assert worker.process.poll() is None
                    proxy.start()
                adjust(n)
            assert_every_final_version_delivered(engine, collector, tenant_id, log_path)
            assert worker.process.poll() is None, "the worker must survive a broker outage"
    finally:
        proxy.cut()
        collector.close()
        engine.dispose()
