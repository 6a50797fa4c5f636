"""Rounding rules for derived and bulk-changed prices, and the floor price no rule goes below.

All on integer minor units. The rules:
- `none`: the amount as computed (already rounded half up to the minor unit).
- `0.99`: the nearest whole unit, minus one cent: 10.34 -> 9.99, 10.60 -> 10.99, 0.40 -> 0.99
  (never below 0.99). For three-decimal currencies the ending is .990.
- `nearest_0.05`: the nearest multiple of 0.05, half up (Swiss rounding): 10.12 -> 10.10,
  10.13 -> 10.15; never below 0.05.
Both endings need a currency with at least two decimals: asked for JPY (no decimals) they are
refused with a clear error rather than applied as something the merchant did not choose.
"""

from __future__ import annotations

from enum import StrEnum

from omnistock_common.errors import FieldViolation, InvalidArgument
from omnistock_common.money import exponent


class Rounding(StrEnum):
    NONE = "none"
    ENDING_99 = "0.99"
    NEAREST_0_05 = "nearest_0.05"


def parse_rounding(value: str | None, field_name: str = "rounding") -> Rounding:
    if value is None or value == "":
        return Rounding.NONE
    try:
        return Rounding(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Rounding)
        raise InvalidArgument(
            f"unknown rounding {value!r}", violations=[FieldViolation(field_name, f"one of: {allowed}")]
        ) from None


def check_rounding(rule: Rounding, currency: str, field_name: str = "rounding") -> None:
    """Refuse a rule the currency cannot express (endings in cents need cents)."""
    if rule is not Rounding.NONE and exponent(currency) < 2:
        raise InvalidArgument(
            f"rounding {rule.value!r} needs a currency with cents; {currency} has {exponent(currency)} decimals",
            violations=[FieldViolation(field_name, f'use "none" for {currency}')],
        )


def _half_up_div(value: int, step: int) -> int:
    """round(value / step), halves away from zero, for value >= 0."""
    return (2 * value + step) // (2 * step)


def apply_rounding(amount_minor: int, currency: str, rule: Rounding) -> int:
    """`amount_minor` after `rule` (amounts are never negative here; see `with_floor`)."""
    if rule is Rounding.NONE:
        return amount_minor
    check_rounding(rule, currency)
    cent = 10 ** (exponent(currency) - 2)
    unit = 100 * cent
    if rule is Rounding.ENDING_99:
        return max(1, _half_up_div(amount_minor, unit)) * unit - cent
    step = 5 * cent
    return max(1, _half_up_div(amount_minor, step)) * step


def with_floor(amount_minor: int, floor_minor: int | None) -> int:
    """No price goes below the floor (or below zero when there is none)."""
    return max(amount_minor, floor_minor or 0)


def finish(amount_minor: int, currency: str, rule: Rounding, floor_minor: int | None) -> int:
    """The price a rule gives: rounding first, then the floor (which wins over the ending)."""
    return with_floor(apply_rounding(max(0, amount_minor), currency, rule), floor_minor)
