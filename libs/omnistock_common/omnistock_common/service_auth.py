"""Service-to-service identity: short-lived internal tokens on every gRPC call, signed events.

Why: tenant, user and role used to travel as plain gRPC metadata, so anything that could reach a
service could act as any tenant. Now every caller (the gateway, the workers, the channels service,
tools) attaches an HS256 JWT signed with `INTERNAL_TOKEN_SECRET` (metadata `x-internal-token`);
the server interceptor verifies it and takes tenant, user and role from its claims only.

Claims: `tenant`, `user`, `role`, `iss` (the signing service), `aud` (`omnistock-internal`),
`iat`, `exp` (at most MAX_TTL_SECONDS after `iat`).

Cost: a signer re-uses one token per (tenant, user, role) for REUSE_SECONDS, and a verifier keeps
the claims of every token it accepted (keyed by the token string) until the token expires, so a
hot path pays one dict lookup and one clock read on each side instead of an HMAC and a JSON parse.

Events: the same secret signs event payloads (`sign_event`), so a consumer can refuse a message
that did not come from an OmniStock process even when the broker itself is reachable by others.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from omnistock_common.config import load_internal_auth_settings
from omnistock_common.context import REQUEST_ID_KEY, new_request_id
from omnistock_common.errors import Unauthenticated

# gRPC metadata key of the token (lower case: gRPC metadata keys are).
TOKEN_KEY = "x-internal-token"
AUDIENCE = "omnistock-internal"
SYSTEM_ROLE = "system"
# The gateway's user roles (gateway.domain.Role) plus the role of background work.
USER_ROLES = frozenset({"owner", "admin", "staff", "viewer"})
KNOWN_ROLES = USER_ROLES | {SYSTEM_ROLE}
# Roles that may call an RPC that changes something (the gateway's INVENTORY/CATALOG/CHANNELS_WRITE).
WRITE_ROLES = frozenset({"owner", "admin", "staff", SYSTEM_ROLE})
# Roles that manage a tenant's accounts (the gateway's CHANNELS_MANAGE / USERS_MANAGE).
MANAGE_ROLES = frozenset({"owner", "admin", SYSTEM_ROLE})

MAX_TTL_SECONDS = 300
DEFAULT_TTL_SECONDS = 120
# A signer hands out the same token for this long, so verifiers hit their cache.
REUSE_SECONDS = 10.0
# Clock skew tolerated between two processes (iat in the future, exp just passed).
LEEWAY_SECONDS = 5
_REQUIRED = ["tenant", "user", "role", "iss", "aud", "iat", "exp"]

EVENT_SIGNATURE_KEY = "_signature"

Clock = Callable[[], float]
log = logging.getLogger("omnistock.service_auth")


@dataclass(frozen=True)
class Identity:
    """Who a verified token says is calling."""

    tenant_id: str
    user_id: str
    role: str
    issuer: str
    expires_at: float


class TokenSigner:
    """Signs internal tokens for one issuing process; thread-safe, cached per identity."""

    def __init__(
        self,
        secret: str,
        issuer: str,
        *,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        reuse_seconds: float = REUSE_SECONDS,
        clock: Clock = time.time,
    ) -> None:
        if not secret:
            raise ValueError("an internal token secret is required")
        if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"ttl_seconds must be in (0, {MAX_TTL_SECONDS}]")
        self._secret = secret
        self.issuer = issuer
        self._ttl = ttl_seconds
        self._reuse = min(reuse_seconds, ttl_seconds / 2)
        self._clock = clock
        self._cache: dict[tuple[str, str, str], tuple[float, str]] = {}

    def token(self, tenant_id: str, user_id: str = "", role: str = "") -> str:
        """A token for this identity; an empty role means the process acts for itself (system)."""
        key = (tenant_id, user_id, role or SYSTEM_ROLE)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        token = self._sign(*key, now=now)
        if len(self._cache) >= 10_000:
            self._cache.clear()
        self._cache[key] = (now + self._reuse, token)
        return token

    def _sign(self, tenant_id: str, user_id: str, role: str, *, now: float) -> str:
        if role not in KNOWN_ROLES:
            raise ValueError(f"unknown role {role!r}")
        issued = int(now)
        claims = {
            "tenant": tenant_id,
            "user": user_id,
            "role": role,
            "iss": self.issuer,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": issued + self._ttl,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")


class TokenVerifier:
    """Verifies internal tokens; accepted tokens are cached until they expire."""

    def __init__(
        self, secret: str, *, clock: Clock = time.time, cache_size: int = 8192, leeway: int = LEEWAY_SECONDS
    ) -> None:
        if not secret:
            raise ValueError("an internal token secret is required")
        self._secret = secret
        self._clock = clock
        self._cache_size = cache_size
        self._leeway = leeway
        self._cache: dict[str, Identity] = {}
        self._lock = threading.Lock()

    def verify(self, token: str | None) -> Identity:
        """The token's identity; raises Unauthenticated for a missing, forged or expired token."""
        if not token:
            raise Unauthenticated(f"missing internal credential ({TOKEN_KEY} metadata)")
        now = self._clock()
        identity = self._cache.get(token)
        if identity is not None:
            if identity.expires_at + self._leeway > now:
                return identity
            self._cache.pop(token, None)
            raise Unauthenticated("internal credential expired")
        identity = self._decode(token, now)
        with self._lock:
            if len(self._cache) >= self._cache_size:
                # Dropping everything is cheaper than LRU bookkeeping on every hit; live tokens
                # are re-verified once and cached again.
                self._cache.clear()
            self._cache[token] = identity
        return identity

    def _decode(self, token: str, now: float) -> Identity:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],  # pinned: never let the token choose "none" or another key type
                audience=AUDIENCE,
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            raise Unauthenticated("invalid internal credential") from None
        # Times are checked here against the injected clock rather than PyJWT's wall clock.
        try:
            issued, expires = int(claims["iat"]), int(claims["exp"])
        except (TypeError, ValueError):
            raise Unauthenticated("invalid internal credential") from None
        if expires + self._leeway <= now:
            raise Unauthenticated("internal credential expired")
        if issued > now + self._leeway or expires - issued > MAX_TTL_SECONDS or expires <= issued:
            raise Unauthenticated("invalid internal credential lifetime")
        role, tenant, user = claims["role"], claims["tenant"], claims["user"]
        if (
            not all(isinstance(v, str) for v in (role, tenant, user, claims["iss"]))
            or role not in KNOWN_ROLES
        ):
            raise Unauthenticated("invalid internal credential claims")
        return Identity(tenant, user, role, claims["iss"], float(expires))


# ---------------------------------------------------------------------------- signed events
def _canonical(payload: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in payload.items() if k != EVENT_SIGNATURE_KEY}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _event_mac(secret: str, event_type: str, payload: Mapping[str, Any]) -> str:
    message = event_type.encode() + b"\n" + _canonical(payload)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_event(secret: str, event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload plus an HMAC-SHA256 of (event type, canonical JSON) under `_signature`."""
    signed = {k: v for k, v in payload.items() if k != EVENT_SIGNATURE_KEY}
    signed[EVENT_SIGNATURE_KEY] = _event_mac(secret, event_type, signed)
    return signed


def event_signature_valid(secret: str, event_type: str, payload: Mapping[str, Any]) -> bool:
    """True when `payload` carries a valid signature of `event_type` made with `secret`."""
    given = payload.get(EVENT_SIGNATURE_KEY)
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given, _event_mac(secret, event_type, payload))


# ---------------------------------------------------------------------------- process defaults
_defaults_lock = threading.Lock()
_default_signer: TokenSigner | None = None
_default_verifier: TokenVerifier | None = None
_issuer = "omnistock"


def _secret() -> str:
    return load_internal_auth_settings().token_secret


def configure(issuer: str, secret: str | None = None) -> None:
    """Name this process in the tokens it signs (and optionally set the secret); composition roots
    call it at start-up so a bad INTERNAL_TOKEN_SECRET stops the process before it serves."""
    global _default_signer, _default_verifier, _issuer
    if secret is None:
        settings = load_internal_auth_settings()
        secret = settings.token_secret
        if settings.uses_dev_secret:
            log.warning(
                "!!! INTERNAL_TOKEN_SECRET is not set: using the built-in DEVELOPMENT secret. Anyone "
                "who can reach a service can forge its callers. Set INTERNAL_TOKEN_SECRET (>= 32 "
                "random characters, the same in every process) before deploying. !!!"
            )
    with _defaults_lock:
        _issuer = issuer
        _default_signer = TokenSigner(secret, issuer)
        _default_verifier = TokenVerifier(secret)


def default_signer() -> TokenSigner:
    """The process's signer (INTERNAL_TOKEN_SECRET, read on first use)."""
    global _default_signer
    signer = _default_signer
    if signer is None:
        with _defaults_lock:
            if _default_signer is None:
                _default_signer = TokenSigner(_secret(), _issuer)
            signer = _default_signer
    return signer


def default_verifier() -> TokenVerifier:
    """The process's verifier (INTERNAL_TOKEN_SECRET, read on first use)."""
    global _default_verifier
    verifier = _default_verifier
    if verifier is None:
        with _defaults_lock:
            if _default_verifier is None:
                _default_verifier = TokenVerifier(_secret())
            verifier = _default_verifier
    return verifier


def internal_metadata(
    tenant_id: str,
    user_id: str = "",
    role: str = "",
    *,
    request_id: str = "",
    signer: TokenSigner | None = None,
) -> tuple[tuple[str, str], ...]:
    """Metadata for a raw stub call (tools, benchmarks, tests): the token and a request id."""
    token = (signer or default_signer()).token(tenant_id, user_id, role)
    return ((TOKEN_KEY, token), (REQUEST_ID_KEY, request_id or new_request_id()))
