"""make_engine(threads=...) in an eventlet-patched process whose OS threads share one engine.

The channels worker runs its jobs on eventlet tpool threads and a pool of OS threads, all over one
engine. With SQLAlchemy's own (green, after monkey_patch) pool locks, two OS threads contending
for one lost the wake-up and hung for good: an eager timer of the worker never ran again. The
script below runs in a child process (monkey-patching is process-wide) and makes the two
contentions happen for sure: every thread opens its first connection at once while a slow
`connect` listener holds SQLAlchemy's first-connect mutex, and a one-connection pool without
overflow makes every checkout but one wait for the connection. Each thread must finish before a
deadline; a hung one fails the run (exit 3) instead of hanging the test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

THREADS = 8
SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    import eventlet
    eventlet.monkey_patch()
    from eventlet import patcher
    from sqlalchemy import event, text
    from omnistock_common.db import make_engine

    os_threading = patcher.original("threading")
    os_time = patcher.original("time")
    url, count = sys.argv[1], int(sys.argv[2])
    engine = make_engine(url, pool_size=1, max_overflow=0, threads=os_threading)

    @event.listens_for(engine, "connect")
    def slow_first_connect(dbapi_conn, record):
        os_time.sleep(0.05)  # under SQLAlchemy's first-connect mutex: the others must wait

    done = []
    start = os_threading.Barrier(count)

    def work():
        start.wait()
        for _ in range(5):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                os_time.sleep(0.005)  # hold the only connection: the others wait for it
        done.append(1)

    threads = [os_threading.Thread(target=work, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    deadline = os_time.monotonic() + 20
    for thread in threads:
        thread.join(max(0.0, deadline - os_time.monotonic()))
    print(f"finished {len(done)} of {count}", flush=True)
    os._exit(0 if len(done) == count else 3)  # a hung daemon thread must not hold the exit
    """
)


@pytest.mark.slow
def test_os_threads_sharing_an_engine_under_eventlet_never_hang(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, url, str(THREADS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr[-3000:]}"
    assert f"finished {THREADS} of {THREADS}" in run.stdout
