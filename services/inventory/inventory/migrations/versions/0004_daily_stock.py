"""inventory: daily on-hand changes and units sold per SKU and location (the turnover read model)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Kept by a trigger on the ledger (`movements`), so every path that writes a ledger row, the
SQLAlchemy repository and the PostgreSQL group-commit statements alike (pg_statements.py
`inv_insert_movements`, `inv_change_level`), updates it in the same statement and transaction,
and no future path can forget it. A row adds up one UTC day's on-hand deltas at one location and
the units sold (COMMIT movements and SALE adjustments, as positive units); ledger rows that leave
on hand as it was (holds, releases) are skipped. The rows written before this revision are
summed from the ledger here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SOLD = "CASE WHEN {m}.kind = 'COMMIT' OR ({m}.kind = 'ADJUSTMENT' AND {m}.reason = 'SALE') THEN -{m}.on_hand_delta ELSE 0 END"
_PG_DAY = "(({m}.at AT TIME ZONE 'UTC')::date)"
# SQLite stores `at` as naive UTC text ("2026-12-06 15:04:05.123456"; omnistock_common.sqltypes).
_SQLITE_DAY = "date({m}.at)"

_PG_FUNCTION = f"""
CREATE FUNCTION daily_stock_from_movement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO daily_stock (tenant_id, sku, location_id, day, on_hand_delta, sold)
  VALUES (NEW.tenant_id, NEW.sku, NEW.location_id, {_PG_DAY.format(m="NEW")}, NEW.on_hand_delta,
          {_SOLD.format(m="NEW")})
  ON CONFLICT (tenant_id, sku, location_id, day) DO UPDATE
  SET on_hand_delta = daily_stock.on_hand_delta + EXCLUDED.on_hand_delta,
      sold = daily_stock.sold + EXCLUDED.sold;
  RETURN NULL;
END $$
"""
_PG_TRIGGER = (
    "CREATE TRIGGER trg_movements_daily_stock AFTER INSERT ON movements FOR EACH ROW"
    " WHEN (NEW.on_hand_delta <> 0) EXECUTE FUNCTION daily_stock_from_movement()"
)
_SQLITE_TRIGGER = f"""
CREATE TRIGGER trg_movements_daily_stock AFTER INSERT ON movements
WHEN NEW.on_hand_delta <> 0
BEGIN
  INSERT INTO daily_stock (tenant_id, sku, location_id, day, on_hand_delta, sold)
  VALUES (NEW.tenant_id, NEW.sku, NEW.location_id, {_SQLITE_DAY.format(m="NEW")}, NEW.on_hand_delta,
          {_SOLD.format(m="NEW")})
  ON CONFLICT (tenant_id, sku, location_id, day) DO UPDATE
  SET on_hand_delta = on_hand_delta + excluded.on_hand_delta, sold = sold + excluded.sold;
END
"""


def upgrade() -> None:
    op.create_table(
        "daily_stock",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(128), nullable=False),
        sa.Column("location_id", sa.String(36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("on_hand_delta", sa.BigInteger(), nullable=False),
        sa.Column("sold", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "sku", "location_id", "day", name="pk_daily_stock"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    day = (_PG_DAY if postgres else _SQLITE_DAY).format(m="m")
    op.execute(
        "INSERT INTO daily_stock (tenant_id, sku, location_id, day, on_hand_delta, sold)"
        f" SELECT m.tenant_id, m.sku, m.location_id, {day}, SUM(m.on_hand_delta), SUM({_SOLD.format(m='m')})"
        f" FROM movements m WHERE m.on_hand_delta <> 0 GROUP BY m.tenant_id, m.sku, m.location_id, {day}"
    )
    if postgres:
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER trg_movements_daily_stock" + (" ON movements" if _is_pg() else ""))
    if _is_pg():
        op.execute("DROP FUNCTION daily_stock_from_movement()")
    op.drop_table("daily_stock")


def _is_pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"
