"""The pytest plugin (omnistock_devtools.testing): markers from fixtures, CI strictness, skip banner.

The behaviour is observed from outside: a throwaway test folder that enables the plugin is run by
pytest in a child process, with the server URLs pointed at a closed port (nothing here stops the
shared servers).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from omnistock_devtools.testing import (
    RABBITMQ,
    REDIS,
    forbidden_ports,
    markers_for,
    servers_forbidden,
    servers_required,
    skips_by_reason,
    unreachable_message,
)

CLOSED = "127.0.0.1:1"  # port 1 (tcpmux) is closed on any machine these tests run on
UNREACHABLE = {
    "TEST_DATABASE_URL": f"postgresql://postgres@{CLOSED}/postgres",
    "TEST_REDIS_URL": f"redis://{CLOSED}/0",
    "TEST_AMQP_URL": f"amqp://guest:guest@{CLOSED}/",
}

SAMPLE = """
import socket

import pytest


def test_pure():
    assert 1 + 1 == 2


def test_needs_redis(redis_url):
    assert redis_url


def test_needs_rabbitmq(amqp_url):
    assert amqp_url


def test_needs_postgres_through_a_factory(make_postgres_database):
    assert make_postgres_database


def test_runs_on_both_databases(database_url):
    assert database_url


@pytest.fixture
def built_on_redis(redis_url):
    return redis_url


def test_needs_redis_through_another_fixture(built_on_redis):
    assert built_on_redis


def test_needs_redis_and_rabbitmq(redis_url, amqp_url):
    assert redis_url and amqp_url


@pytest.mark.rabbitmq
def test_marked_by_hand_as_a_subprocess_test_would_be():
    pass


def test_reaches_redis_port_without_marker():
    try:
        socket.create_connection(("127.0.0.1", 6379), 0.2).close()
    except OSError:
        pass
"""


def run_pytest(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["omnistock_devtools.testing"]\n')
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider --strict-markers -rs\n")
    clean = {k: v for k, v in os.environ.items() if k not in {"CI", "OMNISTOCK_REQUIRE_SERVERS"}}
    clean.pop("OMNISTOCK_FORBID_SERVERS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:pytest_nameko", *args],
        cwd=tmp_path,
        env={**clean, **UNREACHABLE, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_servers_required_by_ci_or_the_explicit_switch() -> None:
    assert servers_required({"CI": "true"})
    assert servers_required({"CI": "1"})
    assert servers_required({"OMNISTOCK_REQUIRE_SERVERS": "1"})
    assert not servers_required({})
    assert not servers_required({"CI": "false", "OMNISTOCK_REQUIRE_SERVERS": "0"})
    assert servers_forbidden({"OMNISTOCK_FORBID_SERVERS": "1"})
    assert not servers_forbidden({})


def test_markers_come_from_the_fixture_closure() -> None:
    assert markers_for(["tmp_path"]) == set()
    assert markers_for(["stack", "redis_url", "amqp_url"]) == {"redis", "rabbitmq"}
    assert markers_for(["postgres_url", "make_postgres_database", "postgres_admin_url"]) == {"postgres"}


def test_forbidden_ports_include_defaults_and_configured_ports() -> None:
    ports = forbidden_ports({"TEST_REDIS_URL": "redis://127.0.0.1:7000/0"})
    assert {5432, 6379, 5672, 7000} <= ports


def test_unreachable_message_names_every_server_url_and_variable() -> None:
    down = [(REDIS, "redis://127.0.0.1:1/0"), (RABBITMQ, "amqp://127.0.0.1:1/")]
    strict = unreachable_message(down, required=True)
    assert strict.startswith(
        "Redis is not reachable at redis://127.0.0.1:1/0; RabbitMQ is not reachable at amqp://127.0.0.1:1/ "
    )
    assert "TEST_REDIS_URL, TEST_AMQP_URL" in strict
    assert unreachable_message(down[:1], required=False) == (
        "!!! Redis is not reachable at redis://127.0.0.1:1/0: test SKIPPED !!!"
    )


def test_skips_are_counted_by_reason() -> None:
    class Report:
        def __init__(self, reason: str) -> None:
            self.longrepr = ("x.py", 1, f"Skipped: {reason}")

    counts = skips_by_reason([Report("no Redis"), Report("no Redis"), Report("linux only")])
    assert counts == {"no Redis": 2, "linux only": 1}


def test_unit_selection_holds_only_tests_that_need_no_server(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--collect-only", "-q", "-m", "not (postgres or redis or rabbitmq)")
    assert result.returncode == 0, result.stdout + result.stderr
    selected = {line.split("::")[1] for line in result.stdout.splitlines() if "::" in line}
    assert selected == {
        "test_pure",
        "test_runs_on_both_databases[sqlite]",
        "test_reaches_redis_port_without_marker",
    }


@pytest.mark.parametrize("processes", [[], ["-n", "2", "--dist", "loadgroup"]], ids=["one-process", "xdist"])
def test_without_ci_an_unreachable_server_skips_loudly_with_counts(
    tmp_path: Path, processes: list[str]
) -> None:
    """Also under pytest-xdist (`make test`): the workers' unreachable servers reach the banner."""
    result = run_pytest(tmp_path, "-m", "postgres or redis or rabbitmq", *processes)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "7 skipped" in out
    assert "skips by reason" in out
    assert f"    2  !!! Redis is not reachable at redis://{CLOSED}/0: test SKIPPED !!!" in out
    assert f"    2  !!! RabbitMQ is not reachable at amqp://guest:guest@{CLOSED}/: test SKIPPED !!!" in out
    assert f"!!! PostgreSQL was NOT reachable at postgresql://postgres@{CLOSED}/postgres" in out


@pytest.mark.parametrize("switch", [{"CI": "true"}, {"OMNISTOCK_REQUIRE_SERVERS": "1"}])
def test_under_ci_an_unreachable_server_fails_and_is_named(tmp_path: Path, switch: dict[str, str]) -> None:
    result = run_pytest(tmp_path, "-m", "postgres or redis or rabbitmq", **switch)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "7 error" in out and "skipped" not in out.splitlines()[-1]
    assert f"RabbitMQ is not reachable at amqp://guest:guest@{CLOSED}/ (CI=true" in out
    assert f"Redis is not reachable at redis://{CLOSED}/0 (CI=true" in out
    assert f"PostgreSQL is not reachable at postgresql://postgres@{CLOSED}/postgres (CI=true" in out
    both = f"Redis is not reachable at redis://{CLOSED}/0; RabbitMQ is not reachable at amqp://guest:guest@{CLOSED}/"
    assert f"{both} (CI=true" in out
    assert f"!!! RabbitMQ was NOT reachable at amqp://guest:guest@{CLOSED}/: its tests were FAILED" in out


def test_under_ci_the_unit_selection_still_passes(tmp_path: Path) -> None:
    result = run_pytest(
        tmp_path, "-m", "not (postgres or redis or rabbitmq)", "-k", "not without_marker", CI="true"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed, 8 deselected" in result.stdout


def test_forbid_servers_fails_a_test_that_reaches_a_server_port_unmarked(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "-k", "without_marker", OMNISTOCK_FORBID_SERVERS="1")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "connected to server port(s) 127.0.0.1:6379 without a postgres/redis/rabbitmq marker" in out


def test_xdist_keeps_the_tests_sharing_rabbitmq_on_one_process(tmp_path: Path) -> None:
    """`make test` runs two processes; a test consuming nameko's fixed queues must never run
    beside another such test (testing.SERIAL_GROUP). Redis tests run on both: each process has
    its own Redis database (testing.RedisServer)."""
    result = run_pytest(tmp_path, "-n", "2", "--dist", "loadgroup", "-v")
    out = result.stdout
    ran = [line for line in out.splitlines() if "test_sample.py::" in line and line.startswith("[gw")]
    serial = {line.split()[0] for line in ran if "@shared-servers" in line}
    grouped = {line.split("::")[1].split("@")[0].split()[0] for line in ran if "@shared-servers" in line}
    assert len(serial) == 1, out  # one worker ran them all
    assert grouped == {
        "test_needs_rabbitmq",
        "test_needs_redis_and_rabbitmq",
        "test_marked_by_hand_as_a_subprocess_test_would_be",
    }, out
    assert any("test_pure" in line and "@" not in line.split("::")[1] for line in ran), out


def test_each_xdist_worker_has_its_own_redis_database() -> None:
    from omnistock_devtools.testing import REDIS, worker_database

    assert worker_database("redis://127.0.0.1:6379/15", "") == "redis://127.0.0.1:6379/15"
    assert worker_database("redis://127.0.0.1:6379/15", "gw0") == "redis://127.0.0.1:6379/15"
    assert worker_database("redis://127.0.0.1:6379/15", "gw1") == "redis://127.0.0.1:6379/14"
    # 13, 12 (shared by two suites) and 11 (the own-stack module's) are never a worker's.
    assert worker_database("redis://127.0.0.1:6379/15", "gw2") == "redis://127.0.0.1:6379/10"
    assert worker_database("redis://:pw@host:7000/2", "gw3") == "redis://:pw@host:7000/5"  # never 0
    env = {"TEST_REDIS_URL": "redis://127.0.0.1:6379/15", "PYTEST_XDIST_WORKER": "gw1"}
    assert REDIS.url(env) == "redis://127.0.0.1:6379/14"
