"""connector.v1 messages ↔ the TikTok protocol's plain values: the only module of the connector
besides servicer.py and server.py that touches generated code."""

from __future__ import annotations

from collections.abc import Iterable

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
from tiktok_connector import protocol as p

WEBHOOK_KINDS = by_name(p.WebhookKind, pb.WebhookKind, "WEBHOOK_KIND_")
# order_to_proto maps UnifiedStatus by the same rule (by name).
ORDER_STATUSES = by_name(p.UnifiedStatus, pb.OrderStatus, "ORDER_STATUS_")


def fulfillment_units(lines: Iterable[pb.FulfillmentLine]) -> dict[str, int] | None:
    """Units to ship per sku_id (external_line_id) or seller_sku; None (every unit left) when
    the request names no lines."""
    wanted: dict[str, int] = {}
    for line in lines:
        key = line.external_line_id or line.sku
        if key and line.quantity > 0:
            wanted[key] = wanted.get(key, 0) + int(line.quantity)
    return wanted or None


def webhook_to_proto(parsed: p.ParsedWebhook, orders: Iterable[p.OrderData] = ()) -> pb.ParseWebhookResponse:
    return pb.ParseWebhookResponse(
        delivery_id=parsed.delivery_id,
        topic=parsed.topic,
        kind=WEBHOOK_KINDS[parsed.kind],
        orders=[order_to_proto(o) for o in orders],
    )
