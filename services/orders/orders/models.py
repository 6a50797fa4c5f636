"""Tables of the orders database (SQLAlchemy Core). Every table carries tenant_id.

An order is unique per (tenant, connection, external id): the upsert of a channel version is an
INSERT ... ON CONFLICT on that constraint, so the same order arriving by webhook and by poll at
once is one row. Manual orders have connection_id "" and their own id as external id.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from omnistock_common.db import naming_metadata
from omnistock_common.outbox import outbox_table
from omnistock_common.sqltypes import SEQ_ID, UTCDateTime

metadata = naming_metadata()

orders = Table(
    "orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("source", String(16), nullable=False),
    Column("connection_id", String(64), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("external_name", String(256), nullable=False),
    Column("customer_email", String(256), nullable=False),
    # lower(customer_email): the duplicate rule and the text search compare it.
    Column("customer_email_lower", String(256), nullable=False),
    Column("customer_name", String(256), nullable=False),
    Column("shipping_address", Text, nullable=False),  # JSON object
    Column("currency", String(3), nullable=False),
    Column("subtotal_minor", BigInteger, nullable=False),
    Column("discount_minor", BigInteger, nullable=False),
    Column("shipping_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("status", String(24), nullable=False),
    Column("channel_status", Text, nullable=False),  # JSON object of the channel's own fields
    Column("possible_duplicate", Boolean, nullable=False),
    Column("oversold", Boolean, nullable=False),
    Column("unmapped_sku", Boolean, nullable=False),
    Column("reservation_id", String(36), nullable=False),
    # PENDING while a stock step may be owed to inventory; the worker retries at stock_due_at.
    Column("stock_state", String(16), nullable=False),
    Column("stock_due_at", UTCDateTime, nullable=True),
    Column("stock_error", String(512), nullable=False),
    # orders.order_imported went out (once, after the hold was recorded).
    Column("announced", Boolean, nullable=False),
    Column("cancel_sync_state", String(24), nullable=True),
    Column("cancel_sync_message", String(256), nullable=False),
    Column("channel_updated_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", BigInteger, nullable=False),
    UniqueConstraint("tenant_id", "connection_id", "external_id"),
    Index("ix_orders_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    Index(
        "ix_orders_tenant_id_customer_email_lower_total_minor",
        "tenant_id",
        "customer_email_lower",
        "total_minor",
    ),
    Index("ix_orders_stock_state_stock_due_at", "stock_state", "stock_due_at"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("external_line_id", String(128), nullable=False),
    Column("sku", String(256), nullable=False),
    Column("title", String(256), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("discount_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("quantity_shipped", BigInteger, nullable=False),
    Column("quantity_returned", BigInteger, nullable=False),
    Column("quantity_reserved", BigInteger, nullable=False),
    Column("sku_known", Boolean, nullable=False),
    Index("ix_order_lines_order_id_line_no", "order_id", "line_no"),
    Index("ix_order_lines_tenant_id_sku", "tenant_id", "sku"),
)

status_history = Table(
    "order_status_history",
    metadata,
    Column("id", SEQ_ID, primary_key=True, autoincrement=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("from_status", String(24), nullable=True),
    Column("to_status", String(24), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(32), nullable=False),
    Column("reason", String(256), nullable=False),
    Index("ix_order_status_history_order_id_id", "order_id", "id"),
)

# Every payload received for an order. A byte-identical payload by the same path (an event
# delivered twice) is kept once; the same version by webhook and by poll is kept twice.
raw_versions = Table(
    "order_raw_versions",
    metadata,
    Column("id", SEQ_ID, primary_key=True, autoincrement=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("via", String(16), nullable=False),
    Column("payload_sha256", String(64), nullable=False),
    Column("channel_updated_at", UTCDateTime, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("payload", Text, nullable=False),
    UniqueConstraint("order_id", "via", "payload_sha256"),
)

fulfillments = Table(
    "fulfillments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("carrier", String(256), nullable=False),
    Column("tracking_number", String(256), nullable=False),
    Column("tracking_url", String(2048), nullable=False),
    Column("lines", Text, nullable=False),  # JSON list of {line_id, sku, quantity}
    Column("sync_state", String(24), nullable=False),
    Column("external_fulfillment_id", String(256), nullable=False),
    Column("sync_message", String(256), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_fulfillments_order_id_created_at", "order_id", "created_at"),
)

# Possible duplicates, one row per direction.
duplicate_links = Table(
    "order_duplicate_links",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("order_id", String(36), primary_key=True),
    Column("other_order_id", String(36), primary_key=True),
)

# One row per (tenant, customer email): upserted (and so row-locked) before the duplicate lookup,
# so two orders of one customer are checked one after the other and always see each other.
duplicate_guards = Table(
    "order_duplicate_guards",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("email_lower", String(256), primary_key=True),
    Column("touched_at", UTCDateTime, nullable=False),
)

# Idempotent merchant requests (create, fulfill, cancel, return): the claim, what it needs to
# finish after a crash, and the first answer.
operations = Table(
    "order_operations",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("scope", String(16), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("order_id", String(36), nullable=False),
    Column("done", Boolean, nullable=False),
    Column("payload", Text, nullable=False),
    Column("response", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_order_operations_done_updated_at", "done", "updated_at"),
    Index("ix_order_operations_tenant_id_order_id", "tenant_id", "order_id"),
)

outbox = outbox_table(metadata)
