"""One Shopify sandbox instance: its settings, its shop state, and how it signs and sends webhooks."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import request

from channel_sandboxes.common import Delivery, b64_hmac_sha256, iso_z, utcnow
from channel_sandboxes.control import SandboxBase
from channel_sandboxes.demo import DEMO_CATALOGUE
from channel_sandboxes.shopify.cost_bucket import CostBucket
from channel_sandboxes.shopify.models import API_VERSION, Event, gid, money, valid_money
from channel_sandboxes.shopify.state import ShopState

DEFAULT_SCOPES = (
    "read_products,write_products,read_inventory,write_inventory,read_locations,read_orders,"
    "write_orders,read_merchant_managed_fulfillment_orders,write_merchant_managed_fulfillment_orders,"
    "write_fulfillments"
)


@dataclass
class ShopifyConfig:
    """Settings of one sandbox shop. `from_env` reads the same variable names `make run` exports."""

    client_id: str = "sandbox-shopify-client-id"
    client_secret: str = "sandbox-shopify-client-secret"
    shop_domain: str = "omnistock-demo.myshopify.com"
    api_version: str = API_VERSION
    # Expiring offline tokens (mandatory for public apps created since 2026-04-01); 0 = non-expiring.
    token_ttl: int = 3600
    refresh_token_ttl: int = 90 * 24 * 3600
    scopes: str = DEFAULT_SCOPES
    enforce_scopes: bool = True
    # GraphQL cost bucket (CHANNELS.md 1.5: older responses show 1000; Standard restores 100/s).
    bucket_size: float = 1000.0
    restore_rate: float = 100.0
    # Shopify refuses any single query whose requested cost exceeds 1000, whatever the plan.
    max_query_cost: int = 1000
    currency: str = "USD"
    demo: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ShopifyConfig:
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            client_id=env.get("SHOPIFY_CLIENT_ID", base.client_id),
            client_secret=env.get("SHOPIFY_CLIENT_SECRET", base.client_secret),
            shop_domain=env.get("SHOPIFY_SANDBOX_SHOP", base.shop_domain),
            token_ttl=int(env.get("SHOPIFY_SANDBOX_TOKEN_TTL", base.token_ttl)),
            refresh_token_ttl=int(env.get("SHOPIFY_SANDBOX_REFRESH_TOKEN_TTL", base.refresh_token_ttl)),
            bucket_size=float(env.get("SHOPIFY_SANDBOX_BUCKET_SIZE", base.bucket_size)),
            restore_rate=float(env.get("SHOPIFY_SANDBOX_RESTORE_RATE", base.restore_rate)),
            demo=env.get("SHOPIFY_SANDBOX_DEMO", "") in ("1", "true", "yes"),
        )


class ShopifySandbox(SandboxBase):
    """State + machinery of one sandbox instance; the Flask routes are thin wrappers around it."""

    def __init__(self, config: ShopifyConfig) -> None:
        super().__init__("Shopify-Captain-Hook")
        self.config = config
        self.state = ShopState(config.shop_domain, config.currency)
        self.bucket = CostBucket(config.bucket_size, config.restore_rate)
        if config.demo:
            self.seed(DEMO_CATALOGUE)

    def reset_state(self) -> None:
        with self.state.lock:
            self.state.reset()
        cfg = self.config
        self.bucket.configure(cfg.bucket_size, cfg.restore_rate, cfg.bucket_size)

    def describe_config(self) -> dict[str, Any]:
        cfg, base_url = self.config, request.host_url.rstrip("/")
        return {
            "channel": "shopify",
            "client_id": cfg.client_id,
            "shop_domain": cfg.shop_domain,
            "api_version": cfg.api_version,
            "location_id": gid("Location", self.state.primary_location_id),
            "base_url": base_url,
            "graphql_url": f"{base_url}/admin/api/{cfg.api_version}/graphql.json",
            "authorize_url": f"{base_url}/admin/oauth/authorize",
            "token_url": f"{base_url}/admin/oauth/access_token",
            "scopes": cfg.scopes,
            "token_ttl": cfg.token_ttl,
            "throttle": self.bucket.status(),
        }

    def has_sku(self, sku: str) -> bool:
        with self.state.lock:
            return self.state.variant_by_sku(sku) is not None

    def set_stock(self, sku: str, quantity: int) -> list[Delivery] | None:
        with self.state.lock:
            variant = self.state.variant_by_sku(sku)
            if variant is None:
                return None
            item = self.state.items[variant.inventory_item_id]
            event = self.state.set_available(item, self.state.primary_location_id, quantity)
        return self.emit([event] if event else [])

    def stock_by_sku(self) -> dict[str, int]:
        with self.state.lock:
            return self.state.available_by_sku()

    def prices_by_sku(self) -> dict[str, dict[str, str | None]]:
        with self.state.lock:
            return {
                v.sku: {"price": v.price, "compare_at_price": v.compare_at_price}
                for v in self.state.variants.values()
            }

    def catalog_view(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                {
                    "product_id": gid("Product", product.id),
                    "title": product.title,
                    "description": product.description,
                    "status": product.status,
                    "images": list(product.image_urls),
                    "variants": [
                        {
                            "sku": variant.sku,
                            "variant_id": gid("ProductVariant", variant.id),
                            "price": variant.price,
                            "options": dict(variant.options),
                        }
                        for variant in (
                            self.state.variants[v] for v in product.variant_ids if v in self.state.variants
                        )
                    ],
                }
                for product in self.state.products.values()
            ]

    def price_writes_by_sku(self) -> dict[str, int]:
        with self.state.lock:
            return dict(self.state.price_writes)

    def set_price(self, sku: str, price: str, compare_at_price: str | None) -> bool:
        if not valid_money(price) or (compare_at_price is not None and not valid_money(compare_at_price)):
            raise ValueError("invalid price")
        with self.state.lock:
            variants = [v for v in self.state.variants.values() if v.sku == sku]
            for variant in variants:
                variant.price = money(price)
                variant.compare_at_price = money(compare_at_price) if compare_at_price is not None else None
            return bool(variants)

    def seed(self, items: Any) -> list[dict[str, Any]]:
        with self.state.lock:
            created = []
            for item in items:
                product, variant, inv = self.state.add_product(
                    str(item["sku"]),
                    str(item.get("title") or item["sku"]),
                    int(item.get("quantity", 0)),
                    item.get("price", "0.00"),
                )
                created.append(
                    {
                        "sku": variant.sku,
                        "title": product.title,
                        "quantity": int(item.get("quantity", 0)),
                        "price": variant.price,
                        "product_id": gid("Product", product.id),
                        "variant_id": gid("ProductVariant", variant.id),
                        "inventory_item_id": gid("InventoryItem", inv.id),
                        "location_id": gid("Location", self.state.primary_location_id),
                    }
                )
            return created

    def seed_catalog(self, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self.state.lock:
            created = [self.state.add_catalog_product(spec) for spec in products]
            return [
                {
                    "title": product.title,
                    "product_id": gid("Product", product.id),
                    "variants": [
                        {"sku": self.state.variants[v].sku, "variant_id": gid("ProductVariant", v)}
                        for v in product.variant_ids
                    ],
                }
                for product in created
            ]

    def emit(self, events: list[Event]) -> list[Delivery]:
        """Turn events into signed deliveries to every matching subscription (call without the lock)."""
        deliveries = []
        with self.state.lock:
            subs = list(self.state.subscriptions.values())
        for event in events:
            body = json.dumps(event.payload, separators=(",", ":")).encode()
            event_id = str(uuid.uuid4())
            triggered = iso_z(utcnow())
            for sub in subs:
                if sub.topic != event.topic:
                    continue
                delivery_id = self.webhooks.new_id()
                headers = {
                    "X-Shopify-Topic": event.topic,
                    "X-Shopify-Hmac-Sha256": b64_hmac_sha256(self.config.client_secret, body),
                    "X-Shopify-Shop-Domain": self.config.shop_domain,
                    "X-Shopify-API-Version": self.config.api_version,
                    "X-Shopify-Webhook-Id": delivery_id,
                    "X-Shopify-Event-Id": event_id,
                    "X-Shopify-Triggered-At": triggered,
                }
                deliveries.append(
                    self.webhooks.enqueue(
                        Delivery(delivery_id, sub.id, event.topic, sub.address, body, headers)
                    )
                )
        return deliveries
