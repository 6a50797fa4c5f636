"""The plain values the eBay protocol speaks; mapping.py converts connector.v1 messages to and
from these, so nothing under protocol/ (nor client.py) touches generated code.

Enums mirror connector.v1 by name (UnifiedStatus.PAID is ORDER_STATUS_PAID, WebhookKind.OTHER is
WEBHOOK_KIND_OTHER).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

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
    OTHER = "other"


class UnifiedStatus(Enum):
    """The unified order statuses eBay's fulfillment/payment/cancel states map onto."""

    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class OfferData:
    """One offer of a SKU (getOffers): its ids, listed quantity and price."""

    offer_id: str
    sku: str
    marketplace_id: str
    listing_id: str
    status: str
    available_quantity: int | None
    price: str
    currency: str


@dataclass(frozen=True)
class SellerIdentity:
    """getUser: the seller's immutable user id and username."""

    user_id: str
    username: str


@dataclass(frozen=True)
class FulfillmentLineInput:
    external_line_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class ParsedWebhook:
    delivery_id: str
    topic: str
    kind: WebhookKind


def offer_id(item: InventoryInput | PriceInput) -> str:
    """The eBay offer a push names (listing mapping's `offer_id`), "" when unknown."""
    return item.ids.get("offer_id", "")


def listing_key(item: InventoryInput | PriceInput) -> str:
    """What eBay counts revisions by: the listing, else the offer, else the SKU."""
    return item.ids.get("listing_id") or item.ids.get("offer_id") or item.sku
