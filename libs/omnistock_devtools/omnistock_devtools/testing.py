"""pytest plugin shared by every test folder (enabled in the root conftest.py).

Integration tests run against the real PostgreSQL, Redis and RabbitMQ on this machine. When one
is absent its tests are skipped, and the run ends with a banner that says so loudly.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

_missing_servers: dict[str, str] = {}


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), 1.0):
            return True
    except OSError:
        return False


def _require(name: str, url: str, default_port: int) -> None:
    if not _reachable(url, default_port):
        _missing_servers[name] = url
        pytest.skip(f"!!! {name} is not reachable at {url}: test SKIPPED !!!")


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    _require("PostgreSQL", TEST_DATABASE_URL, 5432)
    return TEST_DATABASE_URL


@pytest.fixture
def make_postgres_database(postgres_admin_url: str) -> Iterator[Callable[[], str]]:
    """Factory: each call creates a fresh, empty database and returns its URL (dropped after)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from omnistock_common.db import normalize_url

    admin = create_engine(normalize_url(postgres_admin_url), isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def create() -> str:
        name = f"omnistock_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return (
            make_url(normalize_url(postgres_admin_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )

    yield create
    with admin.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url(make_postgres_database: Callable[[], str]) -> str:
    return make_postgres_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs the test twice: on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A dedicated Redis database, flushed before and after the test."""
    _require("Redis", TEST_REDIS_URL, 6379)
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    yield TEST_REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def amqp_url() -> str:
    _require("RabbitMQ", TEST_AMQP_URL, 5672)
    return TEST_AMQP_URL


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _missing_servers:
        return
    bar = "!" * 78
    terminalreporter.write_line(bar, red=True, bold=True)
    for name, url in _missing_servers.items():
        terminalreporter.write_line(
            f"!!! {name} was NOT reachable at {url}: its tests were SKIPPED", red=True
        )
    terminalreporter.write_line(bar, red=True, bold=True)
