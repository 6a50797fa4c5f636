"""The unified order and its parts: plain data, no database, no gRPC, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

# The postal address every service speaks (re-exported: a shipping address of an order).
from omnistock_common.addresses import Address as Address

MANUAL = "MANUAL"
# Source of an order = its channel type in capitals (connection channel_type "shopify" -> SHOPIFY).
CHANNEL_SOURCES = ("SHOPIFY", "WOOCOMMERCE", "FACEBOOK", "INSTAGRAM", "TIKTOK", "AMAZON", "EBAY")
SOURCES = (*CHANNEL_SOURCES, MANUAL)
MAX_TEXT = 256
MAX_URL = 2048
MAX_LINES = 500
MAX_QUANTITY = 10**9

# Who changed a status (StatusChange.actor).
ACTOR_CHANNEL = "channel"
ACTOR_MERCHANT = "merchant"
ACTOR_SYSTEM = "system"

# How a version reached us (RawVersion.via).
VIA_WEBHOOK = "webhook"
VIA_POLL = "poll"
VIA_MANUAL = "manual"


@dataclass(frozen=True)
class Policy:
    """Business settings the use cases need (built from Settings in config.py)."""

    duplicate_window: timedelta = timedelta(minutes=10)
    stock_retry: timedelta = timedelta(seconds=30)


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


class OrderFlag(StrEnum):
    POSSIBLE_DUPLICATE = "possible_duplicate"
    OVERSOLD = "oversold"
    UNMAPPED_SKU = "unmapped_sku"


class SyncState(StrEnum):
    """Whether the source channel accepted what OmniStock asked it to do (fulfil, cancel)."""

    PENDING = "PENDING"
    SYNCED = "SYNCED"
    FAILED = "FAILED"
    NOT_APPLICABLE = "NOT_APPLICABLE"


class StockState(StrEnum):
    """PENDING: a stock step (reserve, release, commit) may still be owed to inventory; the
    worker retries it at `stock_due_at`. DONE: inventory agrees with the order."""

    PENDING = "PENDING"
    DONE = "DONE"


@dataclass(frozen=True)
class Money:
    amount_minor: int
    currency: str


@dataclass
class OrderLine:
    """One line. Amounts are minor units in the order's currency; discount and tax are for the
    whole line. quantity_reserved is what inventory holds for it right now."""

    id: str
    line_no: int
    sku: str
    quantity: int
    title: str = ""
    external_line_id: str = ""
    unit_price: int = 0
    discount: int = 0
    tax: int = 0
    quantity_shipped: int = 0
    quantity_returned: int = 0
    quantity_reserved: int = 0
    sku_known: bool = True
    # Units the source channel says it shipped (fulfilled on the channel, outside OmniStock).
    channel_fulfilled: int = 0

    @property
    def unshipped(self) -> int:
        return max(0, self.quantity - self.quantity_shipped)

    @property
    def returnable(self) -> int:
        return max(0, self.quantity_shipped - self.quantity_returned)


@dataclass(frozen=True)
class Totals:
    subtotal: int = 0
    discount: int = 0
    shipping: int = 0
    tax: int = 0
    total: int = 0


@dataclass(frozen=True)
class StatusChange:
    from_status: OrderStatus | None
    to_status: OrderStatus
    at: datetime
    actor: str
    reason: str = ""


@dataclass(frozen=True)
class FulfillmentLine:
    line_id: str
    sku: str
    quantity: int


@dataclass
class Fulfillment:
    id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    lines: list[FulfillmentLine]
    sync_state: SyncState
    created_at: datetime
    external_fulfillment_id: str = ""
    sync_message: str = ""


@dataclass(frozen=True)
class RawVersion:
    """One payload received for an order, as received (JSON text)."""

    channel_updated_at: datetime | None
    received_at: datetime
    via: str
    payload_json: str


@dataclass
class Order:
    id: str
    source: str
    connection_id: str
    external_id: str
    currency: str
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    external_name: str = ""
    customer_email: str = ""
    customer_name: str = ""
    shipping_address: Address = field(default_factory=Address)
    lines: list[OrderLine] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    channel_status: dict[str, str] = field(default_factory=dict)
    flags: set[OrderFlag] = field(default_factory=set)
    duplicate_of: list[str] = field(default_factory=list)
    channel_updated_at: datetime | None = None
    history: list[StatusChange] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    raw_versions: list[RawVersion] = field(default_factory=list)
    reservation_id: str = ""
    version: int = 1
    cancel_sync_state: SyncState | None = None
    cancel_sync_message: str = ""
    # Stock bookkeeping (not part of the API): see StockState; `announced` once
    # orders.order_imported went out.
    stock_state: StockState = StockState.DONE
    stock_due_at: datetime | None = None
    stock_error: str = ""
    announced: bool = False
    # The channel edited the lines (SKU or quantity) after the hold: the hold is released and taken
    # again for the new lines, under a new key (`hold_round` counts the holds taken).
    replan_owed: bool = False
    hold_round: int = 0

    @property
    def is_manual(self) -> bool:
        return self.source == MANUAL

    @property
    def held(self) -> int:
        """Units inventory holds for this order right now."""
        return sum(line.quantity_reserved for line in self.lines)

    @property
    def shipped_anything(self) -> bool:
        return any(line.quantity_shipped for line in self.lines)

    def line(self, line_id: str) -> OrderLine | None:
        return next((line for line in self.lines if line.id == line_id), None)


@dataclass(frozen=True)
class IncomingLine:
    """A line as a channel (or a merchant) sends it."""

    sku: str
    quantity: int
    title: str = ""
    external_line_id: str = ""
    unit_price: int = 0
    discount: int = 0
    tax: int = 0
    # Units the channel says it shipped (0 where it does not say per line).
    quantity_fulfilled: int = 0


@dataclass(frozen=True)
class ChannelOrderVersion:
    """One version of a channel order (`channels.order_received`), normalised by the connector.

    `status` is None when the connector could not map the channel's status (it is then kept in
    channel_status only); `updated_at` is the channel's own, which orders versions."""

    connection_id: str
    source: str
    external_id: str
    via: str
    received_at: datetime
    status: OrderStatus | None
    lines: tuple[IncomingLine, ...]
    currency: str
    totals: Totals
    updated_at: datetime | None
    created_at: datetime | None
    external_name: str = ""
    customer_email: str = ""
    customer_name: str = ""
    shipping_address: Address = field(default_factory=Address)
    channel_status: tuple[tuple[str, str], ...] = ()
    raw_json: str = ""

    @property
    def channel_status_text(self) -> str:
        """The channel's own status fields, for the history's reason ("financial_status=paid")."""
        return ", ".join(f"{name}={value}" for name, value in self.channel_status)[:256]
