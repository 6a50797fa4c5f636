"""Analytics REST endpoints (API.md "Analytics and reports") ↔ the orders service's sales read
model and the inventory service's turnover read model. Each view calls one RPC; the figures are
kept by the orders service in the transaction of every order change, and by the inventory ledger's
trigger in the statement of every ledger write, so a request reads daily rows, never the orders or
the ledger. Viewers may read them (orders:read; the turnover inventory:read).

Each takes `format`: json (default), or csv / xlsx for the same items as a download
(gateway.mapping.analytics_rows, gateway.downloads), named after the report and its range."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Response
from pydantic import BaseModel

from gateway import analytics_schemas as s
from gateway.api import ApiModule
from gateway.backend_stubs import BackendStubs
from gateway.domain import Permission
from gateway.downloads import table_download
from gateway.mapping import analytics as m
from gateway.mapping import analytics_rows as rows
from gateway.tabular import XLSX_MEDIA_TYPE
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inventory_grpc
from omnistock.orders.v1 import orders_service_pb2_grpc as pb_grpc

_stubs = BackendStubs(
    "omnistock.analytics.orders",
    pb_grpc.OrdersServiceStub,
    lambda s: s.orders_addr,
    lambda s: float(s.orders_timeout_seconds),
)

_inventory = BackendStubs(
    "omnistock.analytics.inventory", inventory_grpc.InventoryServiceStub, lambda s: s.inventory_addr
)

api = ApiModule("analytics", tag="Analytics")
api.blueprint.record(_stubs.setup)
api.blueprint.record(_inventory.setup)

Answer = TypeVar("Answer", bound=BaseModel)


def _formats(table: rows.Table[Any], example: tuple[str, ...]) -> dict[str, Any]:
    """The route's OpenAPI: the JSON answer, plus the CSV and XLSX of `format=csv|xlsx`."""
    return {
        "response_content": {
            "text/csv": {"schema": {"type": "string"}, "example": rows.csv_example(table, example)},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
        "response_headers": {
            "Content-Disposition": f'with format=csv|xlsx: attachment; filename="{table.name}_<from>_<to>.csv"'
            f'|"{table.name}_<from>_<to>.xlsx"'
        },
    }


def _answer(query: s.DayRangeQuery, answer: Answer, table: rows.Table[Answer]) -> Answer | Response:
    """The JSON answer, or its items as the download `format` asks for."""
    if query.format == "json":
        return answer
    return table_download(
        query.format, table.columns, table.rows(answer), table.stem(answer), sheet=table.sheet
    )


@api.route(
    "GET",
    "/analytics/revenue-by-channel",
    summary="Revenue by channel",
    permission=Permission.ORDERS_READ,
    query=s.DayRangeQuery,
    response=s.RevenueByChannelOut,
    **_formats(rows.REVENUE_BY_CHANNEL, ("shopify,USD,44.98,1,3,0.642755", "manual,USD,10.00,1,1,0.357245")),
)
def revenue_by_channel(query: s.DayRangeQuery) -> s.RevenueByChannelOut | Response:
    """Per channel and currency over UTC days `from`..`to` (inclusive): revenue (line prices less
    line discounts, no tax or shipping, returns deducted), orders, units and the share of that
    currency's revenue. An order counts while PAID, PARTIALLY_SHIPPED, SHIPPED or DELIVERED, on the
    day it was created."""
    answer = m.revenue_out(_stubs.rpc().GetRevenueByChannel(m.revenue_request(query)))
    return _answer(query, answer, rows.REVENUE_BY_CHANNEL)


@api.route(
    "GET",
    "/analytics/best-sellers",
    summary="Best sellers",
    permission=Permission.ORDERS_READ,
    query=s.BestSellersQuery,
    response=s.BestSellersOut,
    **_formats(rows.BEST_SELLERS, ("TEE-M,USD,4,39.98,2",)),
)
def best_sellers(query: s.BestSellersQuery) -> s.BestSellersOut | Response:
    """The SKUs with the most units sold (then revenue) over UTC days `from`..`to`, one entry per
    SKU and currency; `channel` narrows to a channel type or a connection id."""
    answer = m.best_sellers_out(_stubs.rpc().GetBestSellers(m.best_sellers_request(query)))
    return _answer(query, answer, rows.BEST_SELLERS)


@api.route(
    "GET",
    "/analytics/conversion-by-channel",
    summary="Conversion by channel",
    permission=Permission.ORDERS_READ,
    query=s.DayRangeQuery,
    response=s.ConversionByChannelOut,
    **_formats(rows.CONVERSION_BY_CHANNEL, ("shopify,3,,",)),
)
def conversion_by_channel(query: s.DayRangeQuery) -> s.ConversionByChannelOut | Response:
    """Orders per channel over UTC days `from`..`to` (every currency) and the conversion rate
    orders / sessions. No channel API reports sessions: they come from `PUT /analytics/sessions`,
    and a channel has a rate only when its sessions cover every day of the range; otherwise
    `sessions` and `conversion` are null ("n/a"), never an invented number."""
    answer = m.conversion_out(_stubs.rpc().GetConversionByChannel(m.conversion_request(query)))
    return _answer(query, answer, rows.CONVERSION_BY_CHANNEL)


@api.route(
    "PUT",
    "/analytics/sessions",
    summary="Import sessions per channel and day",
    permission=Permission.ORDERS_WRITE,
    body=s.SessionsIn,
    response=s.SessionsStoredOut,
)
def import_sessions(body: s.SessionsIn) -> s.SessionsStoredOut:
    """The storefront sessions of each channel type per UTC day, from the channel's own analytics,
    so conversion by channel has a rate. A day sent again replaces its figure. One bad row (an
    unknown channel, a day given twice) refuses the whole import, naming every bad row."""
    return s.SessionsStoredOut(stored=_stubs.rpc().ImportChannelSessions(m.sessions_request(body)).stored)


@api.route(
    "GET",
    "/analytics/inventory-turnover",
    summary="Inventory turnover",
    permission=Permission.INVENTORY_READ,
    query=s.TurnoverQuery,
    response=s.InventoryTurnoverOut,
    **_formats(rows.INVENTORY_TURNOVER, ("TEE-M,3,13.75,0.218182", "CAP,2,0.00,")),
)
def inventory_turnover(query: s.TurnoverQuery) -> s.InventoryTurnoverOut | Response:
    """Units sold / average units on hand per SKU over UTC days `from`..`to` (inclusive), and
    overall. Units sold are reservation commits and SALE adjustments; the average is of the
    end-of-day units on hand over every location. `turnover` is null when nothing was on hand.
    SKUs by turnover descending (null last), then units sold, at most `limit`."""
    answer = m.turnover_out(_inventory.rpc().GetInventoryTurnover(m.turnover_request(query)))
    return _answer(query, answer, rows.INVENTORY_TURNOVER)


@api.route(
    "GET",
    "/analytics/sales-over-time",
    summary="Sales over time",
    permission=Permission.ORDERS_READ,
    query=s.ChannelQuery,
    response=s.SalesOverTimeOut,
    **_formats(rows.SALES_OVER_TIME, ("2026-12-05,USD,0.00,0,0", "2026-12-06,USD,44.98,1,3")),
)
def sales_over_time(query: s.ChannelQuery) -> s.SalesOverTimeOut | Response:
    """Revenue, orders and units per UTC day and currency over `from`..`to` (counted as in
    revenue-by-channel), on every channel or on `channel` (a channel type or a connection id).
    Every day of the range is listed for each currency sold in it, zeros on days without sales,
    so a chart's axis has no gaps; by currency, then day."""
    answer = m.sales_over_time_out(_stubs.rpc().GetSalesOverTime(m.sales_over_time_request(query)))
    return _answer(query, answer, rows.SALES_OVER_TIME)
