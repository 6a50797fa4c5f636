"""pytest plugin shared by every test folder (enabled in the root conftest.py).

Integration tests run against the real PostgreSQL, Redis and RabbitMQ named by TEST_DATABASE_URL,
TEST_REDIS_URL and TEST_AMQP_URL. Every test that needs one of them carries its marker
(`postgres`, `redis`, `rabbitmq`): added here from the fixtures it uses, or written by hand for
tests that reach a server another way, so `-m "not postgres and not redis and not rabbitmq"`
selects exactly the tests that need no server.

When a needed server is unreachable the test is skipped with a loud banner, except under
`CI=true` or `OMNISTOCK_REQUIRE_SERVERS=1`, where it fails and names the server and its URL: a CI
run must not pass with its integration suite skipped. The run ends with the skips counted by
reason. `OMNISTOCK_FORBID_SERVERS=1` (set by `make test-unit`) refuses, in this process, every
connection to a server's port, so a test that reaches a server without its marker fails loudly.
"""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

TRUTHY = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class Server:
    """A server the integration tests use: its marker, where to find it, which fixtures need it."""

    marker: str
    name: str
    env_var: str
    default_url: str
    default_port: int
    fixtures: tuple[str, ...]

    def url(self, env: Mapping[str, str] | None = None) -> str:
        return (os.environ if env is None else env).get(self.env_var) or self.default_url

    def configured_url(self, env: Mapping[str, str] | None = None) -> str:
        """The URL as configured (what messages name); url() may narrow it for this process."""
        return Server.url(self, env)

    def address(self, env: Mapping[str, str] | None = None) -> tuple[str, int]:
        parsed = urlparse(self.url(env))
        return parsed.hostname or "127.0.0.1", parsed.port or self.default_port


POSTGRES = Server(
    "postgres",
    "PostgreSQL",
    "TEST_DATABASE_URL",
    "postgresql://postgres@127.0.0.1:5432/postgres",
    5432,
    ("postgres_admin_url", "make_postgres_database", "postgres_url"),
)


class RedisServer(Server):
    """Redis, with one database per pytest-xdist worker: gw0 (or a plain run) uses the database
    of TEST_REDIS_URL (default 15), gwN the one N below it, so tests that flush their database
    can run on both processes of `make test` (Redis pub/sub channels are not per database: tests
    of the live notices use their own tenant ids)."""

    def url(self, env: Mapping[str, str] | None = None) -> str:
        source = os.environ if env is None else env
        return worker_database(super().url(env), source.get("PYTEST_XDIST_WORKER", ""))


# The database the channels sync tests share and never flush (services/channels/tests/sync),
# and the one tests/e2e/test_channel_sync_full_stack.py gives its stack: a worker's flushed
# database must never land on them.
SYNC_REDIS_DB = int(os.environ.get("TEST_SYNC_REDIS_DB", "13"))
STACK_REDIS_DB = 12
# The database of the one module that runs its stack beside the serial group (OWN_STACK_MARKER).
OWN_STACK_REDIS_DB = 11
_RESERVED_REDIS_DBS = frozenset({SYNC_REDIS_DB, STACK_REDIS_DB, OWN_STACK_REDIS_DB})


def worker_database(url: str, worker: str) -> str:
    """`url` with its database moved down by the worker's number (gw0 keeps it), never onto
    database 0 (a developer's `make run`) nor SYNC_REDIS_DB / STACK_REDIS_DB."""
    number = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    if number == 0:
        return url
    parsed = urlparse(url)
    base = int(parsed.path.lstrip("/") or 0)
    step = -1 if base - number >= 1 else 1
    database, moved = base, 0
    while moved < number or database in _RESERVED_REDIS_DBS:
        database += step
        moved += database not in _RESERVED_REDIS_DBS
    return parsed._replace(path=f"/{database}").geturl()


REDIS = RedisServer("redis", "Redis", "TEST_REDIS_URL", "redis://127.0.0.1:6379/15", 6379, ("redis_url",))
RABBITMQ = Server(
    "rabbitmq", "RabbitMQ", "TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", 5672, ("amqp_url",)
)
SERVERS = (POSTGRES, REDIS, RABBITMQ)

# Read once at import, as before; Server.url() reads the environment again when asked.
TEST_DATABASE_URL = POSTGRES.url()
TEST_REDIS_URL = REDIS.url()
TEST_AMQP_URL = RABBITMQ.url()

_missing_servers: dict[str, str] = {}
_reachability: dict[tuple[str, int], bool] = {}
_guard_hits: list[str] = []


def servers_required(env: Mapping[str, str]) -> bool:
    """True when an unreachable server must fail the test rather than skip it (CI)."""
    return any(env.get(name, "").strip().lower() in TRUTHY for name in ("CI", "OMNISTOCK_REQUIRE_SERVERS"))


def servers_forbidden(env: Mapping[str, str]) -> bool:
    """True when this process must not connect to any server (`make test-unit`)."""
    return env.get("OMNISTOCK_FORBID_SERVERS", "").strip().lower() in TRUTHY


def markers_for(fixturenames: Iterable[str]) -> set[str]:
    """The server markers a test needs, from the fixtures it uses (their whole closure)."""
    names = set(fixturenames)
    return {server.marker for server in SERVERS if names.intersection(server.fixtures)}


def unreachable_message(down: Sequence[tuple[Server, str]], required: bool) -> str:
    """Names every unreachable server of a test with its URL (and, under CI, how to fix it)."""
    what = "; ".join(f"{server.name} is not reachable at {url}" for server, url in down)
    if required:
        variables = ", ".join(server.env_var for server, _ in down)
        return (
            f"{what} (CI=true / OMNISTOCK_REQUIRE_SERVERS=1 requires it: "
            f"start it with scripts/ensure-services.sh or point {variables} at it)"
        )
    return f"!!! {what}: test SKIPPED !!!"


def _reachable(host: str, port: int) -> bool:
    if (host, port) not in _reachability:
        try:
            with socket.create_connection((host, port), 1.0):
                _reachability[host, port] = True
        except OSError:
            _reachability[host, port] = False
    return _reachability[host, port]


def require(*servers: Server) -> None:
    """Fail (CI) or skip (developer) the current test unless every one of `servers` is reachable."""
    down = [(server, server.configured_url()) for server in servers if not _reachable(*server.address())]
    if not down:
        return
    _missing_servers.update((server.name, url) for server, url in down)
    if servers_required(os.environ):
        pytest.fail(unreachable_message(down, required=True), pytrace=False)
    pytest.skip(unreachable_message(down, required=False))


def forbidden_ports(env: Mapping[str, str]) -> set[int]:
    """The ports `OMNISTOCK_FORBID_SERVERS` refuses: each server's default and configured port."""
    return {server.default_port for server in SERVERS} | {server.address(env)[1] for server in SERVERS}


def _install_server_guard(ports: set[int]) -> None:
    """Refuse (raise) any socket connection to a server port made by Python code in this process."""

    def guard(event: str, args: tuple[Any, ...]) -> None:
        if event != "socket.connect":
            return
        address = args[1]
        if isinstance(address, tuple) and len(address) >= 2 and address[1] in ports:
            hit = f"{address[0]}:{address[1]}"
            _guard_hits.append(hit)
            raise ConnectionRefusedError(f"OMNISTOCK_FORBID_SERVERS=1: connection to {hit} refused")

    sys.addaudithook(guard)


def pytest_configure(config: pytest.Config) -> None:
    for server in SERVERS:
        config.addinivalue_line(
            "markers", f"{server.marker}: needs the {server.name} server at {server.env_var}"
        )
    if servers_forbidden(os.environ):
        _install_server_guard(forbidden_ports(os.environ))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Drop the schema templates `omnistock_devtools.migrated.migrate` made during the run."""
    if "omnistock_devtools.migrated" in sys.modules:
        sys.modules["omnistock_devtools.migrated"].drop_templates()


# `make test` runs the suite on two pytest-xdist processes (`-n 2 --dist loadgroup`). Tests that
# share a server's state (RabbitMQ's default vhost with nameko's fixed queue names), the slow
# timed acceptance tests and everything under tests/e2e (whole stacks) go to ONE process, one
# after another, as in a plain run; the rest (unit tests, SQLite and PostgreSQL tests, each on its
# own fresh database, and Redis tests, each process on its own Redis database: RedisServer) share
# both.
SERIAL_GROUP = "shared-servers"
SERIAL_MARKERS = ("rabbitmq", "slow")
# A module whose tests share one stack that has everything of its own (fresh PostgreSQL databases,
# a RabbitMQ vhost it made, OWN_STACK_REDIS_DB) runs on one process, beside the serial group
# instead of in it: nothing it touches is shared.
OWN_STACK_MARKER = "own_stack"


def runs_serially(item: pytest.Item) -> bool:
    """True for the tests `--dist loadgroup` keeps on one process (see SERIAL_GROUP)."""
    if item.get_closest_marker(OWN_STACK_MARKER) is not None:
        return False
    if any(item.get_closest_marker(name) is not None for name in SERIAL_MARKERS):
        return True
    return "/tests/e2e/" in f"/{Path(str(item.path)).as_posix()}" or item.nodeid.startswith("tests/e2e/")


def _group_in_nodeid(item: pytest.Item, group: str) -> None:
    """What pytest-xdist 3.8's worker does for `--dist loadgroup` (the group after `@` in the
    node id, read by the controller's scheduler), for pytest 9, whose node id is the structured
    `_id` that xdist's `item._nodeid = ...` no longer reaches (every test was scheduled alone)."""
    if "@" in item.nodeid.rsplit("]", 1)[-1]:
        return  # already grouped (an xdist that does it itself)
    from _pytest.nodeid import NodeId

    item._id = NodeId.parse(f"{item.nodeid}@{group}")  # type: ignore[attr-defined]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test by the servers its fixtures need, before `-m` deselects anything, and
    group the tests that must not run beside each other (SERIAL_GROUP)."""
    grouping = bool(getattr(config.option, "loadgroup", False))
    for item in items:
        present = {mark.name for mark in item.iter_markers()}
        for marker in sorted(markers_for(tuple(getattr(item, "fixturenames", ())))):
            if marker not in present:
                item.add_marker(marker)
        group = (
            SERIAL_GROUP
            if runs_serially(item)
            else f"own-stack-{Path(str(item.path)).stem}"
            if item.get_closest_marker(OWN_STACK_MARKER) is not None
            else None
        )
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
            if grouping and hasattr(item, "_id"):
                _group_in_nodeid(item, group)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked for a server (by hand or above) needs it reachable before anything runs."""
    require(*(server for server in SERVERS if item.get_closest_marker(server.marker) is not None))


def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Fail a test that tried a server port under OMNISTOCK_FORBID_SERVERS, even if it coped."""
    if _guard_hits:
        hits = sorted(set(_guard_hits))
        _guard_hits.clear()
        pytest.fail(
            f"OMNISTOCK_FORBID_SERVERS=1: {item.nodeid} connected to server port(s) {', '.join(hits)} "
            "without a postgres/redis/rabbitmq marker: mark it or use the server's fixture",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    require(POSTGRES)
    return POSTGRES.url()


@contextmanager
def postgres_databases(admin_url: str, prefix: str = "omnistock_test") -> Iterator[Callable[[], str]]:
    """Factory: each call creates a fresh, empty database and returns its URL; every database it
    created is dropped on exit (the fixtures below give it a test's or a module's lifetime)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from omnistock_common.db import normalize_url

    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def create() -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(normalize_url(admin_url)).set(database=name).render_as_string(hide_password=False)

    try:
        yield create
    finally:
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def make_postgres_database(postgres_admin_url: str) -> Iterator[Callable[[], str]]:
    """Factory: each call creates a fresh, empty database and returns its URL (dropped after)."""
    with postgres_databases(postgres_admin_url) as create:
        yield create


@pytest.fixture
def postgres_url(make_postgres_database: Callable[[], str]) -> str:
    return make_postgres_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs the test twice: on SQLite and on the real PostgreSQL (that run is marked `postgres`)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A dedicated Redis database, flushed before and after the test."""
    require(REDIS)
    url = REDIS.url()
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def amqp_url() -> str:
    require(RABBITMQ)
    return RABBITMQ.url()


def skips_by_reason(reports: list[Any]) -> Counter[str]:
    """Skipped test reports counted by their reason (the text after `Skipped: `)."""
    counts: Counter[str] = Counter()
    for report in reports:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        counts[reason.removeprefix("Skipped: ")] += 1
    return counts


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its unreachable servers to the controller, which prints the banner."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["omnistock_missing_servers"] = dict(_missing_servers)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """(xdist controller) Collect what a worker could not reach."""
    _missing_servers.update(getattr(node, "workeroutput", {}).get("omnistock_missing_servers", {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = skips_by_reason(terminalreporter.stats.get("skipped", []))
    if skipped:
        terminalreporter.section("skips by reason", sep="-", yellow=True)
        for reason, count in skipped.most_common():
            terminalreporter.write_line(f"{count:5d}  {reason}", yellow=True)
    if not _missing_servers:
        return
    required = servers_required(os.environ)
    outcome = "FAILED (CI=true / OMNISTOCK_REQUIRE_SERVERS=1)" if required else "SKIPPED"
    bar = "!" * 78
    terminalreporter.write_line(bar, red=True, bold=True)
    for name, url in _missing_servers.items():
        terminalreporter.write_line(
            f"!!! {name} was NOT reachable at {url}: its tests were {outcome}", red=True
        )
    terminalreporter.write_line(bar, red=True, bold=True)
