"""SQLAlchemy Core tables of the inventory database (one Alembic history: migrations/).

Invariants live in the schema as well as in code, so no code path (or manual SQL) can break
them: a CHECK keeps every stock row at on_hand >= reserved >= 0, a partial unique index allows
one default location per tenant, and a unique (tenant, idempotency_key) on reservations makes a
racing duplicate Reserve fail at commit instead of holding stock twice.
"""

from __future__ import annotations

import sqlalchemy as sa

from omnistock_common.db import naming_metadata
from omnistock_common.outbox import outbox_table
from omnistock_common.sqltypes import SEQ_ID, UTCDateTime

metadata = naming_metadata()

locations = sa.Table(
    "locations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("tenant_id", "code"),
    # At most one default per tenant; the service creates it on first need.
    sa.Index(
        "uq_locations_one_default",
        "tenant_id",
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    ),
)

stock_levels = sa.Table(
    "stock_levels",
    metadata,
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), nullable=False),
    sa.Column("on_hand", sa.BigInteger, nullable=False),
    sa.Column("reserved", sa.BigInteger, nullable=False),
    # Bumped on every change of this row (StockLevel.version).
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "sku", "location_id"),
    sa.CheckConstraint("reserved >= 0 AND on_hand >= reserved", name="available_not_negative"),
)

# Per-(tenant, SKU) state: the event version (bumped on every change of the SKU across
# locations, bundles included), the SKU's own threshold and its open alert, if any. Every
# transaction that changes a SKU updates this row, which serialises per-SKU bookkeeping.
sku_states = sa.Table(
    "sku_states",
    metadata,
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("low_stock_threshold", sa.BigInteger, nullable=True),
    sa.Column("open_alert_id", sa.String(36), nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "sku"),
)

tenant_settings = sa.Table(
    "tenant_settings",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("default_low_stock_threshold", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Append-only movement ledger; `id` orders it (newest first = highest id).
movements = sa.Table(
    "movements",
    metadata,
    sa.Column("id", SEQ_ID, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("location_id", sa.String(36), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(32), nullable=True),
    sa.Column("on_hand_delta", sa.BigInteger, nullable=False),
    sa.Column("reserved_delta", sa.BigInteger, nullable=False),
    sa.Column("on_hand_after", sa.BigInteger, nullable=False),
    sa.Column("reserved_after", sa.BigInteger, nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("reference", sa.String(256), nullable=False, default=""),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_movements_tenant_sku_id", "tenant_id", "sku", "id"),
)

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("order_ref", sa.String(256), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    # NULL when the caller sent none (NULLs never collide in the unique constraint).
    sa.Column("idempotency_key", sa.String(256), nullable=True),
    # SHA-256 of the request that first used the key (domain.request_fingerprint): the same key
    # with a different request is refused. NULL without a key, and on rows older than migration 0002.
    sa.Column("request_fingerprint", sa.String(64), nullable=True),
    sa.Column("channel_connection_id", sa.String(64), nullable=False, default=""),
    # An order's hold (ReserveRequest.no_expiry) stores NO_EXPIRY (year 9999), which the expiry
    # job never reaches; the repository reads it back as None. (A nullable column would need
    # SQLite to rebuild this table under reservation_lines' foreign key.)
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("tenant_id", "idempotency_key"),
    sa.Index("ix_reservations_status_expires_at", "status", "expires_at"),
)

# One row per requested line (parent_line_no NULL) and, for a bundle line, one row per component
# (parent_line_no = the bundle line). Quantities of component rows are in component units.
reservation_lines = sa.Table(
    "reservation_lines",
    metadata,
    sa.Column("reservation_id", sa.String(36), sa.ForeignKey("reservations.id"), nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("parent_line_no", sa.Integer, nullable=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("location_id", sa.String(36), nullable=False),
    sa.Column("per_unit", sa.BigInteger, nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("committed", sa.BigInteger, nullable=False),
    sa.Column("released", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("reservation_id", "line_no"),
    sa.CheckConstraint("committed + released <= quantity", name="not_over_settled"),
    # The holds on one SKU (ListReservations); migration 0005.
    sa.Index("ix_reservation_lines_tenant_sku", "tenant_id", "sku", "reservation_id"),
)

# First responses of idempotent calls, keyed by (tenant, operation, key).
idempotency_records = sa.Table(
    "idempotency_records",
    metadata,
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("scope", sa.String(64), nullable=False),
    sa.Column("key", sa.String(256), nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    # As on reservations: the request the key was first used with (NULL before migration 0002).
    sa.Column("request_fingerprint", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "scope", "key"),
)

bundle_components = sa.Table(
    "bundle_components",
    metadata,
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("bundle_sku", sa.String(128), nullable=False),
    sa.Column("component_sku", sa.String(128), nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "bundle_sku", "component_sku"),
    sa.Index("ix_bundle_components_tenant_component", "tenant_id", "component_sku"),
    sa.CheckConstraint("quantity >= 1", name="quantity_positive"),
)

allocation_rules = sa.Table(
    "allocation_rules",
    metadata,
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("connection_id", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False, default=""),
    sa.Column("buffer", sa.BigInteger, nullable=False),
    sa.Column("max_quantity", sa.BigInteger, nullable=True),
    sa.Column("percentage", sa.Integer, nullable=True),
    sa.Column("dynamic_buffer", sa.Boolean, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "connection_id"),
)

# Measured push latency per connection (RecordSyncLatency); kept apart from the rule so a
# report for a connection without a rule is remembered for when a rule appears.
connection_latencies = sa.Table(
    "connection_latencies",
    metadata,
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("connection_id", sa.String(64), nullable=False),
    sa.Column("latency_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "connection_id"),
)

# Units committed per (connection, SKU) — the sales rate behind the dynamic buffer.
channel_sales = sa.Table(
    "channel_sales",
    metadata,
    sa.Column("id", SEQ_ID, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("connection_id", sa.String(64), nullable=False),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_channel_sales_tenant_sku_at", "tenant_id", "sku", "at"),
)

# The turnover read model: per UTC day, SKU and location, the sum of the ledger's on-hand deltas
# and the units sold. Written only by the trigger on `movements` (migration 0004), in the
# statement that writes the ledger row.
daily_stock = sa.Table(
    "daily_stock",
    metadata,
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("location_id", sa.String(36), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("on_hand_delta", sa.BigInteger, nullable=False),
    sa.Column("sold", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "sku", "location_id", "day"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("sku", sa.String(128), nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("threshold", sa.BigInteger, nullable=False),
    sa.Column("available_at_open", sa.BigInteger, nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    # LOW_STOCK (threshold crossings) or OVERSOLD (an order short of units; `reference` names it).
    sa.Column("kind", sa.String(16), nullable=False, server_default="LOW_STOCK"),
    sa.Column("reference", sa.String(128), nullable=False, server_default=""),
    sa.Column("quantity_short", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("ix_alerts_tenant_opened_at", "tenant_id", "opened_at", "id"),
)

# Rows relayed to RabbitMQ by the inventory worker (relay.py).
outbox = outbox_table(metadata)
