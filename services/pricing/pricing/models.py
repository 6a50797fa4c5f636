"""Tables of the pricing database (SQLAlchemy Core). Every table carries tenant_id.

A channel price row exists per (tenant, SKU, connection) once a price was set or announced for it:
`amount_minor` NULL means "derived from the base price", and `version` counts the
`pricing.price_changed` events of that key (monotonic, what the channels worker orders them by).
`announced_minor` is the price last announced, so FX changes below the threshold never add up to
a silent drift.
"""

from __future__ import annotations

import sqlalchemy as sa

from omnistock_common.db import naming_metadata
from omnistock_common.outbox import outbox_table
from omnistock_common.sqltypes import SEQ_ID, UTCDateTime

metadata = naming_metadata()

connection_pricing = sa.Table(
    "connection_pricing",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("connection_id", sa.String(64), primary_key=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("rounding", sa.String(16), nullable=False),
    sa.Column("floor_minor", sa.BigInteger, nullable=True),
    sa.Column("schedule_cron", sa.String(128), nullable=False),
    sa.Column("schedule_timezone", sa.String(64), nullable=False),
    # When the worker re-pushes every price of the connection next (NULL: not computed yet).
    sa.Column("next_push_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

channel_prices = sa.Table(
    "channel_prices",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("connection_id", sa.String(64), primary_key=True),
    sa.Column("sku", sa.String(256), primary_key=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("compare_at_minor", sa.BigInteger, nullable=True),
    sa.Column("announced_minor", sa.BigInteger, nullable=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

price_history = sa.Table(
    "price_history",
    metadata,
    sa.Column("id", SEQ_ID, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("sku", sa.String(256), nullable=False),
    sa.Column("connection_id", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("before_minor", sa.BigInteger, nullable=True),
    sa.Column("after_minor", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("reason", sa.String(256), nullable=False),
    sa.Index("ix_price_history_tenant_id_sku_id", "tenant_id", "sku", "id"),
)

fx_tables = sa.Table(
    "fx_tables",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("base", sa.String(3), nullable=False),
    # Percent (decimal string) a derived price must move by to be re-pushed; NULL: the default.
    sa.Column("threshold_percent", sa.String(32), nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Rates as decimal strings (exact): 1 base = rate units of currency.
fx_rates = sa.Table(
    "fx_rates",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("rate", sa.String(64), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

fx_audit = sa.Table(
    "fx_audit",
    metadata,
    sa.Column("id", SEQ_ID, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("base", sa.String(3), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("before", sa.String(64), nullable=True),
    sa.Column("after", sa.String(64), nullable=True),
    sa.Index("ix_fx_audit_tenant_id_id", "tenant_id", "id"),
)

# A bulk preview as shown: every item (JSON list) and the fingerprint of its `before` figures.
bulk_previews = sa.Table(
    "bulk_previews",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("items", sa.Text, nullable=False),
    sa.Column("reason", sa.String(256), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=True),
)

timed_sales = sa.Table(
    "timed_sales",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("sku", sa.String(256), nullable=False),
    sa.Column("connection_id", sa.String(64), nullable=False),
    sa.Column("sale_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    # NULL without a key (NULLs never collide in the unique constraint).
    sa.Column("idempotency_key", sa.String(256), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("tenant_id", "idempotency_key"),
    sa.Index("ix_timed_sales_state_starts_at", "state", "starts_at"),
    sa.Index("ix_timed_sales_tenant_id_sku_connection_id", "tenant_id", "sku", "connection_id"),
)

outbox = outbox_table(metadata)
