"""User management: owners and admins manage the users of their own tenant.

Every change re-reads the actor's role (a demotion takes effect at once), locks the tenant so the
last-owner rule holds under concurrency, and invalidates the tokens a new role or password ends.
Module functions taking GatewayDeps (or only the unit of work).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gateway.auth import AccessClaims
from gateway.domain import (
    Role,
    User,
    check_can_assign,
    check_can_modify,
    check_keeps_an_owner,
    check_password_policy,
    normalize_email,
    parse_role,
)
from gateway.service.deps import GatewayDeps
from gateway.service.ports import Transaction, UnitOfWork
from omnistock_common import paging
from omnistock_common.errors import (
    Aborted,
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def encode_cursor(key: str) -> str:
    """The user id itself, base64: the gateway's cursors predate the JSON key of
    omnistock_common.paging.encode_cursor, and a cursor in flight must keep working."""
    return paging.b64_encode(key.encode())


def decode_cursor(cursor: str) -> str:
    raw = paging.b64_decode(cursor)
    try:
        if raw is None:
            raise ValueError("not base64")
        return raw.decode()
    except (UnicodeDecodeError, ValueError):
        raise InvalidArgument(
            "invalid cursor", violations=[FieldViolation("cursor", "malformed cursor")]
        ) from None


@dataclass(frozen=True)
class UserPatch:
    """Fields to change; None leaves a field as it is."""

    email: str | None = None
    password: str | None = None
    role: str | None = None


def list_users(
    uow: UnitOfWork, actor: AccessClaims, limit: int, cursor: str | None
) -> tuple[Sequence[User], str | None]:
    limit = min(max(limit, 1), MAX_PAGE_SIZE)
    after = decode_cursor(cursor) if cursor else None

    def work(tx: Transaction) -> list[User]:
        _current_role(tx, actor)
        return tx.users.list(actor.tenant_id, limit + 1, after)

    users = uow.run(work)
    if len(users) > limit:
        return users[:limit], encode_cursor(users[limit - 1].email)
    return users, None


def get_user(uow: UnitOfWork, actor: AccessClaims, user_id: str) -> User:

    def work(tx: Transaction) -> User | None:
        _current_role(tx, actor)
        return tx.users.get(actor.tenant_id, user_id)

    user = uow.run(work)
    if user is None:
        raise NotFound("user not found")
    return user


def create_user(deps: GatewayDeps, actor: AccessClaims, email: str, password: str, role: str) -> User:
    email = normalize_email(email)
    check_password_policy(password)
    new_role = parse_role(role)
    password_hash = deps.passwords.hash(password)
    now = deps.clock()
    user = User(
        id=str(uuid.uuid4()),
        tenant_id=actor.tenant_id,
        email=email,
        role=new_role,
        password_hash=password_hash,
        version=1,
        created_at=now,
        updated_at=now,
    )

    def work(tx: Transaction) -> None:
        check_can_assign(_current_role(tx, actor), new_role)
        if tx.users.get_by_email(email) is not None:
            raise AlreadyExists("email already registered", reason="EMAIL_TAKEN")
        tx.users.add(user)

    deps.uow.run(work)
    return user


def update_user(
    deps: GatewayDeps,
    actor: AccessClaims,
    user_id: str,
    patch: UserPatch,
    expected_version: int | None = None,
) -> User:
    email = normalize_email(patch.email) if patch.email is not None else None
    new_role = parse_role(patch.role) if patch.role is not None else None
    new_hash = None
    if patch.password is not None:
        check_password_policy(patch.password)
        new_hash = deps.passwords.hash(patch.password)
    now = deps.clock()

    def work(tx: Transaction) -> tuple[User, User, bool]:
        actor_role, target = _modifiable(tx, actor, user_id, expected_version)
        if new_role is not None:
            check_can_assign(actor_role, new_role)
            check_keeps_an_owner(target, new_role, tx.users.count_owners(actor.tenant_id))
        if email is not None and email != target.email and tx.users.get_by_email(email) is not None:
            raise AlreadyExists("email already registered", reason="EMAIL_TAKEN")
        # A new role or password invalidates every access token minted before it.
        revokes = new_hash is not None or (new_role is not None and new_role != target.role)
        updated = replace(
            target,
            email=email if email is not None else target.email,
            role=new_role if new_role is not None else target.role,
            password_hash=new_hash if new_hash is not None else target.password_hash,
            version=target.version + 1,
            updated_at=now,
            token_version=target.token_version + 1 if revokes else target.token_version,
        )
        if not tx.users.update(updated, expected_version=target.version):
            raise Aborted("the user was changed by someone else", reason="VERSION_MISMATCH")
        if new_hash is not None:
            # A new password ends every session that knew the old one.
            tx.refresh_tokens.revoke_all_for_user(target.id, now)
        return target, updated, revokes

    target, updated, revokes = deps.uow.run(work)
    if revokes:
        _forget(deps, target)
    return updated


def delete_user(
    deps: GatewayDeps, actor: AccessClaims, user_id: str, expected_version: int | None = None
) -> None:

    def work(tx: Transaction) -> User:
        _, target = _modifiable(tx, actor, user_id, expected_version)
        check_keeps_an_owner(target, None, tx.users.count_owners(actor.tenant_id))
        tx.refresh_tokens.revoke_all_for_user(target.id, deps.clock())
        tx.users.delete(actor.tenant_id, target.id)
        return target

    target = deps.uow.run(work)
    _forget(deps, target)


def _modifiable(
    tx: Transaction, actor: AccessClaims, user_id: str, expected_version: int | None
) -> tuple[Role, User]:
    """The actor's current role and the user it may change: the tenant is locked first (owner
    counts stay true until commit), then the target must exist, be within the actor's reach and,
    with If-Match, still be at `expected_version`."""
    actor_role = _current_role(tx, actor)
    tx.tenants.lock(actor.tenant_id)
    target = tx.users.get(actor.tenant_id, user_id)
    if target is None:
        raise NotFound("user not found")
    check_can_modify(actor_role, target)
    if expected_version is not None and expected_version != target.version:
        raise Aborted("the user was changed by someone else", reason="VERSION_MISMATCH")
    return actor_role, target


def _forget(deps: GatewayDeps, user: User) -> None:
    deps.versions.forget(user.tenant_id, user.id)


def _current_role(tx: Transaction, actor: AccessClaims) -> Role:
    """The actor's role now, not when the token was minted: a demotion takes effect at once."""
    me = tx.users.get(actor.tenant_id, actor.user_id)
    if me is None:
        raise Unauthenticated("the token's user no longer exists")
    return me.role
