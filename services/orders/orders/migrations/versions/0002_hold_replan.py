"""orders: a channel's edit plans the hold again (replan_owed, hold_round); lines know what the
channel shipped (channel_fulfilled)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("replan_owed", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("hold_round", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("channel_fulfilled", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("channel_fulfilled")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("hold_round")
        batch.drop_column("replan_owed")
