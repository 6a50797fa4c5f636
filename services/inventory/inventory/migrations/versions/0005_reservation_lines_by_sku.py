"""inventory: reservation lines by (tenant, SKU), for the holds on one SKU (ListReservations)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Without it, listing who holds a SKU's reserved units reads every reservation line of the tenant.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reservation_lines_tenant_sku", "reservation_lines", ["tenant_id", "sku", "reservation_id"])


def downgrade() -> None:
    op.drop_index("ix_reservation_lines_tenant_sku", table_name="reservation_lines")
