"""connector.v1 messages ↔ the eBay protocol's plain values: the only module of the connector
besides servicer.py and server.py that touches generated code."""

from __future__ import annotations

from collections.abc import Iterable

from ebay_connector import protocol as p
from ebay_connector.protocol.catalog_import import CatalogProductData
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_connector_kit.values_proto import OUTCOMES as OUTCOMES
from omnistock_connector_kit.values_proto import (
    by_name,
)
from omnistock_connector_kit.values_proto import inventory_inputs as inventory_inputs
from omnistock_connector_kit.values_proto import item_results_to_proto as item_results_to_proto
from omnistock_connector_kit.values_proto import order_to_proto as order_to_proto
from omnistock_connector_kit.values_proto import orders_to_proto as orders_to_proto
from omnistock_connector_kit.values_proto import price_inputs as price_inputs
from omnistock_connector_kit.values_proto import product_refs as product_refs
from omnistock_connector_kit.values_proto import product_results_to_proto as product_results_to_proto
from omnistock_connector_kit.values_proto import product_upserts as product_upserts
from omnistock_connector_kit.values_proto import products_to_proto as products_to_proto
from omnistock_connector_kit.values_proto import quantities_to_proto as quantities_to_proto
from omnistock_connector_kit.values_proto import remote_prices_to_proto as remote_prices_to_proto

WEBHOOK_KINDS = by_name(p.WebhookKind, pb.WebhookKind, "WEBHOOK_KIND_")
ORDER_STATUSES = by_name(p.UnifiedStatus, pb.OrderStatus, "ORDER_STATUS_")


def fulfillment_lines(lines: Iterable[pb.FulfillmentLine]) -> list[p.FulfillmentLineInput]:
    return [p.FulfillmentLineInput(line.external_line_id, line.sku, line.quantity) for line in lines]


def webhook_to_proto(parsed: p.ParsedWebhook) -> pb.ParseWebhookResponse:
    return pb.ParseWebhookResponse(
        delivery_id=parsed.delivery_id, topic=parsed.topic, kind=WEBHOOK_KINDS[parsed.kind]
    )


def catalog_to_proto(
    products: Iterable[CatalogProductData], next_cursor: str
) -> pb.ListRemoteProductsResponse:
    """Whole products for the import; a variant's quantity is the item's ship-to-home quantity
    (eBay's Inventory API has no per-location figure here: location_id "")."""
    return pb.ListRemoteProductsResponse(
        catalog=[
            pb.CatalogProduct(
                external_id=product.external_id,
                title=product.title,
                description=product.description,
                status=product.status,
                vendor=product.vendor,
                image_urls=product.image_urls,
                variants=[
                    pb.CatalogVariant(
                        external_id=v.external_id,
                        remote=pb.RemoteIds(ids=dict(v.ids)),
                        sku=v.sku,
                        title=v.title,
                        barcode=v.barcode,
                        options=[pb.OptionValue(name=n, value=x) for n, x in v.options],
                        price=common_pb2.Money(amount_minor=v.price.amount_minor, currency=v.price.currency)
                        if v.price is not None
                        else None,
                        weight_grams=v.weight_grams,
                        quantities=[pb.LocationQuantity(available=v.quantity)]
                        if v.quantity is not None
                        else [],
                    )
                    for v in product.variants
                ],
            )
            for product in products
        ],
        next_cursor=next_cursor,
    )
