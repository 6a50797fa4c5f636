"""Channel prices: list, set one, bulk preview and apply, history of a SKU."""

from __future__ import annotations

from gateway import pricing_schemas as s
from gateway.api import Reply, RouteGroup
from gateway.domain import Permission
from gateway.mapping import page_request
from gateway.mapping import pricing as m
from gateway.routes.pricing.client import pricing, pricing_bulk
from gateway.schemas import PageQuery
from omnistock.pricing.v1 import pricing_service_pb2 as pb

routes = RouteGroup()


@routes.route(
    "GET",
    "/prices",
    summary="List channel prices",
    permission=Permission.PRICING_READ,
    query=s.PriceQuery,
    response=s.PricePage,
)
def list_prices(query: s.PriceQuery) -> s.PricePage:
    """Effective prices per (SKU, connection): set ones, and derived ones (the variant's base price
    converted with the FX rates, then the connection's rounding and floor). Filter by sku,
    connection_id or both (one is required). Keyset-paginated."""
    return m.price_page(pricing().ListPrices(m.prices_request(query)))


@routes.route(
    "PUT",
    "/prices/<sku>",
    summary="Set a channel price",
    permission=Permission.PRICING_WRITE,
    body=s.PriceIn,
    response=s.PriceOut,
    problems=(503,),
)
def set_price(sku: str, body: s.PriceIn) -> s.PriceOut:
    """In the connection's currency; `price: null` derives it from the base price again. The same
    price again changes nothing. Every change is in the history and pushed to the channel."""
    return m.price_out(pricing().SetPrice(m.set_price_request(sku, body)).price)


@routes.route(
    "POST",
    "/prices/bulk",
    summary="Preview or apply a bulk price change",
    permission=Permission.PRICING_WRITE,
    body=s.BulkIn,
    response=s.BulkOut,
    problems=(409, 503),
)
def bulk_change(body: s.BulkIn) -> s.BulkOut | Reply:
    """`dry_run: true` previews (before/after per SKU, count, a `preview_id`; nothing changes);
    `{preview_id}` applies exactly that preview, atomically: 409 when a price changed since."""
    if body.preview_id is not None:
        reply = pricing_bulk().ApplyBulkChange(pb.ApplyBulkChangeRequest(preview_id=body.preview_id))
        return Reply({"count": reply.count})
    return m.preview_out(pricing_bulk().PreviewBulkChange(m.preview_request(body)))


@routes.route(
    "GET",
    "/prices/<sku>/history",
    summary="Price history of a SKU",
    permission=Permission.PRICING_READ,
    query=PageQuery,
    response=s.PriceHistoryPage,
)
def price_history(sku: str, query: PageQuery) -> s.PriceHistoryPage:
    """Every change on every connection, newest first: when, before/after, who, why."""
    request_pb = pb.GetPriceHistoryRequest(sku=sku, page=page_request(query.limit, query.cursor))
    return m.history_page(pricing().GetPriceHistory(request_pb))
