"""Issue 14 shutdown hygiene: the channels worker (`nameko run ... channels.worker`) stops on
SIGTERM within 10 s, with no greenlet error in its output, while its dispatcher's OS threads are
busy pushing (the Shopify sandbox hangs on every call, so a flush thread is inside a connector
call when the signal comes) and its timers run.

Real sandboxes, connectors, channels database (SQLite: the wiring does not depend on it), Redis
and RabbitMQ (a private virtual host).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from nameko.standalone.events import event_dispatcher

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
Stack = Any  # conftest.Stack
QUEUE = "evt-inventory-stock_changed--channels_sync.on_stock_changed"
STOP_SECONDS = 10.0
# What eventlet prints when a green primitive is used from another OS thread.
GREENLET_ERRORS = ("greenlet.error", "Cannot switch to a different thread")


def test_sigterm_stops_the_channels_worker_within_10_s_without_greenlet_errors(
    stack: Stack, vhost_url: str, tmp_path: Path
) -> None:
    stack.seed({"CUP": 0})
    # Increases are not held for Shopify's hanging order feed: the push to WooCommerce (the sign
    # that the worker runs) comes at once.
    env = stack.worker_env(vhost_url, SYNC_MAX_INCREASE_HOLD_S="0")
    log_path = tmp_path / "worker.log"
    try:
        # On exit a worker still running is killed at once (stop_timeout=0): the SIGTERM is the test's.
        with stack.worker(env, log_path, 60, stop_timeout=0) as worker:
            worker.wait_until(lambda: queues_exist(vhost_url, QUEUE))
            assert stack.shopify.post("/_sandbox/faults", {"hang": True}).status_code == 200
            secret = load_internal_auth_settings(env).token_secret
            dispatch = event_dispatcher({"AMQP_URI": vhost_url})
            # Republished until WooCommerce shows it (the binding can trail the queue by a moment).
            event = sign_event(secret, "inventory.stock_changed", stack.event({"CUP": (3, 1)}))
            worker.wait_until(
                lambda: stack.woo.inventory().get("CUP") == 3,
                interval=0.1,
                between=every(3, lambda: dispatch("inventory", "stock_changed", event)),
            )
            # A flush thread is now inside a call to the hanging Shopify (its connector deadline is
            # 30 s): the worker must not wait for it.
            time.sleep(1.0)
            took = worker.seconds_to_stop_after_sigterm(STOP_SECONDS + 5)
    finally:
        stack.shopify.post("/_sandbox/faults", {"status": 0})
    output = log_path.read_text()
    assert took < STOP_SECONDS, f"stopped after {took:.1f}s\n{output[-5000:]}"
    for error in GREENLET_ERRORS:
        assert error not in output, output[-8000:]
    graceful = "graceful stop took longer" not in output
    print(f"channels worker stopped {took:.2f}s after SIGTERM (graceful: {graceful})")
