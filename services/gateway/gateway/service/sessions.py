"""Tenants, sessions and tokens: register, login, refresh, logout, authenticate, me. Module
functions taking GatewayDeps (or only the unit of work).

Slow argon2 work always happens outside a database transaction: on SQLite every transaction
takes the write lock, and holding it for a 50 ms hash would serialize all logins.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from gateway.auth import AccessClaims, hash_refresh_secret, new_refresh_secret
from gateway.domain import (
    RateLimited,
    RefreshTokenRecord,
    Role,
    Tenant,
    User,
    check_password_policy,
    normalize_email,
)
from gateway.service.deps import GatewayDeps
from gateway.service.ports import Transaction, UnitOfWork
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


_BAD_CREDENTIALS = "invalid email or password"
_BAD_REFRESH = "invalid refresh token"


@dataclass(frozen=True)
class _RefreshRefused:
    """Why a refresh was refused. The refresh transaction returns it instead of raising, so what
    the refusal revoked (a token family) is committed; the caller raises after run() returns."""

    message: str
    reused: RefreshTokenRecord | None = None


# -- registration and login
def register(
    deps: GatewayDeps, tenant_name: str, email: str, password: str, client_ip: str | None = None
) -> Registration:
    """`client_ip` (every HTTP caller) is rate limited before any argon2 work is done;
    None is for trusted in-process callers such as the demo seeder."""
    if client_ip is not None:
        retry = deps.limiter.attempt(
            f"register:ip:{client_ip}",
            deps.limits.max_registrations_per_ip,
            deps.limits.registration_window_seconds,
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
    password_hash = deps.passwords.hash(password)
    now = deps.clock()
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
        return _start_family(deps, tx, user)

    tokens = deps.uow.run(work)
    log.info("tenant registered", extra={"tenant": tenant.id, "user": user.id})
    return Registration(tenant=tenant, user=user, tokens=tokens)


def login(deps: GatewayDeps, email: str, password: str, client_ip: str) -> TokenPair:
    """Rate limited per client IP (every attempt); wrong passwords slow down further tries
    from the same IP for the same account (doubling waits), never the owner elsewhere."""
    email = email.strip().lower()
    limits = deps.limits
    retry = deps.limiter.attempt(
        f"login:ip:{client_ip}", limits.max_attempts_per_ip, limits.ip_window_seconds
    )
    if retry:
        raise RateLimited("too many login attempts from this address", retry_after=retry)
    # Keyed by a hash so the limiter's keys list neither our users' nor clients' addresses.
    pair_key = "login:fail:" + hashlib.sha256(f"{client_ip}\n{email}".encode()).hexdigest()
    retry = deps.limiter.blocked_for(pair_key)
    if retry:
        raise RateLimited("too many failed logins for this account from this address", retry_after=retry)

    user = deps.uow.run(lambda tx: tx.users.get_by_email(email))
    if user is None:
        deps.passwords.dummy_verify(password)
    if user is None or not deps.passwords.verify(user.password_hash, password):
        deps.limiter.record_failure(
            pair_key, limits.free_failures, limits.backoff_max_seconds, limits.failure_memory_seconds
        )
        raise Unauthenticated(_BAD_CREDENTIALS)
    deps.limiter.reset(pair_key)
    new_hash = deps.passwords.hash(password) if deps.passwords.needs_rehash(user.password_hash) else None

    def work(tx: Transaction) -> TokenPair:
        if new_hash is not None:
            current = tx.users.get(user.tenant_id, user.id)
            if current is not None:
                tx.users.update(replace(current, password_hash=new_hash), expected_version=current.version)
        return _start_family(deps, tx, user)

    return deps.uow.run(work)


# -- refresh tokens
def refresh(deps: GatewayDeps, refresh_secret: str) -> TokenPair:
    """Rotate: the presented token dies, a new one joins its family.

    Presenting a token that was already rotated means two parties hold it (a stolen token or
    a replay): the whole family is revoked, so the thief's newest token dies as well.
    """
    now = deps.clock()
    token_hash = hash_refresh_secret(refresh_secret)

    def work(tx: Transaction) -> TokenPair | _RefreshRefused:
        # Refusals that revoke are returned, not raised: raising would roll the revocation back.
        record = tx.refresh_tokens.get_by_hash(token_hash)
        if record is None or record.revoked_at is not None:
            return _RefreshRefused(_BAD_REFRESH)
        if record.expires_at <= now:
            return _RefreshRefused("refresh token expired")
        started = record.family_started_at or record.created_at
        if started + deps.family_max_age <= now:
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
        return _issue(deps, tx, user, record.family_id, started)

    outcome = deps.uow.run(work)
    if isinstance(outcome, _RefreshRefused):
        if outcome.reused is not None:
            log.warning(
                "refresh token reuse: family revoked",
                extra={"family": outcome.reused.family_id, "user": outcome.reused.user_id},
            )
        raise Unauthenticated(outcome.message)
    return outcome


def logout(deps: GatewayDeps, claims: AccessClaims, refresh_secret: str) -> None:
    """Revoke the refresh token's family (if it is the caller's) and the access token itself."""
    now = deps.clock()
    token_hash = hash_refresh_secret(refresh_secret)

    def work(tx: Transaction) -> None:
        record = tx.refresh_tokens.get_by_hash(token_hash)
        if record is not None and record.user_id == claims.user_id:
            tx.refresh_tokens.revoke_family(record.family_id, now)

    deps.uow.run(work)
    remaining = int((claims.expires_at - now).total_seconds())
    if remaining > 0:
        deps.denylist.revoke(claims.jti, remaining)


def authenticate(deps: GatewayDeps, bearer_token: str) -> AccessClaims:
    claims = deps.tokens.verify_access(bearer_token)
    if deps.denylist.is_revoked(claims.jti):
        raise Unauthenticated("access token revoked")
    current = deps.versions.current(claims.tenant_id, claims.user_id)
    if current is None:
        raise Unauthenticated("the token's user no longer exists")
    if current != claims.token_version:
        # The role or the password changed since the token was minted: refresh or log in.
        raise Unauthenticated("access token revoked")
    return claims


def me(uow: UnitOfWork, claims: AccessClaims) -> tuple[User, Tenant]:
    user, tenant = uow.run(
        lambda tx: (tx.users.get(claims.tenant_id, claims.user_id), tx.tenants.get(claims.tenant_id))
    )
    if user is None or tenant is None:
        raise Unauthenticated("the token's user no longer exists")
    return user, tenant


# -- helpers
def _start_family(deps: GatewayDeps, tx: Transaction, user: User) -> TokenPair:
    return _issue(deps, tx, user, str(uuid.uuid4()), deps.clock())


def _issue(
    deps: GatewayDeps, tx: Transaction, user: User, family_id: str, family_started_at: datetime
) -> TokenPair:
    now = deps.clock()
    secret = new_refresh_secret()
    tx.refresh_tokens.add(
        RefreshTokenRecord(
            id=str(uuid.uuid4()),
            token_hash=hash_refresh_secret(secret),
            family_id=family_id,
            user_id=user.id,
            tenant_id=user.tenant_id,
            created_at=now,
            expires_at=min(now + deps.refresh_ttl, family_started_at + deps.family_max_age),
            family_started_at=family_started_at,
        )
    )
    return TokenPair(
        access_token=deps.tokens.issue_access(user.id, user.tenant_id, user.role, user.token_version),
        refresh_token=secret,
        expires_in=deps.tokens.access_ttl_seconds,
    )
