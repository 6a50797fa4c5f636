"""channels: connection health shows the channel's quotas a push reported (eBay revisions, issue 19)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("channel_limits", sa.Text(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("channel_limits_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("channel_limits_at")
        batch.drop_column("channel_limits")
