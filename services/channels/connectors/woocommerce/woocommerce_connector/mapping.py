"""connector.v1 messages ↔ the WooCommerce protocol's plain values: the only module of the
connector besides servicer.py and server.py that touches generated code (the protocol package
stays free of it)."""

from __future__ import annotations

from collections.abc import Iterable

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_connector_kit.connector_base import datetime_to_timestamp
from woocommerce_connector import protocol as p
from woocommerce_connector.client import ProductsPage, ReadResult

OUTCOMES = {
    p.Outcome.APPLIED: pb.ITEM_OUTCOME_APPLIED,
    p.Outcome.RETRY: pb.ITEM_OUTCOME_RETRY,
    p.Outcome.REJECTED: pb.ITEM_OUTCOME_REJECTED,
}
WEBHOOK_KINDS = {
    p.WebhookKind.ORDER: pb.WEBHOOK_KIND_ORDER,
    p.WebhookKind.PRODUCT: pb.WEBHOOK_KIND_PRODUCT,
    p.WebhookKind.INVENTORY: pb.WEBHOOK_KIND_INVENTORY,
    p.WebhookKind.PING: pb.WEBHOOK_KIND_PING,
    p.WebhookKind.OTHER: pb.WEBHOOK_KIND_OTHER,
}


def money_to_proto(amount: p.Amount | None) -> common_pb2.Money | None:
    return common_pb2.Money(amount_minor=amount.amount_minor, currency=amount.currency) if amount else None


def address_to_proto(address: p.AddressData | None) -> pb.OrderAddress | None:
    if address is None:
        return None
    return pb.OrderAddress(
        name=address.name,
        company=address.company,
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country_code=address.country_code,
        phone=address.phone,
    )


def order_to_proto(order: p.OrderData) -> pb.ChannelOrder:
    message = pb.ChannelOrder(
        external_id=order.external_id,
        external_name=order.external_name,
        status=pb.OrderStatus.Value(f"ORDER_STATUS_{order.status.value}"),
        raw_status=order.raw_status,
        customer_email=order.customer_email,
        total=money_to_proto(order.total),
        created_at=datetime_to_timestamp(order.created_at),
        updated_at=datetime_to_timestamp(order.updated_at),
        customer_name=order.customer_name,
        shipping_address=address_to_proto(order.shipping_address),
        subtotal=money_to_proto(order.subtotal),
        discount_total=money_to_proto(order.discount_total),
        shipping_total=money_to_proto(order.shipping_total),
        tax_total=money_to_proto(order.tax_total),
        channel_status=order.channel_status,
        raw_json=order.raw_json,
    )
    for line in order.lines:
        message.lines.add(
            external_line_id=line.external_line_id,
            sku=line.sku,
            quantity=line.quantity,
            unit_price=money_to_proto(line.unit_price),
            title=line.title,
            discount=money_to_proto(line.discount),
            tax=money_to_proto(line.tax),
        )
    return message


def results_in_request_order(skus: list[str], outcomes: list[p.ItemOutcome]) -> list[pb.ItemResult]:
    """One result per requested item, in the request's order (duplicate SKUs stay paired)."""
    queues: dict[str, list[p.ItemOutcome]] = {}
    for outcome in outcomes:
        queues.setdefault(outcome.sku, []).append(outcome)
    results = []
    for sku in skus:
        queued = queues.get(sku)
        outcome = queued.pop(0) if queued else p.ItemOutcome(sku, p.Outcome.RETRY, "no result")
        results.append(pb.ItemResult(sku=sku, outcome=OUTCOMES[outcome.outcome], message=outcome.message))
    return results


def price_inputs(items: Iterable[pb.PriceItem]) -> list[p.PriceInput]:
    return [
        p.PriceInput(
            sku=i.sku,
            amount_minor=i.price.amount_minor,
            currency=i.price.currency,
            compare_at_minor=i.compare_at_price.amount_minor if i.HasField("compare_at_price") else None,
            compare_at_currency=i.compare_at_price.currency,
            ids=i.remote.ids,
        )
        for i in items
    ]


def quantities_to_proto(results: Iterable[ReadResult]) -> list[pb.RemoteQuantity]:
    return [pb.RemoteQuantity(sku=r.sku, quantity=r.quantity, found=r.found) for r in results]


def products_to_proto(page: ProductsPage) -> pb.ListRemoteProductsResponse:
    return pb.ListRemoteProductsResponse(
        products=[
            pb.RemoteProduct(sku=r.sku, title=r.title, remote=pb.RemoteIds(ids=r.ids), quantity=r.quantity)
            for r in page.products
        ],
        next_cursor=page.next_cursor,
    )
