"""The plain values the Amazon protocol speaks: what a push, read, fulfillment or listing page
takes and gives. mapping.py turns connector.v1 messages into these and back, so nothing under
protocol/ (nor client.py) touches generated code.

`UnifiedStatus` mirrors connector.v1's OrderStatus by member name (PAID is ORDER_STATUS_PAID).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from omnistock_connector_kit.values import AddressData as AddressData
from omnistock_connector_kit.values import Amount as Amount
from omnistock_connector_kit.values import InventoryInput as InventoryInput

# Item outcomes and orders are the connector kit's values, shared by every connector (re-exported).
from omnistock_connector_kit.values import ItemResult as ItemResult
from omnistock_connector_kit.values import OrderData as OrderData
from omnistock_connector_kit.values import OrderLineData as OrderLineData
from omnistock_connector_kit.values import Outcome as Outcome
from omnistock_connector_kit.values import PriceInput as PriceInput
from omnistock_connector_kit.values import RemotePrice as RemotePrice
from omnistock_connector_kit.values import RemoteProductData as RemoteProductData
from omnistock_connector_kit.values import RemoteQuantity as RemoteQuantity
from omnistock_connector_kit.values import read_amount as read_amount


class UnifiedStatus(Enum):
    """The unified order statuses Amazon's OrderStatus maps onto (orders.STATUS_MAP)."""

    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ListingView:
    """One listings item as read back (reconciliation)."""

    sku: str
    quantity: int | None
    price: str | None
    currency: str


@dataclass(frozen=True)
class FulfillmentLineInput:
    """A shipped line: matched by OrderItemId, else by SKU."""

    external_line_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    country: str
    currency: str
    name: str


@dataclass(frozen=True)
class Submission:
    """What Amazon said about one listing change: accepted (for asynchronous processing) or not."""

    sku: str
    accepted: bool
    message: str = ""
    # The ASIN Amazon names in the answer's `identifiers` (a put matched or created), when it does.
    asin: str = ""


def remote_sku(item: InventoryInput | PriceInput) -> str:
    """The seller SKU on Amazon: the listing's own when mapped, else OmniStock's."""
    return item.ids.get("sku") or item.sku
