"""Tables of the orders database (SQLAlchemy Core). Every table carries tenant_id.

An order is unique per (tenant, connection, external id): the upsert of a channel version is an
INSERT ... ON CONFLICT on that constraint, so the same order arriving by webhook and by poll at
once is one row. Manual orders have connection_id "" and their own id as external id.
"""

from __future__ import annotations

import sqlalchemy as sa

from omnistock_common.db import naming_metadata
from omnistock_common.outbox import outbox_table
from omnistock_common.sqltypes import SEQ_ID, UTCDateTime

metadata = naming_metadata()

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("connection_id", sa.String(64), nullable=False),
    sa.Column("external_id", sa.String(128), nullable=False),
    sa.Column("external_name", sa.String(256), nullable=False),
    sa.Column("customer_email", sa.String(256), nullable=False),
    # lower(customer_email): the duplicate rule and the text search compare it.
    sa.Column("customer_email_lower", sa.String(256), nullable=False),
    sa.Column("customer_name", sa.String(256), nullable=False),
    sa.Column("shipping_address", sa.Text, nullable=False),  # JSON object
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("subtotal_minor", sa.BigInteger, nullable=False),
    sa.Column("discount_minor", sa.BigInteger, nullable=False),
    sa.Column("shipping_minor", sa.BigInteger, nullable=False),
    sa.Column("tax_minor", sa.BigInteger, nullable=False),
    sa.Column("total_minor", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("channel_status", sa.Text, nullable=False),  # JSON object of the channel's own fields
    sa.Column("possible_duplicate", sa.Boolean, nullable=False),
    sa.Column("oversold", sa.Boolean, nullable=False),
    sa.Column("unmapped_sku", sa.Boolean, nullable=False),
    sa.Column("reservation_id", sa.String(36), nullable=False),
    # PENDING while a stock step may be owed to inventory; the worker retries at stock_due_at.
    sa.Column("stock_state", sa.String(16), nullable=False),
    sa.Column("stock_due_at", UTCDateTime, nullable=True),
    sa.Column("stock_error", sa.String(512), nullable=False),
    # orders.order_imported went out (once, after the hold was recorded).
    sa.Column("announced", sa.Boolean, nullable=False),
    # The channel edited the lines after the hold: release, then hold again as round hold_round + 1.
    sa.Column("replan_owed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("hold_round", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cancel_sync_state", sa.String(24), nullable=True),
    sa.Column("cancel_sync_message", sa.String(256), nullable=False),
    sa.Column("channel_updated_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("tenant_id", "connection_id", "external_id"),
    sa.Index("ix_orders_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    sa.Index(
        "ix_orders_tenant_id_customer_email_lower_total_minor",
        "tenant_id",
        "customer_email_lower",
        "total_minor",
    ),
    sa.Index("ix_orders_stock_state_stock_due_at", "stock_state", "stock_due_at"),
)


def _part_of_order() -> tuple[sa.Column[str], sa.Column[str]]:
    """The columns every part of an order has after its id: its order (FK) and the tenant."""
    return (
        sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
    )


order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    *_part_of_order(),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("external_line_id", sa.String(128), nullable=False),
    sa.Column("sku", sa.String(256), nullable=False),
    sa.Column("title", sa.String(256), nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
    sa.Column("discount_minor", sa.BigInteger, nullable=False),
    sa.Column("tax_minor", sa.BigInteger, nullable=False),
    sa.Column("quantity_shipped", sa.BigInteger, nullable=False),
    sa.Column("quantity_returned", sa.BigInteger, nullable=False),
    sa.Column("quantity_reserved", sa.BigInteger, nullable=False),
    sa.Column("sku_known", sa.Boolean, nullable=False),
    sa.Column("channel_fulfilled", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("ix_order_lines_order_id_line_no", "order_id", "line_no"),
    sa.Index("ix_order_lines_tenant_id_sku", "tenant_id", "sku"),
)

status_history = sa.Table(
    "order_status_history",
    metadata,
    sa.Column("id", SEQ_ID, primary_key=True, autoincrement=True),
    *_part_of_order(),
    sa.Column("from_status", sa.String(24), nullable=True),
    sa.Column("to_status", sa.String(24), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(256), nullable=False),
    sa.Index("ix_order_status_history_order_id_id", "order_id", "id"),
)

# Every payload received for an order. A byte-identical payload by the same path (an event
# delivered twice) is kept once; the same version by webhook and by poll is kept twice.
raw_versions = sa.Table(
    "order_raw_versions",
    metadata,
    sa.Column("id", SEQ_ID, primary_key=True, autoincrement=True),
    *_part_of_order(),
    sa.Column("via", sa.String(16), nullable=False),
    sa.Column("payload_sha256", sa.String(64), nullable=False),
    sa.Column("channel_updated_at", UTCDateTime, nullable=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.UniqueConstraint("order_id", "via", "payload_sha256"),
)

fulfillments = sa.Table(
    "fulfillments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    *_part_of_order(),
    sa.Column("carrier", sa.String(256), nullable=False),
    sa.Column("tracking_number", sa.String(256), nullable=False),
    sa.Column("tracking_url", sa.String(2048), nullable=False),
    sa.Column("lines", sa.Text, nullable=False),  # JSON list of {line_id, sku, quantity}
    sa.Column("sync_state", sa.String(24), nullable=False),
    sa.Column("external_fulfillment_id", sa.String(256), nullable=False),
    sa.Column("sync_message", sa.String(256), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_fulfillments_order_id_created_at", "order_id", "created_at"),
)

# Possible duplicates, one row per direction.
duplicate_links = sa.Table(
    "order_duplicate_links",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("other_order_id", sa.String(36), primary_key=True),
)

# One row per (tenant, customer email): upserted (and so row-locked) before the duplicate lookup,
# so two orders of one customer are checked one after the other and always see each other.
duplicate_guards = sa.Table(
    "order_duplicate_guards",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("email_lower", sa.String(256), primary_key=True),
    sa.Column("touched_at", UTCDateTime, nullable=False),
)

# Idempotent merchant requests (create, fulfill, cancel, return): the claim, what it needs to
# finish after a crash, and the first answer.
operations = sa.Table(
    "order_operations",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("scope", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("order_id", sa.String(36), nullable=False),
    sa.Column("done", sa.Boolean, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("response", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_order_operations_done_updated_at", "done", "updated_at"),
    sa.Index("ix_order_operations_tenant_id_order_id", "tenant_id", "order_id"),
)

# The sales read model (domain/sales.py): per UTC day, channel, connection, currency and SKU (sku ""
# = the whole order's row, where `orders` counts each order once). Changed only by the difference
# an order's save makes, in that save's transaction; `rebuild_sales` recomputes it from orders.
sales_daily = sa.Table(
    "sales_daily",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("connection_id", sa.String(64), primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("sku", sa.String(256), primary_key=True),
    sa.Column("orders", sa.BigInteger, nullable=False),
    sa.Column("units", sa.BigInteger, nullable=False),
    sa.Column("revenue_minor", sa.BigInteger, nullable=False),
)

# Sessions per (channel type, UTC day), imported by the merchant (domain/sessions.py); migration 0004.
channel_sessions = sa.Table(
    "channel_sessions",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("sessions", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

outbox = outbox_table(metadata)
