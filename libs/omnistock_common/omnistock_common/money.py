"""Money as integer minor units of an ISO 4217 currency; decimal strings at the JSON/CSV edge.

Never floats: "19.99" USD <-> 1999. A value with more decimals than the currency has is an error,
not a silent rounding.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents of the currencies we accept.
CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        "USD EUR GBP BDT INR CAD AUD CHF CNY SEK NOK DKK PLN BRL MXN SGD HKD NZD ZAR AED SAR TRY HUF CZK "
        "ILS THB MYR IDR PHP PKR NGN EGP KES TWD RUB UAH LKR NPR RON BGN MAD QAR COP PEN ARS".split(),
        2,
    ),
    **dict.fromkeys("JPY KRW VND CLP ISK UGX PYG XOF XAF".split(), 0),
    **dict.fromkeys("KWD BHD JOD OMR TND".split(), 3),
}


# Minor units are stored as int64 (protobuf `amount_minor`, PostgreSQL bigint): a larger amount
# must be refused where it is parsed, not overflow later where it is stored.
MAX_MINOR = 2**63 - 1


class MoneyError(ValueError):
    """A currency or amount that cannot be represented exactly."""


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"unsupported currency {currency!r} (ISO 4217 code expected)") from None


def is_supported_currency(currency: str) -> bool:
    return currency in CURRENCY_EXPONENTS


def to_minor(amount: str | int | Decimal, currency: str) -> int:
    """Parse a decimal amount ("19.99") into minor units (1999) for `currency`."""
    digits = exponent(currency)
    if isinstance(amount, float):
        raise MoneyError("amounts must be decimal strings, not floats")
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise MoneyError(f"{amount!r} is not a decimal amount") from None
    if not value.is_finite():
        raise MoneyError(f"{amount!r} is not a finite amount")
    scaled = value.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount!r} has more than {digits} decimal places for {currency}")
    if abs(scaled) > MAX_MINOR:
        raise MoneyError(f"{amount!r} is too large (at most {from_minor(MAX_MINOR, currency)} {currency})")
    return int(scaled)


def from_minor(amount_minor: int, currency: str) -> str:
    """Format minor units as a decimal string with exactly the currency's decimals."""
    digits = exponent(currency)
    value = Decimal(amount_minor).scaleb(-digits)
    return f"{value:.{digits}f}"
