"""SQLAlchemy Core tables of the catalog database (mapped to domain objects in repository.py)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from omnistock_common.db import naming_metadata
from omnistock_common.outbox import outbox_table
from omnistock_common.sqltypes import UTCDateTime

# The shared naming convention without "ck": the catalog's migration was written without it.
metadata = naming_metadata(ck=None)


products = Table(
    "products",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("title", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),
    # Ordered [url, ...] (catalog.fields.IMAGE_URLS); '[]' for the rows written before it existed.
    Column("image_urls", JSON, nullable=False, server_default=text("'[]'")),
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

# `catalog.product_changed` events written in the transaction of the change; the catalog worker
# relays them (omnistock_common.outbox_relay) and purges sent rows.
outbox = outbox_table(metadata)
