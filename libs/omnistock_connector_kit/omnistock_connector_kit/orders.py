"""The plain order values every connector's protocol gives (no I/O, no generated code): a
connector parses its channel's orders into these, and `orders_proto` turns them into
connector.v1 `ChannelOrder` messages, so the two connectors cannot drift apart field by field.

`OrderData.status` is the connector's own unified-status enum, whose member names mirror
connector.v1's `OrderStatus` (`PAID` is `ORDER_STATUS_PAID`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

__all__ = ["AddressData", "Amount", "OrderData", "OrderLineData"]


@dataclass(frozen=True)
class Amount:
    """Money in the currency's minor units (ISO 4217 exponent)."""

    amount_minor: int
    currency: str


@dataclass(frozen=True)
class OrderLineData:
    external_line_id: str
    sku: str
    quantity: int
    title: str
    unit_price: Amount | None
    # Totals for the whole line: the discounts allocated to it and its taxes.
    discount: Amount | None = None
    tax: Amount | None = None


@dataclass(frozen=True)
class AddressData:
    name: str = ""
    company: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country_code: str = ""
    phone: str = ""


@dataclass(frozen=True)
class OrderData:
    external_id: str
    external_name: str
    status: Enum
    raw_status: str
    customer_email: str
    total: Amount | None
    lines: tuple[OrderLineData, ...]
    created_at: datetime | None
    updated_at: datetime | None
    customer_name: str = ""
    shipping_address: AddressData | None = None
    # The lines after their discounts, before shipping and taxes.
    subtotal: Amount | None = None
    discount_total: Amount | None = None
    shipping_total: Amount | None = None
    tax_total: Amount | None = None
    # The channel's own status fields (status_map.channel_status).
    channel_status: Mapping[str, str] = field(default_factory=dict)
    # The order exactly as the channel sent it (a webhook's body or a fetched page's entry).
    raw_json: str = ""
