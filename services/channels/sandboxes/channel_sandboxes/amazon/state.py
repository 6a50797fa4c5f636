"""In-memory Amazon seller account: listings, MFN orders, feeds and their documents, LWA grants.

Callers hold `state.lock`. JSON shapes follow the SP-API models (amzn/selling-partner-api-models:
models/listings-items-api-model/listingsItems_2021-08-01.json, models/orders-api-model/ordersV0.json,
models/feeds-api-model/feeds_2021-06-30.json): PascalCase for Orders v0, camelCase elsewhere.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from channel_sandboxes.common import iso_z, utcnow

# Marketplaces the sandbox knows (id → country, currency), from Amazon's marketplace id table
# (https://developer-docs.amazon.com/sp-api/docs/marketplace-ids).
MARKETPLACES: dict[str, tuple[str, str, str]] = {
    "ATVPDKIKX0DER": ("US", "USD", "Amazon.com"),
    "A2EUQ1WTGCTBG2": ("CA", "CAD", "Amazon.ca"),
    "A1F83G8C2ARO7P": ("GB", "GBP", "Amazon.co.uk"),
    "A1PA6795UKMFR9": ("DE", "EUR", "Amazon.de"),
    "A1VC38T7YXB528": ("JP", "JPY", "Amazon.co.jp"),
}


class StockError(Exception):
    """An order the listings cannot fill (answered 422 by the control API)."""


def decimal_price(value: Any) -> Decimal:
    """A price as the seller typed it; ValueError for anything that is not a non-negative number."""
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"invalid price {value!r}") from exc
    if not number.is_finite() or number < 0:
        raise ValueError(f"invalid price {value!r}")
    return number


@dataclass
class Listing:
    sku: str
    asin: str
    title: str
    quantity: int
    price: Decimal
    product_type: str = "PRODUCT"
    created: datetime = field(default_factory=utcnow)
    updated: datetime = field(default_factory=utcnow)
    # Product facts and the put's requirements (catalog.py); options: attribute name → value.
    barcode: str = ""
    brand: str = ""
    description: str = ""
    images: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    requirements: str = "LISTING"
    # Variation family: a child names its parent SKU; a parent (not buyable) has a theme.
    parent_sku: str = ""
    theme: list[str] = field(default_factory=list)

    @property
    def is_parent(self) -> bool:
        return bool(self.theme)


@dataclass(frozen=True)
class CatalogItem:
    """An item of Amazon's catalog an offer can be put on (matched by barcode)."""

    barcode: str
    asin: str
    title: str
    product_type: str = "PRODUCT"


@dataclass
class OrderItem:
    order_item_id: str
    sku: str
    asin: str
    title: str
    quantity: int
    unit_price: Decimal
    shipped: int = 0


@dataclass
class Order:
    amazon_order_id: str
    status: str
    marketplace_id: str
    currency: str
    email: str
    items: list[OrderItem]
    purchased: datetime
    updated: datetime
    shipments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Feed:
    feed_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    created: datetime
    polls: int = 0
    status: str = "IN_QUEUE"
    result_document_id: str = ""
    started: datetime | None = None
    ended: datetime | None = None


@dataclass
class Document:
    document_id: str
    content_type: str
    content: bytes = b""
    uploaded: bool = False
    compression: str = ""


class AmazonState:
    """One seller on one or more marketplaces (the first is where orders are placed)."""

    def __init__(self, seller_id: str, marketplace_ids: list[str]) -> None:
        self.lock = threading.RLock()
        self.seller_id = seller_id
        self.marketplace_ids = marketplace_ids
        self.reset()

    def reset(self) -> None:
        self.listings: dict[str, Listing] = {}
        # Amazon's catalog by barcode (offers match it).
        self.catalog_items: dict[str, CatalogItem] = {}
        # Orders the seller cancelled (order acknowledgement feed), for the control API.
        self.cancellations: list[dict[str, Any]] = []
        self.orders: dict[str, Order] = {}
        self.feeds: dict[str, Feed] = {}
        self.documents: dict[str, Document] = {}
        # LWA: authorization codes (single use), refresh tokens, access tokens → expiry.
        self.codes: dict[str, str] = {}
        self.refresh_tokens: set[str] = set()
        self.access_tokens: dict[str, datetime] = {}
        self.price_writes: Counter[str] = Counter()
        self.put_writes: Counter[str] = Counter()
        self.deleted: list[str] = []
        self._sequence = 0

    @property
    def marketplace_id(self) -> str:
        return self.marketplace_ids[0]

    @property
    def currency(self) -> str:
        return MARKETPLACES.get(self.marketplace_id, ("US", "USD", ""))[1]

    def next_number(self) -> int:
        self._sequence += 1
        return self._sequence

    # -- listings ------------------------------------------------------------------------------

    def add_listing(self, sku: str, title: str, quantity: int, price: Any) -> Listing:
        if sku in self.listings:
            raise ValueError(f"sku already exists: {sku}")
        asin = f"B0{self.next_number():08d}"
        listing = Listing(sku, asin, title, int(quantity), decimal_price(price or "0"))
        self.listings[sku] = listing
        return listing

    def children(self, parent_sku: str) -> list[Listing]:
        return sorted((x for x in self.listings.values() if x.parent_sku == parent_sku), key=lambda x: x.sku)

    def listing_json(self, listing: Listing, included: set[str]) -> dict[str, Any]:
        """An `Item` of listingsItems_2021-08-01 with the requested `includedData` sections (a
        variation parent has no offer and no quantity: it is not buyable)."""
        body: dict[str, Any] = {"sku": listing.sku}
        buyable = not listing.is_parent
        if "summaries" in included:
            status = ["BUYABLE", "DISCOVERABLE"] if buyable and listing.quantity > 0 else ["DISCOVERABLE"]
            summary = {
                "marketplaceId": self.marketplace_id,
                "asin": listing.asin,
                "productType": listing.product_type,
                "conditionType": "new_new",
                "status": status,
                "itemName": listing.title,
                "createdDate": iso_z(listing.created),
                "lastUpdatedDate": iso_z(listing.updated),
            }
            if listing.images:
                summary["mainImage"] = {"link": listing.images[0], "height": 500, "width": 500}
            body["summaries"] = [summary]
        if "offers" in included and buyable:
            body["offers"] = [
                {
                    "marketplaceId": self.marketplace_id,
                    "offerType": "B2C",
                    "price": {"currencyCode": self.currency, "amount": format(listing.price, "f")},
                }
            ]
        if "fulfillmentAvailability" in included and buyable:
            body["fulfillmentAvailability"] = [
                {"fulfillmentChannelCode": "DEFAULT", "quantity": max(0, listing.quantity)}
            ]
        if "issues" in included:
            body["issues"] = []
        if "attributes" in included:
            body["attributes"] = listing_attributes(listing, self.marketplace_id, self.currency)
        if "relationships" in included:
            body["relationships"] = [
                {"marketplaceId": self.marketplace_id, "relationships": self._relationships(listing)}
            ]
        return body

    def _relationships(self, listing: Listing) -> list[dict[str, Any]]:
        if listing.is_parent:
            theme = {"attributes": listing.theme, "theme": "/".join(a.upper() for a in listing.theme)}
            children = [x.sku for x in self.children(listing.sku)]
            return [{"type": "VARIATION", "childSkus": children, "variationTheme": theme}]
        parent = self.listings.get(listing.parent_sku) if listing.parent_sku else None
        if parent is None:
            return []
        theme = {"attributes": parent.theme, "theme": "/".join(a.upper() for a in parent.theme)}
        return [{"type": "VARIATION", "parentSkus": [parent.sku], "variationTheme": theme}]

    # -- patches (patchListingsItem and JSON_LISTINGS_FEED PATCH messages) ---------------------

    def patch_issues(self, sku: str, patches: Any, *, apply: bool) -> list[dict[str, Any]]:
        """Check (and with `apply`, perform) a listing's patches; the issues Amazon would report.

        Supported: `/attributes/fulfillment_availability` (quantity of DEFAULT, the seller's own
        fulfilment), `/attributes/purchasable_offer` (our_price schedule value_with_tax, in the
        marketplace's currency), item_name, brand, product_description and
        main_product_image_locator. Other attributes are accepted with a WARNING and ignored.
        """
        listing = self.listings.get(sku)
        if listing is None:
            return [issue("NOT_FOUND", f"SKU '{sku}' does not exist in the selling partner's catalog.")]
        if not isinstance(patches, list) or not patches:
            return [issue("INVALID_PATCH", "patches must be a non-empty list of patch operations.")]
        issues: list[dict[str, Any]] = []
        changes: list[tuple[str, Any]] = []
        for patch in patches:
            if not isinstance(patch, dict) or patch.get("op") not in ("add", "replace", "merge", "delete"):
                issues.append(issue("INVALID_PATCH", "op must be one of add, replace, merge, delete."))
                continue
            path, value = patch.get("path"), patch.get("value")
            if path == "/attributes/fulfillment_availability":
                quantity = _quantity_of(value)
                if quantity is None:
                    issues.append(
                        issue("90220", "'fulfillment_availability.quantity' must be a whole number >= 0.")
                    )
                else:
                    changes.append(("quantity", quantity))
            elif path == "/attributes/purchasable_offer":
                price, problem = _price_of(value, self.currency)
                if problem:
                    issues.append(issue("99022", problem, attribute="purchasable_offer.our_price"))
                else:
                    changes.append(("price", price))
            elif isinstance(path, str) and path.removeprefix("/attributes/") in FACT_ATTRIBUTES:
                text = first_value({"v": value}, "v")
                if not text:
                    issues.append(issue("90220", f"'{path}' needs a value.", attribute=path[12:]))
                else:
                    changes.append((FACT_ATTRIBUTES[path[12:]], text))
            elif path == "/attributes/main_product_image_locator":
                url = first_value({"v": value}, "v", "media_location")
                if url:
                    changes.append(("image", url))
            else:
                issues.append(
                    issue("SANDBOX", f"'{path}' is accepted but not simulated.", severity="WARNING")
                )
        if apply and not any(i["severity"] == "ERROR" for i in issues):
            for what, value in changes:
                if what == "quantity":
                    listing.quantity = value
                elif what == "price":
                    listing.price = value
                    self.price_writes[sku] += 1
                elif what == "image":
                    listing.images = [value, *listing.images[1:]]
                else:
                    setattr(listing, what, value)
            listing.updated = utcnow()
        return issues

    # -- orders --------------------------------------------------------------------------------

    def new_order_id(self) -> str:
        """Amazon's 3-7-7 order number."""
        n = self.next_number()
        return f"{100 + n % 900:03d}-{secrets.randbelow(10**7):07d}-{n:07d}"

    def order_json(self, order: Order) -> dict[str, Any]:
        total = sum((i.unit_price * i.quantity for i in order.items), Decimal(0))
        shipped = sum(i.shipped for i in order.items)
        body: dict[str, Any] = {
            "AmazonOrderId": order.amazon_order_id,
            "PurchaseDate": iso_z(order.purchased),
            "LastUpdateDate": iso_z(order.updated),
            "OrderStatus": order.status,
            "FulfillmentChannel": "MFN",
            "SalesChannel": MARKETPLACES.get(order.marketplace_id, ("", "", "Amazon.com"))[2],
            "ShipServiceLevel": "Std US D2D Dom",
            "OrderTotal": {"CurrencyCode": order.currency, "Amount": format(total, ".2f")},
            "NumberOfItemsShipped": shipped,
            "NumberOfItemsUnshipped": sum(i.quantity for i in order.items) - shipped,
            "PaymentMethod": "Other",
            "MarketplaceId": order.marketplace_id,
            "OrderType": "StandardOrder",
            "IsPrime": False,
            "IsBusinessOrder": False,
            # Without a Restricted Data Token Amazon gives only these parts of the address.
            "ShippingAddress": {
                "City": "SEATTLE",
                "StateOrRegion": "WA",
                "PostalCode": "98109-5210",
                "CountryCode": "US",
            },
        }
        if order.email:
            body["BuyerInfo"] = {"BuyerEmail": order.email}
        return body

    def order_item_json(self, order: Order, item: OrderItem) -> dict[str, Any]:
        line_total = item.unit_price * item.quantity
        return {
            "ASIN": item.asin,
            "SellerSKU": item.sku,
            "OrderItemId": item.order_item_id,
            "Title": item.title,
            "QuantityOrdered": item.quantity,
            "QuantityShipped": item.shipped,
            # ItemPrice is the line's total (unit price x quantity), as the model describes it.
            "ItemPrice": {"CurrencyCode": order.currency, "Amount": format(line_total, ".2f")},
            "ItemTax": {"CurrencyCode": order.currency, "Amount": "0.00"},
            "PromotionDiscount": {"CurrencyCode": order.currency, "Amount": "0.00"},
        }


def _text(value: str, marketplace_id: str) -> list[dict[str, Any]]:
    return [{"value": value, "language_tag": "en_US", "marketplace_id": marketplace_id}]


def listing_attributes(listing: Listing, marketplace_id: str, currency: str) -> dict[str, Any]:
    """The listing's attributes as the Listings Items API returns them (names as OmniStock's
    connector writes them; a parent has only product facts)."""
    attrs: dict[str, Any] = {"item_name": _text(listing.title, marketplace_id)}
    if listing.brand:
        attrs["brand"] = _text(listing.brand, marketplace_id)
    if listing.description:
        attrs["product_description"] = _text(listing.description, marketplace_id)
    for n, url in enumerate(listing.images):
        name = "main_product_image_locator" if n == 0 else f"other_product_image_locator_{n}"
        attrs[name] = [{"media_location": url, "marketplace_id": marketplace_id}]
    for name, value in listing.options.items():
        attrs[name] = _text(value, marketplace_id)
    if listing.barcode:
        kind = {12: "upc", 14: "gtin"}.get(len(listing.barcode), "ean")
        attrs["externally_assigned_product_identifier"] = [
            {"type": kind, "value": listing.barcode, "marketplace_id": marketplace_id}
        ]
    if listing.is_parent:
        return attrs
    attrs["condition_type"] = [{"value": "new_new", "marketplace_id": marketplace_id}]
    attrs["fulfillment_availability"] = [
        {"fulfillment_channel_code": "DEFAULT", "quantity": max(0, listing.quantity)}
    ]
    attrs["purchasable_offer"] = [
        {
            "marketplace_id": marketplace_id,
            "currency": currency,
            "audience": "ALL",
            "our_price": [{"schedule": [{"value_with_tax": float(listing.price)}]}],
        }
    ]
    return attrs


def first_value(attributes: Any, name: str, key: str = "value") -> str:
    """attributes[name][0][key] as text ("" when absent)."""
    values = attributes.get(name) if isinstance(attributes, dict) else None
    if isinstance(values, list) and values and isinstance(values[0], dict):
        return str(values[0].get(key) or "")
    return ""


# Product-fact attributes a patch may replace: attribute → Listing field.
FACT_ATTRIBUTES = {"item_name": "title", "brand": "brand", "product_description": "description"}


def issue(
    code: str, message: str, *, severity: str = "ERROR", attribute: str | None = None
) -> dict[str, Any]:
    """An `Issue` of listingsItems_2021-08-01 (code, message, severity, categories)."""
    body: dict[str, Any] = {"code": code, "message": message, "severity": severity, "categories": []}
    if attribute:
        body["attributeNames"] = [attribute]
    return body


def _quantity_of(value: Any) -> int | None:
    if not isinstance(value, list) or not value or not isinstance(value[0], dict):
        return None
    quantity = value[0].get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        return None
    return quantity


def _price_of(value: Any, currency: str) -> tuple[Decimal, str]:
    """our_price's first schedule value, in `currency`; (price, "") or (0, why not)."""
    try:
        offer = value[0]
        amount = offer["our_price"][0]["schedule"][0]["value_with_tax"]
    except (TypeError, KeyError, IndexError):
        return Decimal(0), "purchasable_offer needs our_price[0].schedule[0].value_with_tax."
    if offer.get("currency") and offer["currency"] != currency:
        return Decimal(0), f"The currency '{offer['currency']}' is not the marketplace's ({currency})."
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        return Decimal(0), "value_with_tax must be a number."
    try:
        return decimal_price(amount), ""
    except ValueError:
        return Decimal(0), "value_with_tax must be a non-negative number."
