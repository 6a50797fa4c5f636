"""The channels worker's thread pool (dispatcher, notifier) stops cleanly: idle threads end at
once, a job still running after the grace is reported (runtime.Runtime.close then leaves its
clients alone)."""

from __future__ import annotations

import threading

from channels.thread_pool import ThreadPool


def test_close_ends_idle_threads_and_reports_a_job_still_running() -> None:
    pool = ThreadPool(3, name="test")
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
    pool = ThreadPool(4, name="idle")
    assert pool.close(timeout=5) == 0


def test_with_a_queue_jobs_wait_up_to_the_cap_and_drain_on_close() -> None:
    """The notifier's rule: alerts wait for a free thread (at most `max_queued`), and closing with
    `drain` still sends the ones queued."""
    pool = ThreadPool(1, name="queued", max_queued=2)
    release = threading.Event()
    started = threading.Event()
    done: list[int] = []

    def stuck() -> None:
        started.set()
        release.wait(10)

    assert pool.submit(stuck)
    assert started.wait(5)
    assert pool.submit(lambda: done.append(1)) and pool.submit(lambda: done.append(2))
    assert not pool.submit(lambda: done.append(3))  # the cap
    release.set()
    assert pool.close(timeout=5, drain=True) == 0
    assert done == [1, 2]
