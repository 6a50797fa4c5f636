"""Issue 14's acceptance: `make run`, Ctrl-C, `make run` again at once -> ready.

The dev runner itself (`python -m omnistock_devtools.devrun`, what `make run` calls after
migrating) runs as a child in its own process group, as in a terminal; Ctrl-C is SIGINT to that
group. The second run starts the moment the first has exited: the connections of the first run
(this test's own /readyz probes among them, closed by the gateway) are still in TIME-WAIT then, and
the runner's port check once counted them as "in use" and refused to start for up to a minute
(with that check's SO_REUSEADDR removed, this test fails on "gateway port ... is in use"). Each start must answer 200 on the gateway's /readyz within
READY_DEADLINE.

Isolation: every port comes from the variables devrun reads (the registry's port variables) and is
a free one; every database is a SQLite file of this test (migrated as `make migrate` does), never
var/; Redis is the test's own database and RabbitMQ a virtual host of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnistock_common.config import project_root
from omnistock_devtools.devrun import port_variable
from omnistock_devtools.fullstack import MIGRATED_SERVICES, free_port, isolated_vhost
from omnistock_devtools.registry import Registry

pytestmark = [pytest.mark.rabbitmq, pytest.mark.redis, pytest.mark.slow]

READY_DEADLINE = 60.0
STOP_DEADLINE = 30.0


@pytest.fixture
def run_env(tmp_path: Path, redis_url: str, amqp_url: str) -> Iterator[dict[str, str]]:
    """What `make run` would see, with free ports, this test's databases, Redis and vhost."""
    registry = Registry.load()
    databases = {service: f"sqlite:///{tmp_path / service}.db" for service in MIGRATED_SERVICES}
    with isolated_vhost(amqp_url, prefix="omnistock-devrun") as (vhost_url, _isolated):
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "AMQP_URL": vhost_url,
            "LOG_LEVEL": "WARNING",
            **{f"{service.upper()}_DATABASE_URL": url for service, url in databases.items()},
            **{port_variable(d): str(free_port()) for d in registry.deployables if d.port is not None},
        }
        migrated = subprocess.run(
            [sys.executable, "-m", "omnistock_common.migrate_all", *MIGRATED_SERVICES],
            env=env,
            cwd=project_root(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert migrated.returncode == 0, migrated.stderr
        yield env


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "omnistock_devtools.devrun"],
            env=env,
            cwd=project_root(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> float:
    began = time.monotonic()
    while not _ready(url):
        assert process.poll() is None, log.read_text()[-5000:]
        assert time.monotonic() - began < READY_DEADLINE, log.read_text()[-5000:]
        time.sleep(0.2)
    return time.monotonic() - began


def _ctrl_c(process: subprocess.Popen[bytes], log: Path) -> None:
    """SIGINT to the whole group, as the terminal does; every process of the group must exit."""
    os.killpg(process.pid, signal.SIGINT)
    process.wait(STOP_DEADLINE)
    give_up = time.monotonic() + STOP_DEADLINE
    while _group_alive(process.pid):
        assert time.monotonic() < give_up, ("processes left after Ctrl-C", log.read_text()[-5000:])
        time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    if _group_alive(process.pid):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(10)


def test_make_run_stopped_with_ctrl_c_starts_again_at_once(run_env: dict[str, str], tmp_path: Path) -> None:
    gateway = Registry.load().of_kind("gateway")[0]
    url = f"http://127.0.0.1:{run_env[port_variable(gateway)]}"
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"

    first = _start(run_env, first_log)
    try:
        first_ready = _wait_ready(first, url, first_log)
        _ctrl_c(first, first_log)
    finally:
        _kill_group(first)
    assert not _ready(url)

    second = _start(run_env, second_log)
    try:
        second_ready = _wait_ready(second, url, second_log)
        _ctrl_c(second, second_log)
    finally:
        _kill_group(second)
    print(f"first run ready in {first_ready:.1f}s, second in {second_ready:.1f}s")
