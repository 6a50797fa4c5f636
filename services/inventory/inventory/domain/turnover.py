"""Inventory turnover: units sold / average units on hand over a range of UTC days.

Read from the daily read model (`daily_stock`: per day, SKU and location, the sum of the ledger's
on-hand deltas and the units sold), never from the ledger. A SKU's on hand at the end of day d is
its on hand before the range (`opening`, the deltas of every earlier day) plus the deltas of the
range's days up to d, so the sum of the end-of-day figures over the range's N days is
opening x N + sum(delta_d x (last - d + 1)): `unit_days`, an integer, exact. The average on hand is
unit_days / N and the turnover units_sold / average = units_sold x N / unit_days, both rounded
half up once, at the end (hundredths and parts per million). With nothing on hand on any day
(unit_days 0) the turnover is unknown, not 0 and not infinite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from omnistock_common.day_range import DateRange

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
PPM = 1_000_000


@dataclass(frozen=True)
class DailyStock:
    """The read model summed over locations: one SKU's day."""

    sku: str
    day: date
    on_hand_delta: int
    sold: int


@dataclass(frozen=True)
class Turnover:
    sku: str  # "" for the overall figures
    units_sold: int
    unit_days: int  # the sum of the end-of-day units on hand over the range's days
    days: int

    @property
    def average_on_hand_centi(self) -> int:
        return _half_up(self.unit_days * 100, self.days)

    @property
    def turnover_ppm(self) -> int | None:
        if self.unit_days <= 0:
            return None
        return _half_up(self.units_sold * self.days * PPM, self.unit_days)


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, in integers (no float)."""
    quotient, remainder = divmod(abs(numerator), denominator)
    rounded = quotient + (1 if remainder * 2 >= denominator else 0)
    return rounded if numerator >= 0 else -rounded


def turnover(
    span: DateRange, opening: Mapping[str, int], days: Iterable[DailyStock], limit: int
) -> tuple[list[Turnover], Turnover]:
    """Per SKU (those with stock or movements in the range; by turnover descending, unknown last,
    then units sold descending, then SKU; at most `limit`) and overall (every SKU)."""
    count = (span.last - span.first).days + 1
    sold: dict[str, int] = defaultdict(int)
    unit_days: dict[str, int] = {sku: units * count for sku, units in opening.items()}
    for row in days:
        sold[row.sku] += row.sold
        unit_days[row.sku] = unit_days.get(row.sku, 0) + row.on_hand_delta * ((span.last - row.day).days + 1)
    items = [
        Turnover(sku, sold.get(sku, 0), unit_days[sku], count)
        for sku in unit_days
        if unit_days[sku] or sold.get(sku, 0)
    ]
    overall = Turnover("", sum(t.units_sold for t in items), sum(t.unit_days for t in items), count)
    items.sort(key=lambda t: (t.turnover_ppm is None, -(t.turnover_ppm or 0), -t.units_sold, t.sku))
    return items[:limit], overall


def turnover_limit(limit: int) -> int:
    """0 means the default; more than MAX_LIMIT is MAX_LIMIT (as page limits)."""
    return DEFAULT_LIMIT if limit <= 0 else min(limit, MAX_LIMIT)
