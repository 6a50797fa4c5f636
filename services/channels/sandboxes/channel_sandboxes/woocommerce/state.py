"""In-memory WooCommerce store: products, variations, orders, notes, webhooks.

Callers hold `store.lock`. Representations follow the REST API's `wc/v3` schemas (the webhook
payload is the same JSON as a REST GET, as in WooCommerce core). Dates have one-second resolution
and no offset, like WordPress; the sandbox site's timezone is UTC so `date_*` equals `date_*_gmt`.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "trash",
    "checkout-draft",
)
# Statuses in which WooCommerce has reduced stock for an order (wc_maybe_reduce_stock_levels).
STOCK_REDUCING_STATUSES = {"processing", "completed", "on-hold"}
WEBHOOK_TOPICS = {
    f"{resource}.{event}"
    for resource in ("order", "product", "customer", "coupon")
    for event in ("created", "updated", "deleted", "restored")
}


def wp_now() -> datetime:
    """WordPress stores seconds; sub-second precision would make `modified_after` unrealistically exact."""
    return datetime.now(UTC).replace(microsecond=0)


def wp_date(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment else None


def price_string(value: Any) -> str:
    """WooCommerce keeps prices as the strings the merchant typed; normalise numbers to that form."""
    if value in (None, ""):
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"invalid price {value!r}") from exc
    return format(number, "f")


@dataclass
class WooProduct:
    """A product post: simple, variable (parent) or variation (child), sharing one id sequence."""

    id: int
    name: str
    sku: str
    type: str = "simple"
    parent_id: int = 0
    regular_price: str = ""
    sale_price: str = ""
    manage_stock: bool = True
    stock_quantity: int | None = 0
    stock_status: str = "instock"
    backorders: str = "no"
    status: str = "publish"
    variation_ids: list[int] = field(default_factory=list)
    description: str = ""
    tags: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    # Parent: [(name, [options])] (used for variations); variation: [(name, [option])].
    attributes: list[tuple[str, list[str]]] = field(default_factory=list)
    # In the store's weight unit (the sandbox store's is kg), a decimal string or "".
    weight: str = ""
    # GTIN, UPC, EAN or ISBN (WooCommerce 9.2+).
    global_unique_id: str = ""
    date_created: datetime = field(default_factory=wp_now)
    date_modified: datetime = field(default_factory=wp_now)

    def sync_stock_status(self) -> None:
        """Derive stock_status from the quantity when stock is managed (wc_update_product_stock)."""
        if not self.manage_stock or self.stock_quantity is None:
            return
        if self.stock_quantity > 0:
            self.stock_status = "instock"
        elif self.backorders != "no":
            self.stock_status = "onbackorder"
        else:
            self.stock_status = "outofstock"


@dataclass
class WooLineItem:
    id: int
    product_id: int
    variation_id: int
    sku: str
    name: str
    quantity: int
    price: Decimal
    # Totals for the whole line: the coupon discount on it and its tax.
    discount: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)

    @property
    def subtotal(self) -> Decimal:
        """`subtotal` in the REST API: the line before discounts."""
        return self.price * self.quantity

    @property
    def total(self) -> Decimal:
        """`total`: the line after discounts, before tax."""
        return self.subtotal - self.discount


@dataclass
class WooNote:
    id: int
    note: str
    customer_note: bool
    added_by_user: bool
    date_created: datetime = field(default_factory=wp_now)


@dataclass
class WooOrder:
    id: int
    status: str
    currency: str
    email: str | None
    line_items: list[WooLineItem]
    notes: list[WooNote] = field(default_factory=list)
    stock_reduced: bool = False
    date_created: datetime = field(default_factory=wp_now)
    date_modified: datetime = field(default_factory=wp_now)
    date_paid: datetime | None = None
    date_completed: datetime | None = None
    billing: dict[str, str] = field(default_factory=dict)
    shipping: dict[str, str] = field(default_factory=dict)
    shipping_total: Decimal = Decimal(0)
    # Shipment Tracking extension items (meta `_wc_shipment_tracking_items`).
    trackings: list[dict[str, str]] = field(default_factory=list)

    @property
    def discount_total(self) -> Decimal:
        return sum((li.discount for li in self.line_items), Decimal("0"))

    @property
    def total_tax(self) -> Decimal:
        return sum((li.tax for li in self.line_items), Decimal("0"))

    @property
    def total(self) -> Decimal:
        lines = sum((li.total for li in self.line_items), Decimal("0"))
        return lines + self.shipping_total + self.total_tax


@dataclass
class WooWebhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str = "active"
    date_created: datetime = field(default_factory=wp_now)

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1]


class StockError(Exception):
    """A control-API order WooCommerce's checkout would refuse."""


DEFAULT_ADDRESS = {
    "first_name": "Sandbox",
    "last_name": "Buyer",
    "company": "",
    "address_1": "1 Demo Street",
    "address_2": "",
    "city": "Ottawa",
    "state": "ON",
    "postcode": "K1A 0B1",
    "country": "CA",
    "phone": "",
}


def _amount(value: Any, what: str) -> Decimal:
    """A non-negative money amount from a control request (StockError when it is not one)."""
    try:
        amount = Decimal(price_string(value) or "0")
    except ValueError:
        raise StockError(f"{what} must be an amount") from None
    if amount < 0:
        raise StockError(f"{what} must not be negative")
    return amount


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


class WooStore:
    def __init__(self, currency: str = "USD") -> None:
        self.lock = threading.RLock()
        self.currency = currency
        self.reset()

    def reset(self) -> None:
        self._next_id = 100
        self.products: dict[int, WooProduct] = {}
        self.orders: dict[int, WooOrder] = {}
        self.webhooks: dict[int, WooWebhook] = {}
        # SKU -> price writes through the REST API (each transition pushed once, tests count).
        self.price_writes: Counter[str] = Counter()

    def new_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    def by_sku(self, sku: str) -> WooProduct | None:
        for product in self.products.values():
            if product.sku == sku:
                return product
        return None

    def add_simple(self, sku: str, name: str, quantity: int, price: Any) -> WooProduct:
        product = WooProduct(
            self.new_id(), name, sku, regular_price=price_string(price), stock_quantity=quantity
        )
        product.sync_stock_status()
        self.products[product.id] = product
        return product

    def add_variation(self, parent_sku: str, sku: str, name: str, quantity: int, price: Any) -> WooProduct:
        """A variation under a variable parent, creating the parent on first use (stock at variation level)."""
        parent = self.by_sku(parent_sku)
        if parent is None:
            parent = WooProduct(
                self.new_id(),
                parent_sku,
                parent_sku,
                type="variable",
                manage_stock=False,
                stock_quantity=None,
            )
            self.products[parent.id] = parent
        elif parent.type != "variable":
            raise StockError(f"parent {parent_sku!r} is a {parent.type} product, not variable")
        variation = WooProduct(
            self.new_id(),
            name,
            sku,
            type="variation",
            parent_id=parent.id,
            regular_price=price_string(price),
            stock_quantity=quantity,
        )
        variation.sync_stock_status()
        parent.variation_ids.append(variation.id)
        self.products[variation.id] = variation
        return variation

    def stock_by_sku(self) -> dict[str, int]:
        return {
            p.sku: p.stock_quantity or 0
            for p in self.products.values()
            if p.type != "variable" and p.manage_stock and p.sku
        }

    def set_stock(self, product: WooProduct, quantity: int) -> None:
        product.manage_stock = True
        product.stock_quantity = quantity
        product.sync_stock_status()
        product.date_modified = wp_now()

    def create_order(
        self,
        lines: list[dict[str, Any]],
        email: str | None,
        status: str,
        allow_oversell: bool,
        details: dict[str, Any] | None = None,
    ) -> tuple[WooOrder, list[WooProduct]]:
        """An order as checkout creates it; paid statuses reduce stock at once (returns touched
        products). Lines may carry `price`, `discount` and `tax` (line totals); `details` may give
        `billing` and `shipping` (REST-shaped) and `shipping_total`."""
        resolved: list[tuple[WooProduct, int, Decimal, Decimal, Decimal]] = []
        for line in lines:
            product = self.by_sku(str(line.get("sku", "")))
            quantity = line.get("quantity", 1)
            if product is None or product.type == "variable":
                raise StockError(f"unknown sku {line.get('sku')!r}")
            if not isinstance(quantity, int) or quantity <= 0:
                raise StockError("quantity must be a positive integer")
            price = _amount(line.get("price", product.regular_price or "0"), "price")
            discount, tax = _amount(line.get("discount"), "discount"), _amount(line.get("tax"), "tax")
            if discount > price * quantity:
                raise StockError("a line's discount cannot exceed its price")
            resolved.append((product, quantity, price, discount, tax))
        if status in STOCK_REDUCING_STATUSES and not allow_oversell:
            for product, *_ in resolved:
                needed = sum(q for p, q, *_ in resolved if p.id == product.id)
                if (
                    product.manage_stock
                    and product.backorders == "no"
                    and needed > (product.stock_quantity or 0)
                ):
                    raise StockError(
                        f"not enough stock for {product.sku!r}: {product.stock_quantity} available, {needed} requested"
                    )
        extra = details or {}
        order = WooOrder(self.new_id(), status, self.currency, email, [])
        order.billing = {**DEFAULT_ADDRESS, "email": email or "", **_strings(extra.get("billing"))}
        order.shipping = {**DEFAULT_ADDRESS, **_strings(extra.get("shipping"))}
        order.shipping_total = _amount(extra.get("shipping_total"), "shipping_total")
        for product, quantity, price, discount, tax in resolved:
            parent = self.products.get(product.parent_id)
            order.line_items.append(
                WooLineItem(
                    self.new_id(),
                    parent.id if parent else product.id,
                    product.id if parent else 0,
                    product.sku,
                    product.name,
                    quantity,
                    price,
                    discount,
                    tax,
                )
            )
        if status in ("processing", "completed"):
            order.date_paid = order.date_created
        self.orders[order.id] = order
        touched = self.reduce_stock(order) if status in STOCK_REDUCING_STATUSES else []
        return order, touched

    def reduce_stock(self, order: WooOrder) -> list[WooProduct]:
        if order.stock_reduced:
            return []
        order.stock_reduced = True
        return self._move_stock(order, -1)

    def restore_stock(self, order: WooOrder) -> list[WooProduct]:
        if not order.stock_reduced:
            return []
        order.stock_reduced = False
        return self._move_stock(order, +1)

    def _move_stock(self, order: WooOrder, sign: int) -> list[WooProduct]:
        touched = []
        for line in order.line_items:
            product = self.products.get(line.variation_id or line.product_id)
            if product is None or not product.manage_stock:
                continue
            self.set_stock(product, (product.stock_quantity or 0) + sign * line.quantity)
            touched.append(product)
        return touched

    # ------------------------------------------------------------------ representations

    def product_json(self, product: WooProduct, base_url: str) -> dict[str, Any]:
        price = product.sale_price or product.regular_price
        data: dict[str, Any] = {
            "id": product.id,
            "name": product.name,
            "slug": product.name.lower().replace(" ", "-"),
            "permalink": f"{base_url}/?p={product.id}",
            "date_created": wp_date(product.date_created),
            "date_created_gmt": wp_date(product.date_created),
            "date_modified": wp_date(product.date_modified),
            "date_modified_gmt": wp_date(product.date_modified),
            "type": product.type,
            "status": product.status,
            "sku": product.sku,
            "price": price,
            "regular_price": product.regular_price,
            "sale_price": product.sale_price,
            "on_sale": bool(product.sale_price),
            "purchasable": bool(price),
            "manage_stock": product.manage_stock,
            "stock_quantity": product.stock_quantity if product.manage_stock else None,
            "stock_status": product.stock_status,
            "backorders": product.backorders,
            "backorders_allowed": product.backorders != "no",
            "backordered": False,
            "parent_id": product.parent_id,
            "attributes": _attributes_json(product),
            "meta_data": [],
            "weight": product.weight,
            "global_unique_id": product.global_unique_id,
        }
        if product.type == "variation":
            data["description"] = product.description
            data["image"] = None
        else:
            data["variations"] = list(product.variation_ids)
            data["description"] = product.description
            data["short_description"] = ""
            data["tags"] = [{"id": i + 1, "name": t, "slug": t.lower()} for i, t in enumerate(product.tags)]
            data["images"] = [
                {"id": product.id * 100 + i, "src": src, "name": "", "alt": ""}
                for i, src in enumerate(product.images)
            ]
        data["_links"] = {"self": [{"href": f"{base_url}/wp-json/wc/v3/products/{product.id}"}]}
        return data

    def order_json(self, order: WooOrder, base_url: str) -> dict[str, Any]:
        """The wc/v3 order resource (https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties)."""
        return {
            "id": order.id,
            "parent_id": 0,
            "number": str(order.id),
            "order_key": f"wc_order_{order.id:08d}",
            "created_via": "checkout",
            "version": "9.9.0",
            "status": order.status,
            "currency": order.currency,
            "date_created": wp_date(order.date_created),
            "date_created_gmt": wp_date(order.date_created),
            "date_modified": wp_date(order.date_modified),
            "date_modified_gmt": wp_date(order.date_modified),
            "date_paid": wp_date(order.date_paid),
            "date_paid_gmt": wp_date(order.date_paid),
            "date_completed": wp_date(order.date_completed),
            "date_completed_gmt": wp_date(order.date_completed),
            "discount_total": _money(order.discount_total),
            "discount_tax": "0.00",
            "shipping_total": _money(order.shipping_total),
            "shipping_tax": "0.00",
            "cart_tax": _money(order.total_tax),
            "total": _money(order.total),
            "total_tax": _money(order.total_tax),
            "prices_include_tax": False,
            "customer_id": 0,
            "customer_note": "",
            "billing": dict(order.billing),
            "shipping": dict(order.shipping),
            "payment_method": "bacs",
            "payment_method_title": "Direct bank transfer",
            "line_items": [
                {
                    "id": li.id,
                    "name": li.name,
                    "product_id": li.product_id,
                    "variation_id": li.variation_id,
                    "quantity": li.quantity,
                    "tax_class": "",
                    "subtotal": _money(li.subtotal),
                    "subtotal_tax": _money(li.tax),
                    "total": _money(li.total),
                    "total_tax": _money(li.tax),
                    "taxes": [{"id": 1, "total": _money(li.tax), "subtotal": _money(li.tax)}]
                    if li.tax
                    else [],
                    "sku": li.sku,
                    # WooCommerce really returns the unit price as a JSON number here.
                    "price": float(li.price),
                    "meta_data": [],
                }
                for li in order.line_items
            ],
            "shipping_lines": [
                {
                    "id": order.id + 1,
                    "method_title": "Flat rate",
                    "method_id": "flat_rate",
                    "total": _money(order.shipping_total),
                }
            ]
            if order.shipping_total
            else [],
            "meta_data": (
                [{"id": order.id + 2, "key": "_wc_shipment_tracking_items", "value": list(order.trackings)}]
                if order.trackings
                else []
            ),
            "_links": {"self": [{"href": f"{base_url}/wp-json/wc/v3/orders/{order.id}"}]},
        }

    @staticmethod
    def note_json(note: WooNote) -> dict[str, Any]:
        return {
            "id": note.id,
            "author": "admin" if note.added_by_user else "system",
            "date_created": wp_date(note.date_created),
            "date_created_gmt": wp_date(note.date_created),
            "note": note.note,
            "customer_note": note.customer_note,
        }

    @staticmethod
    def webhook_json(hook: WooWebhook) -> dict[str, Any]:
        return {
            "id": hook.id,
            "name": hook.name,
            "status": hook.status,
            "topic": hook.topic,
            "resource": hook.resource,
            "event": hook.event,
            "hooks": [],
            "delivery_url": hook.delivery_url,
            "date_created": wp_date(hook.date_created),
            "date_created_gmt": wp_date(hook.date_created),
            "date_modified": wp_date(hook.date_created),
            "date_modified_gmt": wp_date(hook.date_created),
        }


def _attributes_json(product: WooProduct) -> list[dict[str, Any]]:
    """A variation's attributes are {id, name, option}; a parent's {id, name, position, visible,
    variation, options} (https://woocommerce.github.io/woocommerce-rest-api-docs/#product-variation-properties)."""
    if product.type == "variation":
        return [{"id": 0, "name": name, "option": values[0]} for name, values in product.attributes]
    return [
        {"id": 0, "name": name, "position": i, "visible": True, "variation": True, "options": values}
        for i, (name, values) in enumerate(product.attributes)
    ]
