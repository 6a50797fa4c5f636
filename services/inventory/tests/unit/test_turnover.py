"""domain.turnover by hand: the arithmetic of the end-of-day sum, rounding, unknown turnover."""

from __future__ import annotations

from datetime import date

from inventory.domain import DailyStock, Turnover, turnover
from omnistock_common.day_range import DateRange

SPAN = DateRange(date(2026, 12, 1), date(2026, 12, 4))  # four days


def test_end_of_day_sum_average_and_turnover() -> None:
    # A: 10 before the range; +6 on the 2nd (end of days: 10, 16, 16, 16 = 58); 3 sold on the 4th
    # (-3: 10, 16, 16, 13 = 55). Average 13.75, turnover 3 / 13.75 = 0.218181..
    days = [DailyStock("A", date(2026, 12, 2), 6, 0), DailyStock("A", date(2026, 12, 4), -3, 3)]
    items, overall = turnover(SPAN, {"A": 10}, days, 10)
    assert items == [Turnover("A", 3, 55, 4)]
    assert (items[0].average_on_hand_centi, items[0].turnover_ppm) == (1375, 218182)
    assert overall == Turnover("", 3, 55, 4)


def test_nothing_on_hand_is_an_unknown_turnover_and_idle_skus_are_left_out() -> None:
    # B sold 2 it never had (oversold); C has nothing and did nothing.
    days = [DailyStock("B", date(2026, 12, 1), 0, 2)]
    items, overall = turnover(SPAN, {"C": 0}, days, 10)
    assert [(t.sku, t.units_sold, t.turnover_ppm) for t in items] == [("B", 2, None)]
    assert overall.turnover_ppm is None and overall.average_on_hand_centi == 0


def test_order_and_limit() -> None:
    opening = {"FAST": 1, "SLOW": 100, "SAME": 1}
    days = [
        DailyStock("FAST", date(2026, 12, 4), -1, 1),
        DailyStock("SAME", date(2026, 12, 4), -1, 1),
        DailyStock("SLOW", date(2026, 12, 4), -1, 1),
    ]
    items, overall = turnover(SPAN, opening, days, 2)
    assert [t.sku for t in items] == ["FAST", "SAME"]  # equal turnover and units: by SKU
    assert overall.units_sold == 3
