"""Gateway domain: tenants, users, roles, the role policy and the rules of user management.

Pure Python: no Flask, no SQL, no Redis. Breaking a rule raises an omnistock_common DomainError,
which the gateway maps to HTTP through the same table it uses for backend gRPC errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from omnistock_common.errors import (
    Code,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PermissionDenied,
)

MIN_PASSWORD_LENGTH = 8
# Hashing a megabyte of "password" would be a cheap denial of service; nobody needs more than this.
MAX_PASSWORD_LENGTH = 256
MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    STAFF = "staff"
    VIEWER = "viewer"


class Permission(StrEnum):
    """What an endpoint needs. Endpoints name a permission; POLICY says which roles hold it."""

    AUTHENTICATED = "authenticated"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    INVENTORY_READ = "inventory:read"
    INVENTORY_WRITE = "inventory:write"
    CHANNELS_READ = "channels:read"
    # Listings, sync requests: day-to-day channel work.
    CHANNELS_WRITE = "channels:write"
    # Connecting/disconnecting channels and where failures are reported: the store's accounts.
    CHANNELS_MANAGE = "channels:manage"
    ORDERS_READ = "orders:read"
    # Manual orders, fulfilment, cancellation, returns, duplicate decisions.
    ORDERS_WRITE = "orders:write"
    PRICING_READ = "pricing:read"
    # Channel prices, bulk changes, FX rates, connection pricing and schedules, timed sales.
    PRICING_WRITE = "pricing:write"
    USERS_MANAGE = "users:manage"


_ALL_ROLES = frozenset(Role)
_WRITERS = frozenset({Role.OWNER, Role.ADMIN, Role.STAFF})
_MANAGERS = frozenset({Role.OWNER, Role.ADMIN})

# The one role policy of the REST API: viewers read, staff also write catalog, inventory,
# orders, prices and channel listings/syncs, admins and owners also manage users and connect/disconnect channels.
POLICY: dict[Permission, frozenset[Role]] = {
    Permission.AUTHENTICATED: _ALL_ROLES,
    Permission.CATALOG_READ: _ALL_ROLES,
    Permission.CATALOG_WRITE: _WRITERS,
    Permission.INVENTORY_READ: _ALL_ROLES,
    Permission.INVENTORY_WRITE: _WRITERS,
    Permission.CHANNELS_READ: _ALL_ROLES,
    Permission.CHANNELS_WRITE: _WRITERS,
    Permission.CHANNELS_MANAGE: _MANAGERS,
    Permission.ORDERS_READ: _ALL_ROLES,
    Permission.ORDERS_WRITE: _WRITERS,
    Permission.PRICING_READ: _ALL_ROLES,
    Permission.PRICING_WRITE: _WRITERS,
    Permission.USERS_MANAGE: _MANAGERS,
}


def allowed(role: str, permission: Permission) -> bool:
    return role in POLICY[permission]


@dataclass(eq=False)
class RateLimited(DomainError):
    """Too many attempts; `retry_after` seconds until the window frees up (HTTP 429)."""

    retry_after: int = 1
    code = Code.RESOURCE_EXHAUSTED


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class User:
    id: str
    tenant_id: str
    email: str
    role: Role
    password_hash: str
    version: int
    created_at: datetime
    updated_at: datetime
    # Carried by every access token; bumped when the role or password changes, so older access
    # tokens stop working (AuthService.authenticate checks it on each request).
    token_version: int = 1


@dataclass(frozen=True)
class RefreshTokenRecord:
    """A stored refresh token. Only the SHA-256 of the secret is kept, never the secret."""

    id: str
    token_hash: str
    family_id: str
    user_id: str
    tenant_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    # When the family's first token was issued (the login); the family dies a fixed time after.
    family_started_at: datetime | None = None


def normalize_email(raw: str, field: str = "email") -> str:
    """Lower-cased and trimmed, so Alice@X.com and alice@x.com are one account."""
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidArgument(
            "invalid email address", violations=[FieldViolation(field, "not a valid email")]
        )
    return email


def check_password_policy(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidArgument(
            "password too short",
            violations=[FieldViolation(field, f"must be at least {MIN_PASSWORD_LENGTH} characters")],
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidArgument(
            "password too long",
            violations=[FieldViolation(field, f"must be at most {MAX_PASSWORD_LENGTH} characters")],
        )


def parse_role(raw: str, field: str = "role") -> Role:
    try:
        return Role(raw)
    except ValueError:
        raise InvalidArgument(
            "unknown role",
            violations=[FieldViolation(field, f"must be one of {', '.join(r.value for r in Role)}")],
        ) from None


def check_can_assign(actor_role: Role, new_role: Role) -> None:
    """Only an owner makes owners; an admin hands out admin, staff and viewer."""
    if actor_role not in _MANAGERS:
        raise PermissionDenied("only owners and admins manage users")
    if new_role is Role.OWNER and actor_role is not Role.OWNER:
        raise PermissionDenied("only an owner can grant the owner role")


def check_can_modify(actor_role: Role, target: User) -> None:
    """An admin cannot change or delete an owner (that would let admins take over the tenant)."""
    if actor_role not in _MANAGERS:
        raise PermissionDenied("only owners and admins manage users")
    if target.role is Role.OWNER and actor_role is not Role.OWNER:
        raise PermissionDenied("only an owner can change or delete an owner")


def check_keeps_an_owner(target: User, new_role: Role | None, owner_count: int) -> None:
    """A tenant always keeps at least one owner: the last one cannot leave or be demoted."""
    if target.role is not Role.OWNER or owner_count > 1:
        return
    if new_role is None or new_role is not Role.OWNER:
        raise FailedPrecondition("a tenant must keep at least one owner", reason="LAST_OWNER")
