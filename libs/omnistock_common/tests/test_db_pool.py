"""make_engine's pool on PostgreSQL: a connection is pinged only after sitting idle, and a stale
one is replaced without the caller seeing an error (real database)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from omnistock_common.db import make_engine


def counting_pings(engine: Engine) -> list[int]:
    pings = [0]
    original = engine.dialect.do_ping

    def do_ping(dbapi_conn: Any) -> bool:
        pings[0] += 1
        return original(dbapi_conn)

    engine.dialect.do_ping = do_ping  # type: ignore[method-assign]
    return pings


@pytest.fixture
def engine_factory(postgres_url: str) -> Iterator[Any]:
    engines: list[Engine] = []

    def make(ping_after_idle: float) -> Engine:
        engine = make_engine(postgres_url, pool_size=1, ping_after_idle=ping_after_idle)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(engine: Engine, pid: int, postgres_url: str) -> None:
    other = make_engine(postgres_url, pool_size=1)
    try:
        with other.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        other.dispose()


def test_a_busy_connection_is_not_pinged(engine_factory: Any) -> None:
    engine = engine_factory(60.0)
    pings = counting_pings(engine)
    first = backend_pid(engine)
    for _ in range(5):
        assert backend_pid(engine) == first  # the same pooled connection, reused
    assert pings[0] == 0


def test_an_idle_stale_connection_is_replaced_before_use(engine_factory: Any, postgres_url: str) -> None:
    engine = engine_factory(0.0)  # every checkout counts as idle: always pinged
    pings = counting_pings(engine)
    first = backend_pid(engine)
    terminate(engine, first, postgres_url)
    assert backend_pid(engine) != first  # no error: the ping found it dead, the pool reconnected
    assert pings[0] >= 1


@pytest.mark.parametrize("max_overflow", [0, None])
def test_without_overflow_a_burst_waits_for_pooled_connections_instead_of_opening_more(
    postgres_url: str, max_overflow: int | None
) -> None:
    """max_overflow=0: a call beyond the pool waits for a pooled connection. With overflow (the
    default) it gets a new backend at once, which is closed again when the pool is full."""
    engine = make_engine(postgres_url, pool_size=1, max_overflow=max_overflow)
    seen: list[int] = []
    try:
        held = engine.connect()
        first = int(held.execute(text("SELECT pg_backend_pid()")).scalar_one())
        other = threading.Thread(target=lambda: seen.append(backend_pid(engine)))
        other.start()
        other.join(timeout=0.5)
        assert other.is_alive() is (max_overflow == 0)
        held.close()
        other.join(timeout=10)
        assert seen == [first] if max_overflow == 0 else seen and seen[0] != first
    finally:
        engine.dispose()
