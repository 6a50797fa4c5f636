"""Gateway use cases: register, login, refresh, logout (sessions), and user management (users).

Plain classes over small ports (unit of work, limiter, denylist: ports.py) so the rules are
unit-tested with in-memory fakes. The composition root (gateway.deps) builds them.
"""

from __future__ import annotations

from gateway.service.ports import (
    AttemptLimiter,
    RefreshTokenRepository,
    TenantRepository,
    TokenDenylist,
    Transaction,
    UnitOfWork,
    UserRepository,
)
from gateway.service.sessions import (
    MAX_TENANT_NAME,
    AuthService,
    LoginLimits,
    Registration,
    TokenPair,
    TokenVersions,
)
from gateway.service.users import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    UserPatch,
    UserService,
    decode_cursor,
    encode_cursor,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "MAX_TENANT_NAME",
    "AttemptLimiter",
    "AuthService",
    "LoginLimits",
    "RefreshTokenRepository",
    "Registration",
    "TenantRepository",
    "TokenDenylist",
    "TokenPair",
    "TokenVersions",
    "Transaction",
    "UnitOfWork",
    "UserPatch",
    "UserRepository",
    "UserService",
    "decode_cursor",
    "encode_cursor",
]
