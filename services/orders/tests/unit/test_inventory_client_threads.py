"""The worker's inventory client on tpool OS threads of a monkey-patched process: many threads
making their first call at once must all get through (the 10,000-order benchmark stopped at 11
orders when its lock was a green one)."""

from __future__ import annotations

import json
import subprocess
import sys

PATCHED_WORKER = """
import eventlet
eventlet.monkey_patch()
import json
from eventlet import patcher

from omnistock_common.context import CallContext
from omnistock_common.shared_locks import use_os_locks
from orders.inventory_client import InventoryStock
from orders.service.ports import HoldRequest

use_os_locks()  # as orders.worker does at import
os_threading = patcher.original("threading")
ctx = CallContext(tenant_id="t1")
request = HoldRequest(key="c:1", order_ref="o1", lines=(("SKU", 1),))
stuck = 0
outcomes = []
for _ in range(5):
    # Nothing listens on port 9: each call fails at once, after its stub was made under the lock.
    stock = InventoryStock("127.0.0.1:9", 2.0)
    stock.use_os_threads(os_threading)
    barrier = os_threading.Barrier(8)

    def first_call():
        barrier.wait()
        try:
            stock.hold(ctx, request)
            outcomes.append("held")
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [os_threading.Thread(target=first_call, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    stuck += sum(thread.is_alive() for thread in threads)
    if stuck:
        break
print(json.dumps({"stuck": stuck, "outcomes": sorted(set(outcomes)), "calls": len(outcomes)}))
"""


def test_first_calls_on_many_os_threads_at_once_all_return() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PATCHED_WORKER], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"stuck": 0, "outcomes": ["StockUnavailable"], "calls": 40}, done.stderr[-2000:]
