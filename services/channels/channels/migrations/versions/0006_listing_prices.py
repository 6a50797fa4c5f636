"""channels: listings remember the last price pushed and its pricing version (issue 16)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("last_pushed_price", sa.String(64), nullable=True))
        batch.add_column(sa.Column("last_pushed_price_version", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("last_pushed_price_version")
        batch.drop_column("last_pushed_price")
