"""Analytics REST endpoints (API.md "Analytics and reports") ↔ the orders service's sales read
model and the inventory service's turnover read model. Each view calls one RPC; the figures are
kept by the orders service in the transaction of every order change, and by the inventory ledger's
trigger in the statement of every ledger write, so a request reads daily rows, never the orders or
the ledger. Viewers may read them (orders:read; the turnover inventory:read)."""

from __future__ import annotations

from gateway import analytics_schemas as s
from gateway.api import ApiModule
from gateway.backend_stubs import BackendStubs
from gateway.domain import Permission
from gateway.mapping import analytics as m
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


@api.route(
    "GET",
    "/analytics/inventory-turnover",
    summary="Inventory turnover",
    permission=Permission.INVENTORY_READ,
    query=s.TurnoverQuery,
    response=s.InventoryTurnoverOut,
)
def inventory_turnover(query: s.TurnoverQuery) -> s.InventoryTurnoverOut:
    """Units sold / average units on hand per SKU over UTC days `from`..`to` (inclusive), and
    overall. Units sold are reservation commits and SALE adjustments; the average is of the
    end-of-day units on hand over every location. `turnover` is null when nothing was on hand.
    SKUs by turnover descending (null last), then units sold, at most `limit`."""
    return m.turnover_out(_inventory.rpc().GetInventoryTurnover(m.turnover_request(query)))
