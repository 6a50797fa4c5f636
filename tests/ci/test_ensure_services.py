"""scripts/ensure-services.sh: loud for a developer, fatal under CI when a server stays down.

The servers' URLs are pointed at a listener of this test (up) or at closed port 1 (down): the
script only starts servers on their standard local ports, so nothing is started or stopped here.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure-services.sh"
DOWN_AMQP = "amqp://guest:guest@127.0.0.1:1/"


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def run_script(port: int, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"CI", "OMNISTOCK_REQUIRE_SERVERS"}}
    urls = {
        "TEST_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/postgres",
        "TEST_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "TEST_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{port}/",
    }
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env={**base, **urls, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_all_servers_up_passes_under_ci(listening_port: int) -> None:
    result = run_script(listening_port, CI="true")
    assert (result.returncode, result.stderr) == (0, "")


def test_a_server_down_fails_under_ci_and_is_named(listening_port: int) -> None:
    result = run_script(listening_port, CI="true", TEST_AMQP_URL=DOWN_AMQP)
    assert result.returncode == 1
    assert f"RabbitMQ at {DOWN_AMQP} is NOT reachable" in result.stderr
    assert "PostgreSQL" not in result.stderr and "Redis" not in result.stderr


def test_require_servers_switch_is_as_strict_as_ci(listening_port: int) -> None:
    result = run_script(listening_port, OMNISTOCK_REQUIRE_SERVERS="1", TEST_AMQP_URL=DOWN_AMQP)
    assert result.returncode == 1


def test_a_server_down_only_warns_a_developer(listening_port: int) -> None:
    result = run_script(listening_port, TEST_AMQP_URL=DOWN_AMQP)
    assert result.returncode == 0
    assert f"RabbitMQ at {DOWN_AMQP} is NOT reachable: its tests will be SKIPPED" in result.stderr
