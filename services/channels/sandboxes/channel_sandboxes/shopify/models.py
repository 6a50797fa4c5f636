"""The shop's records (products, variants, inventory, orders, fulfillments, tokens, subscriptions).

Plain dataclasses plus the id and money helpers every layer uses; `ShopState` (state.py) owns and
mutates them, the GraphQL schema reads them, and the app renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from channel_sandboxes.common import utcnow

API_VERSION = "2025-07"
# Versions the sandbox answers for; anything else is served as API_VERSION, which is what Shopify
# does with unsupported versions (it reports the version actually used in X-Shopify-API-Version).
SUPPORTED_VERSIONS = ("2025-01", "2025-04", "2025-07", "2025-10")


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: Any, kind: str) -> int | None:
    """Numeric id of `gid://shopify/<kind>/<n>`; None when malformed or of another type."""
    if not isinstance(value, str):
        return None
    prefix = f"gid://shopify/{kind}/"
    if not value.startswith(prefix):
        return None
    tail = value[len(prefix) :].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


def money(value: Any) -> str:
    """Decimal string with two places, the form Shopify prints Money in."""
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def valid_money(value: Any) -> bool:
    try:
        Decimal(str(value))
    except (InvalidOperation, ValueError):
        return False
    return isinstance(value, str | int | float) and not isinstance(value, bool)


@dataclass(kw_only=True)
class Stamped:
    """Shopify's createdAt/updatedAt on a record (keyword-only, so they never shift positions)."""

    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class Event:
    """Something webhook subscribers hear about: REST topic name plus the REST-shaped payload."""

    topic: str
    payload: dict[str, Any]


@dataclass
class Location:
    id: int
    name: str


@dataclass
class Level:
    """Quantities of one item at one location. on_hand = available + committed, as in Shopify."""

    available: int
    committed: int = 0
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class InventoryItem(Stamped):
    id: int
    variant_id: int
    sku: str
    tracked: bool = True
    levels: dict[int, Level] = field(default_factory=dict)


@dataclass
class Variant(Stamped):
    id: int
    product_id: int
    sku: str
    title: str
    price: str
    inventory_item_id: int
    compare_at_price: str | None = None
    # "DENY" stops selling at zero available (Shopify's default inventory policy).
    inventory_policy: str = "DENY"
    barcode: str | None = None
    # selectedOptions, in the product's option order: [(name, value)].
    options: list[tuple[str, str]] = field(default_factory=list)
    # InventoryItem.measurement.weight, kept in grams (the sandbox answers unit GRAMS).
    weight_grams: float | None = None


@dataclass
class Product(Stamped):
    id: int
    title: str
    handle: str
    variant_ids: list[int] = field(default_factory=list)
    status: str = "ACTIVE"
    description: str = ""
    vendor: str = ""
    tags: list[str] = field(default_factory=list)
    image_urls: list[str] = field(default_factory=list)


@dataclass
class LineItem:
    id: int
    variant_id: int
    product_id: int
    sku: str
    title: str
    quantity: int
    price: str
    fulfilled: int = 0
    # Totals for the whole line, in the shop's currency: the discount allocated to it and its tax.
    discount: str = "0.00"
    tax: str = "0.00"
    tax_rate: float = 0.0

    @property
    def line_total(self) -> Decimal:
        """What the line costs after its discount, before tax."""
        return Decimal(self.price) * self.quantity - Decimal(self.discount)


@dataclass
class FulfillmentOrderLineItem:
    id: int
    line_item_id: int
    total: int
    remaining: int


@dataclass
class FulfillmentOrder(Stamped):
    id: int
    order_id: int
    location_id: int
    line_items: list[FulfillmentOrderLineItem]
    status: str = "OPEN"


@dataclass
class Fulfillment:
    id: int
    order_id: int
    location_id: int
    tracking: list[dict[str, str | None]]
    lines: list[tuple[int, int]]  # (order line item id, quantity)
    notify_customer: bool
    status: str = "SUCCESS"
    created_at: datetime = field(default_factory=utcnow)


@dataclass
class Order(Stamped):
    id: int
    number: int
    email: str | None
    currency: str
    line_items: list[LineItem]
    financial_status: str = "paid"
    fulfillment_order_ids: list[int] = field(default_factory=list)
    fulfillment_ids: list[int] = field(default_factory=list)
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    customer: dict[str, Any] | None = None
    shipping_price: str = "0.00"
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    staff_note: str | None = None

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def fulfillment_status(self) -> str | None:
        """REST `fulfillment_status`: null, "partial" or "fulfilled"."""
        shipped = sum(li.fulfilled for li in self.line_items)
        if shipped == 0:
            return None
        return "fulfilled" if all(li.fulfilled >= li.quantity for li in self.line_items) else "partial"

    @property
    def subtotal(self) -> Decimal:
        """Shopify's subtotal: the lines after their discounts, before shipping and taxes."""
        return sum((li.line_total for li in self.line_items), Decimal("0"))

    @property
    def total_discounts(self) -> Decimal:
        return sum((Decimal(li.discount) for li in self.line_items), Decimal("0"))

    @property
    def total_tax(self) -> Decimal:
        return sum((Decimal(li.tax) for li in self.line_items), Decimal("0"))

    @property
    def total_price(self) -> Decimal:
        return self.subtotal + Decimal(self.shipping_price) + self.total_tax


@dataclass
class Job:
    """The background job of an orderCancel (done at once here; Shopify runs it asynchronously)."""

    id: int
    order_id: int
    done: bool = True


@dataclass
class AccessToken:
    token: str
    scope: str
    expires_at: datetime | None
    revoked: bool = False


@dataclass
class RefreshToken:
    token: str
    scope: str
    expires_at: datetime
    parent: str | None
    valid: bool = True
    used: bool = False


@dataclass
class Subscription:
    id: int
    topic: str  # REST form, e.g. "orders/create"
    address: str
    format: str = "JSON"
    created_at: datetime = field(default_factory=utcnow)


class OAuthError(Exception):
    """An OAuth token-endpoint failure; rendered as Shopify's `{error, error_description}` body."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class OrderError(Exception):
    """A control-API order that Shopify's checkout would refuse (unknown SKU, not enough stock), or
    a cancellation Shopify would refuse; `code` is then the OrderCancelUserErrorCode."""

    def __init__(self, message: str, code: str = "INVALID") -> None:
        super().__init__(message)
        self.code = code
