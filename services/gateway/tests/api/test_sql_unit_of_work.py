"""The gateway's SqlUnitOfWork has the shared shape (omnistock_common.uow.UnitOfWorkBase), and a
refusal that revokes (refresh-token reuse) is committed on a real database although the call fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from gateway import models
from gateway.auth import Passwords, TokenCodec
from gateway.repository import SqlTransaction, SqlUnitOfWork
from gateway.seed_demo import _NoLimits
from gateway.service import GatewayDeps, TokenVersions, sessions
from omnistock_common.db import make_engine
from omnistock_common.errors import Unauthenticated
from omnistock_common.migrations import upgrade
from omnistock_common.uow import UnitOfWorkBase


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade("gateway", database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _deps(uow: SqlUnitOfWork) -> GatewayDeps:
    return GatewayDeps(
        uow=uow,
        passwords=Passwords(time_cost=1, memory_kib=1024, parallelism=1),
        tokens=TokenCodec("uow-test-secret-" + "q" * 32, 900),
        limiter=_NoLimits(),  # type: ignore[arg-type]
        denylist=_NoLimits(),
        versions=TokenVersions(uow),
        refresh_ttl=timedelta(seconds=3600),
    )


def test_the_gateway_unit_of_work_is_the_shared_one(engine: Engine) -> None:
    uow = SqlUnitOfWork(engine)
    assert isinstance(uow, UnitOfWorkBase)
    with uow.transaction() as tx:
        assert isinstance(tx, SqlTransaction)


def test_run_commits_on_return_and_rolls_back_on_raise(engine: Engine) -> None:
    uow = SqlUnitOfWork(engine)
    deps = _deps(uow)
    sessions.register(deps, "Acme", "a@acme.test", "correct-horse-battery")

    user = uow.run(lambda tx: tx.users.get_by_email("a@acme.test"))
    assert user is not None  # register's run() committed

    def revoke_then_fail(tx: SqlTransaction) -> None:
        user = tx.users.get_by_email("a@acme.test")
        assert user is not None
        assert tx.refresh_tokens.revoke_all_for_user(user.id, user.created_at) == 1
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        uow.run(revoke_then_fail)
    with engine.connect() as conn:
        revoked = conn.execute(
            select(func.count())
            .select_from(models.refresh_tokens)
            .where(models.refresh_tokens.c.revoked_at.is_not(None))
        ).scalar_one()
    assert revoked == 0  # the closure raised: its revocation was rolled back


def test_refresh_token_reuse_revokes_the_family_and_commits_while_raising(engine: Engine) -> None:
    deps = _deps(SqlUnitOfWork(engine))
    first = sessions.register(deps, "Acme", "a@acme.test", "correct-horse-battery").tokens
    second = sessions.refresh(deps, first.refresh_token)
    with pytest.raises(Unauthenticated):
        sessions.refresh(deps, first.refresh_token)  # reuse of a rotated token
    t = models.refresh_tokens
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.family_id, t.c.revoked_at)).all()
    assert len(rows) == 2 and len({row.family_id for row in rows}) == 1
    assert all(row.revoked_at is not None for row in rows)  # committed although refresh raised
    with pytest.raises(Unauthenticated):
        sessions.refresh(deps, second.refresh_token)  # the thief's newest token died with the family
