"""The one role policy table and the user-management rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.domain import (
    POLICY,
    Permission,
    Role,
    User,
    allowed,
    check_can_assign,
    check_can_modify,
    check_keeps_an_owner,
    normalize_email,
)
from omnistock_common.errors import FailedPrecondition, InvalidArgument, PermissionDenied


@pytest.mark.parametrize(
    ("role", "granted"),
    [
        (
            Role.VIEWER,
            {
                Permission.AUTHENTICATED,
                Permission.CATALOG_READ,
                Permission.INVENTORY_READ,
                Permission.CHANNELS_READ,
                Permission.ORDERS_READ,
                Permission.PRICING_READ,
            },
        ),
        (
            Role.STAFF,
            {
                Permission.AUTHENTICATED,
                Permission.CATALOG_READ,
                Permission.CATALOG_WRITE,
                Permission.INVENTORY_READ,
                Permission.INVENTORY_WRITE,
                Permission.CHANNELS_READ,
                Permission.CHANNELS_WRITE,
                Permission.ORDERS_READ,
                Permission.ORDERS_WRITE,
                Permission.PRICING_READ,
                Permission.PRICING_WRITE,
            },
        ),
        (Role.ADMIN, set(Permission)),
        (Role.OWNER, set(Permission)),
    ],
)
def test_policy_table(role: Role, granted: set[Permission]) -> None:
    assert {p for p in Permission if allowed(role, p)} == granted


def test_every_permission_has_a_policy() -> None:
    assert set(POLICY) == set(Permission)


def user(role: Role) -> User:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return User("u", "t", "u@x.test", role, "h", 1, now, now)


def test_assign_and_modify_rules() -> None:
    check_can_assign(Role.OWNER, Role.OWNER)
    check_can_assign(Role.ADMIN, Role.ADMIN)
    with pytest.raises(PermissionDenied):
        check_can_assign(Role.ADMIN, Role.OWNER)
    with pytest.raises(PermissionDenied):
        check_can_assign(Role.STAFF, Role.VIEWER)
    check_can_modify(Role.OWNER, user(Role.OWNER))
    check_can_modify(Role.ADMIN, user(Role.ADMIN))
    with pytest.raises(PermissionDenied):
        check_can_modify(Role.ADMIN, user(Role.OWNER))


def test_last_owner_rule() -> None:
    with pytest.raises(FailedPrecondition):
        check_keeps_an_owner(user(Role.OWNER), None, owner_count=1)
    with pytest.raises(FailedPrecondition):
        check_keeps_an_owner(user(Role.OWNER), Role.ADMIN, owner_count=1)
    check_keeps_an_owner(user(Role.OWNER), Role.OWNER, owner_count=1)
    check_keeps_an_owner(user(Role.OWNER), None, owner_count=2)
    check_keeps_an_owner(user(Role.STAFF), None, owner_count=1)


def test_email_normalization() -> None:
    assert normalize_email("  Mixed.Case@Example.COM ") == "mixed.case@example.com"
    for bad in ("no-at-sign", "a@b", "two@@x.com", "sp ace@x.com", "x" * 250 + "@x.com"):
        with pytest.raises(InvalidArgument):
            normalize_email(bad)
