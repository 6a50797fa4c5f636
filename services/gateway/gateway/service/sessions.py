"""Tenants, sessions and tokens: register, login, refresh, logout, authenticate.

Slow argon2 work always happens outside a database transaction: on SQLite every transaction
takes the write lock, and holding it for a 50 ms hash would serialize all logins.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from gateway.auth import (
    AccessClaims,
    Clock,
    Passwords,
    TokenCodec,
    hash_refresh_secret,
    new_refresh_secret,
    utcnow,
)
from gateway.domain import (
    RateLimited,
    RefreshTokenRecord,
    Role,
    Tenant,
    User,
    check_password_policy,
    normalize_email,
)
from gateway.service.ports import AttemptLimiter, TokenDenylist, Transaction, UnitOfWork
from omnistock_common.errors import AlreadyExists, FieldViolation, InvalidArgument, Unauthenticated

log = logging.getLogger("gateway.service")

MAX_TENANT_NAME = 200


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


@dataclass(frozen=True)
class Registration:
    tenant: Tenant
    user: User
    tokens: TokenPair


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


_BAD_CREDENTIALS = "invalid email or password"
_BAD_REFRESH = "invalid refresh token"


@dataclass(frozen=True)
class _RefreshRefused:
    """Why a refresh was refused. The refresh transaction returns it instead of raising, so what
    the refusal revoked (a token family) is committed; the caller raises after run() returns."""

    message: str
    reused: RefreshTokenRecord | None = None


class AuthService:
    """Tenants, sessions and tokens."""

    def __init__(
        self,
        uow: UnitOfWork,
        passwords: Passwords,
        tokens: TokenCodec,
        limiter: AttemptLimiter,
        denylist: TokenDenylist,
        *,
        refresh_ttl_seconds: int,
        family_max_age_seconds: int = 30 * 24 * 3600,
        limits: LoginLimits = LoginLimits(),
        versions: TokenVersions | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._uow = uow
        self._passwords = passwords
        self._tokens = tokens
        self._limiter = limiter
        self._denylist = denylist
        self._refresh_ttl = timedelta(seconds=refresh_ttl_seconds)
        self._family_max_age = timedelta(seconds=family_max_age_seconds)
        self._limits = limits
        self.versions = versions if versions is not None else TokenVersions(uow)
        self._clock = clock

    # -- registration and login
    def register(
        self, tenant_name: str, email: str, password: str, client_ip: str | None = None
    ) -> Registration:
        """`client_ip` (every HTTP caller) is rate limited before any argon2 work is done;
        None is for trusted in-process callers such as the demo seeder."""
        if client_ip is not None:
            retry = self._limiter.attempt(
                f"register:ip:{client_ip}",
                self._limits.max_registrations_per_ip,
                self._limits.registration_window_seconds,
            )
            if retry:
                raise RateLimited("too many registrations from this address", retry_after=retry)
        name = tenant_name.strip()
        if not name or len(name) > MAX_TENANT_NAME:
            raise InvalidArgument(
                "invalid tenant name",
                violations=[FieldViolation("tenant_name", f"must be 1 to {MAX_TENANT_NAME} characters")],
            )
        email = normalize_email(email)
        check_password_policy(password)
        password_hash = self._passwords.hash(password)
        now = self._clock()
        tenant = Tenant(id=str(uuid.uuid4()), name=name, created_at=now)
        user = User(
            id=str(uuid.uuid4()),
            tenant_id=tenant.id,
            email=email,
            role=Role.OWNER,
            password_hash=password_hash,
            version=1,
            created_at=now,
            updated_at=now,
        )

        def work(tx: Transaction) -> TokenPair:
            if tx.users.get_by_email(email) is not None:
                raise AlreadyExists("email already registered", reason="EMAIL_TAKEN")
            tx.tenants.add(tenant)
            tx.users.add(user)
            return self._start_family(tx, user)

        tokens = self._uow.run(work)
        log.info("tenant registered", extra={"tenant": tenant.id, "user": user.id})
        return Registration(tenant=tenant, user=user, tokens=tokens)

    def login(self, email: str, password: str, client_ip: str) -> TokenPair:
        """Rate limited per client IP (every attempt); wrong passwords slow down further tries
        from the same IP for the same account (doubling waits), never the owner elsewhere."""
        email = email.strip().lower()
        limits = self._limits
        retry = self._limiter.attempt(
            f"login:ip:{client_ip}", limits.max_attempts_per_ip, limits.ip_window_seconds
        )
        if retry:
            raise RateLimited("too many login attempts from this address", retry_after=retry)
        # Keyed by a hash so the limiter's keys list neither our users' nor clients' addresses.
        pair_key = "login:fail:" + hashlib.sha256(f"{client_ip}\n{email}".encode()).hexdigest()
        retry = self._limiter.blocked_for(pair_key)
        if retry:
            raise RateLimited("too many failed logins for this account from this address", retry_after=retry)

        user = self._uow.run(lambda tx: tx.users.get_by_email(email))
        if user is None:
            self._passwords.dummy_verify(password)
        if user is None or not self._passwords.verify(user.password_hash, password):
            self._limiter.record_failure(
                pair_key, limits.free_failures, limits.backoff_max_seconds, limits.failure_memory_seconds
            )
            raise Unauthenticated(_BAD_CREDENTIALS)
        self._limiter.reset(pair_key)
        new_hash = (
            self._passwords.hash(password) if self._passwords.needs_rehash(user.password_hash) else None
        )

        def work(tx: Transaction) -> TokenPair:
            if new_hash is not None:
                current = tx.users.get(user.tenant_id, user.id)
                if current is not None:
                    tx.users.update(
                        replace(current, password_hash=new_hash), expected_version=current.version
                    )
            return self._start_family(tx, user)

        return self._uow.run(work)

    # -- refresh tokens
    def refresh(self, refresh_secret: str) -> TokenPair:
        """Rotate: the presented token dies, a new one joins its family.

        Presenting a token that was already rotated means two parties hold it (a stolen token or
        a replay): the whole family is revoked, so the thief's newest token dies as well.
        """
        now = self._clock()
        token_hash = hash_refresh_secret(refresh_secret)

        def work(tx: Transaction) -> TokenPair | _RefreshRefused:
            # Refusals that revoke are returned, not raised: raising would roll the revocation back.
            record = tx.refresh_tokens.get_by_hash(token_hash)
            if record is None or record.revoked_at is not None:
                return _RefreshRefused(_BAD_REFRESH)
            if record.expires_at <= now:
                return _RefreshRefused("refresh token expired")
            started = record.family_started_at or record.created_at
            if started + self._family_max_age <= now:
                # However often it was rotated, a login's session ends a fixed time after it.
                tx.refresh_tokens.revoke_family(record.family_id, now)
                return _RefreshRefused("the session has expired: log in again")
            if record.used_at is not None or not tx.refresh_tokens.mark_used(record.id, now):
                tx.refresh_tokens.revoke_family(record.family_id, now)
                return _RefreshRefused(_BAD_REFRESH, reused=record)
            # The role and the account are re-read: a demoted or deleted user gets no fresh power.
            user = tx.users.get(record.tenant_id, record.user_id)
            if user is None:
                tx.refresh_tokens.revoke_family(record.family_id, now)
                return _RefreshRefused(_BAD_REFRESH)
            return self._issue(tx, user, record.family_id, started)

        outcome = self._uow.run(work)
        if isinstance(outcome, _RefreshRefused):
            if outcome.reused is not None:
                log.warning(
                    "refresh token reuse: family revoked",
                    extra={"family": outcome.reused.family_id, "user": outcome.reused.user_id},
                )
            raise Unauthenticated(outcome.message)
        return outcome

    def logout(self, claims: AccessClaims, refresh_secret: str) -> None:
        """Revoke the refresh token's family (if it is the caller's) and the access token itself."""
        now = self._clock()
        token_hash = hash_refresh_secret(refresh_secret)

        def work(tx: Transaction) -> None:
            record = tx.refresh_tokens.get_by_hash(token_hash)
            if record is not None and record.user_id == claims.user_id:
                tx.refresh_tokens.revoke_family(record.family_id, now)

        self._uow.run(work)
        remaining = int((claims.expires_at - now).total_seconds())
        if remaining > 0:
            self._denylist.revoke(claims.jti, remaining)

    def authenticate(self, bearer_token: str) -> AccessClaims:
        claims = self._tokens.verify_access(bearer_token)
        if self._denylist.is_revoked(claims.jti):
            raise Unauthenticated("access token revoked")
        current = self.versions.current(claims.tenant_id, claims.user_id)
        if current is None:
            raise Unauthenticated("the token's user no longer exists")
        if current != claims.token_version:
            # The role or the password changed since the token was minted: refresh or log in.
            raise Unauthenticated("access token revoked")
        return claims

    def me(self, claims: AccessClaims) -> tuple[User, Tenant]:
        user, tenant = self._uow.run(
            lambda tx: (tx.users.get(claims.tenant_id, claims.user_id), tx.tenants.get(claims.tenant_id))
        )
        if user is None or tenant is None:
            raise Unauthenticated("the token's user no longer exists")
        return user, tenant

    # -- helpers
    def _start_family(self, tx: Transaction, user: User) -> TokenPair:
        return self._issue(tx, user, str(uuid.uuid4()), self._clock())

    def _issue(self, tx: Transaction, user: User, family_id: str, family_started_at: datetime) -> TokenPair:
        now = self._clock()
        secret = new_refresh_secret()
        tx.refresh_tokens.add(
            RefreshTokenRecord(
                id=str(uuid.uuid4()),
                token_hash=hash_refresh_secret(secret),
                family_id=family_id,
                user_id=user.id,
                tenant_id=user.tenant_id,
                created_at=now,
                expires_at=min(now + self._refresh_ttl, family_started_at + self._family_max_age),
                family_started_at=family_started_at,
            )
        )
        return TokenPair(
            access_token=self._tokens.issue_access(user.id, user.tenant_id, user.role, user.token_version),
            refresh_token=secret,
            expires_in=self._tokens.access_ttl_seconds,
        )
