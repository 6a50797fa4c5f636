"""SQLAlchemy Core tables of the inventory database (one Alembic history: migrations/).

Invariants live in the schema as well as in code, so no code path (or manual SQL) can break
them: a CHECK keeps every stock row at on_hand >= reserved >= 0, a partial unique index allows
one default location per tenant, and a unique (tenant, idempotency_key) on reservations makes a
racing duplicate Reserve fail at commit instead of holding stock twice.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from omnistock_common.db import naming_metadata
from omnistock_common.outbox import outbox_table
from omnistock_common.sqltypes import SEQ_ID, UTCDateTime

metadata = naming_metadata()

locations = Table(
    "locations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "code"),
    # At most one default per tenant; the service creates it on first need.
    Index(
        "uq_locations_one_default",
        "tenant_id",
        unique=True,
        postgresql_where=text("is_default"),
        sqlite_where=text("is_default"),
    ),
)

stock_levels = Table(
    "stock_levels",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("sku", String(128), nullable=False),
    Column("location_id", String(36), ForeignKey("locations.id"), nullable=False),
    Column("on_hand", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    # Bumped on every change of this row (StockLevel.version).
    Column("version", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "sku", "location_id"),
    CheckConstraint("reserved >= 0 AND on_hand >= reserved", name="available_not_negative"),
)

# Per-(tenant, SKU) state: the event version (bumped on every change of the SKU across
# locations, bundles included), the SKU's own threshold and its open alert, if any. Every
# transaction that changes a SKU updates this row, which serialises per-SKU bookkeeping.
sku_states = Table(
    "sku_states",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("sku", String(128), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("low_stock_threshold", BigInteger, nullable=True),
    Column("open_alert_id", String(36), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "sku"),
)

tenant_settings = Table(
    "tenant_settings",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("default_low_stock_threshold", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Append-only movement ledger; `id` orders it (newest first = highest id).
movements = Table(
    "movements",
    metadata,
    Column("id", SEQ_ID, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("sku", String(128), nullable=False),
    Column("location_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason", String(32), nullable=True),
    Column("on_hand_delta", BigInteger, nullable=False),
    Column("reserved_delta", BigInteger, nullable=False),
    Column("on_hand_after", BigInteger, nullable=False),
    Column("reserved_after", BigInteger, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("actor", String(128), nullable=False),
    Column("reference", String(256), nullable=False, default=""),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_movements_tenant_sku_id", "tenant_id", "sku", "id"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("order_ref", String(256), nullable=False),
    Column("status", String(24), nullable=False),
    # NULL when the caller sent none (NULLs never collide in the unique constraint).
    Column("idempotency_key", String(256), nullable=True),
    # SHA-256 of the request that first used the key (domain.request_fingerprint): the same key
    # with a different request is refused. NULL without a key, and on rows older than migration 0002.
    Column("request_fingerprint", String(64), nullable=True),
    Column("channel_connection_id", String(64), nullable=False, default=""),
    # An order's hold (ReserveRequest.no_expiry) stores NO_EXPIRY (year 9999), which the expiry
    # job never reaches; the repository reads it back as None. (A nullable column would need
    # SQLite to rebuild this table under reservation_lines' foreign key.)
    Column("expires_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "idempotency_key"),
    Index("ix_reservations_status_expires_at", "status", "expires_at"),
)

# One row per requested line (parent_line_no NULL) and, for a bundle line, one row per component
# (parent_line_no = the bundle line). Quantities of component rows are in component units.
reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column("reservation_id", String(36), ForeignKey("reservations.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("parent_line_no", Integer, nullable=True),
    Column("tenant_id", String(64), nullable=False),
    Column("sku", String(128), nullable=False),
    Column("location_id", String(36), nullable=False),
    Column("per_unit", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("committed", BigInteger, nullable=False),
    Column("released", BigInteger, nullable=False),
    PrimaryKeyConstraint("reservation_id", "line_no"),
    CheckConstraint("committed + released <= quantity", name="not_over_settled"),
)

# First responses of idempotent calls, keyed by (tenant, operation, key).
idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("scope", String(64), nullable=False),
    Column("key", String(256), nullable=False),
    Column("response", Text, nullable=False),
    # As on reservations: the request the key was first used with (NULL before migration 0002).
    Column("request_fingerprint", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "scope", "key"),
)

bundle_components = Table(
    "bundle_components",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("bundle_sku", String(128), nullable=False),
    Column("component_sku", String(128), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "bundle_sku", "component_sku"),
    Index("ix_bundle_components_tenant_component", "tenant_id", "component_sku"),
    CheckConstraint("quantity >= 1", name="quantity_positive"),
)

allocation_rules = Table(
    "allocation_rules",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("connection_id", String(64), nullable=False),
    Column("channel", String(64), nullable=False, default=""),
    Column("buffer", BigInteger, nullable=False),
    Column("max_quantity", BigInteger, nullable=True),
    Column("percentage", Integer, nullable=True),
    Column("dynamic_buffer", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "connection_id"),
)

# Measured push latency per connection (RecordSyncLatency); kept apart from the rule so a
# report for a connection without a rule is remembered for when a rule appears.
connection_latencies = Table(
    "connection_latencies",
    metadata,
    Column("tenant_id", String(64), nullable=False),
    Column("connection_id", String(64), nullable=False),
    Column("latency_ms", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "connection_id"),
)

# Units committed per (connection, SKU) — the sales rate behind the dynamic buffer.
channel_sales = Table(
    "channel_sales",
    metadata,
    Column("id", SEQ_ID, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("connection_id", String(64), nullable=False),
    Column("sku", String(128), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_channel_sales_tenant_sku_at", "tenant_id", "sku", "at"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("sku", String(128), nullable=False),
    Column("status", String(8), nullable=False),
    Column("threshold", BigInteger, nullable=False),
    Column("available_at_open", BigInteger, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Index("ix_alerts_tenant_opened_at", "tenant_id", "opened_at", "id"),
)

# Rows relayed to RabbitMQ by the inventory worker (relay.py).
outbox = outbox_table(metadata)
