"""SQLAlchemy Core tables of the catalog database (mapped to domain objects in repository.py)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from omnistock_common.sqltypes import UTCDateTime

# Deterministic constraint names, so the hand-written migration and the metadata agree.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


products = Table(
    "products",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("title", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Keyset pagination order, title lookups (upsert by title) and updated_since filtering.
    Index(None, "tenant_id", "created_at", "id"),
    Index(None, "tenant_id", "title"),
    Index(None, "tenant_id", "updated_at"),
)

variants = Table(
    "variants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("product_id", String(36), ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    # Cost shares the price's currency (one currency column in the CSV); NULL = unknown.
    Column("cost_minor", BigInteger, nullable=True),
    Column("barcode", String(64), nullable=True),
    # Ordered [[name, value], ...].
    Column("options", JSON, nullable=False),
    Column("weight_grams", Integer, nullable=True),
    Column("position", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "sku"),
    Index(None, "tenant_id", "product_id"),
)
