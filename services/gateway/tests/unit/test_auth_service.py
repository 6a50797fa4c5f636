"""Register/login/refresh/logout rules against in-memory fakes (no I/O, injected clock)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from gateway.auth import hash_refresh_secret
from gateway.domain import RateLimited, Role
from gateway.service import sessions, users
from omnistock_common.errors import AlreadyExists, InvalidArgument, Unauthenticated


def test_register_creates_owner_and_first_session(world: Any) -> None:
    result = sessions.register(world.deps, "  Acme  ", "Boss@Acme.TEST", "correct-horse")
    assert result.tenant.name == "Acme"
    assert result.user.email == "boss@acme.test" and result.user.role is Role.OWNER
    assert result.user.password_hash.startswith("$argon2id$")
    claims = sessions.authenticate(world.deps, result.tokens.access_token)
    assert (claims.user_id, claims.tenant_id, claims.role) == (result.user.id, result.tenant.id, Role.OWNER)
    # Only the hash of the refresh token is stored.
    stored = list(world.store.tokens.values())
    assert [t.token_hash for t in stored] == [hash_refresh_secret(result.tokens.refresh_token)]
    assert result.tokens.refresh_token not in repr(world.store)


def test_register_rules(world: Any) -> None:
    sessions.register(world.deps, "Acme", "a@acme.test", "correct-horse")
    with pytest.raises(AlreadyExists):
        sessions.register(world.deps, "Other", "A@ACME.test", "correct-horse")
    with pytest.raises(InvalidArgument) as short:
        sessions.register(world.deps, "Other", "b@acme.test", "1234567")
    assert short.value.violations[0].field == "password"
    with pytest.raises(InvalidArgument):
        sessions.register(world.deps, "", "c@acme.test", "correct-horse")
    assert len(world.store.tenants) == 1


def test_wrong_passwords_slow_that_ip_for_that_account_without_locking_the_owner_out(world: Any) -> None:
    sessions.register(world.deps, "Acme", "a@acme.test", "correct-horse")
    attacker, owner = "203.0.113.7", "198.51.100.1"
    for _ in range(5):  # free failures: no wait yet
        with pytest.raises(Unauthenticated):
            sessions.login(world.deps, "a@acme.test", "wrong", attacker)
    waits = []
    for _ in range(4):  # each further failure doubles the wait
        with pytest.raises(Unauthenticated):
            sessions.login(world.deps, "a@acme.test", "wrong", attacker)
        with pytest.raises(RateLimited) as limited:  # even the right password waits its turn
            sessions.login(world.deps, "A@acme.test", "correct-horse", attacker)
        waits.append(limited.value.retry_after)
        world.limiter.elapse()
    assert waits == [1, 2, 4, 8]
    # Meanwhile the owner, from their own address, signs in at once: no account lock.
    assert sessions.login(world.deps, "a@acme.test", "correct-horse", owner).access_token
    # A success from the attacker's address (after the wait) clears that pair's record.
    sessions.login(world.deps, "a@acme.test", "correct-horse", attacker)
    with pytest.raises(Unauthenticated):
        sessions.login(world.deps, "a@acme.test", "wrong", attacker)
    assert world.limiter.blocked == {}


def test_backoff_doubles_and_is_capped() -> None:
    from gateway.ratelimit import backoff_delay

    assert [backoff_delay(n, 5, 900) for n in range(1, 10)] == [0, 0, 0, 0, 0, 1, 2, 4, 8]
    assert backoff_delay(200, 5, 900) == 900


def test_registrations_are_limited_per_ip_before_any_hashing(world: Any) -> None:
    for n in range(10):
        sessions.register(world.deps, f"T{n}", f"u{n}@acme.test", "correct-horse", client_ip="203.0.113.5")
    with pytest.raises(RateLimited):
        sessions.register(world.deps, "T", "late@acme.test", "correct-horse", client_ip="203.0.113.5")
    assert sessions.register(world.deps, "T", "other@acme.test", "correct-horse", client_ip="203.0.113.6")
    assert not any(u.email == "late@acme.test" for u in world.store.users.values())


def test_login_limits_per_ip_across_emails(world: Any) -> None:
    for n in range(30):
        with pytest.raises(Unauthenticated):
            sessions.login(world.deps, f"user{n}@acme.test", "wrong", "10.0.0.9")
    with pytest.raises(RateLimited):
        sessions.login(world.deps, "other@acme.test", "wrong", "10.0.0.9")
    with pytest.raises(Unauthenticated):  # another address is not affected
        sessions.login(world.deps, "other@acme.test", "wrong", "10.0.0.10")


def test_refresh_rotates_and_reuse_revokes_the_family(world: Any) -> None:
    first = sessions.register(world.deps, "Acme", "a@acme.test", "correct-horse").tokens
    second = sessions.refresh(world.deps, first.refresh_token)
    third = sessions.refresh(world.deps, second.refresh_token)
    with pytest.raises(Unauthenticated):
        sessions.refresh(world.deps, first.refresh_token)  # reuse of a rotated token
    with pytest.raises(Unauthenticated):
        sessions.refresh(world.deps, third.refresh_token)  # the family's newest token died with it
    assert all(t.revoked_at is not None for t in world.store.tokens.values())


def test_reuse_revocation_is_committed_even_though_the_call_fails(world: Any) -> None:
    first = sessions.register(world.deps, "Acme", "a@acme.test", "correct-horse").tokens
    sessions.refresh(world.deps, first.refresh_token)
    with pytest.raises(Unauthenticated):
        sessions.refresh(world.deps, first.refresh_token)
    family = {t.family_id for t in world.store.tokens.values()}
    assert len(family) == 1
    assert all(t.revoked_at == world.clock.now for t in world.store.tokens.values())


def test_refresh_token_expires(world: Any) -> None:
    tokens = sessions.register(world.deps, "Acme", "a@acme.test", "correct-horse").tokens
    world.clock.advance(seconds=3600)
    with pytest.raises(Unauthenticated):
        sessions.refresh(world.deps, tokens.refresh_token)


def test_refresh_uses_current_role_and_existence(world: Any) -> None:
    owner = sessions.register(world.deps, "Acme", "a@acme.test", "correct-horse")
    actor = sessions.authenticate(world.deps, owner.tokens.access_token)
    staff = users.create_user(world.deps, actor, "s@acme.test", "correct-horse", "staff")
    session = sessions.login(world.deps, "s@acme.test", "correct-horse", "10.0.0.1")
    users.update_user(world.deps, actor, staff.id, _patch(role="viewer"))
    refreshed = sessions.refresh(world.deps, session.refresh_token)
    assert sessions.authenticate(world.deps, refreshed.access_token).role is Role.VIEWER

    users.delete_user(world.deps, actor, staff.id)
    with pytest.raises(Unauthenticated):
        sessions.refresh(world.deps, refreshed.refresh_token)


def test_logout_revokes_family_and_access_token(world: Any) -> None:
    tokens = sessions.register(world.deps, "Acme", "a@acme.test", "correct-horse").tokens
    other = sessions.login(world.deps, "a@acme.test", "correct-horse", "10.0.0.1")
    claims = sessions.authenticate(world.deps, tokens.access_token)
    sessions.logout(world.deps, claims, tokens.refresh_token)
    with pytest.raises(Unauthenticated):
        sessions.refresh(world.deps, tokens.refresh_token)
    with pytest.raises(Unauthenticated):
        sessions.authenticate(world.deps, tokens.access_token)
    assert world.denylist.revoked[claims.jti] == 900
    sessions.refresh(world.deps, other.refresh_token)  # other sessions live on


def test_logout_ignores_someone_elses_refresh_token(world: Any) -> None:
    a = sessions.register(world.deps, "A", "a@a.test", "correct-horse").tokens
    b = sessions.register(world.deps, "B", "b@b.test", "correct-horse").tokens
    sessions.logout(world.deps, sessions.authenticate(world.deps, a.access_token), b.refresh_token)
    sessions.refresh(world.deps, b.refresh_token)


def _patch(**kwargs: Any) -> Any:
    from gateway.service import UserPatch

    return UserPatch(**kwargs)


def test_refresh_family_has_an_absolute_lifetime(world: Any) -> None:
    tokens = sessions.register(world.deps, "Acme", "a@acme.test", "correct-horse").tokens
    for _ in range(3):  # rotating every 50 minutes keeps each token fresh...
        world.clock.advance(minutes=50)
        tokens = sessions.refresh(world.deps, tokens.refresh_token)
    world.clock.advance(minutes=50)
    tokens = sessions.refresh(world.deps, tokens.refresh_token)  # 3h20m after login
    newest = sessions.refresh(world.deps, tokens.refresh_token)
    # ...but the family's tokens never outlive the login + family_max_age (4 h here).
    record = max(world.store.tokens.values(), key=lambda t: t.created_at)
    assert record.expires_at == record.family_started_at + timedelta(hours=4)
    world.clock.advance(minutes=41)
    with pytest.raises(Unauthenticated):
        sessions.refresh(world.deps, newest.refresh_token)


def test_refresh_refuses_a_family_older_than_the_limit_even_if_the_token_is_fresh(world: Any) -> None:
    tokens = sessions.register(world.deps, "Acme", "a@acme.test", "correct-horse").tokens
    # A row written before the limit existed (expires_at not capped): the check still applies.
    for token_id, record in list(world.store.tokens.items()):
        world.store.tokens[token_id] = replace(record, expires_at=record.created_at + timedelta(days=30))
    world.clock.advance(hours=4, seconds=1)
    with pytest.raises(Unauthenticated, match="session has expired"):
        sessions.refresh(world.deps, tokens.refresh_token)
    assert all(t.revoked_at is not None for t in world.store.tokens.values())
