"""channels: connections, listings, sync log, webhook deliveries, sync jobs, notifications, outbox

Revision ID: 0001
Revises:
Create Date: 2026-01-01
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
        "connections",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("credentials", sa.LargeBinary(), nullable=False),
        sa.Column("credentials_version", sa.BigInteger(), nullable=False),
        sa.Column("token_expires_at", TS, nullable=True),
        sa.Column("last_sync_at", TS, nullable=True),
        sa.Column("last_success_at", TS, nullable=True),
        sa.Column("error_count", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_connections"),
    )
    op.create_index(
        "ix_connections_tenant_id_created_at_id", "connections", ["tenant_id", "created_at", "id"]
    )
    op.create_table(
        "listings",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("sku", sa.String(128), nullable=False),
        sa.Column("external_ids", sa.Text(), nullable=False),
        sa.Column("last_pushed_quantity", sa.BigInteger(), nullable=True),
        sa.Column("last_pushed_version", sa.BigInteger(), nullable=True),
        sa.Column("last_pushed_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "sku", name="pk_listings"),
    )
    op.create_index(
        "ix_listings_tenant_id_connection_id_sku", "listings", ["tenant_id", "connection_id", "sku"]
    )
    op.create_table(
        "sync_log",
        sa.Column("id", SEQ_ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("skus", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.BigInteger(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_log"),
    )
    op.create_index("ix_sync_log_connection_id_id", "sync_log", ["connection_id", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("channel_type", sa.String(32), nullable=False),
        sa.Column("delivery_id", sa.String(255), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("raw_body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint(
            "connection_id", "delivery_id", name="uq_webhook_deliveries_connection_id_delivery_id"
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_status_received_at", "webhook_deliveries", ["status", "received_at"]
    )
    op.create_table(
        "sync_jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sync_jobs"),
    )
    op.create_index("ix_sync_jobs_status_requested_at", "sync_jobs", ["status", "requested_at"])
    op.create_index("ix_sync_jobs_connection_id_requested_at", "sync_jobs", ["connection_id", "requested_at"])
    op.create_table(
        "notification_settings",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("webhook_url", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_notification_settings"),
    )
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
    for table in (
        "outbox",
        "notification_settings",
        "sync_jobs",
        "webhook_deliveries",
        "sync_log",
        "listings",
        "connections",
    ):
        op.drop_table(table)
