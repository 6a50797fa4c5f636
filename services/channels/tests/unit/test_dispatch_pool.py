"""The dispatcher's thread pool stops cleanly: idle threads end at once, a job still running
after the grace is reported (runtime.Runtime.close then leaves its clients alone)."""

from __future__ import annotations

import threading

from channels.sync.dispatch import ConnectionPool


def test_close_ends_idle_threads_and_reports_a_job_still_running() -> None:
    pool = ConnectionPool(3, name="test")
    release = threading.Event()
    started = threading.Event()

    def stuck() -> None:
        started.set()
        release.wait(10)

    assert pool.submit(stuck)
    assert started.wait(5)
    assert pool.close(timeout=0.2) == 1
    assert not pool.submit(lambda: None)  # closed: takes nothing more
    release.set()
    assert pool.close(timeout=5) == 0


def test_close_of_an_idle_pool_leaves_no_thread() -> None:
    pool = ConnectionPool(4, name="idle")
    assert pool.close(timeout=5) == 0
