"""The eBay sandbox's seller: inventory items with one published offer each, the day's revision
counts per listing, orders with their shipping fulfillments, and OAuth tokens.

All of it is guarded by `EbayState.lock`; routes take the lock around each whole operation.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

# eBay: "Each listing can be revised up to 250 times in one calendar day" (Inventory API notes,
# https://developer.ebay.com/develop/guides/listing-management). Days are Pacific, like eBay's
# daily quotas ("The day starts at midnight, 00:00:00 PST", Trading ApiAccessRuleType).
DAILY_REVISIONS = 250
PACIFIC = ZoneInfo("America/Los_Angeles")


def now_utc() -> datetime:
    return datetime.now(UTC)


def ebay_iso(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def pacific_day(moment: datetime) -> str:
    return moment.astimezone(PACIFIC).date().isoformat()


def next_pacific_midnight(moment: datetime) -> datetime:
    local = moment.astimezone(PACIFIC)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=PACIFIC).astimezone(UTC)


def money(value: Any) -> str:
    """A decimal price with two places ("19.00"); ValueError for anything else."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a price: {value!r}") from None
    if amount < 0 or not amount.is_finite():
        raise ValueError(f"not a price: {value!r}")
    return f"{amount.quantize(Decimal('0.01'))}"


@dataclass
class Listing:
    """An inventory item (SKU) and its one offer on the sandbox's marketplace. Seeded items have a
    published offer; an item made with createOrReplaceInventoryItem has none (offer_id "") until
    createOffer, and no listing (listing_id "") until published."""

    sku: str
    title: str
    quantity: int  # shipToLocationAvailability.quantity
    # The offer's availableQuantity; None until a seller sets it (the whole quantity is offered).
    available_quantity: int | None
    price: str
    offer_id: str
    listing_id: str
    price_writes: int = 0
    description: str = ""
    image_urls: list[str] = field(default_factory=list)
    aspects: dict[str, list[str]] = field(default_factory=dict)
    condition: str = "NEW"
    # Other product fields as the seller sent them (upc, ean, brand, ...), and packageWeightAndSize.
    product_extra: dict[str, Any] = field(default_factory=dict)
    package: dict[str, Any] | None = None
    group_key: str = ""
    offer_status: str = "PUBLISHED"  # or UNPUBLISHED (created, or withdrawn)
    # The offer's other fields as the seller sent them (categoryId, listingPolicies, ...).
    offer_fields: dict[str, Any] = field(default_factory=dict)
    original_price: str | None = None  # pricingSummary.originalRetailPrice

    @property
    def published(self) -> bool:
        return bool(self.offer_id) and self.offer_status == "PUBLISHED" and bool(self.listing_id)

    @property
    def listed(self) -> int:
        """What buyers see: the lower of the item's and the offer's quantity (CHANNELS.md 6.2)."""
        if self.available_quantity is None:
            return self.quantity
        return min(self.quantity, self.available_quantity)


@dataclass
class Group:
    """An inventory item group (one multiple-variation listing once published)."""

    key: str
    title: str
    description: str
    image_urls: list[str]
    aspects: dict[str, list[str]]
    variant_skus: list[str]
    specifications: list[dict[str, Any]]

    def to_api(self) -> dict[str, Any]:
        return {
            "inventoryItemGroupKey": self.key,
            "title": self.title,
            "description": self.description,
            "imageUrls": list(self.image_urls),
            "aspects": dict(self.aspects),
            "variantSKUs": list(self.variant_skus),
            "variesBy": {"aspectsImageVariesBy": [], "specifications": list(self.specifications)},
        }


@dataclass
class Fulfillment:
    fulfillment_id: str
    carrier: str
    tracking_number: str
    shipped_date: str
    lines: list[dict[str, Any]]


@dataclass
class Order:
    order_id: str
    email: str
    username: str
    currency: str
    lines: list[dict[str, Any]]  # {lineItemId, sku, title, quantity, price, shipped}
    created: datetime
    modified: datetime
    cancelled: bool = False
    fulfillments: list[Fulfillment] = field(default_factory=list)

    def fulfillment_status(self) -> str:
        shipped = sum(line["shipped"] for line in self.lines)
        if shipped == 0:
            return "NOT_STARTED"
        return (
            "FULFILLED" if all(line["shipped"] >= line["quantity"] for line in self.lines) else "IN_PROGRESS"
        )

    def total(self) -> Decimal:
        return sum((Decimal(line["price"]) * line["quantity"] for line in self.lines), Decimal("0"))

    def to_api(self) -> dict[str, Any]:
        """The order as getOrders returns it (Fulfillment contract 1.11.0, Order)."""
        total = {"value": f"{self.total():.2f}", "currency": self.currency}
        return {
            "orderId": self.order_id,
            "legacyOrderId": self.order_id,
            "creationDate": ebay_iso(self.created),
            "lastModifiedDate": ebay_iso(self.modified),
            "orderFulfillmentStatus": self.fulfillment_status(),
            "orderPaymentStatus": "PAID",
            "sellerId": "sandbox_seller",
            "buyer": {"username": self.username, "buyerRegistrationAddress": {"email": self.email}},
            "cancelStatus": {
                "cancelState": "CANCELED" if self.cancelled else "NONE_REQUESTED",
                "cancelRequests": [],
            },
            "pricingSummary": {"priceSubtotal": total, "total": total},
            "fulfillmentStartInstructions": [
                {
                    "fulfillmentInstructionsType": "SHIP_TO",
                    "shippingStep": {
                        "shippingCarrierCode": "USPS",
                        "shipTo": {
                            "fullName": "Sandbox Buyer",
                            "contactAddress": {
                                "addressLine1": "2145 Hamilton Ave",
                                "city": "San Jose",
                                "stateOrProvince": "CA",
                                "postalCode": "95125",
                                "countryCode": "US",
                            },
                            "primaryPhone": {"phoneNumber": "4085551234"},
                            "email": self.email,
                        },
                    },
                }
            ],
            "lineItems": [
                {
                    "lineItemId": line["lineItemId"],
                    "legacyItemId": line["legacyItemId"],
                    "sku": line["sku"],
                    "title": line["title"],
                    "quantity": line["quantity"],
                    "lineItemCost": {
                        "value": f"{Decimal(line['price']) * line['quantity']:.2f}",
                        "currency": self.currency,
                    },
                    "total": {
                        "value": f"{Decimal(line['price']) * line['quantity']:.2f}",
                        "currency": self.currency,
                    },
                    "lineItemFulfillmentStatus": (
                        "FULFILLED"
                        if line["shipped"] >= line["quantity"]
                        else "IN_PROGRESS"
                        if line["shipped"]
                        else "NOT_STARTED"
                    ),
                }
                for line in self.lines
            ],
        }

    def describe(self) -> dict[str, Any]:
        """`GET /_sandbox/orders/<id>`: status and shipping fulfillments."""
        return {
            "id": self.order_id,
            "name": self.order_id,
            "status": self.fulfillment_status(),
            "payment_status": "PAID",
            "cancelled": self.cancelled,
            "lines": [
                {k: line[k] for k in ("lineItemId", "sku", "quantity", "price", "shipped")}
                for line in self.lines
            ],
            "fulfillments": [
                {
                    "id": f.fulfillment_id,
                    "carrier": f.carrier,
                    "tracking_number": f.tracking_number,
                    "shipped_date": f.shipped_date,
                    "lines": f.lines,
                }
                for f in self.fulfillments
            ],
        }


@dataclass
class Grant:
    """What a code, access token or refresh token stands for."""

    scopes: tuple[str, ...]
    expires_at: datetime | None = None
    ru_name: str = ""
    kind: str = "user"  # "user" or "application"


class StockError(Exception):
    """An order line the stock cannot cover (without allow_oversell)."""


class EbayState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        self.listings: dict[str, Listing] = {}
        self.orders: dict[str, Order] = {}
        self.codes: dict[str, Grant] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        # (day, listing_id) → revisions spent; sku → the most the listing ever showed.
        self.revisions: dict[tuple[str, str], int] = {}
        self.max_listed: dict[str, int] = {}
        self.groups: dict[str, Group] = {}
        # Post-Order seller cancellations: {cancelId, legacyOrderId, cancelReason, marketplaceId}.
        self.cancellations: list[dict[str, Any]] = []
        self.throttle_remaining = 0
        self._next_id = 1

    def new_number(self) -> int:
        n = self._next_id
        self._next_id += 1
        return n

    # -- catalogue ---------------------------------------------------------------------------

    def add_listing(self, sku: str, title: str, quantity: int, price: str) -> Listing:
        n = self.new_number()
        listing = Listing(
            sku=sku,
            title=title or sku,
            quantity=max(0, quantity),
            available_quantity=None,
            price=money(price),
            offer_id=f"{5000000000 + n}",
            listing_id=f"{110000000000 + n}",
        )
        self.listings[sku] = listing
        self.note_listed(listing)
        return listing

    def new_offer_id(self) -> str:
        return f"{5000000000 + self.new_number()}"

    def new_listing_id(self) -> str:
        return f"{110000000000 + self.new_number()}"

    def add_group(self, key: str, title: str, specs: dict[str, list[str]], skus: list[str]) -> Group:
        group = Group(key, title, "", [], {}, skus, [{"name": n, "values": v} for n, v in specs.items()])
        self.groups[key] = group
        for sku in skus:
            self.listings[sku].group_key = key
        return group

    def note_listed(self, listing: Listing) -> None:
        self.max_listed[listing.sku] = max(self.max_listed.get(listing.sku, 0), listing.listed)

    def by_offer(self, offer_id: str) -> Listing | None:
        return next((x for x in self.listings.values() if x.offer_id == offer_id), None)

    def revisions_today(self, listing_id: str, moment: datetime) -> int:
        return self.revisions.get((pacific_day(moment), listing_id), 0)

    def spend_revision(self, listing_id: str, moment: datetime) -> bool:
        """Count one revision of the listing today; False (nothing counted) at the cap."""
        key = (pacific_day(moment), listing_id)
        if self.revisions.get(key, 0) >= DAILY_REVISIONS:
            return False
        self.revisions[key] = self.revisions.get(key, 0) + 1
        return True

    # -- orders ------------------------------------------------------------------------------

    def place_order(
        self, lines: list[dict[str, Any]], email: str, *, allow_oversell: bool, currency: str
    ) -> Order:
        for line in lines:
            listing = self.listings.get(str(line.get("sku", "")))
            quantity = line.get("quantity", 1)
            if listing is None:
                raise StockError(f"unknown sku {line.get('sku')!r}")
            if not isinstance(quantity, int) or quantity < 1:
                raise StockError("quantity must be a positive integer")
            if listing.listed < quantity and not allow_oversell:
                raise StockError(f"only {listing.listed} of {listing.sku} left")
        n = self.new_number()
        order_id = f"{10 + n % 90:02d}-{10000 + n:05d}-{secrets.randbelow(90000) + 10000:05d}"
        moment = now_utc()
        order_lines = []
        for index, line in enumerate(lines):
            listing = self.listings[str(line["sku"])]
            listing.quantity -= line["quantity"]
            if listing.available_quantity is not None:
                listing.available_quantity = max(0, listing.available_quantity - line["quantity"])
            order_lines.append(
                {
                    "lineItemId": f"{10000000000 + n * 100 + index}",
                    "legacyItemId": listing.listing_id,
                    "sku": listing.sku,
                    "title": listing.title,
                    "quantity": line["quantity"],
                    "price": money(line.get("price") or listing.price),
                    "shipped": 0,
                }
            )
        order = Order(order_id, email, "sandbox_buyer", currency, order_lines, moment, moment)
        self.orders[order_id] = order
        return order
