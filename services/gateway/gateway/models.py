"""Gateway database tables (SQLAlchemy Core): tenants, users and refresh tokens.

The gateway owns identity; products and stock live in the backends' own databases.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from omnistock_common.db import naming_metadata

# The shared naming convention with the gateway's own index and unique templates, which its
# migrations were written with (ix_<table>_<column>, uq_<table>_<first column>).
metadata = naming_metadata(ix="ix_%(column_0_label)s", uq="uq_%(table_name)s_%(column_0_name)s")

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    # Lower-cased by the domain; unique across all tenants because login is by email alone.
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Access tokens carry it; a role or password change bumps it and so revokes them.
    Column("token_version", Integer, nullable=False, server_default="1"),
    Index("ix_users_tenant_email", "tenant_id", "email"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    # SHA-256 hex of the secret; the secret itself is never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("family_id", String(36), nullable=False, index=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("tenant_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    # The login that started the family (NULL for rows older than 0002: created_at stands in).
    Column("family_started_at", DateTime(timezone=True), nullable=True),
)
