"""The analytics answers as table rows for `format=csv|xlsx` (gateway.downloads): one row per item
of the JSON answer, the same figures. Money is the decimal string with a `currency` column (never
summed across currencies); shares, conversion and turnover are decimals of six places (two for an
average on hand); an unknown figure (null in JSON: conversion without sessions, turnover with
nothing on hand) is an empty cell, never 0. The turnover's `overall` is not a row (it is no SKU).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from gateway import analytics_schemas as s
from gateway.tabular import Column, Kind, Row

TEXT, INT, AMOUNT = Kind.TEXT, Kind.INTEGER, Kind.AMOUNT
Answer = TypeVar("Answer", bound=BaseModel)


def _decimal(value: float | None, places: int = 6) -> str | None:
    """A ratio the service sent in parts per million (or hundredths) back as its exact decimal."""
    return None if value is None else f"{value:.{places}f}"


@dataclass(frozen=True)
class Table(Generic[Answer]):
    """How one analytics answer becomes a download: file name stem, sheet title, columns, rows."""

    name: str
    sheet: str
    columns: tuple[Column, ...]
    rows: Callable[[Answer], Iterator[Row]]

    def stem(self, answer: Answer) -> str:
        """ "revenue-by-channel_2026-11-07_2026-12-06": the report and its range."""
        return f"{self.name}_{getattr(answer, 'from_date', '')}_{getattr(answer, 'to_date', '')}"


def _revenue(answer: s.RevenueByChannelOut) -> Iterator[Row]:
    for c in answer.items:
        yield c.channel, c.revenue.currency, c.revenue.amount, c.orders, c.units, _decimal(c.share)


def _best_sellers(answer: s.BestSellersOut) -> Iterator[Row]:
    for b in answer.items:
        yield b.sku, b.revenue.currency, b.units, b.revenue.amount, b.orders


def _conversion(answer: s.ConversionByChannelOut) -> Iterator[Row]:
    for c in answer.items:
        yield c.channel, c.orders, c.sessions, _decimal(c.conversion)


def _turnover(answer: s.InventoryTurnoverOut) -> Iterator[Row]:
    for t in answer.items:
        yield t.sku, t.units_sold, _decimal(t.average_on_hand, 2), _decimal(t.turnover)


def _sales_over_time(answer: s.SalesOverTimeOut) -> Iterator[Row]:
    for d in answer.items:
        yield d.day, d.revenue.currency, d.revenue.amount, d.orders, d.units


_CURRENCY = Column("currency", TEXT, "ISO 4217 code of the money columns")

REVENUE_BY_CHANNEL: Table[s.RevenueByChannelOut] = Table(
    "revenue-by-channel",
    "Revenue by channel",
    (
        Column("channel", TEXT),
        _CURRENCY,
        Column("revenue", AMOUNT),
        Column("orders", INT),
        Column("units", INT),
        Column("share", AMOUNT, "part of this currency's revenue, 0..1"),
    ),
    _revenue,
)
BEST_SELLERS: Table[s.BestSellersOut] = Table(
    "best-sellers",
    "Best sellers",
    (
        Column("sku", TEXT),
        _CURRENCY,
        Column("units", INT),
        Column("revenue", AMOUNT),
        Column("orders", INT),
    ),
    _best_sellers,
)
CONVERSION_BY_CHANNEL: Table[s.ConversionByChannelOut] = Table(
    "conversion-by-channel",
    "Conversion by channel",
    (
        Column("channel", TEXT),
        Column("orders", INT),
        Column("sessions", INT, "empty: not known"),
        Column("conversion", AMOUNT, "orders / sessions; empty: not known (n/a)"),
    ),
    _conversion,
)
INVENTORY_TURNOVER: Table[s.InventoryTurnoverOut] = Table(
    "inventory-turnover",
    "Inventory turnover",
    (
        Column("sku", TEXT),
        Column("units_sold", INT),
        Column("average_on_hand", AMOUNT),
        Column("turnover", AMOUNT, "empty: nothing was on hand"),
    ),
    _turnover,
)
SALES_OVER_TIME: Table[s.SalesOverTimeOut] = Table(
    "sales-over-time",
    "Sales over time",
    (
        Column("day", TEXT, "UTC day"),
        _CURRENCY,
        Column("revenue", AMOUNT),
        Column("orders", INT),
        Column("units", INT),
    ),
    _sales_over_time,
)


def csv_example(table: Table, rows: Sequence[str]) -> str:
    """The OpenAPI example of a table's CSV: its header, then `rows` (CRLF line ends)."""
    return "\r\n".join([",".join(c.name for c in table.columns), *rows]) + "\r\n"
