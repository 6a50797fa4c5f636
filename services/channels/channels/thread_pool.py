"""A fixed set of threads taking queued jobs one at a time: the sync dispatcher's and the
notifier's, in the worker made of eventlet's ORIGINAL threading module (OS threads, OS locks:
green primitives shared with OS threads kill the hub, see docs/development.md).

Two admission rules: `max_queued=None` accepts a job only when an idle thread will take it at
once (the dispatcher: a due connection never waits behind busy ones; another tick or replica takes
it), an int lets up to that many jobs wait (the notifier: alerts are short and worth sending).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from types import ModuleType

log = logging.getLogger(__name__)


class ThreadPool:
    def __init__(
        self, size: int, threads: ModuleType = threading, name: str = "pool", max_queued: int | None = None
    ) -> None:
        self.size = size
        self.name = name
        self._max_queued = max_queued
        self._lock = threads.Lock()
        self._ready = threads.Condition(self._lock)
        self._jobs: deque[Callable[[], None]] = deque()
        self._idle = 0
        self._closed = False
        self._threads = [
            threads.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def idle(self) -> int:
        """Threads that would take a job submitted now."""
        with self._lock:
            return max(0, self._idle - len(self._jobs))

    def submit(self, job: Callable[[], None]) -> bool:
        """Queue `job`; False (nothing queued) when closed or when the admission rule refuses."""
        with self._lock:
            if self._closed:
                return False
            if self._max_queued is None:
                if self._idle - len(self._jobs) <= 0:
                    return False
            elif len(self._jobs) >= self._max_queued:
                return False
            self._jobs.append(job)
            self._ready.notify()
            return True

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
                while not self._jobs and not self._closed:
                    self._ready.wait()
                self._idle -= 1
                if not self._jobs:  # closed, nothing left
                    return
                job = self._jobs.popleft()
            try:
                job()
            except Exception:  # a job logs its own failures; the thread must survive anything
                log.exception("%s job failed", self.name)

    def close(self, timeout: float, *, drain: bool = False) -> int:
        """Stop taking jobs; `drain` lets the threads finish what is queued, else it is dropped.
        Waits up to `timeout` in all and returns how many threads are still busy (daemon threads:
        a hung call does not keep the process alive)."""
        with self._lock:
            self._closed = True
            if not drain:
                self._jobs.clear()
            self._ready.notify_all()
        give_up = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, give_up - time.monotonic()))
        return sum(1 for thread in self._threads if thread.is_alive())


__all__ = ["ThreadPool"]
