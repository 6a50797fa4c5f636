"""One TikTok Shop sandbox instance: its settings, its shop state, and how it signs webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import request

from channel_sandboxes.common import Delivery
from channel_sandboxes.control import SandboxBase
from channel_sandboxes.demo import DEMO_CATALOGUE
from channel_sandboxes.tiktok.state import ShopState, money

API_VERSION = "202309"
# Webhook type 1: order status change (EcomPHP/tiktokshop-php src/Webhook.php).
ORDER_STATUS_CHANGE = 1


def webhook_signature(app_key: str, app_secret: str, body: bytes) -> str:
    """hex(HMAC-SHA256(app_secret, app_key + raw body)): TikTok's `Authorization` header."""
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


@dataclass
class TikTokConfig:
    """Settings of one sandbox shop; `from_env` reads the names `make run` exports."""

    app_key: str = "sandbox-tiktok-app-key"
    app_secret: str = "sandbox-tiktok-app-secret"
    service_id: str = "sandbox-tiktok-service-id"
    shop_id: str = "7494105515082810525"
    shop_name: str = "OmniStock Demo TikTok Shop"
    region: str = "US"
    currency: str = "USD"
    # Where the authorize page sends the seller back (TikTok uses the service's registered URL;
    # a `redirect_uri` query parameter on the authorize page overrides it in the sandbox).
    redirect_uri: str = "http://127.0.0.1:8080/api/v1/channels/oauth/callback"
    access_token_ttl: int = 7 * 24 * 3600
    refresh_token_ttl: int = 30 * 24 * 3600
    # Requests whose `timestamp` is further from now are refused (the docs say 5 minutes).
    timestamp_tolerance: int = 300
    demo: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TikTokConfig:
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            app_key=env.get("TIKTOK_APP_KEY", base.app_key),
            app_secret=env.get("TIKTOK_APP_SECRET", base.app_secret),
            service_id=env.get("TIKTOK_SERVICE_ID", base.service_id),
            redirect_uri=env.get("TIKTOK_SANDBOX_REDIRECT_URI", base.redirect_uri),
            access_token_ttl=int(env.get("TIKTOK_SANDBOX_TOKEN_TTL", base.access_token_ttl)),
            demo=env.get("TIKTOK_SANDBOX_DEMO", "") in ("1", "true", "yes"),
        )


class TikTokSandbox(SandboxBase):
    """State + machinery of one sandbox instance; the Flask routes are thin wrappers around it."""

    def __init__(self, config: TikTokConfig) -> None:
        super().__init__("TikTokShop-Webhook")
        self.config = config
        self.state = ShopState(config.shop_id, config.shop_name, config.region, config.currency)
        self._throttle_lock = threading.Lock()
        self.throttle_remaining = 0
        self.throttle_status = 200
        if config.demo:
            self.seed(DEMO_CATALOGUE)

    def reset_state(self) -> None:
        with self.state.lock:
            self.state.reset()
        with self._throttle_lock:
            self.throttle_remaining = 0

    def take_throttle(self) -> int | None:
        """The HTTP status of the rate-limit answer owed to this call, if any."""
        with self._throttle_lock:
            if self.throttle_remaining <= 0:
                return None
            self.throttle_remaining -= 1
            return self.throttle_status

    def describe_config(self) -> dict[str, Any]:
        cfg, base_url = self.config, request.host_url.rstrip("/")
        return {
            "channel": "tiktok",
            "app_key": cfg.app_key,
            "service_id": cfg.service_id,
            "api_version": API_VERSION,
            "shop_id": cfg.shop_id,
            "shop_name": cfg.shop_name,
            "shop_cipher": self.state.shop_cipher,
            "region": cfg.region,
            "currency": cfg.currency,
            "base_url": base_url,
            "authorize_url": f"{base_url}/open/authorize",
            "token_url": f"{base_url}/api/v2/token/get",
            "redirect_uri": cfg.redirect_uri,
            "access_token_ttl": cfg.access_token_ttl,
            "timestamp_tolerance": cfg.timestamp_tolerance,
        }

    def has_sku(self, sku: str) -> bool:
        with self.state.lock:
            return self.state.sku_by_seller_sku(sku) is not None

    def set_stock(self, sku: str, quantity: int) -> list[Delivery] | None:
        with self.state.lock:
            found = self.state.sku_by_seller_sku(sku)
            if found is None:
                return None
            found[1].quantity = quantity
        return []

    def stock_by_sku(self) -> dict[str, int]:
        with self.state.lock:
            return self.state.stock_by_sku()

    def prices_by_sku(self) -> dict[str, dict[str, str | None]]:
        with self.state.lock:
            return {
                s.seller_sku: {"price": s.price, "compare_at_price": None}
                for p in self.state.products.values()
                for s in p.skus
                if s.seller_sku
            }

    def price_writes_by_sku(self) -> dict[str, int]:
        with self.state.lock:
            return dict(self.state.price_writes)

    def set_price(self, sku: str, price: str, compare_at_price: str | None) -> bool:
        value = money(price)
        with self.state.lock:
            found = self.state.sku_by_seller_sku(sku)
            if found is None:
                return False
            found[1].price = value
            return True

    def seed(self, items: Any) -> list[dict[str, Any]]:
        """One product per item, unless items share a `product` key (then one product, one SKU each)."""
        with self.state.lock:
            created, groups = [], {}
            for item in items:
                key = item.get("product")
                product = groups.get(key) if key else None
                if product is None:
                    product = self.state.add_product(str(item.get("title") or item["sku"]))
                    if key:
                        groups[key] = product
                sku = self.state.add_sku(
                    product, str(item["sku"]), item.get("price", "0.00"), int(item.get("quantity", 0))
                )
                created.append(
                    {
                        "sku": sku.seller_sku,
                        "title": product.title,
                        "quantity": sku.quantity,
                        "price": sku.price,
                        "product_id": product.id,
                        "sku_id": sku.id,
                        "warehouse_id": sku.warehouse_id,
                    }
                )
            return created

    def seed_catalog(self, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self.state.lock:
            out = []
            for spec in products:
                product = self.state.add_product(
                    str(spec["title"]), str(spec.get("description") or ""), list(spec.get("images") or [])
                )
                if spec.get("status"):
                    product.status = str(spec["status"])
                for variant in spec.get("variants") or []:
                    self.state.add_sku(
                        product,
                        str(variant.get("sku") or ""),
                        variant.get("price", "0.00"),
                        int(variant.get("quantity", 0)),
                        {str(k): str(v) for k, v in (variant.get("options") or {}).items()},
                    )
                out.append(
                    {
                        "title": product.title,
                        "product_id": product.id,
                        "variants": [{"sku": s.seller_sku, "variant_id": s.id} for s in product.skus],
                    }
                )
            return out

    def catalog_view(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                {
                    "product_id": p.id,
                    "title": p.title,
                    "description": p.description,
                    "status": p.status,
                    "images": list(p.images),
                    "category_id": p.category_id,
                    "brand_id": p.brand_id,
                    "package_weight": p.package_weight,
                    "package_dimensions": p.package_dimensions,
                    "external_product_id": p.external_product_id,
                    "variants": [
                        {
                            "sku": s.seller_sku,
                            "variant_id": s.id,
                            "price": s.price,
                            "options": dict(s.options),
                            "quantity": s.quantity,
                            "warehouse_id": s.warehouse_id,
                            "identifier_code": s.identifier_code,
                        }
                        for s in p.skus
                    ],
                }
                for p in self.state.products.values()
            ]

    def order_event(self, order_id: str, status: str, update_time: int) -> list[Delivery]:
        """A signed type-1 notification to every registered address (call without the lock)."""
        with self.state.lock:
            addresses = list(self.state.webhook_addresses)
        deliveries = []
        for number, address in enumerate(addresses):
            notification_id = str(uuid.uuid4().int >> 64)
            payload = {
                "type": ORDER_STATUS_CHANGE,
                "tts_notification_id": notification_id,
                "shop_id": self.config.shop_id,
                "timestamp": int(time.time()),
                "data": {"order_id": order_id, "order_status": status, "update_time": update_time},
            }
            body = json.dumps(payload, separators=(",", ":")).encode()
            headers = {"Authorization": webhook_signature(self.config.app_key, self.config.app_secret, body)}
            deliveries.append(
                self.webhooks.enqueue(
                    Delivery(notification_id, number + 1, "ORDER_STATUS_CHANGE", address, body, headers)
                )
            )
        return deliveries
