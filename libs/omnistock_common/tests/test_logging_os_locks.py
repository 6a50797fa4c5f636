"""Workers log from OS threads (tpool, the sync dispatcher) in an eventlet-patched process: the
logging locks must be OS locks or the hub dies ("Cannot switch to a different thread", seen in CI
as a channels worker that stopped consuming events). Each case runs in its own process because
monkey-patching cannot be undone.

Without use_os_locks() the same script prints "hub dead" (or hangs) on every run tried here; that
case is not a test because contention is a matter of timing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import eventlet
    eventlet.monkey_patch()
    import logging, logging.config, sys, time
    logging.config.dictConfig({
        "version": 1,
        "handlers": {"h": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": ["h"]},
    })
    if sys.argv[1] == "os-locks":
        from omnistock_common.logging import use_os_locks
        use_os_locks()
    from eventlet import patcher
    os_threading = patcher.original("threading")
    log = logging.getLogger("x")
    ticks = []

    def green_ticker():
        while True:
            ticks.append(1)
            log.info("green")
            eventlet.sleep(0.001)

    def os_thread():
        for i in range(1000):
            log.warning("os thread %s", i)

    eventlet.spawn(green_ticker)
    threads = [os_threading.Thread(target=os_thread, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    give_up = time.monotonic() + 10
    while any(t.is_alive() for t in threads) and time.monotonic() < give_up:
        eventlet.sleep(0.01)
    before = len(ticks)
    eventlet.sleep(0.3)
    print("hub alive" if len(ticks) > before else "hub dead", file=sys.__stdout__, flush=True)
    """
)


def _run(mode: str) -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=40
        )
    except subprocess.TimeoutExpired:
        return "hub dead (timed out)"
    return done.stdout.strip()


def test_with_os_locks_the_hub_survives_os_threads_logging_at_once() -> None:
    assert _run("os-locks") == "hub alive"
