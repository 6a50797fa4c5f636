"""proto <-> domain for the pricing service (with servicer and server, the only modules that
import generated code)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from omnistock.common.v1 import common_pb2
from omnistock.pricing.v1 import pricing_service_pb2 as pb
from omnistock_common.errors import FieldViolation, InvalidArgument
from omnistock_common.timestamps import from_timestamp, to_timestamp
from pricing.domain.changes import AmountChange, Change, PercentChange, PreviewItem
from pricing.domain.model import ConnectionSettings, FxRateRow, HistoryEntry
from pricing.domain.rounding import Rounding
from pricing.domain.sales import SaleState, TimedSale
from pricing.service import Listed, PriceFilter

ROUNDING_OUT = {
    Rounding.NONE: pb.ROUNDING_NONE,
    Rounding.ENDING_99: pb.ROUNDING_ENDING_99,
    Rounding.NEAREST_0_05: pb.ROUNDING_NEAREST_0_05,
}
ROUNDING_IN = {value: key for key, value in ROUNDING_OUT.items()}
STATE_OUT = {
    SaleState.SCHEDULED: pb.TIMED_SALE_STATE_SCHEDULED,
    SaleState.ACTIVE: pb.TIMED_SALE_STATE_ACTIVE,
    SaleState.ENDED: pb.TIMED_SALE_STATE_ENDED,
}


def money(amount: int, currency: str) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency=currency)


def money_in(holder: Any, name: str) -> tuple[int, str] | None:
    """(minor, currency) of an optional Money field, None when unset."""
    if not holder.HasField(name):
        return None
    value = getattr(holder, name)
    return value.amount_minor, value.currency.strip().upper()


def rounding_in(value: int) -> str | None:
    """None: unspecified (each connection's own rule)."""
    if value == pb.ROUNDING_UNSPECIFIED:
        return None
    if value not in ROUNDING_IN:
        raise InvalidArgument("unknown rounding", violations=[FieldViolation("rounding", "unknown value")])
    return ROUNDING_IN[value].value


def price_out(listed: Listed) -> pb.ChannelPrice:
    price = listed.price
    out = pb.ChannelPrice(
        sku=price.sku,
        connection_id=price.connection_id,
        price=money(price.amount_minor, price.currency),
        derived=price.derived,
    )
    if price.compare_at_minor is not None:
        out.compare_at_price.CopyFrom(money(price.compare_at_minor, price.currency))
    if listed.updated_at is not None:
        out.updated_at.CopyFrom(to_timestamp(listed.updated_at))
    return out


def change_out(entry: HistoryEntry) -> pb.PriceChange:
    out = pb.PriceChange(
        at=to_timestamp(entry.at),
        sku=entry.sku,
        connection_id=entry.connection_id,
        after=money(entry.after_minor, entry.currency),
        actor=entry.actor,
        reason=entry.reason,
    )
    if entry.before_minor is not None:
        out.before.CopyFrom(money(entry.before_minor, entry.currency))
    return out


def filter_in(message: pb.PriceFilter) -> PriceFilter:
    return PriceFilter(
        message.connection_id.strip(), message.sku_prefix, message.product_status.strip(), message.tag.strip()
    )


def bulk_change_in(message: pb.BulkChange) -> Change:
    kind = message.WhichOneof("change")
    if kind == "percent":
        try:
            percent = Decimal(message.percent.strip())
        except InvalidOperation:
            percent = Decimal("NaN")
        if not percent.is_finite():
            raise InvalidArgument(
                "percent must be a decimal string",
                violations=[FieldViolation("change.percent", 'a decimal string such as "10" or "-12.5"')],
            )
        return PercentChange(percent)
    if kind == "amount":
        return AmountChange(message.amount.amount_minor, message.amount.currency.strip().upper())
    raise InvalidArgument("a change is required", violations=[FieldViolation("change", "percent or amount")])


def item_out(item: PreviewItem) -> pb.PreviewItem:
    return pb.PreviewItem(
        sku=item.sku,
        connection_id=item.connection_id,
        before=money(item.before_minor, item.currency),
        after=money(item.after_minor, item.currency),
    )


def rate_out(row: FxRateRow) -> pb.FxRate:
    return pb.FxRate(currency=row.currency, rate=row.rate, updated_at=to_timestamp(row.updated_at))


def connection_in(message: pb.ConnectionPricing) -> ConnectionSettings:
    rounding = rounding_in(message.rounding) or Rounding.NONE.value
    floor = None
    currency = message.currency.strip().upper()
    if message.HasField("floor"):
        floor = message.floor.amount_minor
        if message.floor.currency.strip().upper() != currency:
            raise InvalidArgument(
                "the floor is in the connection's currency",
                violations=[
                    FieldViolation("pricing.floor.currency", "the connection's currency (set one first)")
                ],
            )
    return ConnectionSettings(
        message.connection_id.strip(),
        currency,
        rounding,
        floor,
        message.schedule_cron.strip(),
        message.schedule_timezone.strip(),
    )


def connection_out(settings: ConnectionSettings) -> pb.ConnectionPricing:
    out = pb.ConnectionPricing(
        connection_id=settings.connection_id,
        currency=settings.currency,
        rounding=ROUNDING_OUT[Rounding(settings.rounding)],
        schedule_cron=settings.schedule_cron,
        schedule_timezone=settings.schedule_timezone,
    )
    if settings.floor_minor is not None and settings.currency:
        out.floor.CopyFrom(money(settings.floor_minor, settings.currency))
    return out


def sale_out(sale: TimedSale) -> pb.TimedSale:
    return pb.TimedSale(
        id=sale.id,
        sku=sale.sku,
        connection_id=sale.connection_id,
        sale_price=money(sale.sale_minor, sale.currency),
        starts_at=to_timestamp(sale.starts_at),
        ends_at=to_timestamp(sale.ends_at),
        state=STATE_OUT[sale.state],
    )


def time_in(holder: Any, name: str) -> datetime | None:
    return from_timestamp(getattr(holder, name)) if holder.HasField(name) else None
