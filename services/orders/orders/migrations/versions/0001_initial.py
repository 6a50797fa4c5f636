"""orders: unified orders, lines, history, raw versions, fulfillments, duplicates, operations, outbox

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SEQ_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "order_duplicate_guards",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("email_lower", sa.String(length=256), nullable=False),
        sa.Column("touched_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "email_lower", name=op.f("pk_order_duplicate_guards")),
    )
    op.create_table(
        "order_duplicate_links",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("other_order_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "order_id", "other_order_id", name=op.f("pk_order_duplicate_links")
        ),
    )
    op.create_table(
        "order_operations",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "scope", "key", name=op.f("pk_order_operations")),
    )
    op.create_index("ix_order_operations_done_updated_at", "order_operations", ["done", "updated_at"])
    op.create_index("ix_order_operations_tenant_id_order_id", "order_operations", ["tenant_id", "order_id"])

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("external_name", sa.String(length=256), nullable=False),
        sa.Column("customer_email", sa.String(length=256), nullable=False),
        sa.Column("customer_email_lower", sa.String(length=256), nullable=False),
        sa.Column("customer_name", sa.String(length=256), nullable=False),
        sa.Column("shipping_address", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("shipping_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("channel_status", sa.Text(), nullable=False),
        sa.Column("possible_duplicate", sa.Boolean(), nullable=False),
        sa.Column("oversold", sa.Boolean(), nullable=False),
        sa.Column("unmapped_sku", sa.Boolean(), nullable=False),
        sa.Column("reservation_id", sa.String(length=36), nullable=False),
        sa.Column("stock_state", sa.String(length=16), nullable=False),
        sa.Column("stock_due_at", TS, nullable=True),
        sa.Column("stock_error", sa.String(length=512), nullable=False),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.Column("cancel_sync_state", sa.String(length=24), nullable=True),
        sa.Column("cancel_sync_message", sa.String(length=256), nullable=False),
        sa.Column("channel_updated_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint(
            "tenant_id",
            "connection_id",
            "external_id",
            name=op.f("uq_orders_tenant_id_connection_id_external_id"),
        ),
    )
    op.create_index("ix_orders_stock_state_stock_due_at", "orders", ["stock_state", "stock_due_at"])
    op.create_index("ix_orders_tenant_id_created_at_id", "orders", ["tenant_id", "created_at", "id"])
    op.create_index(
        "ix_orders_tenant_id_customer_email_lower_total_minor",
        "orders",
        ["tenant_id", "customer_email_lower", "total_minor"],
    )

    op.create_table(
        "outbox",
        sa.Column("id", SEQ_ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["sent_at", "id"])

    op.create_table(
        "fulfillments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=256), nullable=False),
        sa.Column("tracking_number", sa.String(length=256), nullable=False),
        sa.Column("tracking_url", sa.String(length=2048), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("sync_state", sa.String(length=24), nullable=False),
        sa.Column("external_fulfillment_id", sa.String(length=256), nullable=False),
        sa.Column("sync_message", sa.String(length=256), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_fulfillments_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfillments")),
    )
    op.create_index("ix_fulfillments_order_id_created_at", "fulfillments", ["order_id", "created_at"])

    op.create_table(
        "order_lines",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("external_line_id", sa.String(length=128), nullable=False),
        sa.Column("sku", sa.String(length=256), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), nullable=False),
        sa.Column("quantity_shipped", sa.BigInteger(), nullable=False),
        sa.Column("quantity_returned", sa.BigInteger(), nullable=False),
        sa.Column("quantity_reserved", sa.BigInteger(), nullable=False),
        sa.Column("sku_known", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
    )
    op.create_index("ix_order_lines_order_id_line_no", "order_lines", ["order_id", "line_no"])
    op.create_index("ix_order_lines_tenant_id_sku", "order_lines", ["tenant_id", "sku"])

    op.create_table(
        "order_raw_versions",
        sa.Column("id", SEQ_ID, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("channel_updated_at", TS, nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_raw_versions_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_raw_versions")),
        sa.UniqueConstraint(
            "order_id",
            "via",
            "payload_sha256",
            name=op.f("uq_order_raw_versions_order_id_via_payload_sha256"),
        ),
    )
    op.create_table(
        "order_status_history",
        sa.Column("id", SEQ_ID, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_status_history_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_status_history")),
    )
    op.create_index("ix_order_status_history_order_id_id", "order_status_history", ["order_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_order_status_history_order_id_id", table_name="order_status_history")

    op.drop_table("order_status_history")
    op.drop_table("order_raw_versions")
    op.drop_index("ix_order_lines_tenant_id_sku", table_name="order_lines")
    op.drop_index("ix_order_lines_order_id_line_no", table_name="order_lines")

    op.drop_table("order_lines")
    op.drop_index("ix_fulfillments_order_id_created_at", table_name="fulfillments")

    op.drop_table("fulfillments")
    op.drop_index("ix_outbox_unsent", table_name="outbox")

    op.drop_table("outbox")
    op.drop_index("ix_orders_tenant_id_customer_email_lower_total_minor", table_name="orders")
    op.drop_index("ix_orders_tenant_id_created_at_id", table_name="orders")
    op.drop_index("ix_orders_stock_state_stock_due_at", table_name="orders")

    op.drop_table("orders")
    op.drop_index("ix_order_operations_tenant_id_order_id", table_name="order_operations")
    op.drop_index("ix_order_operations_done_updated_at", table_name="order_operations")

    op.drop_table("order_operations")
    op.drop_table("order_duplicate_links")
    op.drop_table("order_duplicate_guards")
