"""FX: exact conversions, chained conversions within one minor unit, rates validated as a whole."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from omnistock_common.errors import InvalidArgument
from pricing.domain.fx import FxTable, parse_rates_csv, significant_change, validate_table

TABLE = FxTable(
    "USD",
    {
        "EUR": Decimal("0.92"),
        "GBP": Decimal("0.79"),
        "BDT": Decimal("119.5"),
        "JPY": Decimal("151.37"),
        "BHD": Decimal("0.376"),
    },
)


def test_direct_conversions_round_half_up_to_the_target_minor_unit() -> None:
    assert TABLE.convert_minor(9900, "USD", "EUR") == 9108  # 99.00 USD -> 91.08 EUR
    assert TABLE.convert_minor(8900, "USD", "GBP") == 7031  # 70.31
    assert TABLE.convert_minor(1999, "USD", "JPY") == 3026  # 3025.8863 -> 3026 yen, no decimals
    assert TABLE.convert_minor(1000, "USD", "BHD") == 3760  # 3.760 BHD, three decimals
    assert TABLE.convert_minor(9108, "EUR", "USD") == 9900  # back through the base
    assert TABLE.convert_minor(5, "USD", "EUR") == 5  # 0.046 -> 0.05 (half up at the cent)


def test_usd_to_bdt_to_gbp_never_drifts_beyond_one_penny_of_the_direct_conversion() -> None:
    rng = random.Random(20261206)
    worst = 0
    for _ in range(5000):
        usd = rng.randrange(1, 10**9)
        direct = TABLE.convert_minor(usd, "USD", "GBP")
        chained = TABLE.convert_minor(TABLE.convert_minor(usd, "USD", "BDT"), "BDT", "GBP")
        worst = max(worst, abs(direct - chained))
    assert worst <= 1


def test_a_round_trip_through_yen_loses_at_most_what_the_yen_cannot_hold() -> None:
    # 1 yen is ~0.66 US cents: a round trip may move the dollar figure by one cent, never more.
    for usd in range(1, 3000, 7):
        back = TABLE.convert_minor(TABLE.convert_minor(usd, "USD", "JPY"), "JPY", "USD")
        assert abs(back - usd) <= 1


def test_a_missing_rate_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgument, match="no FX rate from USD to CHF"):
        TABLE.convert_minor(100, "USD", "CHF")


def test_every_problem_of_a_rate_table_is_reported_at_once() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_table("USD", {"EUR": "0", "XXX": "1.2", "GBP": "abc", "USD": "2", "BDT": 119.5})  # type: ignore[dict-item]
    fields = {v.field for v in caught.value.violations}
    assert fields == {"rates.EUR", "rates.XXX", "rates.GBP", "rates.USD", "rates.BDT"}
    assert validate_table("USD", {"EUR": "0.92", "USD": "1"}) == {"EUR": Decimal("0.92")}


def test_rates_csv_keeps_good_rows_and_names_bad_lines() -> None:
    rates, errors = parse_rates_csv("currency,rate\neur,0.92\nGBP,-1\nXYZ,2\nEUR,0.93\nBDT,119.5\n")
    assert rates == {"EUR": Decimal("0.92"), "BDT": Decimal("119.5")}
    assert [e.field for e in errors] == ["line 3", "line 4", "line 5"]
    with pytest.raises(InvalidArgument, match="header"):
        parse_rates_csv("code,value\nEUR,1\n")


@pytest.mark.parametrize(
    ("old", "new", "significant"),
    [(None, "0.92", True), ("0.92", "0.9250", False), ("0.92", "0.9292", True), ("0.92", "0.9108", True)],
)
def test_only_a_rate_move_of_at_least_the_threshold_re_pushes_prices(
    old: str | None, new: str, significant: bool
) -> None:
    assert significant_change(Decimal(old) if old else None, Decimal(new), Decimal("0.01")) is significant
