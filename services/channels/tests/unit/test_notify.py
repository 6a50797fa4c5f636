"""Sync-failure notifications are posted from whichever thread raises them, including the OS
threads of the monkey-patched channels worker (its tpool and sync dispatcher)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime

import httpx

from channels.notify import Notifier, SyncAlert

ALERT = SyncAlert(
    tenant_id="t1",
    connection_id="c1",
    channel_type="shopify",
    connection_name="Shop",
    status="error",
    previous_status="connected",
    operation="push_inventory",
    error="unavailable",
    error_count=3,
    at=datetime(2026, 1, 1, tzinfo=UTC),
)


def test_alerts_raised_on_several_threads_are_each_posted_once() -> None:
    received: list[dict[str, object]] = []
    lock = threading.Lock()

    def receiver(request: httpx.Request) -> httpx.Response:
        with lock:
            received.append(json.loads(request.content))
        return httpx.Response(204)

    notifier = Notifier(
        lambda tenant: f"https://hooks.example/{tenant}", transport=httpx.MockTransport(receiver)
    )
    outcomes: list[bool | None] = []

    def raise_alerts() -> None:
        for _ in range(5):
            outcomes.append(notifier.notify(ALERT).wait(10))

    threads = [threading.Thread(target=raise_alerts) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    notifier.close()
    assert outcomes == [True] * 20
    assert len(received) == 20 and received[0]["event"] == "channels.sync_failed"


def test_a_tenant_without_a_url_gets_no_post() -> None:
    calls: list[httpx.Request] = []
    notifier = Notifier(
        lambda tenant: "", transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(204))
    )
    assert notifier.notify(ALERT).wait(10) is False
    notifier.close()
    assert calls == []


GREEN_WORKER = """
import eventlet
eventlet.monkey_patch()
import json
from datetime import UTC, datetime

import httpx
from eventlet import patcher

from channels.notify import Notifier, SyncAlert
from omnistock_common.shared_locks import use_os_locks

use_os_locks()  # as channels.worker does at import: OS threads log the alerts
os_threading = patcher.original("threading")
alert = SyncAlert("t1", "c1", "shopify", "Shop", "error", "connected", "push_inventory", "x", 3,
                  datetime(2026, 1, 1, tzinfo=UTC))
notifier = Notifier(lambda tenant: "https://hooks.example/x",
                    transport=httpx.MockTransport(lambda request: httpx.Response(204)), threads=os_threading)
outcomes = []

def raise_alerts():
    for _ in range(5):
        outcomes.append(notifier.notify(alert).wait(10))

# As the worker's tpool and dispatcher threads do: OS threads raise the alerts, and the main
# (green) thread is blocked meanwhile, so nothing green gets to run.
threads = [os_threading.Thread(target=raise_alerts) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(30)
notifier.close()
print(json.dumps(outcomes))
"""


def test_in_a_monkey_patched_worker_alerts_from_os_threads_are_posted() -> None:
    """With green primitives (the former concurrent.futures pool) the OS threads' waits never
    ended or failed with "Cannot switch to a different thread"."""
    done = subprocess.run(
        [sys.executable, "-c", GREEN_WORKER], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [True] * 20
