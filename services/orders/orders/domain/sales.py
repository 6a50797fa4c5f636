"""The sales read model's arithmetic: what one order contributes to the daily sales figures, the
difference between two states of an order, and the reports read from the figures.

An order counts from the moment it is PAID (or any later status short of CANCELLED/REFUNDED):
PENDING, CANCELLED and REFUNDED orders contribute nothing. Its contribution is booked on the UTC
day it was created, under its channel (the source in lower case: "shopify", ..., "manual") and
connection, in its own currency. Every saved state of an order replaces its previous one, so the
repository applies `difference(before, after)` in the transaction that saves the order: a status
move into or out of the counting statuses adds or reverses the whole order, an edit of the lines
adjusts by the difference, and a re-delivered version (same state) changes nothing.

Per line: units = quantity - quantity_returned; revenue = (quantity x unit_price - line discount)
for the units kept, in integer minor units (a partial return keeps revenue x kept // quantity).
Tax, shipping and order-level discounts are not revenue here. Figures are never summed across
currencies; a channel's share is its revenue over the total of the same currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from omnistock_common.day_range import DateRange as DateRange
from omnistock_common.day_range import date_range as date_range
from omnistock_common.errors import FieldViolation, InvalidArgument
from orders.domain.model import Order, OrderStatus
from orders.domain.sessions import channels_with_sessions, conversion_ppm

S = OrderStatus
# The statuses at which an order is a sale.
COUNTED_STATUSES = frozenset({S.PAID, S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED})
# The key of the whole order's row (a SKU row has the SKU; SKUs are never empty).
ORDER_ROW = ""
DEFAULT_BEST_SELLERS = 10
MAX_BEST_SELLERS = 100
SHARE_SCALE = 1_000_000  # shares are parts per million


@dataclass(frozen=True, order=True)
class SalesKey:
    """One row of the read model: a day, a channel and connection, a currency, and a SKU (or
    ORDER_ROW for the whole order's figures, where `orders` counts each order once)."""

    day: date
    channel: str
    connection_id: str
    currency: str
    sku: str


@dataclass(frozen=True)
class Figures:
    orders: int = 0
    units: int = 0
    revenue: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.orders + other.orders, self.units + other.units, self.revenue + other.revenue)

    def __neg__(self) -> Figures:
        return Figures(-self.orders, -self.units, -self.revenue)

    @property
    def is_zero(self) -> bool:
        return not (self.orders or self.units or self.revenue)


Contribution = dict[SalesKey, Figures]


def sales_day(created_at: datetime) -> date:
    """The UTC day an order is booked on."""
    return created_at.astimezone(UTC).date() if created_at.tzinfo else created_at.date()


def channel_of(source: str) -> str:
    return source.lower()


def contribution(order: Order | None) -> Contribution:
    """What the order adds to the read model in its current state (nothing when it is no sale)."""
    if order is None or order.status not in COUNTED_STATUSES:
        return {}
    base = (sales_day(order.created_at), channel_of(order.source), order.connection_id, order.currency)
    per_sku: dict[str, Figures] = defaultdict(Figures)
    for line in order.lines:
        units = max(0, line.quantity - line.quantity_returned)
        gross = line.quantity * line.unit_price - line.discount
        revenue = gross * units // line.quantity if line.quantity else 0
        per_sku[line.sku] += Figures(0, units, revenue)
    out: Contribution = {}
    total = Figures(1, 0, 0)
    for sku, figures in per_sku.items():
        out[SalesKey(*base, sku)] = Figures(1, figures.units, figures.revenue)
        total += figures
    out[SalesKey(*base, ORDER_ROW)] = total
    return out


def difference(before: Mapping[SalesKey, Figures], after: Mapping[SalesKey, Figures]) -> Contribution:
    """after - before, without the keys that did not change (an identical state: empty)."""
    out: Contribution = {}
    for key in set(before) | set(after):
        delta = after.get(key, Figures()) + -before.get(key, Figures())
        if not delta.is_zero:
            out[key] = delta
    return out


# --------------------------------------------------------------------------- reports


def best_sellers_limit(limit: int) -> int:
    if limit < 0 or limit > MAX_BEST_SELLERS:
        raise InvalidArgument(
            "invalid limit", violations=[FieldViolation("limit", f"must be between 1 and {MAX_BEST_SELLERS}")]
        )
    return limit or DEFAULT_BEST_SELLERS


@dataclass(frozen=True)
class ChannelRevenue:
    """A channel's sales in one currency; `share_ppm` is its part of that currency's revenue."""

    channel: str
    currency: str
    revenue: int
    orders: int
    units: int
    share_ppm: int


def share_ppm(part: int, whole: int) -> int:
    """part / whole in parts per million, rounded half up (0 when there is nothing to share)."""
    if whole <= 0:
        return 0
    return (part * SHARE_SCALE * 2 + whole) // (whole * 2)


def revenue_by_channel(totals: Iterable[tuple[str, str, Figures]]) -> list[ChannelRevenue]:
    """Per (channel, currency) totals → rows with their share of the currency, largest first."""
    per_currency: dict[str, int] = defaultdict(int)
    rows = list(totals)
    for _channel, currency, figures in rows:
        per_currency[currency] += figures.revenue
    out = [
        ChannelRevenue(
            channel, currency, f.revenue, f.orders, f.units, share_ppm(f.revenue, per_currency[currency])
        )
        for channel, currency, f in rows
        if not f.is_zero
    ]
    return sorted(out, key=lambda r: (r.currency, -r.revenue, r.channel))


@dataclass(frozen=True)
class BestSeller:
    sku: str
    currency: str
    units: int
    revenue: int
    orders: int


def validate_channel(channel: str) -> str:
    """A channel filter: a source (any case) or empty for every channel."""
    if len(channel) > 64:
        raise InvalidArgument(
            "invalid channel", violations=[FieldViolation("channel", "at most 64 characters")]
        )
    return channel.strip().lower()


@dataclass(frozen=True)
class ChannelConversion:
    """Orders of a channel; `sessions` and `conversion_ppm` are None while its sessions are not
    known for every day of the range (domain/sessions.py): the report says "n/a", never an
    invented rate."""

    channel: str
    orders: int
    sessions: int | None = None
    conversion_ppm: int | None = None


def conversion_by_channel(
    totals: Iterable[tuple[str, str, Figures]], sessions: Mapping[str, int] | None = None
) -> list[ChannelConversion]:
    """Orders per channel over every currency (a count, not money: it may be summed), with the
    channel's sessions and conversion where its sessions are known (`sessions`)."""
    orders: dict[str, int] = defaultdict(int)
    for channel, _currency, figures in totals:
        orders[channel] += figures.orders
    rows = [
        ChannelConversion(channel, count, visits, conversion_ppm(count, visits))
        for channel, count, visits in channels_with_sessions(orders, sessions or {})
    ]
    return sorted(rows, key=lambda r: (-r.orders, r.channel))


@dataclass(frozen=True)
class DailySales:
    """One currency's sales on one UTC day (all zero on a day without)."""

    day: date
    currency: str
    revenue: int
    orders: int
    units: int


def sales_over_time(span: DateRange, totals: Iterable[tuple[date, str, Figures]]) -> list[DailySales]:
    """Per (day, currency) totals → every day of the span for each currency that sold in it, so a
    chart's axis has no gaps; by currency, then day. Nothing sold: no rows (no currency to show)."""
    found: dict[str, dict[date, Figures]] = defaultdict(dict)
    for day, currency, figures in totals:
        if span.first <= day <= span.last and not figures.is_zero:
            per_day = found[currency]
            per_day[day] = per_day.get(day, Figures()) + figures
    days = [span.first + timedelta(days=n) for n in range((span.last - span.first).days + 1)]
    out: list[DailySales] = []
    for currency in sorted(found):
        per_day = found[currency]
        for day in days:
            f = per_day.get(day, Figures())
            out.append(DailySales(day, currency, f.revenue, f.orders, f.units))
    return out
