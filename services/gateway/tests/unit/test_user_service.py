"""User management rules: who may do what, tenant scoping, the last owner."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.domain import Role
from gateway.service import UserPatch, decode_cursor, encode_cursor, sessions, users
from omnistock_common.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)


def owner_of(world: Any, tenant: str = "Acme", email: str = "owner@acme.test") -> Any:
    return sessions.authenticate(
        world.deps, sessions.register(world.deps, tenant, email, "correct-horse").tokens.access_token
    )


def as_user(world: Any, email: str) -> Any:
    return sessions.authenticate(
        world.deps, sessions.login(world.deps, email, "correct-horse", "10.0.0.1").access_token
    )


def test_admin_cannot_create_or_promote_owners_or_touch_them(world: Any) -> None:
    owner = owner_of(world)
    users.create_user(world.deps, owner, "admin@acme.test", "correct-horse", "admin")
    admin = as_user(world, "admin@acme.test")
    staff = users.create_user(world.deps, admin, "staff@acme.test", "correct-horse", "staff")
    with pytest.raises(PermissionDenied):
        users.create_user(world.deps, admin, "o2@acme.test", "correct-horse", "owner")
    with pytest.raises(PermissionDenied):
        users.update_user(world.deps, admin, staff.id, UserPatch(role="owner"))
    with pytest.raises(PermissionDenied):
        users.update_user(world.deps, admin, owner.user_id, UserPatch(password="new-password"))
    with pytest.raises(PermissionDenied):
        users.delete_user(world.deps, admin, owner.user_id)
    assert users.update_user(world.deps, admin, staff.id, UserPatch(role="admin")).role is Role.ADMIN


def test_staff_cannot_manage_users(world: Any) -> None:
    owner = owner_of(world)
    users.create_user(world.deps, owner, "staff@acme.test", "correct-horse", "staff")
    staff = as_user(world, "staff@acme.test")
    with pytest.raises(PermissionDenied):
        users.create_user(world.deps, staff, "x@acme.test", "correct-horse", "viewer")


def test_last_owner_is_kept(world: Any) -> None:
    owner = owner_of(world)
    with pytest.raises(FailedPrecondition):
        users.delete_user(world.deps, owner, owner.user_id)
    with pytest.raises(FailedPrecondition):
        users.update_user(world.deps, owner, owner.user_id, UserPatch(role="admin"))
    second = users.create_user(world.deps, owner, "o2@acme.test", "correct-horse", "owner")
    users.update_user(world.deps, owner, second.id, UserPatch(role="staff"))
    users.update_user(world.deps, owner, second.id, UserPatch(role="owner"))
    users.delete_user(world.deps, owner, owner.user_id)
    assert world.store.users[second.id].role is Role.OWNER


def test_demoted_actor_loses_power_at_once(world: Any) -> None:
    owner = owner_of(world)
    admin_user = users.create_user(world.deps, owner, "admin@acme.test", "correct-horse", "admin")
    admin = as_user(world, "admin@acme.test")  # token says admin...
    users.update_user(world.deps, owner, admin_user.id, UserPatch(role="viewer"))
    with pytest.raises(PermissionDenied):  # ...but the database says viewer
        users.create_user(world.deps, admin, "x@acme.test", "correct-horse", "staff")
    users.delete_user(world.deps, owner, admin_user.id)
    with pytest.raises(Unauthenticated):
        users.list_users(world.deps.uow, admin, 10, None)


def test_users_are_tenant_scoped(world: Any) -> None:
    a = owner_of(world, "A", "owner@a.test")
    b = owner_of(world, "B", "owner@b.test")
    staff = users.create_user(world.deps, a, "s@a.test", "correct-horse", "staff")
    for action in (
        lambda: users.get_user(world.deps.uow, b, staff.id),
        lambda: users.update_user(world.deps, b, staff.id, UserPatch(role="viewer")),
        lambda: users.delete_user(world.deps, b, staff.id),
    ):
        with pytest.raises(NotFound):
            action()
    listed, _ = users.list_users(world.deps.uow, b, 50, None)
    assert [u.email for u in listed] == ["owner@b.test"]


def test_list_pages_by_email(world: Any) -> None:
    owner = owner_of(world)
    for name in ("d", "b", "c", "a"):
        users.create_user(world.deps, owner, f"{name}@acme.test", "correct-horse", "viewer")
    page, cursor = users.list_users(world.deps.uow, owner, 2, None)
    assert [u.email for u in page] == ["a@acme.test", "b@acme.test"]
    page, cursor = users.list_users(world.deps.uow, owner, 2, cursor)
    assert [u.email for u in page] == ["c@acme.test", "d@acme.test"]
    page, cursor = users.list_users(world.deps.uow, owner, 2, cursor)
    assert [u.email for u in page] == ["owner@acme.test"] and cursor is None
    assert decode_cursor(encode_cursor("x@y.z")) == "x@y.z"
    with pytest.raises(InvalidArgument):
        decode_cursor("%%%")


def test_update_checks_version_email_and_password(world: Any) -> None:
    owner = owner_of(world)
    staff = users.create_user(world.deps, owner, "s@acme.test", "correct-horse", "staff")
    session = sessions.login(world.deps, "s@acme.test", "correct-horse", "10.0.0.1")
    with pytest.raises(Aborted):
        users.update_user(world.deps, owner, staff.id, UserPatch(role="viewer"), expected_version=7)
    with pytest.raises(AlreadyExists):
        users.update_user(world.deps, owner, staff.id, UserPatch(email="OWNER@acme.test"))
    updated = users.update_user(
        world.deps, owner, staff.id, UserPatch(password="brand-new-pass"), expected_version=1
    )
    assert updated.version == 2
    with pytest.raises(Unauthenticated):  # a new password ends existing sessions
        sessions.refresh(world.deps, session.refresh_token)
    sessions.login(world.deps, "s@acme.test", "brand-new-pass", "10.0.0.1")
    with pytest.raises(InvalidArgument):
        users.update_user(world.deps, owner, staff.id, UserPatch(role="god"))


def test_demotion_password_change_and_deletion_revoke_existing_access_tokens(world: Any) -> None:
    owner = owner_of(world)
    for email in ("demoted@acme.test", "moved@acme.test", "gone@acme.test", "renamed@acme.test"):
        users.create_user(world.deps, owner, email, "correct-horse", "admin")
    tokens = {
        email: sessions.login(world.deps, email, "correct-horse", "10.0.0.1").access_token
        for email in ("demoted@acme.test", "moved@acme.test", "gone@acme.test", "renamed@acme.test")
    }
    ids = {email: sessions.authenticate(world.deps, token).user_id for email, token in tokens.items()}
    users.update_user(world.deps, owner, ids["demoted@acme.test"], UserPatch(role="viewer"))
    users.update_user(world.deps, owner, ids["moved@acme.test"], UserPatch(password="another-password"))
    users.delete_user(world.deps, owner, ids["gone@acme.test"])
    users.update_user(world.deps, owner, ids["renamed@acme.test"], UserPatch(email="new-name@acme.test"))
    for email in ("demoted@acme.test", "moved@acme.test", "gone@acme.test"):
        with pytest.raises(Unauthenticated):
            sessions.authenticate(world.deps, tokens[email])
    # An unrelated change (the email) leaves the session alone.
    assert sessions.authenticate(world.deps, tokens["renamed@acme.test"]).user_id == ids["renamed@acme.test"]
    # The demoted user signs in again and gets a token with the new role.
    fresh = sessions.authenticate(
        world.deps, sessions.login(world.deps, "demoted@acme.test", "correct-horse", "10.0.0.1").access_token
    )
    assert fresh.role is Role.VIEWER


def test_token_versions_are_cached_briefly() -> None:
    from gateway.service import TokenVersions

    reads: list[str] = []
    version = {"v": 1}
    now = {"t": 100.0}

    class Users:
        def token_version(self, tenant_id: str, user_id: str) -> int | None:
            reads.append(user_id)
            return version["v"]

    class Tx:
        users = Users()

    class Uow:
        def run(self, work: Any) -> Any:
            return work(Tx())

    cache = TokenVersions(Uow(), ttl_seconds=5.0, monotonic=lambda: now["t"])  # type: ignore[arg-type]
    assert cache.current("t", "u") == 1 and cache.current("t", "u") == 1
    assert reads == ["u"]
    version["v"] = 2
    now["t"] += 4.9
    assert cache.current("t", "u") == 1  # within the TTL
    now["t"] += 0.2
    assert cache.current("t", "u") == 2 and reads == ["u", "u"]
    version["v"] = 3
    cache.forget("t", "u")
    assert cache.current("t", "u") == 3
