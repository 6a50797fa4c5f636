"""pricing: connection pricing, channel prices, history, FX table + audit, bulk previews, timed sales, outbox

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SEQ_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.String(length=64), nullable=False)


def upgrade() -> None:
    op.create_table(
        "connection_pricing",
        _tenant(),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rounding", sa.String(length=16), nullable=False),
        sa.Column("floor_minor", sa.BigInteger(), nullable=True),
        sa.Column("schedule_cron", sa.String(length=128), nullable=False),
        sa.Column("schedule_timezone", sa.String(length=64), nullable=False),
        sa.Column("next_push_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "connection_id", name=op.f("pk_connection_pricing")),
    )
    op.create_table(
        "channel_prices",
        _tenant(),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=256), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("compare_at_minor", sa.BigInteger(), nullable=True),
        sa.Column("announced_minor", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "connection_id", "sku", name=op.f("pk_channel_prices")),
    )
    op.create_table(
        "price_history",
        sa.Column("id", SEQ_ID, autoincrement=True, nullable=False),
        _tenant(),
        sa.Column("sku", sa.String(length=256), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("before_minor", sa.BigInteger(), nullable=True),
        sa.Column("after_minor", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_history")),
    )
    op.create_index("ix_price_history_tenant_id_sku_id", "price_history", ["tenant_id", "sku", "id"])
    op.create_table(
        "fx_tables",
        _tenant(),
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("threshold_percent", sa.String(length=32), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_fx_tables")),
    )
    op.create_table(
        "fx_rates",
        _tenant(),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "currency", name=op.f("pk_fx_rates")),
    )
    op.create_table(
        "fx_audit",
        sa.Column("id", SEQ_ID, autoincrement=True, nullable=False),
        _tenant(),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("before", sa.String(length=64), nullable=True),
        sa.Column("after", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_audit")),
    )
    op.create_index("ix_fx_audit_tenant_id_id", "fx_audit", ["tenant_id", "id"])
    op.create_table(
        "bulk_previews",
        sa.Column("id", sa.String(length=36), nullable=False),
        _tenant(),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("applied_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_previews")),
    )
    op.create_table(
        "timed_sales",
        sa.Column("id", sa.String(length=36), nullable=False),
        _tenant(),
        sa.Column("sku", sa.String(length=256), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("sale_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=256), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timed_sales")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name=op.f("uq_timed_sales_tenant_id_idempotency_key")
        ),
    )
    op.create_index("ix_timed_sales_state_starts_at", "timed_sales", ["state", "starts_at"])
    op.create_index(
        "ix_timed_sales_tenant_id_sku_connection_id", "timed_sales", ["tenant_id", "sku", "connection_id"]
    )
    op.create_table(
        "outbox",
        sa.Column("id", SEQ_ID, autoincrement=True, nullable=False),
        _tenant(),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["sent_at", "id"])


def downgrade() -> None:
    for table in (
        "outbox",
        "timed_sales",
        "bulk_previews",
        "fx_audit",
        "fx_rates",
        "fx_tables",
        "price_history",
        "channel_prices",
        "connection_pricing",
    ):
        op.drop_table(table)
