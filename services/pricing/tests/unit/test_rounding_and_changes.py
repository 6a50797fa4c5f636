"""Rounding rules, floors, bulk changes and their preview fingerprint; derived channel prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omnistock_common.errors import InvalidArgument
from pricing.domain.changes import AmountChange, PercentChange, PriceRow, fingerprint, preview
from pricing.domain.fx import FxTable
from pricing.domain.prices import ConnectionPricing, effective_price
from pricing.domain.rounding import Rounding, apply_rounding, finish, parse_rounding


@pytest.mark.parametrize(
    ("amount", "currency", "rule", "expected"),
    [
        (1034, "USD", Rounding.ENDING_99, 999),
        (1060, "USD", Rounding.ENDING_99, 1099),
        (1050, "USD", Rounding.ENDING_99, 1099),  # half up
        (40, "USD", Rounding.ENDING_99, 99),  # never below 0.99
        (10340, "BHD", Rounding.ENDING_99, 9990),  # 10.340 BHD -> 9.990
        (1012, "EUR", Rounding.NEAREST_0_05, 1010),
        (1013, "EUR", Rounding.NEAREST_0_05, 1015),
        (2, "EUR", Rounding.NEAREST_0_05, 5),
        (1234, "JPY", Rounding.NONE, 1234),
    ],
)
def test_rounding_rules(amount: int, currency: str, rule: Rounding, expected: int) -> None:
    assert apply_rounding(amount, currency, rule) == expected


def test_cent_endings_are_refused_for_a_currency_without_cents() -> None:
    with pytest.raises(InvalidArgument, match="JPY has 0 decimals"):
        apply_rounding(1234, "JPY", Rounding.ENDING_99)
    with pytest.raises(InvalidArgument, match="unknown rounding") as caught:
        parse_rounding("0.95")
    assert caught.value.violations[0].message == "one of: none, 0.99, nearest_0.05"


def test_the_floor_wins_over_the_ending() -> None:
    assert finish(1034, "USD", Rounding.ENDING_99, floor_minor=1000) == 1000
    assert finish(-50, "USD", Rounding.NONE, floor_minor=None) == 0


ROWS = [
    PriceRow("MUG", "shopify-1", 9900, "USD"),
    PriceRow("CUP", "shopify-1", 1250, "USD", floor_minor=1300),
    PriceRow("PLATE", "shopify-1", 100, "USD"),
]


def test_plus_ten_percent_with_99_endings_previews_what_apply_will_write() -> None:
    result = preview(ROWS, PercentChange(Decimal(10)), Rounding.ENDING_99)
    after = {item.sku: item.after_minor for item in result.items}
    # 108.90 -> 108.99; 13.75 -> 13.99 (floor 13.00 is below); 1.10 -> 0.99
    assert after == {"MUG": 10899, "CUP": 1399, "PLATE": 99}
    assert result.count == 3 and result.fingerprint == fingerprint(ROWS)


def test_a_price_that_moved_since_the_preview_changes_its_fingerprint() -> None:
    moved = [ROWS[0], PriceRow("CUP", "shopify-1", 1251, "USD", floor_minor=1300), ROWS[2]]
    assert fingerprint(moved) != fingerprint(ROWS)
    assert fingerprint(list(reversed(ROWS))) == fingerprint(ROWS)


def test_an_amount_change_in_another_currency_is_refused_for_every_row_at_once() -> None:
    rows = [PriceRow("A", "woo-1", 500, "EUR"), PriceRow("B", "woo-1", 700, "EUR")]
    with pytest.raises(InvalidArgument) as caught:
        preview(rows, AmountChange(100, "USD"), Rounding.NONE)
    assert [v.field for v in caught.value.violations] == ["woo-1/A", "woo-1/B"]
    assert preview(rows, AmountChange(-600, "EUR"), Rounding.NONE).items[0].after_minor == 0


@pytest.mark.parametrize("percent", ["0", "-95", "501"])
def test_percent_changes_out_of_range_are_refused(percent: str) -> None:
    with pytest.raises(InvalidArgument):
        preview(ROWS, PercentChange(Decimal(percent)), Rounding.NONE)


def test_a_connection_price_is_the_set_one_else_the_converted_base_price() -> None:
    fx = FxTable("USD", {"EUR": Decimal("0.92")})
    woo = ConnectionPricing("EUR", Rounding.ENDING_99)
    derived = effective_price(None, None, 8900, "USD", woo, fx)
    assert (derived.amount_minor, derived.currency, derived.derived) == (8199, "EUR", True)  # 81.88 -> 81.99
    set_price = effective_price(8900, 9900, 8900, "USD", woo, fx)
    assert (set_price.amount_minor, set_price.derived, set_price.compare_at_minor) == (8900, False, 9900)
