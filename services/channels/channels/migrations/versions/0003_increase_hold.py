"""channels: connection health shows increases held for fresh orders (issue 14)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("increases_held_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("increases_held_reason", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("increases_held_reason")
        batch.drop_column("increases_held_since")
