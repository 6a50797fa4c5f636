"""A tenant's FX rates and exact conversions between its currencies.

Rates are quoted against the tenant's base currency: `rates["EUR"] = 0.92` means 1 base = 0.92 EUR.
A conversion is computed in decimal at 50 significant digits and rounded once, half up, to the
target currency's minor unit. Going through a third currency (USD -> BDT -> GBP) therefore differs
from the direct conversion by at most one minor unit of the target, and only when the intermediate
amount itself was rounded (tests/unit/test_fx.py checks this over thousands of amounts).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from omnistock_common.errors import FieldViolation, InvalidArgument
from omnistock_common.money import exponent, is_supported_currency

# Enough digits that no rate of any real pair, times any int64 amount, loses a minor unit.
_EXACT = Context(prec=50, rounding=ROUND_HALF_UP)
# A rate is a positive decimal with at most this many significant digits ("119.5", "0.0084").
MAX_RATE_DIGITS = 18


@dataclass(frozen=True)
class FxTable:
    """The rates of one tenant at one moment: 1 `base` = `rates[c]` units of currency c."""

    base: str
    rates: Mapping[str, Decimal] = field(default_factory=dict)
    as_of: datetime | None = None

    def rate(self, currency: str) -> Decimal:
        if currency == self.base:
            return Decimal(1)
        try:
            return self.rates[currency]
        except KeyError:
            raise InvalidArgument(
                f"no FX rate from {self.base} to {currency}",
                reason="FX_RATE_MISSING",
                violations=[FieldViolation(f"rates.{currency}", "no rate set for this currency")],
            ) from None

    def convert_exact(self, amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
        """`amount` (major units of `from_currency`) in `to_currency`, unrounded."""
        if from_currency == to_currency:
            return amount
        in_base = _EXACT.divide(amount, self.rate(from_currency))
        return _EXACT.multiply(in_base, self.rate(to_currency))

    def convert_minor(self, amount_minor: int, from_currency: str, to_currency: str) -> int:
        """Minor units of `from_currency` to minor units of `to_currency`, rounded once, half up."""
        amount = Decimal(amount_minor).scaleb(-exponent(from_currency))
        return to_minor_units(self.convert_exact(amount, from_currency, to_currency), to_currency)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """A decimal amount of major units as integer minor units, rounded half up."""
    return int(amount.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_rate(value: str | Decimal, field_name: str) -> Decimal:
    """A positive, finite decimal rate; floats are refused (they are not exact)."""
    if isinstance(value, float):
        raise InvalidArgument(
            "rates must be decimal strings",
            violations=[FieldViolation(field_name, "a decimal string, not a number")],
        )
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        rate = Decimal("NaN")
    if not rate.is_finite() or rate <= 0:
        raise InvalidArgument(
            f"{value!r} is not a positive decimal rate",
            violations=[FieldViolation(field_name, 'a positive decimal such as "0.92"')],
        )
    if len(rate.normalize().as_tuple().digits) > MAX_RATE_DIGITS:
        raise InvalidArgument(
            f"{value!r} has more than {MAX_RATE_DIGITS} significant digits",
            violations=[FieldViolation(field_name, f"at most {MAX_RATE_DIGITS} significant digits")],
        )
    return rate


def validate_table(base: str, rates: Mapping[str, str | Decimal]) -> dict[str, Decimal]:
    """Every problem of a `PUT /fx-rates` body at once; the parsed rates when there is none."""
    violations: list[FieldViolation] = []
    if not is_supported_currency(base):
        violations.append(FieldViolation("base", f"{base!r} is not a supported ISO 4217 currency"))
    parsed: dict[str, Decimal] = {}
    for currency, value in rates.items():
        name = f"rates.{currency}"
        if not is_supported_currency(currency):
            violations.append(FieldViolation(name, f"{currency!r} is not a supported ISO 4217 currency"))
            continue
        try:
            rate = parse_rate(value, name)
        except InvalidArgument as error:
            violations.extend(error.violations)
            continue
        if currency == base and rate != 1:
            violations.append(FieldViolation(name, "the base currency's rate is 1 by definition"))
            continue
        if currency != base:
            parsed[currency] = rate
    if violations:
        raise InvalidArgument("the FX rates are not valid; nothing was changed", violations=violations)
    return parsed


def parse_rates_csv(text: str) -> tuple[dict[str, Decimal], list[FieldViolation]]:
    """Rates from a CSV with a `currency,rate` header; row-level errors name the line."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"currency", "rate"} <= {f.strip() for f in reader.fieldnames}:
        raise InvalidArgument(
            "the CSV needs a header with the columns currency and rate",
            violations=[FieldViolation("file", "header: currency,rate")],
        )
    rates: dict[str, Decimal] = {}
    errors: list[FieldViolation] = []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        currency = row.get("currency", "").upper()
        where = f"line {line}"
        if not is_supported_currency(currency):
            errors.append(FieldViolation(where, f"{currency!r} is not a supported ISO 4217 currency"))
        elif currency in rates:
            errors.append(FieldViolation(where, f"{currency} appears twice"))
        else:
            try:
                rates[currency] = parse_rate(row.get("rate", ""), where)
            except InvalidArgument as error:
                errors.append(FieldViolation(where, error.violations[0].message))
    return rates, errors


def significant_change(old: Decimal | None, new: Decimal, threshold: Decimal) -> bool:
    """Whether a new rate moves prices enough to re-push them (relative change >= threshold).

    A first rate is always significant. The default threshold is 1% (settings), so rates that
    wobble in the fourth decimal do not re-push every price of every channel.
    """
    if old is None or old == 0:
        return True
    return abs(new - old) / old >= threshold
