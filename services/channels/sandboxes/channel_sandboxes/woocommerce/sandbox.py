"""One WooCommerce sandbox instance: its settings, its store, and how it signs and sends webhooks."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import request

from channel_sandboxes.common import Delivery, b64_hmac_sha256
from channel_sandboxes.control import SandboxBase, SeedConflict
from channel_sandboxes.demo import DEMO_CATALOGUE
from channel_sandboxes.woocommerce.catalog import add_catalog_product
from channel_sandboxes.woocommerce.oauth1 import NonceLedger
from channel_sandboxes.woocommerce.state import (
    StockError,
    WooOrder,
    WooProduct,
    WooStore,
    WooWebhook,
    price_string,
)

API = "/wp-json/wc/v3"
USER_AGENT = "WooCommerce/9.9.0 Hookshot (WordPress/6.8.1)"


@dataclass
class WooConfig:
    """Settings of one sandbox store; `from_env` reads WOOCOMMERCE_SANDBOX_* variables."""

    consumer_key: str = "ck_" + "0" * 32 + "5a4db0c5"
    consumer_secret: str = "cs_" + "0" * 32 + "5ec0e7c5"
    # Secret for webhooks subscribed without one (the REST API would generate a random one).
    webhook_secret: str = "sandbox-woocommerce-webhook-secret"
    # Public URL of the store (X-WC-Webhook-Source, links, the URL OAuth 1.0a signatures are
    # checked against); default: the URL the request came in on, plus `home_path`.
    store_url: str | None = None
    # A store installed in a sub-folder ("/shop"): WordPress answers under it (/shop/wp-json/...).
    # Taken from `store_url`'s path when that is set.
    home_path: str = ""
    # The store's currency (WooCommerce > Settings > General, option `woocommerce_currency`):
    # every price the store shows is in it, and connectors learn it from the settings API.
    currency: str = "USD"
    batch_limit: int = 100
    # Whether the store runs WooCommerce.com's Shipment Tracking extension (its REST namespace
    # wc-shipment-tracking/v3); without it that namespace answers 404 rest_no_route.
    shipment_tracking: bool = True
    demo: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WooConfig:
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            consumer_key=env.get("WOOCOMMERCE_SANDBOX_CONSUMER_KEY", base.consumer_key),
            consumer_secret=env.get("WOOCOMMERCE_SANDBOX_CONSUMER_SECRET", base.consumer_secret),
            webhook_secret=env.get("WOOCOMMERCE_SANDBOX_WEBHOOK_SECRET", base.webhook_secret),
            store_url=env.get("WOOCOMMERCE_SANDBOX_STORE_URL") or None,
            home_path=env.get("WOOCOMMERCE_SANDBOX_HOME_PATH", base.home_path),
            currency=_currency(env.get("WOOCOMMERCE_SANDBOX_CURRENCY", base.currency)),
            shipment_tracking=env.get("WOOCOMMERCE_SANDBOX_SHIPMENT_TRACKING", "1")
            not in ("0", "false", "no"),
            demo=env.get("WOOCOMMERCE_SANDBOX_DEMO", "") in ("1", "true", "yes"),
        )


def _currency(value: str) -> str:
    """An ISO 4217 code (three letters, upper-cased); a bad value stops the sandbox at start-up."""
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"WOOCOMMERCE_SANDBOX_CURRENCY must be an ISO 4217 code such as EUR, not {value!r}")
    return code


class WooSandbox(SandboxBase):
    """State + machinery of one sandbox store; the Flask routes are thin wrappers around it."""

    def __init__(self, config: WooConfig) -> None:
        super().__init__(USER_AGENT)
        self.config = config
        self.store = WooStore(config.currency)
        self.nonces = NonceLedger()
        if config.demo:
            self.seed([dict(item) for item in DEMO_CATALOGUE])

    @property
    def home_path(self) -> str:
        """The store's sub-folder ("" at the site root, else "/shop"): its URL's path."""
        if self.config.store_url:
            return urlsplit(self.config.store_url).path.rstrip("/")
        path = self.config.home_path.strip().strip("/")
        return f"/{path}" if path else ""

    def base_url(self) -> str:
        """The store's home URL (WordPress's home_url())."""
        if self.config.store_url:
            return self.config.store_url.rstrip("/")
        try:
            return request.host_url.rstrip("/") + self.home_path
        except RuntimeError:  # outside a request (demo seeding at start-up)
            return "http://127.0.0.1" + self.home_path

    def reset_state(self) -> None:
        with self.store.lock:
            self.store.reset()
        self.nonces.reset()

    def describe_config(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "channel": "woocommerce",
            "store_url": self.base_url(),
            "api_base": self.base_url() + API,
            "consumer_key": cfg.consumer_key,
            "consumer_secret": cfg.consumer_secret,
            "webhook_secret": cfg.webhook_secret,
            "batch_limit": cfg.batch_limit,
            "currency": cfg.currency,
            "validate_path": f"{API}/system_status",
        }

    def has_sku(self, sku: str) -> bool:
        with self.store.lock:
            return self.store.by_sku(sku) is not None

    def set_stock(self, sku: str, quantity: int) -> list[Delivery] | None:
        with self.store.lock:
            product = self.store.by_sku(sku)
            if product is None or product.type == "variable":
                return None
            self.store.set_stock(product, quantity)
        return self.product_events([product])

    def stock_by_sku(self) -> dict[str, int]:
        with self.store.lock:
            return self.store.stock_by_sku()

    def price_writes_by_sku(self) -> dict[str, int]:
        with self.store.lock:
            return dict(self.store.price_writes)

    def prices_by_sku(self) -> dict[str, dict[str, str | None]]:
        """A sale shows `sale_price` with `regular_price` struck through, else the regular price."""
        with self.store.lock:
            return {
                p.sku: {
                    "price": p.sale_price or p.regular_price,
                    "compare_at_price": p.regular_price if p.sale_price else None,
                }
                for p in self.store.products.values()
                if p.type != "variable" and p.sku
            }

    def catalog_view(self) -> list[dict[str, Any]]:
        """Parents and simple products; a variable product's variants are its variations."""
        with self.store.lock:
            products = self.store.products

            def variant(p: Any) -> dict[str, Any]:
                return {
                    "sku": p.sku,
                    "variant_id": p.id,
                    "price": p.sale_price or p.regular_price,
                    "options": {name: values[0] for name, values in p.attributes if values}
                    if p.parent_id
                    else {},
                }

            return [
                {
                    "product_id": p.id,
                    "title": p.name,
                    "description": p.description,
                    "status": p.status,
                    "images": list(p.images),
                    "variants": [variant(products[v]) for v in p.variation_ids if v in products]
                    if p.type == "variable"
                    else [variant(p)],
                }
                for p in products.values()
                if not p.parent_id
            ]

    def set_price(self, sku: str, price: str, compare_at_price: str | None) -> bool:
        """As the admin does: a "was" price is the regular price with the price as the sale price."""
        regular, sale = (compare_at_price, price) if compare_at_price is not None else (price, "")
        regular, sale = price_string(regular), price_string(sale)
        with self.store.lock:
            products = [p for p in self.store.products.values() if p.sku == sku and p.type != "variable"]
            for product in products:
                product.regular_price, product.sale_price = regular, sale
            return bool(products)

    def product_json(self, product: WooProduct) -> dict[str, Any]:
        return self.store.product_json(product, self.base_url())

    def order_json(self, order: WooOrder) -> dict[str, Any]:
        return self.store.order_json(order, self.base_url())

    def seed(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Simple products, or variations (`parent_sku`) under a variable parent created on first use."""
        try:
            with self.store.lock:
                return [self._seed_one(item) for item in items]
        except StockError as exc:
            raise SeedConflict(str(exc)) from exc

    def _seed_one(self, item: dict[str, Any]) -> dict[str, Any]:
        sku, title = str(item["sku"]), str(item.get("title") or item["sku"])
        quantity, price = int(item.get("quantity", 0)), item.get("price", "0")
        if not item.get("parent_sku"):
            product = self.store.add_simple(sku, title, quantity, price)
            return {
                "sku": sku,
                "product_id": product.id,
                "quantity": quantity,
                "price": product.regular_price,
            }
        product = self.store.add_variation(str(item["parent_sku"]), sku, title, quantity, price)
        return {
            "sku": sku,
            "product_id": product.parent_id,
            "variation_id": product.id,
            "parent_sku": item["parent_sku"],
            "quantity": quantity,
            "price": product.regular_price,
        }

    def seed_catalog(self, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self.store.lock:
            created = [add_catalog_product(self.store, spec) for spec in products]
            return [
                {
                    "title": product.name,
                    "product_id": product.id,
                    "variants": [
                        {"sku": self.store.products[v].sku, "variant_id": v} for v in product.variation_ids
                    ]
                    or [{"sku": product.sku, "variant_id": product.id}],
                }
                for product in created
            ]

    def emit(self, topic: str, payload: dict[str, Any]) -> list[Delivery]:
        """Sign and queue one delivery per active webhook on `topic` (call without the store lock)."""
        with self.store.lock:
            hooks = [h for h in self.store.webhooks.values() if h.topic == topic and h.status == "active"]
        body = json.dumps(payload, separators=(",", ":")).encode()
        deliveries = []
        for hook in hooks:
            delivery_id = secrets.token_hex(16)
            headers = {
                "X-WC-Webhook-Source": self.base_url() + "/",
                "X-WC-Webhook-Topic": hook.topic,
                "X-WC-Webhook-Resource": hook.resource,
                "X-WC-Webhook-Event": hook.event,
                "X-WC-Webhook-Signature": b64_hmac_sha256(hook.secret, body),
                "X-WC-Webhook-ID": str(hook.id),
                "X-WC-Webhook-Delivery-ID": delivery_id,
            }
            deliveries.append(
                self.webhooks.enqueue(Delivery(delivery_id, hook.id, topic, hook.delivery_url, body, headers))
            )
        return deliveries

    def ping(self, hook: WooWebhook) -> Delivery:
        """WooCommerce's activation ping: form body `webhook_id=<id>`, unsigned, no X-WC headers."""
        delivery = Delivery(
            "ping-" + secrets.token_hex(8),
            hook.id,
            "ping",
            hook.delivery_url,
            urlencode({"webhook_id": hook.id}).encode(),
            {},
            content_type="application/x-www-form-urlencoded",
        )
        return self.webhooks.enqueue(delivery)

    def product_events(self, products: list[WooProduct], topic: str = "product.updated") -> list[Delivery]:
        with self.store.lock:
            payloads = [self.product_json(p) for p in products]
        out: list[Delivery] = []
        for payload in payloads:
            out.extend(self.emit(topic, payload))
        return out

    def order_event(self, order: WooOrder, topic: str) -> list[Delivery]:
        with self.store.lock:
            payload = self.order_json(order)
        return self.emit(topic, payload)
