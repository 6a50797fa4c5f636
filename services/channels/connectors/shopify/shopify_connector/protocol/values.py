"""The plain values the Shopify protocol speaks: what a push, read, fulfillment or webhook takes
and gives. mapping.py turns connector.v1 messages into these and these back into messages, so
nothing under protocol/ (nor client.py) touches generated code.

Enums mirror connector.v1 by name (Outcome.APPLIED is ITEM_OUTCOME_APPLIED, WebhookKind.ORDER is
WEBHOOK_KIND_ORDER, UnifiedStatus.PAID is ORDER_STATUS_PAID); mapping.py's tests check every member.
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


class WebhookKind(Enum):
    ORDER = "order"
    PRODUCT = "product"
    INVENTORY = "inventory"
    APP_UNINSTALLED = "app_uninstalled"
    OTHER = "other"


class UnifiedStatus(Enum):
    """The unified order statuses Shopify's financial/fulfillment pair maps onto."""

    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class FulfillmentLineInput:
    """A shipped line: matched by order line id, else by SKU."""

    external_line_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class ParsedWebhook:
    """A verified delivery: its id, topic and kind, and the order it carries (order topics)."""

    delivery_id: str
    topic: str
    kind: WebhookKind
    orders: tuple[OrderData, ...] = ()
