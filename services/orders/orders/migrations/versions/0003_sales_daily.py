"""orders: the sales read model (sales_daily), filled from the existing orders

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_daily",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("connection_id", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("sku", sa.String(256), nullable=False),
        sa.Column("orders", sa.BigInteger, nullable=False),
        sa.Column("units", sa.BigInteger, nullable=False),
        sa.Column("revenue_minor", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "day", "channel", "connection_id", "currency", "sku", name="pk_sales_daily"
        ),
    )
    # Backfill: an upgraded deployment starts with the figures of the orders it already has.
    from orders.repository.sales_rows import rebuild_all_sales

    rebuild_all_sales(op.get_bind())


def downgrade() -> None:
    op.drop_table("sales_daily")
