"""Pricing protobufs ↔ REST models (gateway.pricing_schemas)."""

from __future__ import annotations

from gateway import pricing_schemas as s
from gateway.mapping import mirrored, money_from_pb, money_to_pb, next_cursor, page_request
from omnistock.common.v1 import common_pb2
from omnistock.pricing.v1 import pricing_service_pb2 as pb
from omnistock_common.timestamps import from_timestamp, to_timestamp

ROUNDING_IN = {
    "none": pb.ROUNDING_NONE,
    "0.99": pb.ROUNDING_ENDING_99,
    "nearest_0.05": pb.ROUNDING_NEAREST_0_05,
}
ROUNDING_OUT = {value: key for key, value in ROUNDING_IN.items()}
STATE_OUT = {
    pb.TIMED_SALE_STATE_SCHEDULED: "scheduled",
    pb.TIMED_SALE_STATE_ACTIVE: "active",
    pb.TIMED_SALE_STATE_ENDED: "ended",
}


def _optional_money(holder: object, name: str) -> s.MoneyOut | None:
    return money_from_pb(getattr(holder, name)) if holder.HasField(name) else None  # type: ignore[attr-defined]


def prices_request(query: s.PriceQuery) -> pb.ListPricesRequest:
    return pb.ListPricesRequest(
        sku=query.sku or "",
        connection_id=query.connection_id or "",
        page=page_request(query.limit, query.cursor),
    )


def price_out(price: pb.ChannelPrice) -> s.PriceOut:
    return mirrored(
        s.PriceOut,
        price,
        price=money_from_pb(price.price),
        compare_at_price=_optional_money(price, "compare_at_price"),
        updated_at=from_timestamp(price.updated_at) if price.HasField("updated_at") else None,
    )


def price_page(reply: pb.ListPricesResponse) -> s.PricePage:
    return s.PricePage(items=[price_out(p) for p in reply.prices], next_cursor=next_cursor(reply.page))


def set_price_request(sku: str, body: s.PriceIn) -> pb.SetPriceRequest:
    request = pb.SetPriceRequest(sku=sku, connection_id=body.connection_id, reason=body.reason)
    if body.price is not None:
        request.price.CopyFrom(money_to_pb(body.price))
    if body.compare_at_price is not None:
        request.compare_at_price.CopyFrom(money_to_pb(body.compare_at_price))
    return request


def preview_request(body: s.BulkIn) -> pb.PreviewBulkChangeRequest:
    assert body.change is not None
    change = pb.BulkChange()
    if body.change.amount is not None:
        change.amount.CopyFrom(
            common_pb2.Money(amount_minor=body.change.amount.minor, currency=body.change.amount.currency)
        )
    else:
        change.percent = str(body.change.percent)
    found = body.filter or s.FilterIn()
    return pb.PreviewBulkChangeRequest(
        filter=pb.PriceFilter(
            connection_id=body.connection_id or "",
            sku_prefix=found.sku_prefix,
            product_status=found.product_status,
            tag=found.tag,
        ),
        change=change,
        rounding=ROUNDING_IN[body.rounding] if body.rounding else pb.ROUNDING_UNSPECIFIED,
        reason=body.reason,
    )


def preview_out(reply: pb.PreviewBulkChangeResponse) -> s.BulkOut:
    items = [
        s.PreviewItemOut(
            sku=i.sku,
            connection_id=i.connection_id,
            before=money_from_pb(i.before),
            after=money_from_pb(i.after),
        )
        for i in reply.items
    ]
    return s.BulkOut(preview_id=reply.preview_id, count=reply.count, items=items)


def history_page(reply: pb.GetPriceHistoryResponse) -> s.PriceHistoryPage:
    items = [
        s.PriceChangeOut(
            at=from_timestamp(c.at),
            connection_id=c.connection_id,
            before=_optional_money(c, "before"),
            after=money_from_pb(c.after),
            actor=c.actor,
            reason=c.reason,
        )
        for c in reply.changes
    ]
    return s.PriceHistoryPage(items=items, next_cursor=next_cursor(reply.page))


def fx_out(base: str, rates: list[pb.FxRate], threshold: str, repriced: int | None = None) -> s.FxRatesOut:
    return s.FxRatesOut(
        base=base or None,
        threshold_percent=threshold,
        rates={r.currency: r.rate for r in rates},
        updated_at={r.currency: from_timestamp(r.updated_at) for r in rates},
        repriced=repriced,
    )


def connection_pricing_out(pricing: pb.ConnectionPricing) -> s.ConnectionPricingOut:
    return s.ConnectionPricingOut(
        connection_id=pricing.connection_id,
        currency=pricing.currency,
        rounding=ROUNDING_OUT.get(pricing.rounding, "none"),  # type: ignore[arg-type]
        floor=_optional_money(pricing, "floor"),
        cron=pricing.schedule_cron,
        timezone=pricing.schedule_timezone,
    )


def connection_pricing_request(
    connection_id: str, body: s.ConnectionPricingIn
) -> pb.SetConnectionPricingRequest:
    pricing = pb.ConnectionPricing(
        connection_id=connection_id, currency=body.currency.upper(), rounding=ROUNDING_IN[body.rounding]
    )
    if body.floor is not None:
        pricing.floor.CopyFrom(money_to_pb(body.floor))
    return pb.SetConnectionPricingRequest(pricing=pricing)


def sale_request(body: s.TimedSaleIn, key: str) -> pb.CreateTimedSaleRequest:
    return pb.CreateTimedSaleRequest(
        sku=body.sku,
        connection_id=body.connection_id,
        sale_price=money_to_pb(body.sale_price),
        starts_at=to_timestamp(body.starts_at),
        ends_at=to_timestamp(body.ends_at),
        idempotency_key=key,
    )


def sale_out(sale: pb.TimedSale) -> s.TimedSaleOut:
    return mirrored(
        s.TimedSaleOut,
        sale,
        sale_price=money_from_pb(sale.sale_price),
        state=STATE_OUT.get(sale.state, "scheduled"),
    )


def sales_request(query: s.TimedSaleQuery) -> pb.ListTimedSalesRequest:
    return pb.ListTimedSalesRequest(
        sku=query.sku or "",
        connection_id=query.connection_id or "",
        page=page_request(query.limit, query.cursor),
    )


def sale_page(reply: pb.ListTimedSalesResponse) -> s.TimedSalePage:
    return s.TimedSalePage(items=[sale_out(x) for x in reply.sales], next_cursor=next_cursor(reply.page))
