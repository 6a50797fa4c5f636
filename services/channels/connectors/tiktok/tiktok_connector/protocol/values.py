"""The plain values the TikTok Shop protocol speaks: what a push, read, fulfillment or webhook
takes and gives. mapping.py turns connector.v1 messages into these and back, so nothing under
protocol/ (nor client.py) touches generated code.

Enums mirror connector.v1 by name (UnifiedStatus.PAID is ORDER_STATUS_PAID, WebhookKind.ORDER is
WEBHOOK_KIND_ORDER); the mapping tests check every member.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from omnistock_connector_kit.oauth import TokenGrant as TokenGrant
from omnistock_connector_kit.values import AddressData as AddressData
from omnistock_connector_kit.values import Amount as Amount
from omnistock_connector_kit.values import InventoryInput as InventoryInput
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
    OTHER = "other"


class UnifiedStatus(Enum):
    """The unified order statuses TikTok's order status maps onto (connector.v1 names)."""

    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ShopInfo:
    """One authorized shop (GET /authorization/202309/shops)."""

    id: str
    name: str
    cipher: str
    region: str
    code: str = ""

    def settings(self, currency: str = "") -> dict[str, str]:
        learnt = {
            "store_id": self.id,
            "store_name": self.name,
            "shop_cipher": self.cipher,
            "region": self.region,
            "currency": currency,
        }
        return {k: v for k, v in learnt.items() if v}


@dataclass(frozen=True)
class ParsedWebhook:
    """A verified delivery: its id, topic, kind and the order id it names (order events)."""

    delivery_id: str
    topic: str
    kind: WebhookKind
    shop_id: str
    order_id: str = ""
