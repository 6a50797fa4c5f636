"""Alembic helpers: one migration history per service, run programmatically.

Each service keeps `<svc>/migrations/` with an env.py that calls `run_env(metadata)`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData

from omnistock_common.db import is_sqlite, make_engine, normalize_url


def alembic_config(service_package: str, database_url: str) -> Config:
    package = importlib.import_module(service_package)
    script_location = Path(package.__file__).resolve().parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", normalize_url(database_url).replace("%", "%%"))
    return config


def upgrade(service_package: str, database_url: str, revision: str = "head") -> None:
    """Bring the service's database to `revision` (idempotent)."""
    command.upgrade(alembic_config(service_package, database_url), revision)


def run_env(metadata: MetaData) -> None:
    """Body of every service's migrations/env.py."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url, pool_size=1)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=is_sqlite(url),  # SQLite needs batch mode for ALTER TABLE
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
