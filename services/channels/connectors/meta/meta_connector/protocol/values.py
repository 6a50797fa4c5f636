"""The plain values the Meta protocol takes and gives (no generated code): what a push, read,
discovery, order or webhook is made of. mapping.py converts connector.v1 messages to and from these.

Enums mirror connector.v1 by member name (WebhookKind.OTHER is WEBHOOK_KIND_OTHER,
UnifiedStatus.PAID is ORDER_STATUS_PAID); the mapping tests check every member.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
    """Meta documents no commerce-order webhook field we could verify: every verified delivery is
    OTHER (the orders come from FetchOrders polling)."""

    OTHER = "other"


class UnifiedStatus(Enum):
    """The unified statuses Meta's order states map onto (status_map in orders.py)."""

    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class Catalog:
    id: str
    name: str
    business_id: str = ""


@dataclass(frozen=True)
class Page:
    id: str
    name: str
    access_token: str
    instagram_account_id: str = ""


@dataclass(frozen=True)
class BatchStatus:
    """One items_batch handle's state: finished or not, and the retailer ids Meta refused (with why)."""

    finished: bool
    status: str
    rejected: Mapping[str, str] = field(default_factory=dict)
    # Errors Meta reported without naming an item (the whole batch failed them all).
    general_errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedWebhook:
    delivery_id: str
    topic: str
    kind: WebhookKind
    orders: tuple[OrderData, ...] = ()
