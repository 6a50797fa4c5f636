"""The plain values every connector's protocol gives (no I/O, no generated code): per-item
outcomes of a push and the orders a connector parses its channel's answers into.
`values_proto` turns them into connector.v1 messages, so connectors cannot drift apart field by
field.

`OrderData.status` is the connector's own unified-status enum, whose member names mirror
connector.v1's `OrderStatus` (`PAID` is `ORDER_STATUS_PAID`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from omnistock_common.addresses import Address
from omnistock_common.money import MoneyError, to_minor

# A shipping address is the postal address every service speaks.
AddressData = Address

__all__ = [
    "AddressData",
    "Amount",
    "InventoryInput",
    "ItemResult",
    "OrderData",
    "OrderLineData",
    "Outcome",
    "PriceInput",
    "RemotePrice",
    "RemoteProductData",
    "RemoteQuantity",
    "read_amount",
]


class Outcome(Enum):
    """What became of one pushed item (connector.v1.ItemOutcome by name)."""

    APPLIED = "applied"
    # Not applied, and sending the same value again later may work (another item failed the call,
    # or the channel stayed unavailable).
    RETRY = "retry"
    # The channel refused this item: resending it unchanged will not help.
    REJECTED = "rejected"


@dataclass(frozen=True)
class ItemResult:
    sku: str
    outcome: Outcome
    message: str = ""


@dataclass(frozen=True)
class Amount:
    """Money in the currency's minor units (ISO 4217 exponent)."""

    amount_minor: int
    currency: str


@dataclass(frozen=True)
class RemotePrice:
    """What a channel shows for a SKU (price reconciliation); found=False when it has no such item
    or its price cannot be read in the expected currency."""

    sku: str
    found: bool = False
    price: Amount | None = None
    compare_at: Amount | None = None


def read_amount(value: object, currency: str) -> Amount | None:
    """A channel's decimal price ("19.99") in `currency`'s minor units; None when empty or not an
    exact amount of that currency (a read-back never guesses)."""
    if value in (None, "") or not currency:
        return None
    try:
        return Amount(to_minor(str(value), currency), currency)
    except MoneyError:
        return None


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
    # Units the channel says it shipped (0 where it does not say per line).
    quantity_fulfilled: int = 0


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


# ---------------------------------------------------------------- what every connector pushes and reads
@dataclass(frozen=True)
class InventoryInput:
    """One SKU's absolute quantity to push, with the channel's ids of its listing."""

    sku: str
    quantity: int = 0
    ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PriceInput:
    """One SKU's price to push; `compare_at` is the "was" price where the channel shows one."""

    sku: str
    price: Amount
    compare_at: Amount | None = None
    ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RemoteQuantity:
    """What the channel shows for a SKU, for reconciliation; found=False when it has no listing."""

    sku: str
    quantity: int = 0
    found: bool = False


@dataclass(frozen=True)
class RemoteProductData:
    """One listing of the channel's catalogue: its SKU and the ids a listing mapping keeps."""

    sku: str
    title: str
    ids: Mapping[str, str]
    quantity: int
