"""The Meta sandbox's data: one business with its catalog(s), a Page with a commerce account and
an Instagram business account, catalog items, items_batch handles, commerce orders and tokens.

Pure state under one lock (the Flask routes in graph.py/control.py hold it); ids are Graph-style
decimal strings. Nothing here speaks HTTP.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

USER_ID = "600000000000001"
BUSINESS_ID = "200000000000001"
CATALOG_ID = "300000000000001"
PAGE_ID = "400000000000001"
CMS_ID = "500000000000001"
INSTAGRAM_ID = "178414000000001"

SHORT_TOKEN_SECONDS = 2 * 3600
LONG_TOKEN_SECONDS = 60 * 24 * 3600
AVAILABILITY = ("in stock", "out of stock", "preorder", "available for order", "discontinued")
# ProductItem.Visibility (SDK adobjects/productitem.py: published, staging) and "hidden", the word
# Meta's WooCommerce plugin sends; staging/hidden items stay in the catalog, off the shops.
VISIBILITY = ("published", "staging", "hidden")
CONDITIONS = ("new", "refurbished", "used", "used_like_new", "used_good", "used_fair", "cpo", "open_box_new")
# What a CREATE must carry ("When the method is CREATE, this object must contain all the required
# fields", https://developers.facebook.com/docs/marketing-api/using-products-batch-api): the
# catalog's required fields, plus brand or gtin (or mpn). An upserting UPDATE stays as lenient as
# before (CHANNELS.md 3.1: UPDATE creates missing items).
REQUIRED_FIELDS = ("title", "description", "availability", "condition", "price", "link", "image_link")
TEXT_FIELDS = (
    "description",
    "link",
    "image_link",
    "additional_image_link",
    "brand",
    "gtin",
    "condition",
    "visibility",
    "color",
    "size",
    "additional_variant_attribute",
)
PRICE_RE = re.compile(r"^(\d+(?:\.\d{1,2})?) ([A-Z]{3})$")


class GraphFault(Exception):
    """A Graph error answer: the envelope's code/subcode/type and the HTTP status."""

    def __init__(
        self, message: str, code: int = 100, *, subcode: int = 0, status: int = 400, kind: str = ""
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.subcode, self.status = message, code, subcode, status
        self.kind = kind or ("OAuthException" if code in (1, 100, 102, 104, 190) else "GraphMethodException")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "fbtrace_id": "A" + secrets.token_hex(10),
        }
        if self.subcode:
            error["error_subcode"] = self.subcode
        return {"error": error}


@dataclass
class Item:
    id: str
    retailer_id: str
    name: str
    inventory: int
    price: str  # "9.99"
    currency: str
    sale_price: str = ""
    availability: str = "in stock"
    price_writes: int = 0
    product_group: str = ""
    # The catalog fields publishing writes (feed names as items_batch takes them).
    description: str = ""
    link: str = ""
    image_link: str = ""
    additional_image_link: str = ""
    brand: str = ""
    gtin: str = ""
    condition: str = "new"
    visibility: str = "published"
    color: str = ""
    size: str = ""
    additional_variant_attribute: str = ""


@dataclass
class Batch:
    handle: str
    catalog_id: str
    polls: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


@dataclass
class OrderLine:
    id: str
    retailer_id: str
    name: str
    quantity: int
    price: str
    shipped: int = 0
    cancelled: int = 0


@dataclass
class Order:
    id: str
    state: str
    created: float
    last_updated: float
    email: str
    buyer_name: str
    currency: str
    lines: list[OrderLine]
    acknowledged: bool = False
    # Where the buyer checked out: "facebook" or "instagram" (one commerce account serves both).
    channel: str = "facebook"
    merchant_order_reference: str = ""
    shipments: list[dict[str, Any]] = field(default_factory=list)
    cancellations: list[dict[str, Any]] = field(default_factory=list)
    # idempotency_key → the answer first given (a retry gets it again, nothing happens twice).
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def total(self) -> Decimal:
        return sum((Decimal(line.price) * line.quantity for line in self.lines), Decimal(0))


@dataclass
class Token:
    value: str
    kind: str  # "user" | "page"
    expires_at: float  # epoch seconds; 0 = never
    long_lived: bool = False


@dataclass
class Code:
    redirect_uri: str
    scopes: list[str]
    used: bool = False


class MetaState:
    """Everything one sandbox holds; take `lock` around every use."""

    def __init__(self, currency: str) -> None:
        self.lock = threading.RLock()
        self.currency = currency
        self.reset()

    def reset(self) -> None:
        self.ids = itertools.count(10_000_000_000_001)
        self.items: dict[str, Item] = {}  # by retailer_id
        self.extra_catalogs: dict[str, str] = {}  # id → name (catalogs besides CATALOG_ID)
        self.batches: dict[str, Batch] = {}
        self.orders: dict[str, Order] = {}
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, Code] = {}
        self.page_token = "EAAP" + secrets.token_hex(24)
        self.tokens[self.page_token] = Token(self.page_token, "page", 0, True)
        self.long_lifetime = float(LONG_TOKEN_SECONDS)
        self.onsite_checkout = True
        self.instagram_account = True
        self.polls_to_finish = 1
        self.throttle_left = 0
        self.throttle_minutes = 0
        self.throttle_code = 4
        self.webhook_addresses: list[str] = []
        self.order_number = itertools.count(1)

    def new_id(self) -> str:
        return str(next(self.ids))

    # -- tokens ---------------------------------------------------------------------------------

    def issue_code(self, redirect_uri: str, scopes: list[str]) -> str:
        code = "AQ" + secrets.token_urlsafe(24)
        self.codes[code] = Code(redirect_uri, scopes)
        return code

    def issue_user_token(self, *, long_lived: bool) -> Token:
        lifetime = self.long_lifetime if long_lived else SHORT_TOKEN_SECONDS
        token = Token("EAAU" + secrets.token_hex(24), "user", time.time() + lifetime, long_lived)
        self.tokens[token.value] = token
        return token

    def check_token(self, value: str) -> Token:
        """The token, or the Graph error Meta gives for a missing, unknown or expired one."""
        if not value:
            raise GraphFault(
                "An active access token must be used to query information about the current user.", 2500
            )
        token = self.tokens.get(value)
        if token is None:
            raise GraphFault("Invalid OAuth access token - Cannot parse access token", 190, subcode=467)
        if token.expires_at and token.expires_at <= time.time():
            raise GraphFault("Error validating access token: Session has expired.", 190, subcode=463)
        return token

    def expire_all(self) -> None:
        for token in self.tokens.values():
            token.expires_at = 1.0

    # -- catalog --------------------------------------------------------------------------------

    def catalogs(self) -> dict[str, str]:
        return {CATALOG_ID: "Sandbox Shop Catalog", **self.extra_catalogs}

    def add_item(self, retailer_id: str, name: str, quantity: int, price: str, group: str = "") -> Item:
        item = Item(
            self.new_id(),
            retailer_id,
            name or retailer_id,
            max(0, quantity),
            _decimal(price or "0"),
            self.currency,
        )
        item.availability = "in stock" if item.inventory > 0 else "out of stock"
        item.product_group = group
        self.items[retailer_id] = item
        return item

    def apply_request(self, request: Any, allow_upsert: bool) -> str | None:
        """One items_batch request; None when applied, else why it is invalid."""
        if not isinstance(request, dict) or not isinstance(request.get("data"), dict):
            return "each request needs a method and a data object"
        method, data = str(request.get("method") or "").upper(), request["data"]
        retailer_id = str(data.get("id") or "")
        if method not in ("CREATE", "UPDATE", "DELETE"):
            return f"unknown method {method!r}"
        if not retailer_id:
            return "data.id (the retailer id) is required"
        item = self.items.get(retailer_id)
        if method == "DELETE":
            if item is None:
                return "Item not found"
            del self.items[retailer_id]
            return None
        if item is None and method == "UPDATE" and not allow_upsert:
            return f"Item with retailer id {retailer_id} not found in catalog"
        problem = _validate(data) or (_missing(data) if item is None and method == "CREATE" else None)
        if problem:
            return problem
        if item is None:
            item = self.add_item(retailer_id, str(data.get("title") or retailer_id), 0, "0")
        if "title" in data:
            item.name = str(data["title"])
        if "item_group_id" in data:
            item.product_group = str(data["item_group_id"] or "")
        for name in TEXT_FIELDS:
            if name in data:
                setattr(item, name, str(data[name] or ""))
        if "inventory" in data:
            item.inventory = int(data["inventory"])
        if "availability" in data:
            item.availability = str(data["availability"])
        if "price" in data or "sale_price" in data:
            if "price" in data:
                amount, currency = PRICE_RE.match(str(data["price"])).groups()  # type: ignore[union-attr]
                item.price, item.currency = _decimal(amount), currency
            if "sale_price" in data:
                sale = str(data["sale_price"] or "")
                item.sale_price = _decimal(PRICE_RE.match(sale).group(1)) if sale else ""  # type: ignore[union-attr]
            item.price_writes += 1
        return None


def _missing(data: dict[str, Any]) -> str | None:
    """A new item without a required field: refused, naming the fields (wording [M])."""
    missing = [name for name in REQUIRED_FIELDS if not str(data.get(name) or "").strip()]
    if not any(str(data.get(name) or "").strip() for name in ("brand", "gtin", "mpn")):
        missing.append("brand")
    return f"Missing required field(s): {', '.join(missing)}" if missing else None


def _validate(data: dict[str, Any]) -> str | None:
    if "inventory" in data:
        value = data["inventory"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return "inventory must be a non-negative integer"
    if "availability" in data and data["availability"] not in AVAILABILITY:
        return f"availability must be one of {', '.join(AVAILABILITY)}"
    if "visibility" in data and data["visibility"] not in VISIBILITY:
        return f"visibility must be one of {', '.join(VISIBILITY)}"
    if data.get("condition") and data["condition"] not in CONDITIONS:
        return f"condition must be one of {', '.join(CONDITIONS)}"
    for name in ("link", "image_link"):
        if data.get(name) and not str(data[name]).startswith(("http://", "https://")):
            return f"{name} must be an http(s) URL"
    if "price" in data and not PRICE_RE.match(str(data["price"])):
        return 'price must be "<amount> <ISO currency>", e.g. "9.99 USD"'
    sale = data.get("sale_price")
    if sale and not PRICE_RE.match(str(sale)):
        return 'sale_price must be "<amount> <ISO currency>" or empty'
    if sale and "price" in data:
        sale_amount = Decimal(PRICE_RE.match(str(sale)).group(1))  # type: ignore[union-attr]
        if sale_amount > Decimal(PRICE_RE.match(str(data["price"])).group(1)):  # type: ignore[union-attr]
            return "sale_price must not be above price"
    return None


def _decimal(value: str) -> str:
    try:
        return f"{Decimal(str(value)):.2f}"
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {value!r}") from None
