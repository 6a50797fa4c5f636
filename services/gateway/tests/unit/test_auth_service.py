"""Register/login/refresh/logout rules against in-memory fakes (no I/O, injected clock)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.auth import hash_refresh_secret
from gateway.domain import RateLimited, Role
from omnistock_common.errors import AlreadyExists, InvalidArgument, Unauthenticated


def test_register_creates_owner_and_first_session(world: Any) -> None:
    result = world.auth.register("  Acme  ", "Boss@Acme.TEST", "correct-horse")
    assert result.tenant.name == "Acme"
    assert result.user.email == "boss@acme.test" and result.user.role is Role.OWNER
    assert result.user.password_hash.startswith("$argon2id$")
    claims = world.auth.authenticate(result.tokens.access_token)
    assert (claims.user_id, claims.tenant_id, claims.role) == (result.user.id, result.tenant.id, Role.OWNER)
    # Only the hash of the refresh token is stored.
    stored = list(world.store.tokens.values())
    assert [t.token_hash for t in stored] == [hash_refresh_secret(result.tokens.refresh_token)]
    assert result.tokens.refresh_token not in repr(world.store)


def test_register_rules(world: Any) -> None:
    world.auth.register("Acme", "a@acme.test", "correct-horse")
    with pytest.raises(AlreadyExists):
        world.auth.register("Other", "A@ACME.test", "correct-horse")
    with pytest.raises(InvalidArgument) as short:
        world.auth.register("Other", "b@acme.test", "1234567")
    assert short.value.violations[0].field == "password"
    with pytest.raises(InvalidArgument):
        world.auth.register("", "c@acme.test", "correct-horse")
    assert len(world.store.tenants) == 1


def test_login_counts_failures_per_email_and_success_resets(world: Any) -> None:
    world.auth.register("Acme", "a@acme.test", "correct-horse")
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            world.auth.login("a@acme.test", "wrong", "10.0.0.1")
    world.auth.login("a@acme.test", "correct-horse", "10.0.0.1")
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            world.auth.login("a@acme.test", "wrong", "10.0.0.1")
    with pytest.raises(RateLimited) as limited:
        world.auth.login("A@acme.test", "correct-horse", "10.0.0.1")
    assert limited.value.retry_after == 900


def test_login_limits_per_ip_across_emails(world: Any) -> None:
    for n in range(30):
        with pytest.raises(Unauthenticated):
            world.auth.login(f"user{n}@acme.test", "wrong", "10.0.0.9")
    with pytest.raises(RateLimited):
        world.auth.login("other@acme.test", "wrong", "10.0.0.9")
    with pytest.raises(Unauthenticated):  # another address is not affected
        world.auth.login("other@acme.test", "wrong", "10.0.0.10")


def test_refresh_rotates_and_reuse_revokes_the_family(world: Any) -> None:
    first = world.auth.register("Acme", "a@acme.test", "correct-horse").tokens
    second = world.auth.refresh(first.refresh_token)
    third = world.auth.refresh(second.refresh_token)
    with pytest.raises(Unauthenticated):
        world.auth.refresh(first.refresh_token)  # reuse of a rotated token
    with pytest.raises(Unauthenticated):
        world.auth.refresh(third.refresh_token)  # the family's newest token died with it
    assert all(t.revoked_at is not None for t in world.store.tokens.values())


def test_reuse_revocation_is_committed_even_though_the_call_fails(world: Any) -> None:
    first = world.auth.register("Acme", "a@acme.test", "correct-horse").tokens
    world.auth.refresh(first.refresh_token)
    with pytest.raises(Unauthenticated):
        world.auth.refresh(first.refresh_token)
    family = {t.family_id for t in world.store.tokens.values()}
    assert len(family) == 1
    assert all(t.revoked_at == world.clock.now for t in world.store.tokens.values())


def test_refresh_token_expires(world: Any) -> None:
    tokens = world.auth.register("Acme", "a@acme.test", "correct-horse").tokens
    world.clock.advance(seconds=3600)
    with pytest.raises(Unauthenticated):
        world.auth.refresh(tokens.refresh_token)


def test_refresh_uses_current_role_and_existence(world: Any) -> None:
    owner = world.auth.register("Acme", "a@acme.test", "correct-horse")
    actor = world.auth.authenticate(owner.tokens.access_token)
    staff = world.users.create(actor, "s@acme.test", "correct-horse", "staff")
    session = world.auth.login("s@acme.test", "correct-horse", "10.0.0.1")
    world.users.update(actor, staff.id, _patch(role="viewer"))
    refreshed = world.auth.refresh(session.refresh_token)
    assert world.auth.authenticate(refreshed.access_token).role is Role.VIEWER

    world.users.delete(actor, staff.id)
    with pytest.raises(Unauthenticated):
        world.auth.refresh(refreshed.refresh_token)


def test_logout_revokes_family_and_access_token(world: Any) -> None:
    tokens = world.auth.register("Acme", "a@acme.test", "correct-horse").tokens
    other = world.auth.login("a@acme.test", "correct-horse", "10.0.0.1")
    claims = world.auth.authenticate(tokens.access_token)
    world.auth.logout(claims, tokens.refresh_token)
    with pytest.raises(Unauthenticated):
        world.auth.refresh(tokens.refresh_token)
    with pytest.raises(Unauthenticated):
        world.auth.authenticate(tokens.access_token)
    assert world.denylist.revoked[claims.jti] == 900
    world.auth.refresh(other.refresh_token)  # other sessions live on


def test_logout_ignores_someone_elses_refresh_token(world: Any) -> None:
    a = world.auth.register("A", "a@a.test", "correct-horse").tokens
    b = world.auth.register("B", "b@b.test", "correct-horse").tokens
    world.auth.logout(world.auth.authenticate(a.access_token), b.refresh_token)
    world.auth.refresh(b.refresh_token)


def _patch(**kwargs: Any) -> Any:
    from gateway.service import UserPatch

    return UserPatch(**kwargs)
