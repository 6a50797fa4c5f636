"""inventory: the fingerprint of the request an idempotency key was first used with

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: rows written before this revision have no fingerprint and are not compared.
    for table in ("reservations", "idempotency_records"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("request_fingerprint", sa.String(64), nullable=True))


def downgrade() -> None:
    for table in ("reservations", "idempotency_records"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("request_fingerprint")
