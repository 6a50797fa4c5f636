"""inventory: alerts have a kind (LOW_STOCK, OVERSOLD), the order they name and the units short

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
    # Server defaults: every existing alert is a low-stock one.
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="LOW_STOCK"))
        batch.add_column(sa.Column("reference", sa.String(128), nullable=False, server_default=""))
        batch.add_column(sa.Column("quantity_short", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("quantity_short")
        batch.drop_column("reference")
        batch.drop_column("kind")
