"""channels: sync_jobs holds every background job (kind, params, progress, result, heartbeat)

Revision ID: 0005
Revises: 0004
Create Date: 2026-02-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_jobs") as batch:
        # Existing rows are syncs with nothing stored beyond their message.
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="sync"))
        batch.add_column(sa.Column("params", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("result", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("progress_done", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("progress_total", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_jobs") as batch:
        for column in ("heartbeat_at", "progress_total", "progress_done", "result", "params", "kind"):
            batch.drop_column(column)
