"""channels: orders (order_versions, order_actions)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "order_versions",
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("external_order_id", sa.String(255), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("order_updated_at", TS, nullable=True),
        sa.Column("published_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "external_order_id", name="pk_order_versions"),
    )
    op.create_index("ix_order_versions_tenant_id", "order_versions", ["tenant_id"])
    op.create_table(
        "order_actions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("fulfillment_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("external_order_id", sa.String(255), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_actions"),
        sa.UniqueConstraint(
            "tenant_id",
            "order_id",
            "action",
            "fulfillment_id",
            name="uq_order_actions_tenant_id_order_id_action_fulfillment_id",
        ),
    )
    op.create_index(
        "ix_order_actions_status_next_attempt_at", "order_actions", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("order_actions")
    op.drop_table("order_versions")
