"""Products and variants.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
    )
    op.create_index("ix_products_tenant_id_created_at_id", "products", ["tenant_id", "created_at", "id"])
    op.create_index("ix_products_tenant_id_title", "products", ["tenant_id", "title"])
    op.create_index("ix_products_tenant_id_updated_at", "products", ["tenant_id", "updated_at"])

    op.create_table(
        "variants",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("cost_minor", sa.BigInteger(), nullable=True),
        sa.Column("barcode", sa.String(64), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("weight_grams", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_variants"),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_variants_product_id_products", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("tenant_id", "sku", name="uq_variants_tenant_id_sku"),
    )
    op.create_index("ix_variants_tenant_id_product_id", "variants", ["tenant_id", "product_id"])


def downgrade() -> None:
    op.drop_index("ix_variants_tenant_id_product_id", table_name="variants")
    op.drop_table("variants")
    op.drop_index("ix_products_tenant_id_updated_at", table_name="products")
    op.drop_index("ix_products_tenant_id_title", table_name="products")
    op.drop_index("ix_products_tenant_id_created_at_id", table_name="products")
    op.drop_table("products")
