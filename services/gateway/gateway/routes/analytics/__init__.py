"""Analytics REST endpoints (API.md "Analytics and reports") ↔ the orders service's sales read
model. Each view calls one RPC; the figures are kept by the orders service in the transaction of
every order change, so a request reads daily rows, never the orders. Viewers may read them
(orders:read)."""

from __future__ import annotations

from gateway import analytics_schemas as s
from gateway.api import ApiModule
from gateway.backend_stubs import BackendStubs
from gateway.domain import Permission
from gateway.mapping import analytics as m
from omnistock.orders.v1 import orders_service_pb2_grpc as pb_grpc

_stubs = BackendStubs(
    "omnistock.analytics.orders",
    pb_grpc.OrdersServiceStub,
    lambda s: s.orders_addr,
    lambda s: float(s.orders_timeout_seconds),
)

api = ApiModule("analytics", tag="Analytics")
api.blueprint.record(_stubs.setup)


@api.route(
    "GET",
    "/analytics/revenue-by-channel",
    summary="Revenue by channel",
    permission=Permission.ORDERS_READ,
    query=s.DayRangeQuery,
    response=s.RevenueByChannelOut,
)
def revenue_by_channel(query: s.DayRangeQuery) -> s.RevenueByChannelOut:
    """Per channel and currency over UTC days `from`..`to` (inclusive): revenue (line prices less
    line discounts, no tax or shipping, returns deducted), orders, units and the share of that
    currency's revenue. An order counts while PAID, PARTIALLY_SHIPPED, SHIPPED or DELIVERED, on the
    day it was created."""
    return m.revenue_out(_stubs.rpc().GetRevenueByChannel(m.revenue_request(query)))


@api.route(
    "GET",
    "/analytics/best-sellers",
    summary="Best sellers",
    permission=Permission.ORDERS_READ,
    query=s.BestSellersQuery,
    response=s.BestSellersOut,
)
def best_sellers(query: s.BestSellersQuery) -> s.BestSellersOut:
    """The SKUs with the most units sold (then revenue) over UTC days `from`..`to`, one entry per
    SKU and currency; `channel` narrows to a channel type or a connection id."""
    return m.best_sellers_out(_stubs.rpc().GetBestSellers(m.best_sellers_request(query)))


@api.route(
    "GET",
    "/analytics/conversion-by-channel",
    summary="Conversion by channel",
    permission=Permission.ORDERS_READ,
    query=s.DayRangeQuery,
    response=s.ConversionByChannelOut,
)
def conversion_by_channel(query: s.DayRangeQuery) -> s.ConversionByChannelOut:
    """Orders per channel over UTC days `from`..`to` (every currency) and the conversion rate
    orders / sessions. No channel's sessions are known yet (no connector reads them, there is no
    import): `sessions` and `conversion` are null ("n/a"), never an invented number."""
    return m.conversion_out(_stubs.rpc().GetConversionByChannel(m.conversion_request(query)))
