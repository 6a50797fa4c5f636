"""OS locks for the module-level locks that a nameko worker's hub and its OS threads both take.

Why: nameko run monkey-patches the process, so every `threading.Lock()` is a green lock. The
workers also run real OS threads (eventlet's tpool for blocking gRPC calls, the channels sync
dispatcher's pool). A green lock taken by two OS threads fails the moment it is contended: the
releaser schedules the waiter on its own hub, which cannot switch to a greenlet of another thread
("greenlet.error: Cannot switch to a different thread"), and that hub's timers never run again.
Seen four times: the logging locks (the channels worker stopped consuming in CI), two client locks
of our own, and grpc's observability lock (the orders worker stopped importing after 4,410 orders
of a 10,000-order run).

The locks replaced here are every one that `omnistock_devtools.green_locks` finds taken, blocking,
by more than one OS thread while OS threads make gRPC calls and log and the hub does the same
(libs/omnistock_common/tests/test_shared_locks.py runs that check). Each guards a few dictionary
operations that never yield to the hub, so an OS lock blocks a hub for microseconds at most. Locks
our own code makes for OS threads come from `os_threading()` instead (`clients.PerThreadStub`).
"""

from __future__ import annotations

import logging
import sys
import threading
from types import ModuleType
from typing import Any


def os_threading() -> ModuleType:
    """The threading module of the operating system, even in a monkey-patched process."""
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None and patcher.is_monkey_patched("thread"):
        original: ModuleType = patcher.original("threading")
        return original
    return threading


def _os_rlock() -> Any:
    return os_threading().RLock()


def use_os_locks() -> None:
    """Give the shared module-level locks OS locks. Workers call it once at import (nameko applies
    its LOGGING config before it imports the service module, so the handlers exist by then)."""
    # logging: the module lock (getLogger, config) and each handler's lock (one stderr write).
    logging._lock = _os_rlock()  # type: ignore[attr-defined]
    for ref in list(logging._handlerList):  # type: ignore[attr-defined]
        handler = ref()
        if handler is not None:
            handler.lock = _os_rlock()
    # threading's registry of threads: eventlet's green current_thread() reads it under this lock
    # from any thread that asks (grpc does on every call; so does every LogRecord).
    threading._active_limbo_lock = os_threading().Lock()  # type: ignore[attr-defined]
    # grpc takes its observability-plugin lock twice per client call, from whichever thread calls.
    import grpc._observability

    grpc._observability._plugin_lock = os_threading().Lock()  # type: ignore[attr-defined]
