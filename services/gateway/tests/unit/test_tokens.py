"""Access tokens, password hashing and refresh secrets: pure functions with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from gateway.auth import Passwords, TokenCodec, hash_refresh_secret, new_refresh_secret
from gateway.domain import Role
from omnistock_common.errors import Unauthenticated

SECRET = "s" * 64
NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def codec(now: datetime = NOW, secret: str = SECRET) -> TokenCodec:
    return TokenCodec(secret, 900, clock=lambda: now)


def test_access_token_round_trip_and_claims() -> None:
    token = codec().issue_access("user-1", "tenant-1", Role.STAFF)
    claims = codec().verify_access(token)
    assert (claims.user_id, claims.tenant_id, claims.role) == ("user-1", "tenant-1", Role.STAFF)
    assert claims.expires_at - claims.issued_at == timedelta(seconds=900)
    raw = jwt.decode(token, options={"verify_signature": False})
    assert raw["typ"] == "access" and set(raw) >= {"sub", "tid", "role", "iat", "exp", "jti", "typ"}
    assert codec().issue_access("user-1", "tenant-1", Role.STAFF) != token  # unique jti


def test_expiry_follows_the_clock() -> None:
    token = codec().issue_access("u", "t", Role.OWNER)
    codec(NOW + timedelta(seconds=899)).verify_access(token)
    with pytest.raises(Unauthenticated, match="expired"):
        codec(NOW + timedelta(seconds=900)).verify_access(token)


def _claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "sub": "u",
        "tid": "t",
        "role": "owner",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 60,
        "jti": "j",
        "typ": "access",
        "iss": "omnistock-gateway",
        "aud": "omnistock-api",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(jwt.encode(_claims(), "other-secret-" + "x" * 30, algorithm="HS256"), id="forged"),
        pytest.param(jwt.encode(_claims(typ="refresh"), SECRET, algorithm="HS256"), id="wrong-typ"),
        pytest.param(jwt.encode(_claims(role="root"), SECRET, algorithm="HS256"), id="unknown-role"),
        pytest.param(jwt.encode(_claims(tid=None), SECRET, algorithm="HS256"), id="no-tenant"),
        pytest.param(jwt.encode(_claims(aud="elsewhere"), SECRET, algorithm="HS256"), id="wrong-audience"),
        pytest.param(jwt.encode(_claims(), None, algorithm="none"), id="alg-none"),
        pytest.param(jwt.encode(_claims(), SECRET, algorithm="HS512"), id="other-alg"),
        pytest.param("a.b.c", id="garbage"),
    ],
)
def test_rejected_tokens(token: str) -> None:
    with pytest.raises(Unauthenticated):
        codec().verify_access(token)


def test_passwords_hash_with_argon2id_and_verify() -> None:
    passwords = Passwords(time_cost=1, memory_kib=8, parallelism=1)
    hashed = passwords.hash("correct-horse")
    assert hashed.startswith("$argon2id$") and "correct-horse" not in hashed
    assert passwords.verify(hashed, "correct-horse")
    assert not passwords.verify(hashed, "wrong-horse")
    assert not passwords.verify("not-a-hash", "correct-horse")
    stronger = Passwords(time_cost=2, memory_kib=16, parallelism=1)
    assert stronger.needs_rehash(hashed) and not passwords.needs_rehash(hashed)


def test_refresh_secrets_are_random_and_hashed() -> None:
    a, b = new_refresh_secret(), new_refresh_secret()
    assert a != b and len(a) >= 43
    assert hash_refresh_secret(a) == hash_refresh_secret(a) != hash_refresh_secret(b)
    assert len(hash_refresh_secret(a)) == 64
