"""The worker's per-OS-thread clients lock with OS locks when given eventlet's original threading
(as composition.build_runtime does): once nameko run has patched the process, `threading.Lock()`
is green, and a green lock contended by two tpool threads parks the loser on its own thread's
hub for good (the orders worker stopped that way, orders/inventory_client.py)."""

from __future__ import annotations

import json
import subprocess
import sys

PATCHED_WORKER = """
import eventlet
eventlet.monkey_patch()
import json
import threading
from eventlet import patcher

from channels.catalog_client import PerThreadCatalog
from channels.sync.inventory_source import GrpcInventory
from channels.sync.runtime import PerThreadConnectors, PerThreadRedis

os_threading = patcher.original("threading")
os_lock = type(os_threading.Lock())
green_lock = type(threading.Lock())
clients = {
    "redis": PerThreadRedis("redis://127.0.0.1:9/0", os_threading.local, os_threading),
    "connectors": PerThreadConnectors({"shopify": "127.0.0.1:9"}, 1.0, os_threading.local, os_threading),
    "inventory": GrpcInventory("127.0.0.1:9", 1.0, os_threading.local, os_threading),
    "catalog": PerThreadCatalog("127.0.0.1:9", 1.0, os_threading.local, os_threading),
}
first_use = {
    "redis": lambda c: c.connection_pool,
    "connectors": lambda c: c.get("shopify"),
    "inventory": lambda c: c._stubs.get(),
    "catalog": lambda c: c._stubs.get(),
}
barrier = os_threading.Barrier(8)
finished = []

def use_all():
    barrier.wait()
    for name, client in clients.items():
        first_use[name](client)
    finished.append(1)

threads = [os_threading.Thread(target=use_all, daemon=True) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(30)
print(json.dumps({
    "patched": green_lock is not os_lock,
    "os_locks": sorted(n for n, c in clients.items() if isinstance(getattr(c, "_stubs", c)._lock, os_lock)),
    "finished": len(finished),
}))
for client in clients.values():
    client.close()
"""


def test_the_worker_clients_lock_with_os_locks_and_serve_many_os_threads_at_once() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PATCHED_WORKER], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "patched": True,
        "os_locks": ["catalog", "connectors", "inventory", "redis"],
        "finished": 8,
    }
