"""The plain values the eBay protocol speaks; mapping.py converts connector.v1 messages to and
from these, so nothing under protocol/ (nor client.py) touches generated code.

Enums mirror connector.v1 by name (UnifiedStatus.PAID is ORDER_STATUS_PAID, WebhookKind.OTHER is
WEBHOOK_KIND_OTHER).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from omnistock_connector_kit.values import AddressData as AddressData
from omnistock_connector_kit.values import Amount as Amount
from omnistock_connector_kit.values import ItemResult as ItemResult
from omnistock_connector_kit.values import OrderData as OrderData
from omnistock_connector_kit.values import OrderLineData as OrderLineData
from omnistock_connector_kit.values import Outcome as Outcome
from omnistock_connector_kit.values import RemotePrice as RemotePrice
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
class InventoryInput:
    """One SKU to push or read, with its listing ids (sku, offer_id, listing_id)."""

    sku: str
    quantity: int = 0
    ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def offer_id(self) -> str:
        return self.ids.get("offer_id", "")

    @property
    def listing(self) -> str:
        """What eBay counts revisions by: the listing, else the offer, else the SKU."""
        return self.ids.get("listing_id") or self.ids.get("offer_id") or self.sku


@dataclass(frozen=True)
class PriceInput:
    sku: str
    price: Amount
    ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def offer_id(self) -> str:
        return self.ids.get("offer_id", "")

    @property
    def listing(self) -> str:
        return self.ids.get("listing_id") or self.ids.get("offer_id") or self.sku


@dataclass(frozen=True)
class RemoteQuantity:
    sku: str
    quantity: int = 0
    found: bool = False


@dataclass(frozen=True)
class RemoteProductData:
    sku: str
    title: str
    ids: Mapping[str, str]
    quantity: int


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
