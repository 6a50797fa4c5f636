"""In-memory shop: catalogue, inventory levels, orders, fulfillment orders, OAuth grants, subscriptions.

All mutation goes through `ShopState` methods called with `state.lock` held by the caller (the
Flask layer), so one GraphQL request or control call is atomic, like a Shopify mutation. Methods
that change what a webhook subscriber would hear about return `Event`s; the app turns them into
signed deliveries after releasing the lock. The records themselves are in models.py.
"""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta
from typing import Any

from channel_sandboxes.common import utcnow
from channel_sandboxes.shopify.models import (
    AccessToken,
    Event,
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    InventoryItem,
    Level,
    LineItem,
    Location,
    OAuthError,
    Order,
    OrderError,
    Product,
    RefreshToken,
    Subscription,
    Variant,
    gid,
    money,
)


class ShopState:
    """Everything one sandbox shop knows. Not thread-safe by itself: hold `lock` while calling."""

    def __init__(self, shop_domain: str, currency: str = "USD") -> None:
        self.lock = threading.RLock()
        self.shop_domain = shop_domain
        self.currency = currency
        self.reset()

    def reset(self) -> None:
        # One id sequence for every kind of object, so an id of the wrong type never matches by luck.
        self._next_id = 1_000_000_001
        self._next_order_number = 1001
        self.locations: dict[int, Location] = {}
        self.products: dict[int, Product] = {}
        self.variants: dict[int, Variant] = {}
        self.items: dict[int, InventoryItem] = {}
        self.orders: dict[int, Order] = {}
        self.fulfillment_orders: dict[int, FulfillmentOrder] = {}
        self.fulfillments: dict[int, Fulfillment] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.subscriptions: dict[int, Subscription] = {}
        primary = self.new_id()
        self.locations[primary] = Location(primary, "Shop location")
        self.primary_location_id = primary

    def new_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    # ------------------------------------------------------------------ catalogue and inventory

    def variant_by_sku(self, sku: str) -> Variant | None:
        for variant in self.variants.values():
            if variant.sku == sku:
                return variant
        return None

    def add_product(
        self, sku: str, title: str, quantity: int, price: Any
    ) -> tuple[Product, Variant, InventoryItem]:
        """One product with one variant stocked at the primary location (the common simple case)."""
        product = Product(self.new_id(), title, _handle(title, sku))
        item_id = self.new_id()
        variant = Variant(self.new_id(), product.id, sku, "Default Title", money(price), item_id)
        item = InventoryItem(item_id, variant.id, sku)
        item.levels[self.primary_location_id] = Level(available=quantity)
        product.variant_ids.append(variant.id)
        self.products[product.id] = product
        self.variants[variant.id] = variant
        self.items[item.id] = item
        return product, variant, item

    def available_by_sku(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for variant in self.variants.values():
            item = self.items[variant.inventory_item_id]
            out[variant.sku] = sum(level.available for level in item.levels.values())
        return out

    def set_available(self, item: InventoryItem, location_id: int, quantity: int) -> Event | None:
        """Set `available` at a location; returns the inventory_levels/update event if it changed."""
        level = item.levels[location_id]
        if level.available == quantity:
            return None
        level.available = quantity
        level.updated_at = utcnow()
        item.updated_at = level.updated_at
        return self.inventory_level_event(item, location_id)

    def inventory_level_event(self, item: InventoryItem, location_id: int) -> Event:
        level = item.levels[location_id]
        return Event(
            "inventory_levels/update",
            {
                "inventory_item_id": item.id,
                "location_id": location_id,
                "available": level.available,
                "updated_at": level.updated_at.isoformat(),
                "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item.id}",
            },
        )

    def product_event(self, product: Product) -> Event:
        return Event("products/update", self.product_rest(product))

    def product_rest(self, product: Product) -> dict[str, Any]:
        variants = []
        for vid in product.variant_ids:
            variant = self.variants[vid]
            item = self.items[variant.inventory_item_id]
            variants.append(
                {
                    "id": variant.id,
                    "product_id": product.id,
                    "title": variant.title,
                    "sku": variant.sku,
                    "price": variant.price,
                    "compare_at_price": variant.compare_at_price,
                    "inventory_item_id": item.id,
                    "inventory_quantity": sum(lv.available for lv in item.levels.values()),
                    "admin_graphql_api_id": gid("ProductVariant", variant.id),
                    "updated_at": variant.updated_at.isoformat(),
                }
            )
        return {
            "id": product.id,
            "title": product.title,
            "handle": product.handle,
            "status": product.status.lower(),
            "created_at": product.created_at.isoformat(),
            "updated_at": product.updated_at.isoformat(),
            "admin_graphql_api_id": gid("Product", product.id),
            "variants": variants,
        }

    # ------------------------------------------------------------------ orders and fulfillment

    def place_order(
        self,
        lines: list[dict[str, Any]],
        email: str | None,
        financial_status: str = "paid",
        allow_oversell: bool = False,
    ) -> tuple[Order, list[Event]]:
        """Create an order like a checkout: stock moves from available to committed at once."""
        resolved: list[tuple[Variant, int, str]] = []
        for line in lines:
            variant = self.variant_by_sku(str(line.get("sku", "")))
            quantity = line.get("quantity", 1)
            if variant is None:
                raise OrderError(f"unknown sku {line.get('sku')!r}")
            if not isinstance(quantity, int) or quantity <= 0:
                raise OrderError("quantity must be a positive integer")
            price = money(line["price"]) if "price" in line else variant.price
            resolved.append((variant, quantity, price))
        location_id = self.primary_location_id
        for variant, _quantity, _price in resolved:
            item = self.items[variant.inventory_item_id]
            level = item.levels.get(location_id)
            have = level.available if level else 0
            needed = sum(q for v, q, _ in resolved if v.id == variant.id)
            if item.tracked and variant.inventory_policy == "DENY" and needed > have and not allow_oversell:
                raise OrderError(
                    f"not enough stock for {variant.sku!r}: {have} available, {needed} requested"
                )
        now = utcnow()
        order = Order(self.new_id(), self._next_order_number, email, self.currency, [], financial_status)
        order.created_at = order.updated_at = now
        self._next_order_number += 1
        events: list[Event] = []
        for variant, quantity, price in resolved:
            product = self.products[variant.product_id]
            order.line_items.append(
                LineItem(self.new_id(), variant.id, product.id, variant.sku, product.title, quantity, price)
            )
            item = self.items[variant.inventory_item_id]
            if item.tracked:
                level = item.levels.setdefault(location_id, Level(available=0))
                level.available -= quantity
                level.committed += quantity
                level.updated_at = now
                events.append(self.inventory_level_event(item, location_id))
        fo = FulfillmentOrder(
            self.new_id(),
            order.id,
            location_id,
            [
                FulfillmentOrderLineItem(self.new_id(), li.id, li.quantity, li.quantity)
                for li in order.line_items
            ],
        )
        self.fulfillment_orders[fo.id] = fo
        order.fulfillment_order_ids.append(fo.id)
        order.shipping_address = {
            "first_name": "Sandbox",
            "last_name": "Buyer",
            "name": "Sandbox Buyer",
            "address1": "1 Demo Street",
            "city": "Ottawa",
            "province": "Ontario",
            "province_code": "ON",
            "country": "Canada",
            "country_code": "CA",
            "zip": "K1A 0B1",
            "phone": None,
        }
        self.orders[order.id] = order
        payload = self.order_rest(order)
        order_events = [Event("orders/create", payload)]
        if financial_status == "paid":
            order_events.append(Event("orders/paid", payload))
        return order, order_events + events

    def fulfill(
        self,
        requests: list[tuple[FulfillmentOrder, list[tuple[FulfillmentOrderLineItem, int]]]],
        tracking: dict[str, Any] | None,
        notify_customer: bool,
    ) -> tuple[Fulfillment, list[Event]]:
        """Ship the requested quantities: remaining and committed drop; statuses follow."""
        now = utcnow()
        order = self.orders[requests[0][0].order_id]
        lines: list[tuple[int, int]] = []
        events: list[Event] = []
        for fo, items in requests:
            for fo_line, quantity in items:
                fo_line.remaining -= quantity
                line = next(li for li in order.line_items if li.id == fo_line.line_item_id)
                line.fulfilled += quantity
                lines.append((line.id, quantity))
                variant = self.variants.get(line.variant_id)
                item = self.items.get(variant.inventory_item_id) if variant else None
                if item and item.tracked and fo.location_id in item.levels:
                    level = item.levels[fo.location_id]
                    level.committed = max(0, level.committed - quantity)
                    level.updated_at = now
            fo.status = "CLOSED" if all(li.remaining == 0 for li in fo.line_items) else "IN_PROGRESS"
            fo.updated_at = now
        info = {
            "company": (tracking or {}).get("company"),
            "number": (tracking or {}).get("number"),
            "url": (tracking or {}).get("url"),
        }
        tracking_list = [info] if any(info.values()) else []
        fulfillment = Fulfillment(
            self.new_id(), order.id, requests[0][0].location_id, tracking_list, lines, notify_customer
        )
        fulfillment.created_at = now
        self.fulfillments[fulfillment.id] = fulfillment
        order.fulfillment_ids.append(fulfillment.id)
        order.updated_at = now
        payload = self.order_rest(order)
        events.append(Event("fulfillments/create", self.fulfillment_rest(fulfillment)))
        events.append(Event("orders/updated", payload))
        if order.fulfillment_status == "fulfilled":
            events.append(Event("orders/fulfilled", payload))
        elif order.fulfillment_status == "partial":
            events.append(Event("orders/partially_fulfilled", payload))
        return fulfillment, events

    def fulfillment_rest(self, fulfillment: Fulfillment) -> dict[str, Any]:
        first = fulfillment.tracking[0] if fulfillment.tracking else {}
        return {
            "id": fulfillment.id,
            "order_id": fulfillment.order_id,
            "status": fulfillment.status.lower(),
            "created_at": fulfillment.created_at.isoformat(),
            "location_id": fulfillment.location_id,
            "tracking_company": first.get("company"),
            "tracking_number": first.get("number"),
            "tracking_url": first.get("url"),
            "admin_graphql_api_id": gid("Fulfillment", fulfillment.id),
            "line_items": [{"id": line_id, "quantity": qty} for line_id, qty in fulfillment.lines],
        }

    def order_rest(self, order: Order) -> dict[str, Any]:
        """The REST order representation Shopify sends in orders/* webhooks (fields of CHANNELS 1.7)."""
        subtotal = money(order.subtotal)
        return {
            "id": order.id,
            "admin_graphql_api_id": gid("Order", order.id),
            "name": order.name,
            "order_number": order.number,
            "number": order.number - 1000,
            "email": order.email,
            "created_at": order.created_at.isoformat(),
            "updated_at": order.updated_at.isoformat(),
            "processed_at": order.created_at.isoformat(),
            "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
            "currency": order.currency,
            "total_price": subtotal,
            "subtotal_price": subtotal,
            "total_tax": "0.00",
            "financial_status": order.financial_status,
            "fulfillment_status": order.fulfillment_status,
            "line_items": [
                {
                    "id": li.id,
                    "admin_graphql_api_id": gid("LineItem", li.id),
                    "variant_id": li.variant_id,
                    "product_id": li.product_id,
                    "sku": li.sku,
                    "title": li.title,
                    "name": li.title,
                    "quantity": li.quantity,
                    "price": li.price,
                    "fulfillable_quantity": li.quantity - li.fulfilled,
                    "fulfillment_status": (
                        "fulfilled" if li.fulfilled >= li.quantity else ("partial" if li.fulfilled else None)
                    ),
                }
                for li in order.line_items
            ],
            "shipping_address": order.shipping_address,
        }

    # ------------------------------------------------------------------ OAuth

    def issue_code(self, scope: str) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = {"scope": scope, "used": False, "issued_at": utcnow()}
        return code

    def redeem_code(self, code: str) -> str:
        """Single use and short-lived, as Shopify's authorization codes are; returns the granted scope."""
        grant = self.codes.get(code)
        if grant is None or grant["used"] or utcnow() - grant["issued_at"] > timedelta(minutes=10):
            raise OAuthError("invalid_request", "The authorization code was not found or was already used")
        grant["used"] = True
        return str(grant["scope"])

    def issue_tokens(
        self, scope: str, token_ttl: int | None, refresh_ttl: int, parent: str | None
    ) -> dict[str, Any]:
        """Mint an access token, plus a refresh token when the token expires."""
        now = utcnow()
        access = AccessToken(
            "shpat_" + secrets.token_hex(16), scope, now + timedelta(seconds=token_ttl) if token_ttl else None
        )
        self.access_tokens[access.token] = access
        body: dict[str, Any] = {"access_token": access.token, "scope": scope}
        if token_ttl:
            refresh = RefreshToken(
                "shprt_" + secrets.token_hex(16), scope, now + timedelta(seconds=refresh_ttl), parent
            )
            self.refresh_tokens[refresh.token] = refresh
            body.update(
                {
                    "expires_in": token_ttl,
                    "refresh_token": refresh.token,
                    "refresh_token_expires_in": refresh_ttl,
                }
            )
        return body

    def use_refresh_token(self, token: str) -> RefreshToken:
        """Accept a refresh token; using it retires its predecessor (rotation with one grace step)."""
        refresh = self.refresh_tokens.get(token)
        if refresh is None or not refresh.valid or refresh.expires_at <= utcnow():
            raise OAuthError(
                "invalid_grant",
                "The provided authorization grant is invalid, expired, revoked, does not match the "
                "redirection URI used in the authorization request, or was issued to another client.",
            )
        refresh.used = True
        if refresh.parent and refresh.parent in self.refresh_tokens:
            self.refresh_tokens[refresh.parent].valid = False
        return refresh

    def check_token(self, token: str | None) -> AccessToken | None:
        access = self.access_tokens.get(token or "")
        if access is None or access.revoked:
            return None
        if access.expires_at is not None and access.expires_at <= utcnow():
            return None
        return access

    def expire_tokens(self) -> int:
        """Make every issued access token unusable (refresh tokens stay valid), as if an hour passed."""
        for access in self.access_tokens.values():
            access.revoked = True
        return len(self.access_tokens)


def _handle(title: str, sku: str) -> str:
    base = "".join(ch if ch.isalnum() else "-" for ch in (title or sku).lower()).strip("-")
    return "-".join(filter(None, base.split("-"))) or sku.lower()
