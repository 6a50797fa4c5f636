"""The shared retry loop of units of work (omnistock_common.uow): a transient conflict re-runs the
whole closure in a new transaction, anything else is raised at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from omnistock_common.errors import NotFound
from omnistock_common.uow import UnitOfWorkBase, is_transient, with_retries


class _PgError(Exception):
    """Stands in for a psycopg error: only its sqlstate matters to is_transient."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def pg_error(sqlstate: str) -> DBAPIError:
    return DBAPIError("UPDATE ...", {}, _PgError(sqlstate))


def test_transient_errors_are_serialization_failures_deadlocks_and_a_locked_sqlite_file() -> None:
    assert is_transient(pg_error("40001"))
    assert is_transient(pg_error("40P01"))
    assert is_transient(OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked")))
    assert not is_transient(pg_error("23505"))  # unique violation: a retry would meet it again
    assert not is_transient(IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE failed")))
    assert not is_transient(RuntimeError("40001"))


class Recorder:
    """A transaction factory that counts what was opened, committed and rolled back."""

    def __init__(self) -> None:
        self.opened = self.committed = self.rolled_back = 0

    @contextmanager
    def begin(self) -> Iterator[int]:
        self.opened += 1
        try:
            yield self.opened
        except BaseException:
            self.rolled_back += 1
            raise
        self.committed += 1


def test_a_transient_conflict_reruns_the_work_in_a_new_transaction() -> None:
    tx = Recorder()
    seen: list[int] = []
    pauses: list[float] = []

    def work(attempt: int) -> str:
        seen.append(attempt)
        if attempt < 3:
            raise pg_error("40P01")
        return "done"

    assert with_retries(tx.begin, work, attempts=5, sleep=pauses.append) == "done"
    assert seen == [1, 2, 3]  # each attempt got a transaction of its own
    assert (tx.committed, tx.rolled_back) == (1, 2)
    assert len(pauses) == 2 and all(0 < pause <= 0.1 for pause in pauses)


def test_the_last_transient_error_is_raised_when_attempts_run_out() -> None:
    tx = Recorder()

    def work(_attempt: int) -> None:
        raise pg_error("40001")

    with pytest.raises(DBAPIError) as raised:
        with_retries(tx.begin, work, attempts=3, sleep=lambda _s: None)
    assert raised.value.orig.sqlstate == "40001"  # type: ignore[union-attr]
    assert tx.opened == 3 and tx.committed == 0


@pytest.mark.parametrize("error", [pg_error("23505"), NotFound("no such thing")])
def test_other_errors_are_raised_at_once(error: Exception) -> None:
    tx = Recorder()

    def work(_attempt: int) -> None:
        raise error

    with pytest.raises(type(error)):
        with_retries(tx.begin, work, attempts=5, sleep=lambda _s: pytest.fail("no retry expected"))
    assert tx.opened == 1


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError):
        with_retries(Recorder().begin, lambda _tx: None, attempts=0)


class CountingUnitOfWork(UnitOfWorkBase[Connection]):
    """The smallest real adopter: a SQLAlchemy engine, transactions from engine.begin()."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def transaction(self) -> AbstractContextManager[Connection]:
        return self.engine.begin()


def test_unit_of_work_base_commits_and_rolls_back_real_transactions(tmp_path: Path) -> None:
    uow = CountingUnitOfWork(f"sqlite:///{tmp_path / 'uow.db'}")
    uow.run(lambda conn: conn.execute(text("CREATE TABLE t (n INTEGER)")))
    uow.run(lambda conn: conn.execute(text("INSERT INTO t VALUES (1)")))

    def insert_then_fail(conn: Connection) -> None:
        conn.execute(text("INSERT INTO t VALUES (2)"))
        raise NotFound("refused after writing")

    with pytest.raises(NotFound):
        uow.run(insert_then_fail)
    assert uow.run(lambda conn: conn.execute(text("SELECT n FROM t")).scalars().all()) == [1]
    uow.engine.dispose()


def test_a_unit_of_work_must_say_how_it_opens_a_transaction() -> None:
    """UnitOfWorkBase is abstract: a subclass without transaction() cannot be built."""
    from omnistock_common.uow import UnitOfWorkBase

    class Incomplete(UnitOfWorkBase[object]):
        pass

    with pytest.raises(TypeError):
        Incomplete()  # type: ignore[abstract]
