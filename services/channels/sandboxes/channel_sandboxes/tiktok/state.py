"""In-memory TikTok shop: products with SKUs, orders (one line item per unit), OAuth grants.

All mutation goes through `ShopState` methods called with `state.lock` held by the caller (the
Flask layer), so one API request or control call is atomic. Ids are numeric strings, as
TikTok's are. Times are Unix seconds.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

# TikTok's quantity bound on Update Inventory: non-negative and below 99999.
MAX_QUANTITY = 99_998
DEFAULT_WAREHOUSE = "7200000000000000001"
RETURN_WAREHOUSE = "7200000000000000002"
# The shop's one delivery option and its carriers (sandbox stand-ins for TikTok's US ids).
STANDARD_DELIVERY_OPTION = "7208502187360519982"
SHIPPING_PROVIDERS = {
    "7117858858072016686": "USPS",
    "7117859084333745966": "UPS",
    "7129736293356734250": "FedEx",
}
# Statuses whose SKUs take stock and price updates (TikTok's rule for drafts is [M]).
UPDATABLE_STATUSES = frozenset({"ACTIVATE", "DRAFT"})


def png(width: int, height: int) -> bytes:
    """A grey PNG of that size: the sandbox's stand-in for a merchant's product image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, else None."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def attribute_id(*words: str) -> str:
    """A stable numeric id for a sales attribute (name) or its value (name, value)."""
    digest = hashlib.sha256("\x1f".join(w.lower() for w in words).encode()).hexdigest()
    return str(7_000_000_000_000_000_000 + int(digest[:15], 16) % 1_000_000_000_000_000_000)


class OrderError(Exception):
    """A control-API order request the shop cannot take (answered 422)."""


class GrantError(Exception):
    """A token request refused (answered with a non-zero code)."""


def money(value: Any) -> str:
    """A decimal price string with two places; ValueError when not a positive-or-zero number."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"invalid price {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"invalid price {value!r}")
    return f"{amount.quantize(Decimal('0.01'))}"


@dataclass
class Sku:
    id: str
    seller_sku: str
    price: str
    quantity: int
    warehouse_id: str = DEFAULT_WAREHOUSE
    options: dict[str, str] = field(default_factory=dict)
    identifier_code: dict[str, str] | None = None


@dataclass
class Product:
    id: str
    title: str
    description: str = ""
    status: str = "ACTIVATE"
    images: list[str] = field(default_factory=list)
    skus: list[Sku] = field(default_factory=list)
    category_id: str = ""
    brand_id: str = ""
    package_weight: dict[str, str] | None = None
    package_dimensions: dict[str, str] | None = None
    external_product_id: str = ""
    create_time: int = field(default_factory=lambda: int(time.time()))


@dataclass
class Order:
    id: str
    status: str
    create_time: int
    update_time: int
    email: str
    currency: str
    line_items: list[dict[str, Any]]
    shipping_fee: str = "0.00"
    packages: list[dict[str, Any]] = field(default_factory=list)
    cancellation: dict[str, Any] | None = None
    address: dict[str, Any] = field(default_factory=dict)
    delivery_option_id: str = STANDARD_DELIVERY_OPTION


@dataclass
class AccessToken:
    token: str
    expires_at: int
    expired: bool = False


@dataclass
class RefreshToken:
    token: str
    expires_at: int
    used: bool = False


class ShopState:
    """Everything one sandbox shop knows. Not thread-safe by itself: hold `lock` while calling."""

    def __init__(self, shop_id: str, shop_name: str, region: str, currency: str) -> None:
        self.lock = threading.RLock()
        self.shop_id, self.shop_name, self.region, self.currency = shop_id, shop_name, region, currency
        self.shop_cipher = f"GCP_sandbox-{shop_id}"
        self.reset()

    def reset(self) -> None:
        self._next_id = 1_729_384_756_000_000_001
        self.products: dict[str, Product] = {}
        self.orders: dict[str, Order] = {}
        self.price_writes: Counter[str] = Counter()
        self.codes: dict[str, bool] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.webhook_addresses: list[str] = []
        # Other shops the seller's authorization covers (GET /authorization/202309/shops).
        self.extra_shops: list[dict[str, str]] = []
        # Upload Product Image: uri → the URL TikTok serves it at.
        self.uploaded_images: dict[str, str] = {}

    def new_id(self) -> str:
        value = self._next_id
        self._next_id += 1
        return str(value)

    # ------------------------------------------------------------------ catalogue and stock

    def sku_by_seller_sku(self, seller_sku: str) -> tuple[Product, Sku] | None:
        for product in self.products.values():
            for sku in product.skus:
                if seller_sku and sku.seller_sku == seller_sku:
                    return product, sku
        return None

    def add_product(self, title: str, description: str = "", images: list[str] | None = None) -> Product:
        product = Product(self.new_id(), title, description, images=list(images or []))
        self.products[product.id] = product
        return product

    def add_sku(
        self,
        product: Product,
        seller_sku: str,
        price: Any,
        quantity: int,
        options: dict[str, str] | None = None,
    ) -> Sku:
        sku = Sku(self.new_id(), seller_sku, money(price), int(quantity), options=dict(options or {}))
        product.skus.append(sku)
        return sku

    def warehouses(self) -> list[dict[str, Any]]:
        """GET /logistics/202309/warehouses: one default sales warehouse, one return warehouse."""
        return [
            {
                "id": DEFAULT_WAREHOUSE,
                "name": "Sandbox warehouse",
                "effect_status": "ENABLED",
                "type": "SALES_WAREHOUSE",
                "sub_type": "DOMESTIC_WAREHOUSE",
                "is_default": True,
                "address": {"region": self.region, "state": "California", "city": "San Francisco"},
            },
            {
                "id": RETURN_WAREHOUSE,
                "name": "Sandbox returns",
                "effect_status": "ENABLED",
                "type": "RETURN_WAREHOUSE",
                "sub_type": "DOMESTIC_WAREHOUSE",
                "is_default": False,
                "address": {"region": self.region, "state": "California", "city": "San Francisco"},
            },
        ]

    def product_json(self, product: Product, *, brief: bool = False) -> dict[str, Any]:
        """Get Product's answer; `brief` is what Search Products lists (id, title, status, skus)."""
        skus = []
        for s in product.skus:
            sku: dict[str, Any] = {
                "id": s.id,
                "seller_sku": s.seller_sku,
                "price": {"currency": self.currency, "sale_price": s.price, "tax_exclusive_price": s.price},
                "inventory": [{"warehouse_id": s.warehouse_id, "quantity": s.quantity}],
            }
            if not brief:
                sku["sales_attributes"] = [
                    {"id": attribute_id(n), "name": n, "value_id": attribute_id(n, v), "value_name": v}
                    for n, v in s.options.items()
                ]
                if s.identifier_code:
                    sku["identifier_code"] = dict(s.identifier_code)
            skus.append(sku)
        body: dict[str, Any] = {
            "id": product.id,
            "title": product.title,
            "status": product.status,
            "skus": skus,
        }
        if brief:
            body["create_time"] = product.create_time
            return body
        body.update(
            {
                "description": product.description,
                "category_chains": [{"id": product.category_id, "is_leaf": True}]
                if product.category_id
                else [],
                "main_images": [
                    {"uri": f"tos-sandbox/{i}", "urls": [url], "thumb_urls": [url]}
                    for i, url in enumerate(product.images)
                ],
                "create_time": product.create_time,
                "delivery_options": [{"id": STANDARD_DELIVERY_OPTION, "name": "Standard shipping"}],
            }
        )
        if product.brand_id:
            body["brand"] = {"id": product.brand_id, "name": f"Brand {product.brand_id}"}
        if product.package_weight:
            body["package_weight"] = dict(product.package_weight)
        if product.package_dimensions:
            body["package_dimensions"] = dict(product.package_dimensions)
        if product.external_product_id:
            body["external_product_id"] = product.external_product_id
        return body

    def stock_by_sku(self) -> dict[str, int]:
        return {s.seller_sku: s.quantity for p in self.products.values() for s in p.skus if s.seller_sku}

    # ------------------------------------------------------------------ orders

    def place_order(self, lines: list[Any], email: str, allow_oversell: bool, status: str) -> Order:
        """An order with one line item per unit; stock goes down by the units sold."""
        picked: list[tuple[Product, Sku, int, str]] = []
        for line in lines:
            if not isinstance(line, dict) or not line.get("sku"):
                raise OrderError("each line needs a sku")
            quantity = line.get("quantity", 1)
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                raise OrderError("quantity must be a positive integer")
            found = self.sku_by_seller_sku(str(line["sku"]))
            if found is None:
                raise OrderError(f"unknown sku {line['sku']}")
            product, sku = found
            if not allow_oversell and sku.quantity < quantity:
                raise OrderError(f"not enough stock for {sku.seller_sku}: {sku.quantity} left")
            picked.append((product, sku, quantity, money(line.get("price") or sku.price)))
        now = int(time.time())
        items = []
        for product, sku, quantity, price in picked:
            sku.quantity -= quantity
            for _ in range(quantity):
                items.append(
                    {
                        "id": self.new_id(),
                        "sku_id": sku.id,
                        "seller_sku": sku.seller_sku,
                        "product_id": product.id,
                        "product_name": product.title,
                        "sku_name": ", ".join(sku.options.values()),
                        "sale_price": price,
                        "original_price": price,
                        "currency": self.currency,
                        "display_status": status,
                        "package_id": "",
                    }
                )
        order = Order(self.new_id(), status, now, now, email, self.currency, items)
        order.address = {
            "name": "Sandbox Buyer",
            "phone_number": "(+1)5550100",
            "address_line1": "1 Sandbox Way",
            "address_line2": "",
            "postal_code": "94016",
            "region_code": self.region,
            "district_info": [
                {"address_level_name": "State", "address_name": "California"},
                {"address_level_name": "City", "address_name": "San Francisco"},
            ],
        }
        self.orders[order.id] = order
        return order

    def order_json(self, order: Order) -> dict[str, Any]:
        """The order as GET /order/202309/orders answers it."""
        subtotal = sum((Decimal(i["sale_price"]) for i in order.line_items), Decimal("0"))
        total = subtotal + Decimal(order.shipping_fee)
        body: dict[str, Any] = {
            "id": order.id,
            "status": order.status,
            "create_time": order.create_time,
            "update_time": order.update_time,
            "buyer_email": order.email,
            "payment": {
                "currency": order.currency,
                "sub_total": f"{subtotal:.2f}",
                "shipping_fee": order.shipping_fee,
                "tax": "0.00",
                "total_amount": f"{total:.2f}",
            },
            "recipient_address": dict(order.address),
            "line_items": [dict(i) for i in order.line_items],
            "packages": [{"id": p["id"], "tracking_number": p["tracking_number"]} for p in order.packages],
        }
        if order.delivery_option_id:
            body["delivery_option_id"] = order.delivery_option_id
            body["delivery_option_name"] = "Standard shipping"
        if order.status != "UNPAID":
            body["paid_time"] = order.create_time
        if order.packages:
            body["tracking_number"] = order.packages[-1]["tracking_number"]
        if order.cancellation:
            body["cancel_reason"] = order.cancellation["reason"]
        return body

    def ship(
        self, order: Order, line_ids: list[str], tracking_number: str, provider_id: str, carrier: str
    ) -> dict[str, Any]:
        if order.status not in ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"):
            raise OrderError(f"order status {order.status} cannot be shipped")
        by_id = {i["id"]: i for i in order.line_items}
        for line_id in line_ids:
            item = by_id.get(line_id)
            if item is None:
                raise OrderError(f"line item {line_id} is not in order {order.id}")
            if item["package_id"]:
                raise OrderError(f"line item {line_id} is already shipped")
        package = {
            "id": self.new_id(),
            "tracking_number": tracking_number,
            "shipping_provider_id": provider_id,
            "carrier": carrier,
            "line_item_ids": list(line_ids),
        }
        for line_id in line_ids:
            by_id[line_id]["package_id"] = package["id"]
            by_id[line_id]["display_status"] = "AWAITING_COLLECTION"
        order.packages.append(package)
        done = all(i["package_id"] for i in order.line_items)
        order.status = "AWAITING_COLLECTION" if done else "PARTIALLY_SHIPPING"
        for item in order.line_items:
            if not item["package_id"]:
                item["display_status"] = order.status
        order.update_time = int(time.time())
        return package

    def cancel(self, order: Order, reason: str) -> dict[str, Any]:
        if order.status not in ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT"):
            raise OrderError(f"order status {order.status} cannot be cancelled")
        order.status = "CANCELLED"
        for item in order.line_items:
            item["display_status"] = "CANCELLED"
        order.cancellation = {"cancel_id": self.new_id(), "reason": reason, "at": int(time.time())}
        order.update_time = int(time.time())
        return order.cancellation

    # ------------------------------------------------------------------ OAuth

    def issue_code(self) -> str:
        code = "code_" + secrets.token_urlsafe(16)
        self.codes[code] = False
        return code

    def redeem_code(self, code: str) -> None:
        if self.codes.get(code) is not False:
            raise GrantError("invalid or used authorization code")
        self.codes[code] = True

    def use_refresh_token(self, token: str) -> None:
        grant = self.refresh_tokens.get(token)
        if grant is None or grant.used or grant.expires_at < time.time():
            raise GrantError("invalid, used or expired refresh token")
        grant.used = True  # rotation: the next refresh needs the new token

    def issue_tokens(self, access_ttl: int, refresh_ttl: int) -> dict[str, Any]:
        now = int(time.time())
        access = AccessToken("TTP_" + secrets.token_urlsafe(24), now + access_ttl)
        refresh = RefreshToken("TTP_r_" + secrets.token_urlsafe(24), now + refresh_ttl)
        self.access_tokens[access.token] = access
        self.refresh_tokens[refresh.token] = refresh
        # TikTok answers absolute Unix times in *_expire_in (CHANNELS.md 4.2).
        return {
            "access_token": access.token,
            "access_token_expire_in": access.expires_at,
            "refresh_token": refresh.token,
            "refresh_token_expire_in": refresh.expires_at,
            "open_id": "sandbox-open-id",
            "seller_name": self.shop_name,
            "seller_base_region": self.region,
            "user_type": 0,
            "granted_scopes": ["seller.product.basic", "seller.order.info", "seller.fulfillment.basic"],
        }

    def token_state(self, token: str) -> str:
        """ "ok", "missing" (unknown) or "expired"."""
        grant = self.access_tokens.get(token)
        if grant is None:
            return "missing"
        if grant.expired or grant.expires_at < time.time():
            return "expired"
        return "ok"

    def expire_tokens(self) -> int:
        live = [t for t in self.access_tokens.values() if not t.expired]
        for grant in live:
            grant.expired = True
        return len(live)

    def shops(self) -> list[dict[str, str]]:
        own = {
            "id": self.shop_id,
            "name": self.shop_name,
            "region": self.region,
            "seller_type": "LOCAL",
            "cipher": self.shop_cipher,
            "code": f"{self.region}LCSANDBOX",
        }
        return [own, *self.extra_shops]
