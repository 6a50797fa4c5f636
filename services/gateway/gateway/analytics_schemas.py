"""Analytics REST models (API.md "Analytics and reports"): the day-range queries and the figures
the orders service's sales read model and the inventory service's turnover read model answer.
Dates are ISO days (YYYY-MM-DD), inclusive, UTC; the backend checks that they are real days in
order (a bad one is a 400 problem naming `from` or `to`). Money is a decimal string per currency;
`share` is within that currency. Every query takes `format`: JSON, or the items as a CSV or XLSX
download (gateway.mapping.analytics_rows)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.schemas import Identifier, MoneyOut, OutModel, StrictModel

_DAY = r"^\d{4}-\d{2}-\d{2}$"


class DayRangeQuery(StrictModel):
    from_: str | None = Field(
        None, alias="from", pattern=_DAY, description="first UTC day (default: 29 days before `to`)"
    )
    to: str | None = Field(None, pattern=_DAY, description="last UTC day, inclusive (default: today)")
    format: Literal["json", "csv", "xlsx"] = Field(
        "json", description="json (default), or csv / xlsx: the items as a download, one row per item"
    )


class ChannelQuery(DayRangeQuery):
    channel: Identifier | None = Field(
        None,
        max_length=64,
        description="channel type (shopify, ..., manual) or a connection id; all channels when absent",
        examples=["shopify"],
    )


class BestSellersQuery(ChannelQuery):
    limit: int = Field(10, ge=1, le=100)


class ChannelRevenueOut(OutModel):
    channel: str = Field(description="the connection's channel type, or manual", examples=["shopify"])
    revenue: MoneyOut
    orders: int
    units: int
    share: float = Field(description="part of this currency's revenue, 0..1 (6 decimals)", examples=[0.74026])


class RevenueByChannelOut(OutModel):
    from_date: str = Field(examples=["2026-11-07"])
    to_date: str = Field(examples=["2026-12-06"])
    items: list[ChannelRevenueOut]


class BestSellerOut(OutModel):
    sku: str
    units: int
    revenue: MoneyOut
    orders: int


class BestSellersOut(OutModel):
    from_date: str = Field(examples=["2026-11-07"])
    to_date: str = Field(examples=["2026-12-06"])
    items: list[BestSellerOut]


class ChannelConversionOut(OutModel):
    channel: str = Field(examples=["shopify"])
    orders: int
    sessions: int | None = Field(description="null: the channel's sessions are not known (n/a)")
    conversion: float | None = Field(
        description="orders / sessions, 6 decimals; null (n/a) while sessions are not known"
    )


class ConversionByChannelOut(OutModel):
    from_date: str = Field(examples=["2026-11-07"])
    to_date: str = Field(examples=["2026-12-06"])
    items: list[ChannelConversionOut]


class TurnoverQuery(DayRangeQuery):
    limit: int = Field(100, ge=1, le=500, description="most SKUs listed; `overall` covers every SKU")


class SkuTurnoverOut(OutModel):
    sku: str = Field(examples=["TEE-M"])
    units_sold: int = Field(description="reservation commits and SALE adjustments over the days")
    average_on_hand: float = Field(
        description="average end-of-day units on hand, 2 decimals", examples=[13.75]
    )
    turnover: float | None = Field(
        description="units_sold / average_on_hand, 6 decimals; null when nothing was on hand",
        examples=[0.218182],
    )


class TurnoverOverallOut(OutModel):
    units_sold: int
    average_on_hand: float = Field(description="the SKUs' averages summed, 2 decimals")
    turnover: float | None


class InventoryTurnoverOut(OutModel):
    from_date: str = Field(examples=["2026-11-07"])
    to_date: str = Field(examples=["2026-12-06"])
    items: list[SkuTurnoverOut]
    overall: TurnoverOverallOut


class DailySalesOut(OutModel):
    day: str = Field(description="UTC day", examples=["2026-12-05"])
    revenue: MoneyOut
    orders: int
    units: int


class SalesOverTimeOut(OutModel):
    from_date: str = Field(examples=["2026-11-07"])
    to_date: str = Field(examples=["2026-12-06"])
    items: list[DailySalesOut] = Field(
        description="by currency, then day: every day of the range for each currency sold in it "
        "(zeros on days without sales); empty when nothing sold"
    )


class SessionsDayIn(StrictModel):
    day: str = Field(pattern=_DAY, description="UTC day", examples=["2026-12-01"])
    channel: str = Field(
        min_length=1,
        max_length=16,
        description="channel type: shopify, woocommerce, ..., manual",
        examples=["shopify"],
    )
    sessions: int = Field(ge=0, le=10**12, description="storefront sessions (visits) that day")


class SessionsIn(StrictModel):
    days: list[SessionsDayIn] = Field(min_length=1, max_length=10_000)


class SessionsStoredOut(OutModel):
    stored: int
