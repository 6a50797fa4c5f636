"""Per-connection pricing (currency, rounding, floor), the price-sync schedule, timed sales."""

from __future__ import annotations

from gateway import pricing_schemas as s
from gateway.api import RouteGroup
from gateway.domain import Permission
from gateway.inputs import idempotency_key
from gateway.mapping import pricing as m
from gateway.routes.pricing.client import pricing
from omnistock.pricing.v1 import pricing_service_pb2 as pb

routes = RouteGroup()


@routes.route(
    "GET",
    "/channels/<connection_id>/pricing",
    summary="Get a connection's pricing",
    permission=Permission.PRICING_READ,
    response=s.ConnectionPricingOut,
)
def get_connection_pricing(connection_id: str) -> s.ConnectionPricingOut:
    """Currency, rounding rule, floor and price-sync schedule (defaults when none were set)."""
    reply = pricing().GetConnectionPricing(pb.GetConnectionPricingRequest(connection_id=connection_id))
    return m.connection_pricing_out(reply.pricing)


@routes.route(
    "PUT",
    "/channels/<connection_id>/pricing",
    summary="Set a connection's pricing",
    permission=Permission.PRICING_WRITE,
    body=s.ConnectionPricingIn,
    response=s.ConnectionPricingOut,
)
def set_connection_pricing(connection_id: str, body: s.ConnectionPricingIn) -> s.ConnectionPricingOut:
    """The currency derived prices are converted to, the rounding rule and the floor; the schedule is kept."""
    reply = pricing().SetConnectionPricing(m.connection_pricing_request(connection_id, body))
    return m.connection_pricing_out(reply.pricing)


@routes.route(
    "PUT",
    "/channels/<connection_id>/price-schedule",
    summary="Set a connection's price-sync schedule",
    permission=Permission.PRICING_WRITE,
    body=s.ScheduleIn,
    response=s.ConnectionPricingOut,
)
def set_price_schedule(connection_id: str, body: s.ScheduleIn) -> s.ConnectionPricingOut:
    """Five-field cron in an IANA time zone (default daily 00:00 UTC): every price of the
    connection is pushed again at those times."""
    request_pb = pb.SetPriceScheduleRequest(
        connection_id=connection_id, cron=body.cron, timezone=body.timezone
    )
    return m.connection_pricing_out(pricing().SetPriceSchedule(request_pb).pricing)


@routes.route(
    "POST",
    "/timed-sales",
    summary="Schedule a timed sale",
    permission=Permission.PRICING_WRITE,
    body=s.TimedSaleIn,
    response=s.TimedSaleOut,
    status=201,
    problems=(409,),
    idempotency_key=True,
)
def create_timed_sale(body: s.TimedSaleIn) -> s.TimedSaleOut:
    """A price from starts_at to ends_at that reverts by itself (each transition pushed once).
    Overlapping sales of one SKU and connection are refused (409)."""
    return m.sale_out(pricing().CreateTimedSale(m.sale_request(body, idempotency_key())).sale)


@routes.route(
    "GET",
    "/timed-sales",
    summary="List timed sales",
    permission=Permission.PRICING_READ,
    query=s.TimedSaleQuery,
    response=s.TimedSalePage,
)
def list_timed_sales(query: s.TimedSaleQuery) -> s.TimedSalePage:
    return m.sale_page(pricing().ListTimedSales(m.sales_request(query)))
