"""The inventory UnitOfWork: transactions on one engine, each use case a closure run with retries
(omnistock_common.uow), and the transactions of reservation groups on either database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from inventory.repository.group_transaction import GroupTransaction
from inventory.repository.pg_group import PgGroupTransaction
from inventory.repository.pg_statements import PREPARED_KEY
from inventory.repository.sql import Repository
from inventory.repository.sql_group import SqlGroupTransaction
from omnistock_common.uow import UnitOfWorkBase, is_transient, with_retries

log = logging.getLogger(__name__)

T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """A transient conflict (omnistock_common.uow.is_transient), or a PostgreSQL connection that
    lost the group statements it had prepared (someone ran DEALLOCATE): they are prepared again."""
    return is_transient(exc) or (
        isinstance(exc, DBAPIError) and isinstance(exc.orig, psycopg.errors.InvalidSqlStatementName)
    )


class UnitOfWork(UnitOfWorkBase[Repository]):
    """Hands out transactions on one engine. Safe to share between threads: no state on self.

    `run(fn)` executes fn(repository) in one transaction, commits, and retries the whole
    function a few times on serialization/deadlock errors (there should be none with the fixed
    lock order, but PostgreSQL may still report one under heavy contention). `run_group(fn)`
    does the same for the group primitives (repository/group_transaction.py).
    """

    def __init__(self, engine: Engine, *, attempts: int = 5) -> None:
        self.engine = engine
        self.attempts = attempts

    @contextmanager
    def transaction(self) -> Iterator[Repository]:
        with self.engine.begin() as conn:
            yield Repository(conn)

    def retryable(self, exc: BaseException) -> bool:
        return is_retryable(exc)

    @contextmanager
    def snapshot(self) -> Iterator[Repository]:
        """A read-only transaction whose statements all see one snapshot (REPEATABLE READ on
        PostgreSQL; SQLite transactions are serialised already)."""
        if not self.is_postgres:
            with self.transaction() as repo:
                yield repo
            return
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield Repository(conn)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def group_transaction(self) -> Any:
        """The context manager of one group transaction: PostgreSQL's scripts or SQLAlchemy's."""
        return self._pg_group() if self.is_postgres else self._sql_group()

    def run_group(self, fn: Callable[[GroupTransaction], T]) -> T:
        """fn(group transaction), retried whole on a transient conflict. fn ends the transaction
        (commit or rollback); one it leaves open is rolled back."""
        return with_retries(self.group_transaction, fn, attempts=self.attempts, retryable=is_retryable)

    @contextmanager
    def _sql_group(self) -> Iterator[SqlGroupTransaction]:
        with self.engine.connect() as conn:
            transaction = conn.begin()
            try:
                yield SqlGroupTransaction(conn, transaction)
            finally:
                if transaction.is_active:
                    transaction.rollback()

    @contextmanager
    def _pg_group(self) -> Iterator[PgGroupTransaction]:
        """A pooled PostgreSQL connection driven by hand, returned clean.

        psycopg errors leave as SQLAlchemy DBAPIErrors (IntegrityError, ...), exactly like the
        Repository's, so callers and retries treat both databases alike. Whatever happens, an
        open transaction is rolled back before the connection goes back to the pool.
        """
        pooled = self.engine.raw_connection()
        conn: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]
        broken = False
        try:
            conn.autocommit = True
            yield PgGroupTransaction(conn, pooled.info)
        except psycopg.Error as exc:
            broken = conn.closed or isinstance(exc, psycopg.OperationalError)
            if isinstance(exc, psycopg.errors.InvalidSqlStatementName):
                pooled.info.pop(PREPARED_KEY, None)  # someone deallocated them: prepare again
            raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc
        finally:
            try:
                if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                if not conn.closed:
                    conn.autocommit = False
            except psycopg.Error:
                broken = True
            if broken:
                pooled.invalidate()
                if conn.closed:  # the server went away: its other pooled connections did too
                    self.engine.dispose(close=False)
            pooled.close()
