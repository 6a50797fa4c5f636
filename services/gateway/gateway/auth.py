"""Credentials: argon2 password hashes, JWT access tokens and opaque refresh-token secrets.

Pure computation with an injectable clock, so token expiry is unit-tested without sleeping.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.domain import Role
from omnistock_common.errors import Unauthenticated

Clock = Callable[[], datetime]

ISSUER = "omnistock-gateway"
AUDIENCE = "omnistock-api"
ACCESS_TYPE = "access"
_REQUIRED_CLAIMS = ["sub", "tid", "role", "ver", "iat", "exp", "jti", "typ", "iss", "aud"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Passwords:
    """argon2id hashing. Verification of an unknown email still burns one hash (see dummy_verify)."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 64 * 1024, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        # A real hash to verify against when the account does not exist, so a login for an
        # unknown email takes as long as a wrong password and does not reveal who has an account.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the stored hash used weaker parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def dummy_verify(self, password: str) -> None:
        self.verify(self._dummy_hash, password)


@dataclass(frozen=True)
class AccessClaims:
    """Who is calling, as vouched for by a valid access token."""

    user_id: str
    tenant_id: str
    role: Role
    jti: str
    issued_at: datetime
    expires_at: datetime
    # The user's token version when the token was minted (see User.token_version).
    token_version: int = 1


class TokenCodec:
    """Signs and verifies HS256 access tokens (claims sub, tid, role, ver, iat, exp, jti, typ)."""

    def __init__(self, secret: str, access_ttl_seconds: int, clock: Clock = utcnow) -> None:
        self._secret = secret
        self.access_ttl_seconds = access_ttl_seconds
        self._clock = clock

    def issue_access(self, user_id: str, tenant_id: str, role: Role, token_version: int = 1) -> str:
        now = self._clock()
        claims = {
            "sub": user_id,
            "tid": tenant_id,
            "role": role.value,
            "ver": token_version,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.access_ttl_seconds)).timestamp()),
            "jti": uuid.uuid4().hex,
            "typ": ACCESS_TYPE,
            "iss": ISSUER,
            "aud": AUDIENCE,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify_access(self, token: str) -> AccessClaims:
        """Raises Unauthenticated for anything but a well-formed, unexpired access token of ours."""
        now = self._clock()
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],  # pinned: never let the token pick "none" or an RSA/HMAC mix-up
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            raise Unauthenticated("invalid access token") from None
        # Expiry is checked here against the injected clock rather than PyJWT's wall clock.
        try:
            expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
            issued_at = datetime.fromtimestamp(int(claims["iat"]), UTC)
        except (TypeError, ValueError, OverflowError):
            raise Unauthenticated("invalid access token") from None
        if expires_at <= now:
            raise Unauthenticated("access token expired")
        if claims["typ"] != ACCESS_TYPE:
            raise Unauthenticated("not an access token")
        try:
            role = Role(claims["role"])
        except ValueError:
            raise Unauthenticated("invalid access token") from None
        if not all(isinstance(claims[k], str) and claims[k] for k in ("sub", "tid", "jti")):
            raise Unauthenticated("invalid access token")
        version = claims["ver"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise Unauthenticated("invalid access token")
        return AccessClaims(
            user_id=claims["sub"],
            tenant_id=claims["tid"],
            role=role,
            jti=claims["jti"],
            issued_at=issued_at,
            expires_at=expires_at,
            token_version=version,
        )


def new_refresh_secret() -> str:
    """32 random bytes, URL-safe; handed to the client once and never stored."""
    return secrets.token_urlsafe(32)


def hash_refresh_secret(secret: str) -> str:
    """SHA-256 is enough here (unlike passwords): the secret has 256 bits of entropy."""
    return hashlib.sha256(secret.encode()).hexdigest()
