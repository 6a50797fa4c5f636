"""What every SQLAlchemy row module of the Repository shares: the connection and two helpers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

T = TypeVar("T")

CHUNK = 500  # rows per multi-row statement / IN list (well under SQLite's variable limit)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_insert(conn: Connection, table: Any) -> Any:
    """Dialect insert with ON CONFLICT support (PostgreSQL and SQLite share the API)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


class Rows:
    """Base of the Repository's parts: statements on one open transaction, never committing."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
