"""omnistock_devtools.worker_process with plain processes standing in for nameko: a dead worker and
a passed deadline fail the wait with the log's tail; the process is stopped on exit."""

from __future__ import annotations

import os
import signal
import time
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from omnistock_devtools.worker_process import RunningWorker, every, running_worker

CONFIG = "services/inventory/worker.yaml"


def test_a_worker_that_exits_fails_the_wait_with_its_log(tmp_path: Path) -> None:
    log_path = tmp_path / "worker.log"
    command = ["sh", "-c", "echo boom-from-the-worker; exit 3"]
    with running_worker(CONFIG, "fake", env=os.environ, log_path=log_path, deadline=30, command=command) as w:
        with pytest.raises(AssertionError, match="boom-from-the-worker"):
            w.wait_until(lambda: False, interval=0.05)
        assert w.process.returncode == 3


def test_a_passed_deadline_fails_the_wait_and_the_worker_is_stopped_on_exit(tmp_path: Path) -> None:
    log_path = tmp_path / "worker.log"
    command = ["sh", "-c", "echo still-starting; exec sleep 30"]
    rounds: list[int] = []
    started = time.monotonic()
    with running_worker(
        CONFIG, "fake", env=os.environ, log_path=log_path, deadline=0.5, command=command
    ) as w:
        with pytest.raises(AssertionError) as failure:
            w.wait_until(
                lambda: False, interval=0.05, between=lambda: rounds.append(1), describe=lambda: "why"
            )
        assert "why" in str(failure.value)
        assert time.monotonic() - started < 5 and len(rounds) >= 2
        # A wait of its own: its timeout, not the (passed) worker deadline, applies.
        assert (
            w.wait_until(lambda: len(rounds) > 5 and "done", between=lambda: rounds.append(1), timeout=5)
            == "done"
        )
        assert w.process.poll() is None
        w.wait_until(lambda: "still-starting" in w.log(), interval=0.05, timeout=5)
    assert w.process.returncode == -signal.SIGTERM


def test_a_worker_ignoring_sigterm_fails_only_with_require_clean_stop(tmp_path: Path) -> None:
    command = ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"]

    def stubborn(log_name: str, require_clean_stop: bool) -> AbstractContextManager[RunningWorker]:
        return running_worker(
            CONFIG,
            "fake",
            env=os.environ,
            log_path=tmp_path / log_name,
            deadline=10,
            stop_timeout=0.5,
            require_clean_stop=require_clean_stop,
            command=command,
        )

    with stubborn("first.log", False) as w:
        w.wait_until(lambda: "ready" in w.log(), interval=0.05)
    assert w.process.returncode == -signal.SIGKILL
    with pytest.raises(AssertionError, match="after SIGTERM"), stubborn("second.log", True) as w:
        w.wait_until(lambda: "ready" in w.log(), interval=0.05)
    assert w.process.returncode == -signal.SIGKILL


def test_every_runs_its_action_at_once_then_at_most_every_interval() -> None:
    calls: list[float] = []
    step = every(0.2, lambda: calls.append(time.monotonic()))
    step()
    step()
    assert len(calls) == 1
    time.sleep(0.25)
    step()
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.2


def test_seconds_to_stop_after_sigterm_times_the_exit_and_gives_up_after_its_wait(tmp_path: Path) -> None:
    command = ["sh", "-c", "echo ready; exec sleep 30"]
    with running_worker(
        CONFIG, "fake", env=os.environ, log_path=tmp_path / "a.log", deadline=10, command=command
    ) as w:
        w.wait_until(lambda: "ready" in w.log(), interval=0.05)
        assert w.seconds_to_stop_after_sigterm(5) < 5
        assert w.process.returncode == -signal.SIGTERM
    command = ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"]
    with running_worker(
        CONFIG,
        "fake",
        env=os.environ,
        log_path=tmp_path / "b.log",
        deadline=10,
        stop_timeout=0,
        command=command,
    ) as w:
        w.wait_until(lambda: "ready" in w.log(), interval=0.05)
        assert w.seconds_to_stop_after_sigterm(0.3) >= 0.3
        assert w.process.poll() is None
    assert w.process.returncode == -signal.SIGKILL
