"""Gateway use cases: register, login, refresh, logout (sessions), and user management (users).

Module functions taking the unit of work, or GatewayDeps (deps.py) when they need more, over
small ports (unit of work, limiter, denylist: ports.py) so the rules are unit-tested with
in-memory fakes. The composition root (gateway.deps) builds GatewayDeps; routes call
`sessions.login(deps, ...)`, `users.create_user(deps, ...)`.
"""

from __future__ import annotations

from gateway.service.deps import GatewayDeps, LoginLimits, TokenVersions
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
    Registration,
    TokenPair,
)
from gateway.service.users import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    UserPatch,
    decode_cursor,
    encode_cursor,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "MAX_TENANT_NAME",
    "AttemptLimiter",
    "GatewayDeps",
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
    "decode_cursor",
    "encode_cursor",
]
