"""The shared dialect insert (ON CONFLICT on both databases); the retry of a transaction lives in
omnistock_common.uow (test_uow.py)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.exc import OperationalError

from omnistock_common import db


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _operational(orig: Exception) -> OperationalError:
    return OperationalError("UPDATE x", {}, orig)


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
