"""The ports of the gateway's use cases: what the services need from storage and Redis.

repository.SqlUnitOfWork and ratelimit.Redis* implement them; the unit tests use in-memory fakes.
The unit of work has the shape every service shares (omnistock_common.uow.UnitOfWorkBase):
`uow.run(work)` runs `work(tx)` in one transaction, committed when it returns, rolled back when it
raises, re-run whole on a transient conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar

from gateway.domain import RefreshTokenRecord, Tenant, User


class TenantRepository(Protocol):
    def add(self, tenant: Tenant) -> None: ...
    def get(self, tenant_id: str) -> Tenant | None: ...
    def lock(self, tenant_id: str) -> None:
        """Serialize concurrent user changes of one tenant (the last-owner rule needs it)."""
        ...


class UserRepository(Protocol):
    def add(self, user: User) -> None: ...
    def get(self, tenant_id: str, user_id: str) -> User | None: ...
    def get_by_email(self, email: str) -> User | None: ...
    def token_version(self, tenant_id: str, user_id: str) -> int | None:
        """The user's current token version; None when the user no longer exists."""
        ...

    def list(self, tenant_id: str, limit: int, after_email: str | None) -> list[User]: ...
    def update(self, user: User, expected_version: int) -> bool:
        """Write `user` only if the stored version is still `expected_version`."""
        ...

    def delete(self, tenant_id: str, user_id: str) -> None: ...
    def count_owners(self, tenant_id: str) -> int: ...


class RefreshTokenRepository(Protocol):
    def add(self, record: RefreshTokenRecord) -> None: ...
    def get_by_hash(self, token_hash: str) -> RefreshTokenRecord | None: ...
    def mark_used(self, token_id: str, at: datetime) -> bool:
        """Conditional: succeeds only for a token not used or revoked yet (one winner per token)."""
        ...

    def revoke_family(self, family_id: str, at: datetime) -> int: ...
    def revoke_all_for_user(self, user_id: str, at: datetime) -> int: ...


T = TypeVar("T")


class Transaction(Protocol):
    """The repositories of one open transaction."""

    tenants: TenantRepository
    users: UserRepository
    refresh_tokens: RefreshTokenRepository


class UnitOfWork(Protocol):
    def run(self, work: Callable[[Transaction], T]) -> T:
        """work(tx) in one transaction: committed when it returns, rolled back when it raises."""
        ...


class AttemptLimiter(Protocol):
    def attempt(self, key: str, limit: int, window_seconds: int) -> int:
        """Count one attempt; 0 when within the limit, else seconds until the window frees up."""
        ...

    def blocked_for(self, key: str) -> int:
        """Seconds left of the wait imposed by record_failure (0: go ahead)."""
        ...

    def record_failure(
        self, key: str, free_failures: int, max_delay_seconds: int, memory_seconds: int
    ) -> int:
        """Count one failure; beyond `free_failures` impose a wait that doubles with each further
        failure (1, 2, 4 ... max_delay_seconds). Failures are forgotten `memory_seconds` after the
        last one. Returns the wait imposed (0: none)."""
        ...

    def reset(self, key: str) -> None: ...


class TokenDenylist(Protocol):
    def revoke(self, jti: str, ttl_seconds: int) -> None: ...
    def is_revoked(self, jti: str) -> bool: ...
