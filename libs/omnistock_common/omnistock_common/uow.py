"""One retry loop for every unit of work: run `work` in a fresh transaction, retry it whole on a
transient conflict.

Why one helper: every service that writes runs its use cases as closures over a transaction
(`uow.run(work)`), and a PostgreSQL serialization failure / deadlock or a busy SQLite file must
re-run the whole closure in a NEW transaction, after a short randomised back-off. That loop was
copied per service; a service now passes how it opens a transaction and, if it has more
transient errors than the common ones, its own `retryable` test.

    with_retries(lambda: engine.begin(), lambda conn: ..., attempts=5)

The transaction context manager commits when the block ends normally and rolls back on an
exception (SQLAlchemy's `engine.begin()`, a Session's `begin()`, or a service's own wrapper).
"""

from __future__ import annotations

import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Generic, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

T = TypeVar("T")
X = TypeVar("X")

# PostgreSQL SQLSTATEs worth a retry: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
DEFAULT_ATTEMPTS = 5


def is_transient(exc: BaseException) -> bool:
    """A conflict that a new transaction may not meet: PostgreSQL serialization failure or
    deadlock, or a SQLite database locked by another writer past its busy timeout."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def backoff_seconds(attempt: int) -> float:
    """Randomised, growing pause before attempt `attempt + 1`: twins that collided once do not
    collide again in lock step."""
    return random.uniform(0.005, 0.05) * attempt


def with_retries(
    begin: Callable[[], AbstractContextManager[X]],
    work: Callable[[X], T],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    retryable: Callable[[BaseException], bool] = is_transient,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`work(tx)` inside `with begin() as tx`, re-run in a new transaction while it fails with a
    `retryable` DBAPIError, at most `attempts` times in all; the last error is raised as is.

    Only DBAPIErrors are considered: a domain error raised by `work` means the work itself was
    refused, and running it again would refuse it again.
    """
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    for attempt in range(1, attempts + 1):
        try:
            with begin() as tx:
                return work(tx)
        except DBAPIError as exc:
            if attempt == attempts or not retryable(exc):
                raise
            log.warning("retrying transaction after %s (attempt %d)", type(exc.orig).__name__, attempt)
            sleep(backoff_seconds(attempt))
    raise AssertionError("unreachable")


class UnitOfWorkBase(ABC, Generic[X]):
    """The shape every service's unit of work can share: `transaction()` opens one transaction
    (a context manager yielding X, what the use cases work on: a repository, a session),
    `run(work)` runs a closure in one with retries. A service subclasses it and implements
    `transaction`."""

    attempts: int = DEFAULT_ATTEMPTS

    @abstractmethod
    def transaction(self) -> AbstractContextManager[X]:
        """One transaction: commits when the block ends normally, rolls back on an exception."""

    def retryable(self, exc: BaseException) -> bool:
        """Override to add a service's own transient errors (call super() for the common ones)."""
        return is_transient(exc)

    def run(self, work: Callable[[X], T]) -> T:
        """work(tx) in one transaction, committed; re-run whole on a transient conflict."""
        return with_retries(self.transaction, work, attempts=self.attempts, retryable=self.retryable)
