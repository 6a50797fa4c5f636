"""Money never goes through floats and never rounds silently."""

import pytest

from omnistock_common.money import MoneyError, from_minor, to_minor


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("19.99", "USD", 1999),
        ("0", "EUR", 0),
        ("119.5", "BDT", 11950),
        ("5", "JPY", 5),
        ("1.234", "KWD", 1234),
    ],
)
def test_round_trip(text: str, currency: str, minor: int) -> None:
    assert to_minor(text, currency) == minor
    assert to_minor(from_minor(minor, currency), currency) == minor


@pytest.mark.parametrize(
    ("text", "currency"), [("1.999", "USD"), ("abc", "USD"), ("1.5", "JPY"), ("NaN", "USD"), ("1", "XYZ")]
)
def test_unrepresentable_amounts_are_errors(text: str, currency: str) -> None:
    with pytest.raises(MoneyError):
        to_minor(text, currency)


def test_floats_are_refused() -> None:
    with pytest.raises(MoneyError):
        to_minor(19.99, "USD")  # type: ignore[arg-type]


def test_format_has_exactly_the_currency_decimals() -> None:
    assert from_minor(1990, "USD") == "19.90"
    assert from_minor(7, "JPY") == "7"
