"""connector.v1 messages ↔ the eBay protocol's plain values: the only module of the connector
besides servicer.py and server.py that touches generated code."""

from __future__ import annotations

from collections.abc import Iterable

from ebay_connector import protocol as p
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_connector_kit.values_proto import OUTCOMES as OUTCOMES
from omnistock_connector_kit.values_proto import by_name
from omnistock_connector_kit.values_proto import item_results_to_proto as item_results_to_proto
from omnistock_connector_kit.values_proto import order_to_proto as order_to_proto
from omnistock_connector_kit.values_proto import remote_prices_to_proto as remote_prices_to_proto

WEBHOOK_KINDS = by_name(p.WebhookKind, pb.WebhookKind, "WEBHOOK_KIND_")
ORDER_STATUSES = by_name(p.UnifiedStatus, pb.OrderStatus, "ORDER_STATUS_")


def inventory_inputs(items: Iterable[pb.InventoryItem]) -> list[p.InventoryInput]:
    return [p.InventoryInput(i.sku, i.quantity, dict(i.remote.ids)) for i in items]


def price_inputs(items: Iterable[pb.PriceItem]) -> list[p.PriceInput]:
    """eBay has no compare-at price on an offer's pricingSummary.price: only the price goes."""
    return [
        p.PriceInput(
            sku=i.sku, price=p.Amount(i.price.amount_minor, i.price.currency), ids=dict(i.remote.ids)
        )
        for i in items
    ]


def fulfillment_lines(lines: Iterable[pb.FulfillmentLine]) -> list[p.FulfillmentLineInput]:
    return [p.FulfillmentLineInput(line.external_line_id, line.sku, line.quantity) for line in lines]


def quantities_to_proto(results: Iterable[p.RemoteQuantity]) -> list[pb.RemoteQuantity]:
    return [pb.RemoteQuantity(sku=r.sku, quantity=r.quantity, found=r.found) for r in results]


def products_to_proto(
    products: Iterable[p.RemoteProductData], next_cursor: str
) -> pb.ListRemoteProductsResponse:
    return pb.ListRemoteProductsResponse(
        products=[
            pb.RemoteProduct(sku=r.sku, title=r.title, remote=pb.RemoteIds(ids=r.ids), quantity=r.quantity)
            for r in products
        ],
        next_cursor=next_cursor,
    )


def orders_to_proto(
    orders: Iterable[p.OrderData], next_cursor: str, retried: Iterable[str] = ()
) -> pb.FetchOrdersResponse:
    return pb.FetchOrdersResponse(
        orders=[order_to_proto(o) for o in orders], next_cursor=next_cursor, retried=list(retried)
    )


def webhook_to_proto(parsed: p.ParsedWebhook) -> pb.ParseWebhookResponse:
    return pb.ParseWebhookResponse(
        delivery_id=parsed.delivery_id, topic=parsed.topic, kind=WEBHOOK_KINDS[parsed.kind]
    )
