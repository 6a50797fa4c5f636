"""inventory: locations, stock levels, ledger, reservations, alerts, rules, bundles, outbox

Revision ID: 0001
Revises:
Create Date: 2025-01-01
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
        "locations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_locations"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_locations_tenant_id_code"),
    )
    op.create_index(
        "uq_locations_one_default",
        "locations",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )
    op.create_table(
        "stock_levels",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(128), nullable=False),
        sa.Column("location_id", sa.String(36), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "sku", "location_id", name="pk_stock_levels"),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name="fk_stock_levels_location_id_locations"
        ),
        sa.CheckConstraint(
            "reserved >= 0 AND on_hand >= reserved", name="ck_stock_levels_available_not_negative"
        ),
    )
    op.create_table(
        "sku_states",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(128), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("low_stock_threshold", sa.BigInteger(), nullable=True),
        sa.Column("open_alert_id", sa.String(36), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "sku", name="pk_sku_states"),
    )
    op.create_table(
        "tenant_settings",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("default_low_stock_threshold", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_tenant_settings"),
    )
    op.create_table(
        "movements",
        sa.Column("id", SEQ_ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(128), nullable=False),
        sa.Column("location_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("on_hand_delta", sa.BigInteger(), nullable=False),
        sa.Column("reserved_delta", sa.BigInteger(), nullable=False),
        sa.Column("on_hand_after", sa.BigInteger(), nullable=False),
        sa.Column("reserved_after", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reference", sa.String(256), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_movements"),
    )
    op.create_index("ix_movements_tenant_sku_id", "movements", ["tenant_id", "sku", "id"])
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("order_ref", sa.String(256), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("idempotency_key", sa.String(256), nullable=True),
        sa.Column("channel_connection_id", sa.String(64), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reservations"),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name="uq_reservations_tenant_id_idempotency_key"
        ),
    )
    op.create_index("ix_reservations_status_expires_at", "reservations", ["status", "expires_at"])
    op.create_table(
        "reservation_lines",
        sa.Column("reservation_id", sa.String(36), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("parent_line_no", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(128), nullable=False),
        sa.Column("location_id", sa.String(36), nullable=False),
        sa.Column("per_unit", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("committed", sa.BigInteger(), nullable=False),
        sa.Column("released", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("reservation_id", "line_no", name="pk_reservation_lines"),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name="fk_reservation_lines_reservation_id_reservations",
        ),
        sa.CheckConstraint(
            "committed + released <= quantity", name="ck_reservation_lines_not_over_settled"
        ),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "scope", "key", name="pk_idempotency_records"),
    )
    op.create_table(
        "bundle_components",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("bundle_sku", sa.String(128), nullable=False),
        sa.Column("component_sku", sa.String(128), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "bundle_sku", "component_sku", name="pk_bundle_components"
        ),
        sa.CheckConstraint("quantity >= 1", name="ck_bundle_components_quantity_positive"),
    )
    op.create_index(
        "ix_bundle_components_tenant_component", "bundle_components", ["tenant_id", "component_sku"]
    )
    op.create_table(
        "allocation_rules",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("buffer", sa.BigInteger(), nullable=False),
        sa.Column("max_quantity", sa.BigInteger(), nullable=True),
        sa.Column("percentage", sa.Integer(), nullable=True),
        sa.Column("dynamic_buffer", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "connection_id", name="pk_allocation_rules"),
    )
    op.create_table(
        "connection_latencies",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("latency_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "connection_id", name="pk_connection_latencies"),
    )
    op.create_table(
        "channel_sales",
        sa.Column("id", SEQ_ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(128), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_channel_sales"),
    )
    op.create_index("ix_channel_sales_tenant_sku_at", "channel_sales", ["tenant_id", "sku", "at"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(128), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("available_at_open", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_tenant_opened_at", "alerts", ["tenant_id", "opened_at", "id"])
    op.create_table(
        "outbox",
        sa.Column("id", SEQ_ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["sent_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_alerts_tenant_opened_at", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_channel_sales_tenant_sku_at", table_name="channel_sales")
    op.drop_table("channel_sales")
    op.drop_table("connection_latencies")
    op.drop_table("allocation_rules")
    op.drop_index("ix_bundle_components_tenant_component", table_name="bundle_components")
    op.drop_table("bundle_components")
    op.drop_table("idempotency_records")
    op.drop_table("reservation_lines")
    op.drop_index("ix_reservations_status_expires_at", table_name="reservations")
    op.drop_table("reservations")
    op.drop_index("ix_movements_tenant_sku_id", table_name="movements")
    op.drop_table("movements")
    op.drop_table("tenant_settings")
    op.drop_table("sku_states")
    op.drop_table("stock_levels")
    op.drop_index("uq_locations_one_default", table_name="locations")
    op.drop_table("locations")
