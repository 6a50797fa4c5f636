"""The tests' schema shortcut must give exactly what the real migration chain gives."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from omnistock_common.migrations import upgrade
from omnistock_devtools.migrated import migrate


def _schema(url: str) -> dict[str, list[str]]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        tables = {
            name: sorted(c["name"] for c in inspector.get_columns(name))
            for name in inspector.get_table_names()
        }
        return {**tables, "__version__": version}
    finally:
        engine.dispose()


def test_a_fresh_sqlite_file_gets_the_same_schema_as_the_real_chain(tmp_path: Path) -> None:
    real, copied, again = (f"sqlite:///{tmp_path / name}" for name in ("real.db", "copy.db", "again.db"))
    upgrade("orders", real)
    migrate("orders", copied)
    migrate("orders", again)  # second copy of the same template
    assert _schema(copied) == _schema(real) == _schema(again)
    assert "orders" in _schema(copied)


def test_a_file_that_holds_data_is_migrated_not_replaced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE keep_me (x INTEGER)"))
        conn.execute(text("INSERT INTO keep_me VALUES (7)"))
    engine.dispose()
    migrate("orders", url)
    schema = _schema(url)
    assert "keep_me" in schema and "orders" in schema
