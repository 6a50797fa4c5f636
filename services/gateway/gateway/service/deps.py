"""GatewayDeps: the collaborators of the gateway's use cases (sessions, users), one frozen value
built by the composition root (gateway.deps) and handed first to every use case that needs more
than the unit of work; LoginLimits and the TokenVersions cache it carries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from gateway.auth import Clock, Passwords, TokenCodec, utcnow
from gateway.service.ports import AttemptLimiter, TokenDenylist, UnitOfWork


@dataclass(frozen=True)
class LoginLimits:
    """Wrong passwords are slowed per (client IP, account) with a doubling wait, never by locking
    the account: its owner signing in from another address is not affected. Every attempt also
    counts against the client IP, and registrations have their own per-IP limit."""

    free_failures: int = 5
    backoff_max_seconds: int = 15 * 60
    failure_memory_seconds: int = 3600
    max_attempts_per_ip: int = 30
    ip_window_seconds: int = 60
    max_registrations_per_ip: int = 10
    registration_window_seconds: int = 60


class TokenVersions:
    """Each user's current token version, cached in this process for at most `ttl_seconds`.

    Checked on every authenticated request: a deleted, demoted or password-changed user's access
    tokens stop working within the TTL on every replica (at once on the replica that made the
    change, which calls forget()). A TTL of 0 reads the database on every request.
    """

    MAX_ENTRIES = 100_000

    def __init__(
        self,
        uow: UnitOfWork,
        ttl_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow = uow
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, int | None]] = {}

    def current(self, tenant_id: str, user_id: str) -> int | None:
        key = (tenant_id, user_id)
        now = self._monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        version = self._uow.run(lambda tx: tx.users.token_version(tenant_id, user_id))
        with self._lock:
            if len(self._cache) >= self.MAX_ENTRIES:
                self._cache.clear()  # bounded memory; entries are cheap to re-read
            self._cache[key] = (now, version)
        return version

    def forget(self, tenant_id: str, user_id: str) -> None:
        with self._lock:
            self._cache.pop((tenant_id, user_id), None)


@dataclass(frozen=True)
class GatewayDeps:
    """What the sessions and users use cases need besides plain arguments; one value serves every
    thread (TokenVersions is the only state, and it locks)."""

    uow: UnitOfWork
    passwords: Passwords
    tokens: TokenCodec
    limiter: AttemptLimiter
    denylist: TokenDenylist
    # Each user's current token version, shared by sessions (authenticate) and users (forget on
    # a change), so this replica stops honouring old tokens at once.
    versions: TokenVersions
    refresh_ttl: timedelta
    family_max_age: timedelta = timedelta(days=30)
    limits: LoginLimits = field(default_factory=LoginLimits)
    clock: Clock = utcnow
