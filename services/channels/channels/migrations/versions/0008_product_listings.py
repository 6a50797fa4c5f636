"""channels: published products per connection and the fields OmniStock owns there (issue 15)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_listings",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("connection_id", sa.String(36), nullable=False),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False, server_default=""),
        sa.Column("variant_ids", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("wanted_version", sa.BigInteger(), nullable=False),
        sa.Column("published_version", sa.BigInteger(), nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("pending", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("error_version", sa.BigInteger(), nullable=True),
        sa.Column("error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "product_id", name="pk_product_listings"),
    )
    op.create_index(
        "ix_product_listings_pending_retry_at", "product_listings", ["pending", "retry_at"]
    )
    op.create_index(
        "ix_product_listings_tenant_id_product_id", "product_listings", ["tenant_id", "product_id"]
    )
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("owned_fields", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("owned_fields")
    op.drop_index("ix_product_listings_tenant_id_product_id", table_name="product_listings")
    op.drop_index("ix_product_listings_pending_retry_at", table_name="product_listings")
    op.drop_table("product_listings")
