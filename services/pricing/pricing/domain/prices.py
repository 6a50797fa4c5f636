"""A connection's price for a SKU: the one set for it, else the variant's base price converted.

A merchant sets a price per (SKU, connection) in the connection's currency, or leaves it to be
derived: the variant's base price converted with the tenant's FX table, then the connection's
rounding rule, then its floor. A set price is taken as written (no rounding rule rewrites what
the merchant typed).
"""

from __future__ import annotations

from dataclasses import dataclass

from pricing.domain.fx import FxTable
from pricing.domain.rounding import Rounding, check_rounding, finish


@dataclass(frozen=True)
class ConnectionPricing:
    """How one connection prices: its currency, rounding rule and floor (minor units)."""

    currency: str
    rounding: Rounding = Rounding.NONE
    floor_minor: int | None = None


@dataclass(frozen=True)
class ChannelPrice:
    amount_minor: int
    currency: str
    derived: bool  # True: converted from the base price, False: set for this connection
    compare_at_minor: int | None = None


def derive(base_minor: int, base_currency: str, pricing: ConnectionPricing, fx: FxTable) -> int:
    check_rounding(pricing.rounding, pricing.currency)
    converted = fx.convert_minor(base_minor, base_currency, pricing.currency)
    return finish(converted, pricing.currency, pricing.rounding, pricing.floor_minor)


def effective_price(
    set_minor: int | None,
    compare_at_minor: int | None,
    base_minor: int,
    base_currency: str,
    pricing: ConnectionPricing,
    fx: FxTable,
) -> ChannelPrice:
    if set_minor is not None:
        return ChannelPrice(set_minor, pricing.currency, derived=False, compare_at_minor=compare_at_minor)
    return ChannelPrice(derive(base_minor, base_currency, pricing, fx), pricing.currency, derived=True)
