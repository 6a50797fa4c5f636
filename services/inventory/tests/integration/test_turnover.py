"""Inventory turnover equals a direct computation over the ledger (SQLite and PostgreSQL).

Ledger rows are written straight into `movements` over 60 UTC days (times on both sides of
midnight, several locations, sales as commits and SALE adjustments, returns, holds that leave on
hand alone), so the read model's trigger sees arbitrary days; the report over a range inside
them must equal the figures computed here from the ledger alone: on hand at the end of each day
of the range, their average, the units sold in the range, and their quotient. (That every real
write path reaches the read model: test_daily_stock.py.)
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import insert

from inventory import models, service
from inventory.repository import UnitOfWork
from omnistock_common.context import CallContext
from omnistock_common.errors import InvalidArgument

TENANT = "tenant-turnover"
CTX = CallContext(tenant_id=TENANT, user_id="u1")
START = date(2026, 10, 1)
SKUS = ("A", "B", "C", "D", "IDLE")
TODAY = date(2026, 12, 6)


def generated_ledger(seed: int = 7) -> list[dict[str, object]]:
    rnd = random.Random(seed)
    rows: list[dict[str, object]] = []
    for n in range(600):
        day = START + timedelta(days=rnd.randrange(60))
        moment = rnd.choice(
            [time(0, 0, 0), time(23, 59, 59, 999_000), time(rnd.randrange(24), rnd.randrange(60))]
        )
        kind, reason, delta = rnd.choice(
            [
                ("ADJUSTMENT", "RECEIVED", rnd.randint(1, 40)),
                ("ADJUSTMENT", "SALE", -rnd.randint(1, 3)),
                ("ADJUSTMENT", "RETURNED", rnd.randint(1, 2)),
                ("ADJUSTMENT", "DAMAGED", -1),
                ("COMMIT", None, -rnd.randint(1, 5)),
                ("RESERVE", None, 0),
            ]
        )
        sku = rnd.choice(SKUS[:4])
        rows.append(
            {
                "tenant_id": TENANT,
                "sku": sku,
                "location_id": rnd.choice(["loc-1", "loc-2"]),
                "kind": kind,
                "reason": reason,
                "on_hand_delta": delta,
                "reserved_delta": 0,
                "on_hand_after": 0,
                "reserved_after": 0,
                "note": "",
                "actor": "test",
                "reference": f"r{n}",
                "at": datetime.combine(day, moment, tzinfo=UTC),
            }
        )
    # A SKU received once before the range and never touched again: on hand, nothing sold.
    rows.append(
        {
            **rows[0],
            "sku": "IDLE",
            "kind": "ADJUSTMENT",
            "reason": "RECEIVED",
            "on_hand_delta": 9,
            "at": datetime.combine(START, time(12), tzinfo=UTC),
        }
    )
    # Another tenant's ledger stays out.
    rows.append({**rows[0], "tenant_id": "tenant-other", "sku": "A", "kind": "COMMIT", "on_hand_delta": -50})
    return rows


def expected(rows: list[dict[str, object]], first: date, last: date) -> dict[str, tuple[int, Fraction]]:
    """SKU -> (units sold in the range, average end-of-day on hand), from the ledger alone."""
    out: dict[str, tuple[int, Fraction]] = {}
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    for sku in SKUS:
        mine = [r for r in rows if r["tenant_id"] == TENANT and r["sku"] == sku]
        ends = [sum(int(r["on_hand_delta"]) for r in mine if r["at"].date() <= d) for d in days]  # type: ignore[attr-defined]
        sold = sum(
            -int(r["on_hand_delta"])
            for r in mine
            if first <= r["at"].date() <= last  # type: ignore[attr-defined]
            and (r["kind"] == "COMMIT" or (r["kind"] == "ADJUSTMENT" and r["reason"] == "SALE"))
        )
        if sold or any(ends):
            out[sku] = (sold, Fraction(sum(ends), len(days)))
    return out


def half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


@pytest.fixture
def ledger(uow: UnitOfWork) -> list[dict[str, object]]:
    rows = generated_ledger()
    with uow.engine.begin() as conn:
        conn.execute(insert(models.movements), rows)
    return rows


def test_turnover_equals_a_direct_computation_over_the_ledger(
    uow: UnitOfWork, ledger: list[dict[str, object]]
) -> None:
    first, last = START + timedelta(days=10), START + timedelta(days=39)
    span, items, overall = service.inventory_turnover(
        uow, CTX, first.isoformat(), last.isoformat(), 500, TODAY
    )
    assert (span.first, span.last) == (first, last)

    want = expected(ledger, first, last)
    assert {t.sku for t in items} == set(want) and "IDLE" in want
    for t in items:
        sold, average = want[t.sku]
        assert (t.units_sold, t.days) == (sold, 30), t.sku
        assert t.average_on_hand_centi == half_up(average * 100), t.sku
        assert t.turnover_ppm == (half_up(sold / average * 1_000_000) if average else None), t.sku
    assert overall.units_sold == sum(sold for sold, _ in want.values())
    total_average = sum((average for _, average in want.values()), Fraction(0))
    assert overall.turnover_ppm == half_up(overall.units_sold / total_average * 1_000_000)
    ranks = [(t.turnover_ppm is None, -(t.turnover_ppm or 0), -t.units_sold, t.sku) for t in items]
    assert ranks == sorted(ranks)
    assert next(t for t in items if t.sku == "IDLE").turnover_ppm == 0

    top, _ = service.inventory_turnover(uow, CTX, first.isoformat(), last.isoformat(), 2, TODAY)[1:]
    assert top == items[:2]


def test_default_range_and_bad_ranges(uow: UnitOfWork, ledger: list[dict[str, object]]) -> None:
    span, _, _ = service.inventory_turnover(uow, CTX, "", "", 0, TODAY)
    assert (span.first, span.last) == (TODAY - timedelta(days=29), TODAY)
    # Long after the ledger: every SKU's stock stands still, nothing sold.
    _, items, overall = service.inventory_turnover(uow, CTX, "2026-12-01", "2026-12-02", 0, TODAY)
    assert overall.units_sold == 0 and items and all(t.turnover_ppm in (0, None) for t in items)
    for first, last, field in (
        ("2026-12-03", "2026-12-01", "from"),
        ("2026-02-30", "", "from"),
        ("", "2026-13-01", "to"),
    ):
        with pytest.raises(InvalidArgument) as err:
            service.inventory_turnover(uow, CTX, first, last, 0, TODAY)
        assert [v.field for v in err.value.violations] == [field]
