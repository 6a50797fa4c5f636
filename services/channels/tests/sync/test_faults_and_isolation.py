"""Issue 14's fault and isolation acceptance tests, under production sync settings.

Real Shopify and WooCommerce sandboxes, the real connector gRPC servers and channels server
(conftest.stack), real Redis and PostgreSQL; the flushes run as in the worker: a SyncDispatcher
ticked every FLUSH_INTERVAL on its own thread, each connection on a thread of its pool. The
engine uses the production SyncSettings (backoff 1 s .. 15 s, order-poll interval 1 s, increase
hold 30 s) except where a test sets a tenant's hold. The bounds asserted are the issue's own; the
precise latencies are measured by bench/sync_latency.py.

- Fault: WooCommerce answers 500 five times and admits 1 request/s while 5 changes are made: all 5
  reach both channels within 30 s of the first; the sync log names every 500; health ends
  `connected`.
- Isolation: Shopify fails (500) or hangs on every call: a -1 reaches WooCommerce within 2 s, a +4
  restock within SYNC_MAX_INCREASE_HOLD_S + 5 s; the hold and its release are in WooCommerce's
  sync log and health.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from channels.sync import increase_hold, store
from channels.sync.dispatch import SyncDispatcher
from channels.sync.engine import SyncEngine
from channels.sync.settings import SyncSettings

# Timed acceptance runs (issue 14's bounds). They once missed them in CI: the channels worker's
# hub had died on green logging locks shared with OS threads (omnistock_common.shared_locks.use_os_locks).
# They measure time between channels, not storage: they run once, on PostgreSQL (production's
# database), instead of once per database (that doubled ~50 s of the suite for no coverage).
pytestmark = [
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.parametrize(
        "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]
# The `stack` fixture (conftest.py) is a conftest.Stack; test modules cannot import conftest here.
Stack = Any
TENANT = "tenant-sync"
# channels.worker.FLUSH_INTERVAL (not imported: that module loads eventlet and the worker's settings).
FLUSH_INTERVAL = 0.1
_HTTP_500 = re.compile(r"HTTP 500(?: \(x(\d+)\))?")


@pytest.fixture
def stack(own_redis_stack: Stack) -> Stack:
    """These tests time pushes against deadlines: their Redis database is their own (flushed
    before and after), so the due set holds no other test's connections. On the shared sync
    database it also holds the other pytest process's; in one CI run the +4 restock then landed
    5.5 s after the hold's end, where alone it lands within 0.2 s."""
    return own_redis_stack


@contextmanager
def worker_flushing(stack: Stack, settings: SyncSettings) -> Iterator[SyncEngine]:
    """A production-settings engine on the stack, its dispatcher ticked as the worker's timer does."""
    engine = SyncEngine(
        stack.channels.parts.deps.uow, stack.redis, stack.channels.parts.deps.caller, settings=settings
    )
    dispatcher = SyncDispatcher(engine)
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            dispatcher.tick()
            stop.wait(FLUSH_INTERVAL)

    thread = threading.Thread(target=tick, name="flush-timer", daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        stop.set()
        thread.join(5)
        dispatcher.close()


def record(stack: Stack, engine: SyncEngine, changes: dict[str, tuple[int, int]]) -> None:
    store.record_stock_changes(
        stack.redis, stack.channels.parts.deps.uow, stack.event(changes), settings=engine.settings
    )


def wait_for(done: Callable[[], bool], seconds: float, what: str) -> float:
    """Seconds until `done()`; fails after `seconds` (polled every 20 ms)."""
    started = time.monotonic()
    while not done():
        elapsed = time.monotonic() - started
        assert elapsed < seconds, f"{what}: not within {seconds:g} s"
        time.sleep(0.02)
    return time.monotonic() - started


def shown(box: Any, expected: dict[str, int]) -> bool:
    inventory = box.inventory()
    return all(inventory.get(sku) == qty for sku, qty in expected.items())


def start_in_sync(stack: Stack, skus: dict[str, int]) -> None:
    """Both channels show `skus` and OmniStock has pushed them (so later changes are +/-)."""
    stack.seed(dict.fromkeys(skus, 0))
    stack.record(stack.event({sku: (qty, 1) for sku, qty in skus.items()}))
    stack.flush_until(lambda: shown(stack.woo, skus) and shown(stack.shopify, skus))


def test_a_failing_throttled_channel_gets_every_change_within_30_s(stack: Stack) -> None:
    skus = {f"F{i}": 10 for i in range(5)}
    start_in_sync(stack, skus)
    fault = {"status": 500, "count": 5, "requests_per_second": 1}
    assert stack.woo.post("/_sandbox/faults", fault).status_code == 200
    stack.woo.reset_calls()
    # Three decreases and two restocks, 0.3 s apart.
    changes = {"F0": 9, "F1": 12, "F2": 7, "F3": 15, "F4": 8}
    with worker_flushing(stack, SyncSettings()) as engine:
        first = time.monotonic()
        for sku, qty in changes.items():
            record(stack, engine, {sku: (qty, 2)})
            time.sleep(0.3)
        wait_for(
            lambda: shown(stack.woo, changes) and shown(stack.shopify, changes),
            30 - (time.monotonic() - first),
            "all 5 changes on both channels (30 s from the first)",
        )
        print(f"all 5 changes on both channels {time.monotonic() - first:.2f}s after the first")
        wait_for(
            lambda: stack.connection(stack.woo_id).status.value == "connected", 10, "WooCommerce connected"
        )
    assert stack.woo.calls()["faulted"] == 5
    # Every 500 the connector met is in the sync log: in a failed call's message, or in the note
    # of the call that succeeded after retrying ("after retrying: HTTP 500 (x2), ...").
    log = stack.sync_log(stack.woo_id, 500)
    seen = sum(int(n or 1) for entry in log for n in _HTTP_500.findall(entry.message))
    assert seen == 5, [(e.operation, e.outcome, e.message) for e in log]
    health = stack.connection(stack.woo_id).health
    assert health.error_count == 0 and health.increases_held_since is None
    assert store.pending_snapshot(stack.redis, stack.woo_id) == {}


@pytest.mark.parametrize("failure", ["500", "hang"])
def test_a_broken_channel_never_delays_the_other(stack: Stack, failure: str) -> None:
    start_in_sync(stack, {"CUP": 5})
    if failure == "500":
        hold = 30.0  # the default SYNC_MAX_INCREASE_HOLD_S
        settings = SyncSettings()
        broken = {"status": 500, "count": 100000}
    else:
        hold = 10.0  # a per-tenant SYNC_MAX_INCREASE_HOLD_S
        settings = SyncSettings(increase_hold_by_tenant={TENANT: hold})
        broken = {"hang": True}
    assert stack.shopify.post("/_sandbox/faults", broken).status_code == 200
    try:
        with worker_flushing(stack, settings) as engine:
            record(stack, engine, {"CUP": (4, 2)})
            took = wait_for(lambda: stack.woo.inventory()["CUP"] == 4, 2.0, "-1 on WooCommerce")
            print(f"{failure}: -1 on WooCommerce after {took:.2f}s")

            record(stack, engine, {"CUP": (8, 3)})
            started = time.monotonic()
            wait_for(
                lambda: stack.connection(stack.woo_id).health.increases_held_since is not None,
                5,
                "WooCommerce's health shows the hold",
            )
            reason = stack.connection(stack.woo_id).health.increases_held_reason
            assert "Shopify" in reason, reason
            assert stack.woo.inventory()["CUP"] == 4  # held: Shopify's orders are not known
            took = wait_for(
                lambda: stack.woo.inventory()["CUP"] == 8,
                hold + 5 - (time.monotonic() - started),
                "+4 restock on WooCommerce",
            )
            print(f"{failure}: +4 on WooCommerce after {time.monotonic() - started:.2f}s (hold {hold:g}s)")
            assert took > 0
            assert stack.connection(stack.woo_id).health.increases_held_since is None
    finally:
        assert stack.shopify.post("/_sandbox/faults", {"status": 0}).status_code == 200
    holds = [e for e in stack.sync_log(stack.woo_id) if e.operation == increase_hold.HOLD_OPERATION]
    outcomes = [e.outcome for e in reversed(holds)]
    assert outcomes[:2] == ["held", "released"], [(e.outcome, e.message) for e in holds]
    assert "Shopify" in holds[0].message and f"SYNC_MAX_INCREASE_HOLD_S={hold:g}" in holds[0].message
    if failure == "500":
        assert stack.connection(stack.shopify_id).status.value in ("degraded", "error")
