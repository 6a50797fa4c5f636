"""Analytics ↔ the orders service's sales read model RPCs (GetRevenueByChannel, GetBestSellers)."""

from __future__ import annotations

from gateway import analytics_schemas as s
from gateway.mapping import money_from_pb
from omnistock.orders.v1 import orders_service_pb2 as pb

SHARE_SCALE = 1_000_000  # the service's share is in parts per million


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
