"""connector.v1 messages ↔ the eBay protocol's plain values: the only module of the connector
besides servicer.py and server.py that touches generated code."""

from __future__ import annotations

from collections.abc import Iterable

from ebay_connector import protocol as p
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_connector_kit.values_proto import OUTCOMES as OUTCOMES
from omnistock_connector_kit.values_proto import (
    by_name,
)
from omnistock_connector_kit.values_proto import catalog_to_proto as catalog_to_proto
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
