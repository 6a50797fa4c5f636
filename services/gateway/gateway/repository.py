"""SQLAlchemy Core implementations of the gateway's repositories and unit of work.

Correct on SQLite and PostgreSQL alike: conditional UPDATEs decide races (one refresh-token
rotation wins), and `lock()` takes a row lock on PostgreSQL where SQLite's BEGIN IMMEDIATE
already serializes writers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway import models
from gateway.domain import RefreshTokenRecord, Role, Tenant, User
from omnistock_common.errors import AlreadyExists
from omnistock_common.rows import from_row, row_values
from omnistock_common.uow import DEFAULT_ATTEMPTS, UnitOfWorkBase


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes even for timezone-aware columns; they were stored as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _tenant(row: Row[Any]) -> Tenant:
    return Tenant(id=row.id, name=row.name, created_at=_utc(row.created_at))  # type: ignore[arg-type]


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        tenant_id=row.tenant_id,
        email=row.email,
        role=Role(row.role),
        password_hash=row.password_hash,
        version=row.version,
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
        updated_at=_utc(row.updated_at),  # type: ignore[arg-type]
        token_version=row.token_version,
    )


def _token(row: Row[Any]) -> RefreshTokenRecord:
    return from_row(
        RefreshTokenRecord,
        row,
        created_at=_utc(row.created_at),
        expires_at=_utc(row.expires_at),
        used_at=_utc(row.used_at),
        revoked_at=_utc(row.revoked_at),
        family_started_at=_utc(row.family_started_at),
    )


class SqlTenantRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, tenant: Tenant) -> None:
        self._conn.execute(
            insert(models.tenants).values(id=tenant.id, name=tenant.name, created_at=tenant.created_at)
        )

    def get(self, tenant_id: str) -> Tenant | None:
        row = self._conn.execute(select(models.tenants).where(models.tenants.c.id == tenant_id)).first()
        return _tenant(row) if row else None

    def lock(self, tenant_id: str) -> None:
        self._conn.execute(
            select(models.tenants.c.id).where(models.tenants.c.id == tenant_id).with_for_update()
        )


class SqlUserRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, user: User) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(models.users).values(**_user_values(user)))
        except IntegrityError:
            # Two registrations of one email raced past the existence check; the index decided.
            raise AlreadyExists("email already registered", reason="EMAIL_TAKEN") from None

    def get(self, tenant_id: str, user_id: str) -> User | None:
        row = self._conn.execute(
            select(models.users).where(models.users.c.tenant_id == tenant_id, models.users.c.id == user_id)
        ).first()
        return _user(row) if row else None

    def get_by_email(self, email: str) -> User | None:
        row = self._conn.execute(select(models.users).where(models.users.c.email == email)).first()
        return _user(row) if row else None

    def token_version(self, tenant_id: str, user_id: str) -> int | None:
        """The user's current token version; None when the user no longer exists."""
        u = models.users
        return self._conn.execute(
            select(u.c.token_version).where(u.c.tenant_id == tenant_id, u.c.id == user_id)
        ).scalar_one_or_none()

    def list(self, tenant_id: str, limit: int, after_email: str | None) -> list[User]:
        query = select(models.users).where(models.users.c.tenant_id == tenant_id)
        if after_email is not None:
            query = query.where(models.users.c.email > after_email)
        rows = self._conn.execute(query.order_by(models.users.c.email).limit(limit)).all()
        return [_user(row) for row in rows]

    def update(self, user: User, expected_version: int) -> bool:
        values = _user_values(user)
        del values["id"], values["tenant_id"], values["created_at"]
        try:
            with self._conn.begin_nested():
                result = self._conn.execute(
                    update(models.users)
                    .where(
                        models.users.c.id == user.id,
                        models.users.c.tenant_id == user.tenant_id,
                        models.users.c.version == expected_version,
                    )
                    .values(**values)
                )
        except IntegrityError:
            raise AlreadyExists("email already registered", reason="EMAIL_TAKEN") from None
        return result.rowcount == 1

    def delete(self, tenant_id: str, user_id: str) -> None:
        self._conn.execute(
            delete(models.users).where(models.users.c.tenant_id == tenant_id, models.users.c.id == user_id)
        )

    def count_owners(self, tenant_id: str) -> int:
        return self._conn.execute(
            select(func.count())
            .select_from(models.users)
            .where(models.users.c.tenant_id == tenant_id, models.users.c.role == Role.OWNER.value)
        ).scalar_one()


def _user_values(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "tenant_id": user.tenant_id,
        "email": user.email,
        "password_hash": user.password_hash,
        "role": user.role.value,
        "version": user.version,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "token_version": user.token_version,
    }


class SqlRefreshTokenRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: RefreshTokenRecord) -> None:
        self._conn.execute(insert(models.refresh_tokens).values(**row_values(record)))

    def get_by_hash(self, token_hash: str) -> RefreshTokenRecord | None:
        row = self._conn.execute(
            select(models.refresh_tokens).where(models.refresh_tokens.c.token_hash == token_hash)
        ).first()
        return _token(row) if row else None

    def mark_used(self, token_id: str, at: datetime) -> bool:
        # The WHERE clause is the race referee: of two concurrent rotations exactly one sees
        # used_at IS NULL (PostgreSQL re-checks it after the row lock; SQLite runs them in turn).
        t = models.refresh_tokens
        result = self._conn.execute(
            update(t)
            .where(t.c.id == token_id, t.c.used_at.is_(None), t.c.revoked_at.is_(None))
            .values(used_at=at)
        )
        return result.rowcount == 1

    def revoke_family(self, family_id: str, at: datetime) -> int:
        t = models.refresh_tokens
        result = self._conn.execute(
            update(t).where(t.c.family_id == family_id, t.c.revoked_at.is_(None)).values(revoked_at=at)
        )
        return result.rowcount

    def revoke_all_for_user(self, user_id: str, at: datetime) -> int:
        t = models.refresh_tokens
        result = self._conn.execute(
            update(t).where(t.c.user_id == user_id, t.c.revoked_at.is_(None)).values(revoked_at=at)
        )
        return result.rowcount


class SqlTransaction:
    """The gateway's repositories, all on one open connection and its transaction."""

    def __init__(self, conn: Connection) -> None:
        self.tenants = SqlTenantRepository(conn)
        self.users = SqlUserRepository(conn)
        self.refresh_tokens = SqlRefreshTokenRepository(conn)


class SqlUnitOfWork(UnitOfWorkBase[SqlTransaction]):
    """Hands out transactions on one engine; `run(work)` (UnitOfWorkBase) commits when work
    returns, rolls back when it raises, and re-runs it whole on a transient conflict."""

    def __init__(self, engine: Engine, *, attempts: int = DEFAULT_ATTEMPTS) -> None:
        self._engine = engine
        self.attempts = attempts

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        with self._engine.begin() as conn:
            yield SqlTransaction(conn)
