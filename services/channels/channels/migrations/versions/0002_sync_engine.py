"""channels: sync engine tables (channel_commitments, order_sync_state)

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_commitments",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("external_order_id", sa.String(255), nullable=False),
        sa.Column("sku", sa.String(128), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "external_order_id", "sku", name="pk_channel_commitments"),
    )
    op.create_index(
        "ix_channel_commitments_tenant_id_sku_status", "channel_commitments", ["tenant_id", "sku", "status"]
    )
    op.create_table(
        "order_sync_state",
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("updated_since", TS, nullable=True),
        sa.Column("current_as_of", TS, nullable=True),
        sa.Column("last_attempt_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", name="pk_order_sync_state"),
    )
    op.create_index("ix_order_sync_state_tenant_id", "order_sync_state", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("order_sync_state")
    op.drop_table("channel_commitments")
