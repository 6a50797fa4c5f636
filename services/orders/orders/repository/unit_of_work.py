"""The orders UnitOfWork: one transaction per use-case closure, retried whole on a transient
conflict (omnistock_common.uow)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from omnistock_common.uow import UnitOfWorkBase
from orders.repository.listing import ListingRows
from orders.repository.sales_rows import SalesRows
from orders.repository.work_rows import WorkRows


class Repository(ListingRows, WorkRows, SalesRows):
    """Every statement of the service, on one connection (one transaction)."""

    def __init__(self, conn: Connection) -> None:
        ListingRows.__init__(self, conn)


class UnitOfWork(UnitOfWorkBase[Repository]):
    """Hands out transactions on one engine; safe to share between threads (no state on self)."""

    def __init__(self, engine: Engine, *, attempts: int = 5) -> None:
        self.engine = engine
        self.attempts = attempts

    @contextmanager
    def transaction(self) -> Iterator[Repository]:
        with self.engine.begin() as conn:
            yield Repository(conn)
