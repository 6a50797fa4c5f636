"""A deadline on a worker's graceful stop: SIGTERM, then at most `seconds` before the process exits.

Why: `nameko run` answers SIGTERM by stopping its containers gracefully, which waits for every
running entry point. An entry point can be inside a call that lasts much longer than a
container's stop grace (a connector call bounded by its 30 s deadline, an order poll of several
connections one after the other, a relay publish that nameko retries until the broker is back),
and eventlet's own exit joins its tpool threads without a timeout. The orchestrator then kills the
process anyway, and `make run` waited for it. Everything the workers do is safe to cut at any
point (unacknowledged events are redelivered, unsent outbox rows are sent later, a flush lock
expires and the connection is due again), so after the deadline the process logs what it cut and
exits at once.

The watchdog is a real OS thread (eventlet's original threading in a monkey-patched worker), so a
hub that no longer runs cannot hold it up. Chains whatever SIGTERM handler is installed (nameko's).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from types import FrameType
from typing import Any

from omnistock_common.shared_locks import os_threading

log = logging.getLogger(__name__)

_installed: dict[str, float] = {}


def _exit_now(seconds: float) -> None:
    log.warning("the graceful stop took longer than %.0f s; exiting now (cut work is redone)", seconds)
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):  # exiting anyway
            handler.flush()
    os._exit(0)


def install_stop_deadline(seconds: float) -> bool:
    """After SIGTERM, exit the process within `seconds` however the graceful stop fares. Call once
    the runner installed its own SIGTERM handler (a DependencyProvider's `start`); later calls do
    nothing. Returns whether this call installed it."""
    if "seconds" in _installed:
        return False
    _installed["seconds"] = seconds
    previous = signal.getsignal(signal.SIGTERM)
    threads = os_threading()

    def on_sigterm(signum: int, frame: FrameType | None) -> Any:
        if "armed" not in _installed:
            _installed["armed"] = seconds
            watchdog = threads.Timer(seconds, _exit_now, args=(seconds,))
            watchdog.daemon = True
            watchdog.start()
        if callable(previous):
            return previous(signum, frame)
        if previous == signal.SIG_DFL:
            raise SystemExit(128 + signum)
        return None

    signal.signal(signal.SIGTERM, on_sigterm)
    return True


__all__ = ["install_stop_deadline"]
