"""In-memory fakes of the gateway's ports, so the auth and user rules are tested without I/O."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from gateway.auth import Passwords, TokenCodec
from gateway.domain import RefreshTokenRecord, Role, Tenant, User
from gateway.service import GatewayDeps, LoginLimits, TokenVersions
from omnistock_common.errors import AlreadyExists

T = TypeVar("T")


@dataclass
class Store:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, RefreshTokenRecord] = field(default_factory=dict)


class FakeTenants:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, tenant: Tenant) -> None:
        self.store.tenants[tenant.id] = tenant

    def get(self, tenant_id: str) -> Tenant | None:
        return self.store.tenants.get(tenant_id)

    def lock(self, tenant_id: str) -> None:
        return None


class FakeUsers:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, user: User) -> None:
        if any(u.email == user.email for u in self.store.users.values()):
            raise AlreadyExists("email already registered", reason="EMAIL_TAKEN")
        self.store.users[user.id] = user

    def get(self, tenant_id: str, user_id: str) -> User | None:
        user = self.store.users.get(user_id)
        return user if user is not None and user.tenant_id == tenant_id else None

    def get_by_email(self, email: str) -> User | None:
        return next((u for u in self.store.users.values() if u.email == email), None)

    def token_version(self, tenant_id: str, user_id: str) -> int | None:
        user = self.get(tenant_id, user_id)
        return user.token_version if user is not None else None

    def list(self, tenant_id: str, limit: int, after_email: str | None) -> list[User]:
        users = sorted(
            (
                u
                for u in self.store.users.values()
                if u.tenant_id == tenant_id and (after_email is None or u.email > after_email)
            ),
            key=lambda u: u.email,
        )
        return users[:limit]

    def update(self, user: User, expected_version: int) -> bool:
        current = self.get(user.tenant_id, user.id)
        if current is None or current.version != expected_version:
            return False
        self.store.users[user.id] = user
        return True

    def delete(self, tenant_id: str, user_id: str) -> None:
        if self.get(tenant_id, user_id) is not None:
            del self.store.users[user_id]

    def count_owners(self, tenant_id: str) -> int:
        return sum(1 for u in self.store.users.values() if u.tenant_id == tenant_id and u.role is Role.OWNER)


class FakeTokens:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, record: RefreshTokenRecord) -> None:
        self.store.tokens[record.id] = record

    def get_by_hash(self, token_hash: str) -> RefreshTokenRecord | None:
        return next((t for t in self.store.tokens.values() if t.token_hash == token_hash), None)

    def mark_used(self, token_id: str, at: datetime) -> bool:
        token = self.store.tokens[token_id]
        if token.used_at is not None or token.revoked_at is not None:
            return False
        self.store.tokens[token_id] = replace(token, used_at=at)
        return True

    def revoke_family(self, family_id: str, at: datetime) -> int:
        return self._revoke(lambda t: t.family_id == family_id, at)

    def revoke_all_for_user(self, user_id: str, at: datetime) -> int:
        return self._revoke(lambda t: t.user_id == user_id, at)

    def _revoke(self, match: Any, at: datetime) -> int:
        hits = [t for t in self.store.tokens.values() if match(t) and t.revoked_at is None]
        for token in hits:
            self.store.tokens[token.id] = replace(token, revoked_at=at)
        return len(hits)


class FakeTransaction:
    """The fake repositories over one working copy of the store."""

    def __init__(self, work: Store) -> None:
        self.tenants = FakeTenants(work)
        self.users = FakeUsers(work)
        self.refresh_tokens = FakeTokens(work)


class FakeUnitOfWork:
    """Like SqlUnitOfWork.run: work runs on a copy of the store, published when it returns and
    discarded when it raises."""

    def __init__(self, shared: Store) -> None:
        self.shared = shared
        self.commits = 0

    def run(self, work: Callable[[FakeTransaction], T]) -> T:
        copy_ = copy.deepcopy(self.shared)
        result = work(FakeTransaction(copy_))
        self.shared.tenants = copy_.tenants
        self.shared.users = copy_.users
        self.shared.tokens = copy_.tokens
        self.commits += 1
        return result


class FakeLimiter:
    """Counts like the Redis limiter; a wait imposed by record_failure lasts until `elapse()`."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.blocked: dict[str, int] = {}

    def attempt(self, key: str, limit: int, window_seconds: int) -> int:
        self.counts[key] = self.counts.get(key, 0) + 1
        return 0 if self.counts[key] <= limit else window_seconds

    def blocked_for(self, key: str) -> int:
        return self.blocked.get(key, 0)

    def record_failure(
        self, key: str, free_failures: int, max_delay_seconds: int, memory_seconds: int
    ) -> int:
        from gateway.ratelimit import backoff_delay

        self.failures[key] = self.failures.get(key, 0) + 1
        delay = backoff_delay(self.failures[key], free_failures, max_delay_seconds)
        if delay:
            self.blocked[key] = delay
        return delay

    def elapse(self) -> None:
        """Every imposed wait is over (failure counts are remembered)."""
        self.blocked.clear()

    def reset(self, key: str) -> None:
        for table in (self.counts, self.failures, self.blocked):
            table.pop(key, None)


class FakeDenylist:
    def __init__(self) -> None:
        self.revoked: dict[str, int] = {}

    def revoke(self, jti: str, ttl_seconds: int) -> None:
        self.revoked[jti] = ttl_seconds

    def is_revoked(self, jti: str) -> bool:
        return jti in self.revoked


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class World:
    store: Store
    clock: Clock
    limiter: FakeLimiter
    denylist: FakeDenylist
    codec: TokenCodec
    deps: GatewayDeps


SECRET = "unit-test-secret-" + "z" * 32


@pytest.fixture(scope="session")
def passwords() -> Passwords:
    return Passwords(time_cost=1, memory_kib=8, parallelism=1)


@pytest.fixture
def world(passwords: Passwords) -> World:
    store = Store()
    clock = Clock()
    limiter = FakeLimiter()
    denylist = FakeDenylist()
    codec = TokenCodec(SECRET, 900, clock=clock)

    uow = FakeUnitOfWork(store)
    deps = GatewayDeps(
        uow=uow,
        passwords=passwords,
        tokens=codec,
        limiter=limiter,
        denylist=denylist,
        # TTL 0: every request reads the current version (the cache itself is tested on its own).
        versions=TokenVersions(uow, ttl_seconds=0),
        refresh_ttl=timedelta(seconds=3600),
        family_max_age=timedelta(hours=4),
        limits=LoginLimits(
            free_failures=5, backoff_max_seconds=900, max_attempts_per_ip=30, ip_window_seconds=60
        ),
        clock=clock,
    )
    return World(store, clock, limiter, denylist, codec, deps)
