"""Issue 14 restart acceptance: the sync Redis loses its data mid-stream, and every channel still
ends at OmniStock's figures within 60 s, without waiting for the hourly reconciliation.

Real inventory server (its own PostgreSQL database: the truth, read back with GetSkuStock), its
real outbox relayed into the sync store (the broker hop is the only thing left out: the intake is
the worker's, `EpochWatch.record_or_flag`), the real connectors and sandboxes, the channels
database on PostgreSQL, and Redis: the test's OWN database (`redis_url`), wiped with FLUSHDB
(never FLUSHALL: other databases of the server belong to others). The flushes run as in the
worker: a SyncDispatcher ticked every 0.1 s, and `EpochWatch.check` every 0.5 s (the worker's
timer runs it every second).

The changes recorded just before the wipe were never pushed (the ticking is paused for them) and
no later change touches their SKUs, so only the recovery can bring them to the channels.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis as redis_lib

from channels.sync.dispatch import SyncDispatcher
from channels.sync.engine import SyncEngine
from channels.sync.recovery import EPOCH_KEY, EpochWatch
from channels.sync.settings import SyncSettings

# The channels database: PostgreSQL only (what is tested does not depend on it).
pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]
Stack = Any  # conftest.Stack
TENANT = "tenant-sync"
SKUS = [f"R{i:02d}" for i in range(20)]
LOST = SKUS[:10]  # changed just before the wipe, never again
LATER = SKUS[10:]  # changed after the wipe (the stream goes on)
CONVERGENCE_SECONDS = 60.0


@contextmanager
def worker_ticking(
    engine: SyncEngine, watch: EpochWatch, paused: threading.Event
) -> Iterator[SyncDispatcher]:
    dispatcher = SyncDispatcher(engine)
    stop = threading.Event()

    def run() -> None:
        checked = 0.0
        while not stop.is_set():
            if not paused.is_set():
                if time.monotonic() - checked >= 0.5:
                    watch.check(engine)
                    checked = time.monotonic()
                dispatcher.tick()
            stop.wait(0.1)

    thread = threading.Thread(target=run, name="flush-timer", daemon=True)
    thread.start()
    try:
        yield dispatcher
    finally:
        stop.set()
        thread.join(10)
        dispatcher.close()


def wait_for(done: Callable[[], bool], seconds: float, what: str) -> float:
    started = time.monotonic()
    while not done():
        assert time.monotonic() - started < seconds, f"{what}: not within {seconds:g} s"
        time.sleep(0.05)
    return time.monotonic() - started


def test_the_sync_redis_losing_its_data_mid_stream_converges_within_60_s(
    own_redis_stack: Stack, inventory_side: Any
) -> None:
    stack = own_redis_stack
    stack.seed(dict.fromkeys(SKUS, 0))
    deps = stack.channels.parts.deps
    engine = SyncEngine(
        deps.uow, stack.redis, deps.caller, settings=SyncSettings(), inventory=inventory_side.port
    )
    watch = EpochWatch()

    def intake(payload: dict[str, Any]) -> int:
        return watch.record_or_flag(engine, payload)

    def on_channels(expected: dict[str, int]) -> bool:
        return stack.woo.inventory() == expected and stack.shopify.inventory() == expected

    paused = threading.Event()
    with worker_ticking(engine, watch, paused) as dispatcher:
        for sku in SKUS:
            inventory_side.change(sku, 10)
        inventory_side.relay(intake)
        wait_for(lambda: on_channels(dict.fromkeys(SKUS, 10)), 30, "the starting figures on both channels")
        assert stack.redis.get(EPOCH_KEY) is not None and watch.recoveries == 1  # a fresh store

        # The stream: changes relayed as they happen while the flusher runs.
        for n in range(20):
            inventory_side.change(SKUS[n], -1 - n % 3)
            inventory_side.relay(intake)
        # These are recorded, then lost with Redis before any flush pushed them.
        paused.set()
        wait_for(lambda: not dispatcher.running(), 30, "the running flushes to finish")
        for n, sku in enumerate(LOST):
            inventory_side.change(sku, 5 if n % 2 else -3)
        assert inventory_side.relay(intake) > 0
        assert stack.redis.flushdb()
        wiped = time.monotonic()
        paused.clear()
        # ... and the stream goes on, on the other SKUs.
        for n, sku in enumerate(LATER):
            inventory_side.change(sku, -2 if n % 2 else 4)
            inventory_side.relay(intake)

        truth = inventory_side.truth(SKUS)
        assert sorted(truth) == SKUS
        wait_for(
            lambda: on_channels(truth),
            CONVERGENCE_SECONDS - (time.monotonic() - wiped),
            "both channels at OmniStock's figures after the wipe",
        )
        print(f"converged {time.monotonic() - wiped:.2f}s after FLUSHDB")
    assert watch.recoveries == 2
    assert stack.redis.get(EPOCH_KEY) is not None


def test_an_intake_that_failed_on_redis_triggers_the_recovery_once_redis_answers(
    own_redis_stack: Stack, inventory_side: Any
) -> None:
    """Redis unreachable for a moment (a restart WITH persistence keeps the sentinel): the event
    that arrived meanwhile was acknowledged and dropped, so the next check re-pushes anyway."""
    stack = own_redis_stack
    stack.seed({"CUP": 0})
    deps = stack.channels.parts.deps
    engine = SyncEngine(
        deps.uow, stack.redis, deps.caller, settings=SyncSettings(), inventory=inventory_side.port
    )
    watch = EpochWatch()
    assert watch.check(engine)  # a fresh store: the sentinel is written
    assert not watch.check(engine)

    inventory_side.change("CUP", 6)
    down = SyncEngine(
        deps.uow,
        redis_lib.Redis(port=free_port(), socket_connect_timeout=1),
        deps.caller,
        settings=SyncSettings(),
        inventory=inventory_side.port,
    )
    with pytest.raises(redis_lib.ConnectionError):
        inventory_side.relay(lambda payload: watch.record_or_flag(down, payload))
    assert stack.redis.get(EPOCH_KEY) is not None  # nothing says the store lost anything...
    assert watch.check(engine)  # ... but the failed intake does
    paused = threading.Event()
    with worker_ticking(engine, watch, paused):
        wait_for(
            lambda: stack.woo.inventory()["CUP"] == 6 and stack.shopify.inventory()["CUP"] == 6,
            CONVERGENCE_SECONDS,
            "the change whose intake failed, on both channels",
        )
    assert watch.recoveries == 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
