"""omnistock_common.stop_deadline: after SIGTERM the process exits within the deadline even when
its graceful stop never finishes, and the handler installed before (nameko's) still runs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

CHILD = """
import signal, sys, time
from omnistock_common.stop_deadline import install_stop_deadline

def graceful(signum, frame):  # stands in for nameko's handler: starts a stop that never ends
    print("graceful stop started", flush=True)

signal.signal(signal.SIGTERM, graceful)
assert install_stop_deadline(1.0)
assert not install_stop_deadline(5.0)  # once per process
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


def test_sigterm_exits_within_the_deadline_after_running_the_previous_handler() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        assert child.stdout.readline().strip() == "graceful stop started"
        assert child.wait(10) == 0
        assert time.monotonic() - sent >= 0.9  # the graceful stop had its time first
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)
