"""Issue 14 restart acceptance tests through RabbitMQ, with the real workers.

Real inventory server (its own PostgreSQL database: the truth), the real inventory worker and
channels worker (`nameko run`), the real connectors and sandboxes, the channels database on
PostgreSQL, Redis and RabbitMQ.

- Relay killed between publish and mark: a relay process publishes a stock change (confirmed and
  routed) and is killed with SIGKILL before it marks the rows sent; the next relay publishes the
  same rows again (same event id). Consumers see the event twice and apply it once: the channels
  show the figure, and each channel got exactly one push for it.
- RabbitMQ restarted mid-stream: a PRIVATE RabbitMQ node of this test (own node name, port,
  data directory; the shared broker on 5672 is never touched) is stopped and started again while
  stock changes stream in; both workers reconnect by themselves and every channel ends at
  OmniStock's figures, with nothing left in the outbox.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kombu
import pytest
from sqlalchemy import create_engine

from channels.sync.recovery import EPOCH_KEY
from inventory import models as inventory_models
from omnistock_common.outbox_relay import count_unsent
from omnistock_devtools.worker_process import running_worker

# The channels database: PostgreSQL only (what is tested does not depend on it).
pytestmark = [
    pytest.mark.redis,
    pytest.mark.rabbitmq,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]
Stack = Any  # conftest.Stack
InventorySide = Any  # conftest.InventorySide
ROOT = Path(__file__).resolve().parents[4]
CHANNELS_QUEUE = "evt-inventory-stock_changed--channels_sync.on_stock_changed"
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"

# The relay of inventory's worker (inventory.relay + the worker's signing), publishing mandatory
# with confirms; with "kill" it SIGKILLs itself right after the broker confirmed the first event,
# i.e. between publish and mark.
RELAY_SCRIPT = """
import os, signal, sys
from kombu import Exchange
from nameko.amqp.publish import Publisher
from inventory import relay
from inventory.config import load_settings
from omnistock_common.config import load_internal_auth_settings
from omnistock_common.service_auth import sign_event

jobs = relay.build_jobs(load_settings())
secret = load_internal_auth_settings().token_secret
exchange = Exchange("inventory.events", type="topic", durable=True)
publisher = Publisher(os.environ["AMQP_URL"], use_confirms=True, mandatory=True, declare=[exchange])

def dispatch(routing_key, payload):
    signed = sign_event(secret, "inventory." + routing_key, payload)
    publisher.publish(signed, exchange=exchange, routing_key=routing_key)
    if sys.argv[1] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)

print("marked", jobs.relay(dispatch))
"""


def wait_for(done: Callable[[], bool], seconds: float, what: str) -> float:
    started = time.monotonic()
    while not done():
        assert time.monotonic() - started < seconds, f"{what}: not within {seconds:g} s"
        time.sleep(0.05)
    return time.monotonic() - started


def queue_bound(url: str, queue: str = CHANNELS_QUEUE) -> bool:
    try:
        with kombu.Connection(url, connect_timeout=2) as conn:
            conn.default_channel.queue_declare(queue, passive=True)
        return True
    except Exception:
        return False


def worker_env(stack: Stack, inventory_side: InventorySide, amqp_url: str) -> dict[str, str]:
    return {
        **os.environ,
        **stack.env,
        "AMQP_URL": amqp_url,
        "EVENTLET_THREADPOOL_SIZE": "16",
        "INVENTORY_ADDR": inventory_side.address,
        "INVENTORY_DATABASE_URL": inventory_side.url,
        # Not what these tests are about: restocks go out without waiting for order polls.
        "SYNC_MAX_INCREASE_HOLD_S": "0",
        "LOG_LEVEL": "WARNING",
    }


class Collector:
    """A queue of the test's own on `inventory.events` (stock_changed), bound before anything is
    published: every copy of every event, duplicates included."""

    def __init__(self, url: str) -> None:
        self.connection = kombu.Connection(url)
        exchange = kombu.Exchange("inventory.events", type="topic", durable=True)
        queue = kombu.Queue(
            f"test-restarts-{uuid.uuid4().hex[:8]}", exchange, "stock_changed", exclusive=True
        )
        self.events: list[dict[str, Any]] = []
        self.consumer = kombu.Consumer(
            self.connection.default_channel, [queue], callbacks=[self._on_message], accept=["json"]
        )
        self.consumer.consume()

    def _on_message(self, body: dict[str, Any], message: kombu.Message) -> None:
        self.events.append(body)
        message.ack()

    def wait_for(self, count: int, seconds: float) -> None:
        give_up = time.monotonic() + seconds
        while len(self.events) < count:
            assert time.monotonic() < give_up, f"{len(self.events)} of {count} events"
            with contextlib.suppress(TimeoutError):
                self.connection.drain_events(timeout=0.2)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.consumer.cancel()
        self.connection.release()


def pushes(stack: Stack, connection_id: str, sku: str) -> int:
    return sum(1 for e in stack.sync_log(connection_id) if e.operation == "push_inventory" and sku in e.skus)


def test_a_relay_killed_between_publish_and_mark_gives_duplicates_applied_once(
    stack: Stack, inventory_side: InventorySide, vhost_url: str, tmp_path: Path
) -> None:
    stack.seed({"CUP": 0})
    # The store is not "lost": no start-up re-push (recovery.py) adds a push of its own here.
    stack.redis.set(EPOCH_KEY, "present", nx=True)
    env = worker_env(stack, inventory_side, vhost_url)
    collector = Collector(vhost_url)
    outbox = create_engine(inventory_side.url)
    try:
        with running_worker(
            "services/channels/worker.yaml",
            "channels.worker",
            env=env,
            log_path=tmp_path / "channels.log",
            deadline=60,
            stop_timeout=15,
        ) as worker:
            worker.wait_until(
                lambda: queue_bound(vhost_url), interval=0.05, describe=lambda: "the channels worker's queue"
            )
            time.sleep(1.0)  # its binding trails the queue by a moment
            inventory_side.change("CUP", 7)

            killed = subprocess.run(
                [sys.executable, "-c", RELAY_SCRIPT, "kill"], cwd=ROOT, env=env, check=False
            )
            assert killed.returncode == -signal.SIGKILL
            collector.wait_for(1, 30)
            assert count_unsent(outbox, inventory_models.outbox) == 1  # published, never marked
            again = subprocess.run(
                [sys.executable, "-c", RELAY_SCRIPT, "ok"], cwd=ROOT, env=env, check=True, capture_output=True
            )
            assert b"marked 1" in again.stdout, again
            collector.wait_for(2, 30)
            assert count_unsent(outbox, inventory_models.outbox) == 0
            first, second = collector.events
            assert first["event_id"] == second["event_id"] and first["skus"] == second["skus"]

            wait_for(
                lambda: stack.woo.inventory()["CUP"] == 7 and stack.shopify.inventory()["CUP"] == 7,
                30,
                "the change on both channels",
            )
            time.sleep(1.5)  # time for the duplicate to be consumed (and ignored)
            assert worker.process.poll() is None
    finally:
        collector.close()
        outbox.dispose()
    assert (pushes(stack, stack.woo_id, "CUP"), pushes(stack, stack.shopify_id, "CUP")) == (1, 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateBroker:
    """A RabbitMQ node of this test only: its own node name, ports, data and log directories,
    config (no plugins, so no management port) and Erlang cookie (HOME). Stopped and started
    through ITS process id only; rabbitmqctl is never pointed at any node."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.node = f"omni-test-{secrets.token_hex(4)}@localhost"
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        (base / "rabbitmq-env.conf").write_text("")
        (base / "enabled_plugins").write_text("[].\n")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(base),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "node.pid"),
        }
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, seconds: float = 60) -> None:
        with (self.base / "server.out").open("ab") as out:
            self.process = subprocess.Popen(
                [RABBITMQ_SERVER], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        give_up = time.monotonic() + seconds
        while True:
            with contextlib.suppress(Exception), kombu.Connection(self.url, connect_timeout=1) as conn:
                conn.connect()
                return
            assert self.process.poll() is None, (self.base / "server.out").read_text()[-3000:]
            assert time.monotonic() < give_up, (self.base / "server.out").read_text()[-3000:]
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM to this node's own Erlang VM (a graceful stop), then wait for its script."""
        pid_file = self.base / "node.pid"
        if pid_file.exists() and (pid := pid_file.read_text().strip()).isdigit():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)
        if self.process is not None:
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    if not (os.path.exists(RABBITMQ_SERVER) and shutil.which("erl")):
        pytest.skip(f"a private RabbitMQ node needs {RABBITMQ_SERVER} and Erlang")
    base = tmp_path / "rabbitmq"
    base.mkdir()
    broker = PrivateBroker(base)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


SKUS = [f"Q{i}" for i in range(8)]


def test_rabbitmq_restarted_mid_stream_loses_nothing(
    stack: Stack, inventory_side: InventorySide, private_broker: PrivateBroker, tmp_path: Path
) -> None:
    stack.seed(dict.fromkeys(SKUS, 0))
    env = worker_env(stack, inventory_side, private_broker.url)
    outbox = create_engine(inventory_side.url)

    def on_channels(expected: dict[str, int]) -> bool:
        return stack.woo.inventory() == expected and stack.shopify.inventory() == expected

    log_path = tmp_path / "workers.log"  # both workers append to it
    try:
        with (
            running_worker(
                "services/channels/worker.yaml",
                "channels.worker",
                env=env,
                log_path=log_path,
                deadline=60,
                stop_timeout=15,
            ) as channels,
            running_worker(
                "services/inventory/worker.yaml",
                "inventory.worker",
                env=env,
                log_path=log_path,
                deadline=60,
                stop_timeout=15,
            ) as inventory,
        ):
            channels.wait_until(
                lambda: queue_bound(private_broker.url),
                interval=0.05,
                describe=lambda: "the channels worker's queue",
            )
            time.sleep(1.0)  # its binding trails the queue by a moment
            for sku in SKUS:
                inventory_side.change(sku, 10)
            wait_for(lambda: on_channels(dict.fromkeys(SKUS, 10)), 30, "the starting figures")

            for n in range(60):
                if n == 20:
                    private_broker.stop()
                if n == 40:
                    private_broker.start()
                inventory_side.change(SKUS[n % len(SKUS)], -1 if n % 3 else 2)
                time.sleep(0.05)
            truth = inventory_side.truth(SKUS)
            took = wait_for(lambda: on_channels(truth), 60, "every channel at OmniStock's figures")
            print(f"converged {took:.2f}s after the stream ended")
            wait_for(lambda: count_unsent(outbox, inventory_models.outbox) == 0, 30, "an empty outbox")
            assert channels.process.poll() is None and inventory.process.poll() is None, (
                "the workers must survive"
            )
    finally:
        outbox.dispose()
