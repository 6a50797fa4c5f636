"""connector.v1 messages ↔ the Amazon protocol's plain values: the only module of the connector
besides servicer.py and server.py that touches generated code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from amazon_connector import protocol as p
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
from omnistock_connector_kit.values_proto import remote_prices_to_proto as remote_prices_to_proto

# order_to_proto maps UnifiedStatus by the same rule (by name).
ORDER_STATUSES = by_name(p.UnifiedStatus, pb.OrderStatus, "ORDER_STATUS_")


# ------------------------------------------------------------------------------ requests in


def fulfillment_lines(lines: Iterable[pb.FulfillmentLine]) -> list[p.FulfillmentLineInput]:
    return [p.FulfillmentLineInput(line.external_line_id, line.sku, line.quantity) for line in lines]


# ----------------------------------------------------------------------------- answers out
def quantities_to_proto(
    items: Sequence[p.InventoryInput], views: Mapping[str, p.ListingView]
) -> list[pb.RemoteQuantity]:
    """found=False for a SKU Amazon does not list, or lists without a seller-fulfilled quantity."""
    out = []
    for item in items:
        view = views.get(p.remote_sku(item))
        found = view is not None and view.quantity is not None
        out.append(pb.RemoteQuantity(sku=item.sku, quantity=view.quantity if found else 0, found=found))  # type: ignore[union-attr]
    return out


def remote_prices(
    items: Sequence[p.PriceInput], views: Mapping[str, p.ListingView], currency: str
) -> list[p.RemotePrice]:
    """Prices read in the marketplace currency (else the one OmniStock expects)."""
    out = []
    for item in items:
        view = views.get(p.remote_sku(item))
        wanted = currency or item.price.currency
        amount = None
        if view is not None and view.price is not None and (not view.currency or view.currency == wanted):
            amount = p.read_amount(view.price, wanted)
        out.append(p.RemotePrice(item.sku, amount is not None, amount, None))
    return out
