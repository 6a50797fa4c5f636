"""channels: a listing whose product is archived on the connection is off sale (the sync engine
shows 0 there), so an archived product never sells on a channel that has no product status of
its own (Amazon) and cannot be revived there by a stock push or reconciliation

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("off_sale", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("off_sale")
