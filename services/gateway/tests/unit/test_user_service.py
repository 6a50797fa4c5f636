"""User management rules: who may do what, tenant scoping, the last owner."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.domain import Role
from gateway.service import UserPatch, decode_cursor, encode_cursor
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
    return world.auth.authenticate(world.auth.register(tenant, email, "correct-horse").tokens.access_token)


def as_user(world: Any, email: str) -> Any:
    return world.auth.authenticate(world.auth.login(email, "correct-horse", "10.0.0.1").access_token)


def test_admin_cannot_create_or_promote_owners_or_touch_them(world: Any) -> None:
    owner = owner_of(world)
    world.users.create(owner, "admin@acme.test", "correct-horse", "admin")
    admin = as_user(world, "admin@acme.test")
    staff = world.users.create(admin, "staff@acme.test", "correct-horse", "staff")
    with pytest.raises(PermissionDenied):
        world.users.create(admin, "o2@acme.test", "correct-horse", "owner")
    with pytest.raises(PermissionDenied):
        world.users.update(admin, staff.id, UserPatch(role="owner"))
    with pytest.raises(PermissionDenied):
        world.users.update(admin, owner.user_id, UserPatch(password="new-password"))
    with pytest.raises(PermissionDenied):
        world.users.delete(admin, owner.user_id)
    assert world.users.update(admin, staff.id, UserPatch(role="admin")).role is Role.ADMIN


def test_staff_cannot_manage_users(world: Any) -> None:
    owner = owner_of(world)
    world.users.create(owner, "staff@acme.test", "correct-horse", "staff")
    staff = as_user(world, "staff@acme.test")
    with pytest.raises(PermissionDenied):
        world.users.create(staff, "x@acme.test", "correct-horse", "viewer")


def test_last_owner_is_kept(world: Any) -> None:
    owner = owner_of(world)
    with pytest.raises(FailedPrecondition):
        world.users.delete(owner, owner.user_id)
    with pytest.raises(FailedPrecondition):
        world.users.update(owner, owner.user_id, UserPatch(role="admin"))
    second = world.users.create(owner, "o2@acme.test", "correct-horse", "owner")
    world.users.update(owner, second.id, UserPatch(role="staff"))
    world.users.update(owner, second.id, UserPatch(role="owner"))
    world.users.delete(owner, owner.user_id)
    assert world.store.users[second.id].role is Role.OWNER


def test_demoted_actor_loses_power_at_once(world: Any) -> None:
    owner = owner_of(world)
    admin_user = world.users.create(owner, "admin@acme.test", "correct-horse", "admin")
    admin = as_user(world, "admin@acme.test")  # token says admin...
    world.users.update(owner, admin_user.id, UserPatch(role="viewer"))
    with pytest.raises(PermissionDenied):  # ...but the database says viewer
        world.users.create(admin, "x@acme.test", "correct-horse", "staff")
    world.users.delete(owner, admin_user.id)
    with pytest.raises(Unauthenticated):
        world.users.list(admin, 10, None)


def test_users_are_tenant_scoped(world: Any) -> None:
    a = owner_of(world, "A", "owner@a.test")
    b = owner_of(world, "B", "owner@b.test")
    staff = world.users.create(a, "s@a.test", "correct-horse", "staff")
    for action in (
        lambda: world.users.get(b, staff.id),
        lambda: world.users.update(b, staff.id, UserPatch(role="viewer")),
        lambda: world.users.delete(b, staff.id),
    ):
        with pytest.raises(NotFound):
            action()
    users, _ = world.users.list(b, 50, None)
    assert [u.email for u in users] == ["owner@b.test"]


def test_list_pages_by_email(world: Any) -> None:
    owner = owner_of(world)
    for name in ("d", "b", "c", "a"):
        world.users.create(owner, f"{name}@acme.test", "correct-horse", "viewer")
    page, cursor = world.users.list(owner, 2, None)
    assert [u.email for u in page] == ["a@acme.test", "b@acme.test"]
    page, cursor = world.users.list(owner, 2, cursor)
    assert [u.email for u in page] == ["c@acme.test", "d@acme.test"]
    page, cursor = world.users.list(owner, 2, cursor)
    assert [u.email for u in page] == ["owner@acme.test"] and cursor is None
    assert decode_cursor(encode_cursor("x@y.z")) == "x@y.z"
    with pytest.raises(InvalidArgument):
        decode_cursor("%%%")


def test_update_checks_version_email_and_password(world: Any) -> None:
    owner = owner_of(world)
    staff = world.users.create(owner, "s@acme.test", "correct-horse", "staff")
    session = world.auth.login("s@acme.test", "correct-horse", "10.0.0.1")
    with pytest.raises(Aborted):
        world.users.update(owner, staff.id, UserPatch(role="viewer"), expected_version=7)
    with pytest.raises(AlreadyExists):
        world.users.update(owner, staff.id, UserPatch(email="OWNER@acme.test"))
    updated = world.users.update(owner, staff.id, UserPatch(password="brand-new-pass"), expected_version=1)
    assert updated.version == 2
    with pytest.raises(Unauthenticated):  # a new password ends existing sessions
        world.auth.refresh(session.refresh_token)
    world.auth.login("s@acme.test", "brand-new-pass", "10.0.0.1")
    with pytest.raises(InvalidArgument):
        world.users.update(owner, staff.id, UserPatch(role="god"))


def test_demotion_password_change_and_deletion_revoke_existing_access_tokens(world: Any) -> None:
    owner = owner_of(world)
    for email in ("demoted@acme.test", "moved@acme.test", "gone@acme.test", "renamed@acme.test"):
        world.users.create(owner, email, "correct-horse", "admin")
    tokens = {
        email: world.auth.login(email, "correct-horse", "10.0.0.1").access_token
        for email in ("demoted@acme.test", "moved@acme.test", "gone@acme.test", "renamed@acme.test")
    }
    ids = {email: world.auth.authenticate(token).user_id for email, token in tokens.items()}
    world.users.update(owner, ids["demoted@acme.test"], UserPatch(role="viewer"))
    world.users.update(owner, ids["moved@acme.test"], UserPatch(password="another-password"))
    world.users.delete(owner, ids["gone@acme.test"])
    world.users.update(owner, ids["renamed@acme.test"], UserPatch(email="new-name@acme.test"))
    for email in ("demoted@acme.test", "moved@acme.test", "gone@acme.test"):
        with pytest.raises(Unauthenticated):
            world.auth.authenticate(tokens[email])
    # An unrelated change (the email) leaves the session alone.
    assert world.auth.authenticate(tokens["renamed@acme.test"]).user_id == ids["renamed@acme.test"]
    # The demoted user signs in again and gets a token with the new role.
    fresh = world.auth.authenticate(
        world.auth.login("demoted@acme.test", "correct-horse", "10.0.0.1").access_token
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
