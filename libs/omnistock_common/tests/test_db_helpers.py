"""The shared SQL helpers: the retry of a transaction on a transient conflict, and the dialect
insert (ON CONFLICT on both databases)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.exc import IntegrityError, OperationalError

from omnistock_common import db


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _operational(orig: Exception) -> OperationalError:
    return OperationalError("UPDATE x", {}, orig)


def test_transient_conflicts_are_retryable_and_nothing_else() -> None:
    assert db.is_retryable(_operational(_PgError("40001")))  # serialization failure
    assert db.is_retryable(_operational(_PgError("40P01")))  # deadlock
    assert db.is_retryable(_operational(sqlite3.OperationalError("database is locked")))
    assert not db.is_retryable(_operational(_PgError("23505")))
    assert not db.is_retryable(IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE")))
    assert not db.is_retryable(ValueError("database is locked"))


def _counting_transaction(log: list[str]) -> object:
    @contextmanager
    def transaction() -> Iterator[str]:
        log.append("begin")
        yield "resource"

    return transaction


def test_run_with_retry_runs_again_after_a_transient_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db.time, "sleep", lambda _seconds: None)
    log: list[str] = []
    failures = [_operational(_PgError("40001")), _operational(_PgError("40P01"))]

    def work(resource: str) -> str:
        if failures:
            raise failures.pop(0)
        return resource + " done"

    assert db.run_with_retry(_counting_transaction(log), work, attempts=5) == "resource done"  # type: ignore[arg-type]
    assert log == ["begin"] * 3


def test_run_with_retry_gives_up_after_attempts_and_never_retries_other_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db.time, "sleep", lambda _seconds: None)
    log: list[str] = []

    def always_conflicts(_resource: str) -> None:
        raise _operational(_PgError("40001"))

    with pytest.raises(OperationalError):
        db.run_with_retry(_counting_transaction(log), always_conflicts, attempts=3)  # type: ignore[arg-type]
    assert log == ["begin"] * 3

    log.clear()

    def duplicate(_resource: str) -> None:
        raise IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE"))

    with pytest.raises(IntegrityError):
        db.run_with_retry(_counting_transaction(log), duplicate, attempts=3)  # type: ignore[arg-type]
    assert log == ["begin"]


def test_dialect_insert_supports_on_conflict_on_sqlite() -> None:
    metadata = MetaData()
    table = Table("kv", metadata, Column("k", Integer, primary_key=True), Column("v", String(10)))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(db.dialect_insert(conn, table).values(k=1, v="a"))
        stmt = db.dialect_insert(conn, table).values(k=1, v="b")
        conn.execute(stmt.on_conflict_do_update(index_elements=[table.c.k], set_={"v": stmt.excluded.v}))
        assert conn.execute(select(table.c.v)).scalar_one() == "b"
    engine.dispose()
