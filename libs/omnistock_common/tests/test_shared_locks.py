"""A monkey-patched worker whose OS threads make gRPC calls and log while its hub does the same
must share no green lock between threads (omnistock_common.shared_locks says why: the orders
worker's hub died after 4,410 orders of a 10,000-order import on grpc's observability lock).

Each case runs in its own process because monkey-patching cannot be undone. The check counts the
threads that took each lock (omnistock_devtools.green_locks), not crashes, so it does not depend on
contention happening in this run; the unprotected case shows it finds the locks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

SCRIPT = textwrap.dedent(
    """
    from omnistock_devtools import green_locks  # before patching: it keeps the real thread ids
    import eventlet
    eventlet.monkey_patch()
    import json, logging, logging.config, os, sys, time
    logging.config.dictConfig({
        "version": 1,
        "handlers": {"h": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": ["h"]},
    })
    mode, port = sys.argv[1], sys.argv[2]
    import grpc
    if mode == "os-locks":
        from omnistock_common.shared_locks import use_os_locks
        use_os_locks()  # as every worker does at import
    green_locks.watch()
    from eventlet import patcher, tpool
    local = patcher.original("threading").local()  # one channel per OS thread, as the workers keep
    log = logging.getLogger("x")

    def call(i):
        channel = getattr(local, "channel", None)
        if channel is None:
            channel = local.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        assert channel.unary_unary("/t.T/Echo")(b"x", timeout=10) == b"x"
        if i % 10 == 0:
            log.warning("call %s", i)

    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            log.info("green")
            eventlet.sleep(0.001)

    def report(hub_alive):
        result = {"hub_alive": hub_alive, "shared": green_locks.shared()}
        print(json.dumps(result), file=sys.__stdout__, flush=True)

    def watchdog():  # an OS thread: it reports even when the hub has died
        time.sleep(30)
        report(False)
        os._exit(1)

    patcher.original("threading").Thread(target=watchdog, daemon=True).start()
    eventlet.spawn(ticker)
    # Protected: 8 at once. Unprotected: one at a time, so the hub survives to report the locks
    # (the count of threads per lock does not need contention; 8 at once killed the hub here).
    concurrent, calls = (8, 300) if mode == "os-locks" else (1, 60)
    pool = eventlet.GreenPool(concurrent)
    for i in range(calls):
        # Mostly on tpool OS threads; now and then on the hub itself (tpool.execute does that
        # when the import lock is held).
        pool.spawn(call if i % 50 == 0 else tpool.execute, *((i,) if i % 50 == 0 else (call, i)))
    pool.waitall()
    before = len(ticks)
    eventlet.sleep(0.2)
    report(len(ticks) > before)
    """
)


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    """A plain (unpatched) gRPC server answering /t.T/Echo with the request bytes."""
    handler = grpc.method_handlers_generic_handler(
        "t.T", {"Echo": grpc.unary_unary_rpc_method_handler(lambda request, context: request)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(0)


def _run(mode: str, port: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(port)], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip(), done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_with_os_locks_no_green_lock_is_shared_between_threads(echo_port: int) -> None:
    report = _run("os-locks", echo_port)
    assert report["shared"] == []
    assert report["hub_alive"]


def test_without_them_grpc_and_logging_share_green_locks(echo_port: int) -> None:
    shared = "\n".join(_run("unprotected", echo_port)["shared"])
    assert "grpc/_observability.py" in shared
    assert "logging/__init__.py" in shared
