"""Finds green locks that more than one OS thread takes, in an eventlet-patched process.

Why: such a lock kills the hub the first time it is contended (omnistock_common.shared_locks says
how), and contention is a matter of timing, so a test that waits for the crash proves little. This
records every blocking acquire of an eventlet semaphore (what `threading.Lock()` is once patched)
with the OS thread that made it; a lock with two or more threads is the bug, whether or not it was
contended this time. Non-blocking acquires (SQLAlchemy's cache trims with acquire(False)) never
wait, so they are not counted.

Import this module BEFORE eventlet.monkey_patch() (it keeps the real thread id function), then
`watch()`, run the workload, and read `shared()`.
"""

from __future__ import annotations

import _thread
import traceback
from collections.abc import Callable
from typing import Any

# Captured at import, before any patching replaces _thread.get_ident with a greenlet id.
_os_thread_id: Callable[[], int] = _thread.get_ident
_threads_by_lock: dict[int, set[int]] = {}
_site_by_lock: dict[int, str] = {}
_INTERNAL = ("threading.py", "contextlib.py", "eventlet/", "green_locks.py")


def _site() -> str:
    """The innermost frame outside threading, contextlib and eventlet: who took the lock."""
    for frame in reversed(traceback.extract_stack()):
        if not frame.filename.endswith(_INTERNAL) and "/eventlet/" not in frame.filename:
            return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return "?"


def watch() -> None:
    """Start recording. Call in the monkey-patched process before the workload."""
    from eventlet import semaphore

    original = semaphore.Semaphore.acquire

    def acquire(self: Any, blocking: bool = True, timeout: float | None = None) -> Any:
        if blocking:
            threads = _threads_by_lock.setdefault(id(self), set())
            thread = _os_thread_id()
            if thread not in threads:
                threads.add(thread)
                if len(threads) > 1:
                    _site_by_lock.setdefault(id(self), _site())
        return original(self, blocking, timeout)

    semaphore.Semaphore.acquire = acquire  # type: ignore[method-assign]


def shared() -> list[str]:
    """Where each lock taken by two or more OS threads was taken by the second one."""
    return sorted(f"{site} ({len(_threads_by_lock[lock])} threads)" for lock, site in _site_by_lock.items())
