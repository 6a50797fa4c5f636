"""In-memory shop: catalogue, inventory levels, orders (order_book.py), OAuth grants, subscriptions.

All mutation goes through `ShopState` methods called with `state.lock` held by the caller (the
Flask layer), so one GraphQL request or control call is atomic, like a Shopify mutation. Methods
that change what a webhook subscriber would hear about return `Event`s; the app turns them into
signed deliveries after releasing the lock. The records themselves are in models.py.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

from channel_sandboxes.common import utcnow
from channel_sandboxes.shopify.models import (
    AccessToken,
    Event,
    Fulfillment,
    FulfillmentOrder,
    InventoryItem,
    Job,
    Level,
    Location,
    OAuthError,
    Order,
    Product,
    RefreshToken,
    Subscription,
    Variant,
    gid,
    money,
)
from channel_sandboxes.shopify.order_book import OrderBook


class ShopState(OrderBook):
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
        # SKU -> price writes through the Admin API (each transition pushed once, tests count).
        self.price_writes: Counter[str] = Counter()
        self.locations: dict[int, Location] = {}
        self.products: dict[int, Product] = {}
        self.variants: dict[int, Variant] = {}
        self.items: dict[int, InventoryItem] = {}
        self.orders: dict[int, Order] = {}
        self.fulfillment_orders: dict[int, FulfillmentOrder] = {}
        self.fulfillments: dict[int, Fulfillment] = {}
        self.jobs: dict[int, Job] = {}
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

    def add_catalog_product(self, spec: dict[str, Any]) -> Product:
        """A product with its variants as a merchant builds it in the admin (`/_sandbox/catalog`):
        title, description, vendor, tags, images and variants {sku?, barcode?, options, price,
        weight_grams?, quantity}; variants may have no SKU, as on Shopify."""
        title = str(spec.get("title") or "Untitled")
        product_id = self.new_id()
        product = Product(
            product_id,
            title,
            _handle(title, str(product_id)),
            status=str(spec.get("status") or "ACTIVE").upper(),
            description=str(spec.get("description") or ""),
            vendor=str(spec.get("vendor") or ""),
            tags=[str(t) for t in spec.get("tags") or []],
            image_urls=[str(u) for u in spec.get("images") or []],
        )
        for raw in spec.get("variants") or [{}]:
            options = [(str(k), str(v)) for k, v in (raw.get("options") or {}).items()]
            item_id = self.new_id()
            variant = Variant(
                self.new_id(),
                product.id,
                str(raw.get("sku") or ""),
                " / ".join(v for _, v in options) or "Default Title",
                money(raw.get("price", "0.00")),
                item_id,
                barcode=raw.get("barcode"),
                options=options or [("Title", "Default Title")],
                weight_grams=raw.get("weight_grams"),
            )
            item = InventoryItem(item_id, variant.id, variant.sku)
            item.levels[self.primary_location_id] = Level(available=int(raw.get("quantity", 0)))
            product.variant_ids.append(variant.id)
            self.variants[variant.id] = variant
            self.items[item.id] = item
        self.products[product.id] = product
        return product

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
