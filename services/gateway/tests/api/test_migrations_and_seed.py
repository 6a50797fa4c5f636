"""The Alembic history builds exactly the tables models.py describes; the demo seed is idempotent."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gateway import models
from gateway.auth import Passwords
from gateway.config import Settings
from gateway.repository import SqlUnitOfWork
from gateway.seed_demo import DEMO_EMAIL, DEMO_PASSWORD, seed
from omnistock_common.db import make_engine
from omnistock_common.migrations import upgrade


def test_migrations_match_models(database_url: str) -> None:
    upgrade("gateway", database_url)
    upgrade("gateway", database_url)  # idempotent
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), models.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_seed_demo_is_idempotent(sqlite_url: str) -> None:
    upgrade("gateway", sqlite_url)
    settings = Settings(
        database_url=sqlite_url, argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1
    )
    assert seed(settings) is True
    assert seed(settings) is False
    engine = make_engine(sqlite_url)
    try:
        with SqlUnitOfWork(engine).transaction() as tx:
            user = tx.users.get_by_email(DEMO_EMAIL)
            assert user is not None and user.role.value == "owner"
            tenant = tx.tenants.get(user.tenant_id)
            assert tenant is not None and tenant.name == "Demo Store"
            assert len(tx.users.list(user.tenant_id, 10, None)) == 1
    finally:
        engine.dispose()
    assert Passwords(1, 1024, 1).verify(user.password_hash, DEMO_PASSWORD)
