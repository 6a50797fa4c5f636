"""Analytics ↔ the orders service's sales read model RPCs (GetRevenueByChannel, GetBestSellers,
GetConversionByChannel, GetSalesOverTime) and the inventory service's GetInventoryTurnover."""

from __future__ import annotations

from gateway import analytics_schemas as s
from gateway.mapping import money_from_pb
from omnistock.inventory.v1 import inventory_service_pb2 as inventory_pb
from omnistock.orders.v1 import orders_service_pb2 as pb

SHARE_SCALE = 1_000_000  # the service's share is in parts per million
CENTI = 100  # the inventory service's average on hand is in hundredths


def day_range(query: s.DayRangeQuery) -> pb.DayRange:
    return pb.DayRange(from_date=query.from_ or "", to_date=query.to or "")


def revenue_request(query: s.DayRangeQuery) -> pb.GetRevenueByChannelRequest:
    return pb.GetRevenueByChannelRequest(range=day_range(query))


def revenue_out(reply: pb.GetRevenueByChannelResponse) -> s.RevenueByChannelOut:
    return s.RevenueByChannelOut(
        from_date=reply.range.from_date,
        to_date=reply.range.to_date,
        items=[
            s.ChannelRevenueOut(
                channel=c.channel,
                revenue=money_from_pb(c.revenue),
                orders=c.orders,
                units=c.units,
                share=c.share_ppm / SHARE_SCALE,
            )
            for c in reply.channels
        ],
    )


def best_sellers_request(query: s.BestSellersQuery) -> pb.GetBestSellersRequest:
    return pb.GetBestSellersRequest(range=day_range(query), channel=query.channel or "", limit=query.limit)


def best_sellers_out(reply: pb.GetBestSellersResponse) -> s.BestSellersOut:
    return s.BestSellersOut(
        from_date=reply.range.from_date,
        to_date=reply.range.to_date,
        items=[
            s.BestSellerOut(sku=b.sku, units=b.units, revenue=money_from_pb(b.revenue), orders=b.orders)
            for b in reply.best_sellers
        ],
    )


def conversion_request(query: s.DayRangeQuery) -> pb.GetConversionByChannelRequest:
    return pb.GetConversionByChannelRequest(range=day_range(query))


def sessions_request(body: s.SessionsIn) -> pb.ImportChannelSessionsRequest:
    return pb.ImportChannelSessionsRequest(
        days=[pb.ChannelSessionsDay(day=d.day, channel=d.channel, sessions=d.sessions) for d in body.days]
    )


def conversion_out(reply: pb.GetConversionByChannelResponse) -> s.ConversionByChannelOut:
    """Unset sessions / conversion (unknown) become null, never 0."""
    return s.ConversionByChannelOut(
        from_date=reply.range.from_date,
        to_date=reply.range.to_date,
        items=[
            s.ChannelConversionOut(
                channel=c.channel,
                orders=c.orders,
                sessions=c.sessions if c.HasField("sessions") else None,
                conversion=c.conversion_ppm / SHARE_SCALE if c.HasField("conversion_ppm") else None,
            )
            for c in reply.channels
        ],
    )


def sales_over_time_request(query: s.ChannelQuery) -> pb.GetSalesOverTimeRequest:
    return pb.GetSalesOverTimeRequest(range=day_range(query), channel=query.channel or "")


def sales_over_time_out(reply: pb.GetSalesOverTimeResponse) -> s.SalesOverTimeOut:
    return s.SalesOverTimeOut(
        from_date=reply.range.from_date,
        to_date=reply.range.to_date,
        items=[
            s.DailySalesOut(day=d.day, revenue=money_from_pb(d.revenue), orders=d.orders, units=d.units)
            for d in reply.days
        ],
    )


def turnover_request(query: s.TurnoverQuery) -> inventory_pb.GetInventoryTurnoverRequest:
    return inventory_pb.GetInventoryTurnoverRequest(
        from_date=query.from_ or "", to_date=query.to or "", limit=query.limit
    )


def _turnover(t: inventory_pb.SkuTurnover) -> float | None:
    """Unset (nothing on hand) stays null, never 0."""
    return t.turnover_ppm / SHARE_SCALE if t.HasField("turnover_ppm") else None


def turnover_out(reply: inventory_pb.GetInventoryTurnoverResponse) -> s.InventoryTurnoverOut:
    o = reply.overall
    return s.InventoryTurnoverOut(
        from_date=reply.from_date,
        to_date=reply.to_date,
        items=[
            s.SkuTurnoverOut(
                sku=t.sku,
                units_sold=t.units_sold,
                average_on_hand=t.average_on_hand_centi / CENTI,
                turnover=_turnover(t),
            )
            for t in reply.skus
        ],
        overall=s.TurnoverOverallOut(
            units_sold=o.units_sold, average_on_hand=o.average_on_hand_centi / CENTI, turnover=_turnover(o)
        ),
    )
