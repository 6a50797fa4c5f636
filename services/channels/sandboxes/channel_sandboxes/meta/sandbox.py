"""One Meta sandbox instance: its settings (the app), its state, and how it signs webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from channel_sandboxes.common import Delivery
from channel_sandboxes.control import SandboxBase, SeedConflict
from channel_sandboxes.demo import DEMO_CATALOGUE
from channel_sandboxes.meta.state import (
    BUSINESS_ID,
    CATALOG_ID,
    CMS_ID,
    INSTAGRAM_ID,
    PAGE_ID,
    MetaState,
    Order,
    OrderLine,
)

API_VERSION = "v25.0"
USER_AGENT = "facebookexternalua"


@dataclass
class MetaConfig:
    """The sandbox's Meta app; `from_env` reads META_APP_ID / META_APP_SECRET /
    META_WEBHOOK_VERIFY_TOKEN (the connector's variables, so one setting serves both) and
    META_SANDBOX_CURRENCY / META_SANDBOX_DEMO."""

    app_id: str = "100000000000001"
    app_secret: str = "sandbox-meta-app-secret"
    verify_token: str = "sandbox-meta-verify-token"
    currency: str = "USD"
    demo: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MetaConfig:
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            app_id=env.get("META_APP_ID", base.app_id),
            app_secret=env.get("META_APP_SECRET", base.app_secret),
            verify_token=env.get("META_WEBHOOK_VERIFY_TOKEN", base.verify_token),
            currency=env.get("META_SANDBOX_CURRENCY", base.currency).strip().upper() or base.currency,
            demo=env.get("META_SANDBOX_DEMO", "") in ("1", "true", "yes"),
        )


def sign(secret: str, body: bytes) -> str:
    """X-Hub-Signature-256's value: sha256=<hex HMAC-SHA256(app secret, raw body)>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class MetaSandbox(SandboxBase):
    """State + machinery of one sandbox; the Flask routes are thin wrappers around it."""

    def __init__(self, config: MetaConfig) -> None:
        super().__init__(USER_AGENT)
        self.config = config
        self.state = MetaState(config.currency)
        if config.demo:
            self.seed([dict(item) for item in DEMO_CATALOGUE])

    def reset_state(self) -> None:
        with self.state.lock:
            self.state.reset()

    def describe_config(self) -> dict[str, Any]:
        cfg, st = self.config, self.state
        with st.lock:
            return {
                "channel": "meta",
                "api_version": API_VERSION,
                "app_id": cfg.app_id,
                "app_secret": cfg.app_secret,
                "verify_token": cfg.verify_token,
                "currency": cfg.currency,
                "business_id": BUSINESS_ID,
                "catalog_id": CATALOG_ID,
                "catalogs": st.catalogs(),
                "page_id": PAGE_ID,
                "cms_id": CMS_ID if st.onsite_checkout else None,
                "instagram_account_id": INSTAGRAM_ID if st.instagram_account else None,
                "onsite_checkout": st.onsite_checkout,
                "batch_polls_to_finish": st.polls_to_finish,
                "long_lived_token_seconds": st.long_lifetime,
                "max_batch_requests": 5000,
            }

    def has_sku(self, sku: str) -> bool:
        with self.state.lock:
            return sku in self.state.items

    def prices_by_sku(self) -> dict[str, dict[str, str | None]]:
        """A sale price is what the shopper pays; the regular price is then the "was" price."""
        with self.state.lock:
            return {
                sku: (
                    {"price": item.sale_price, "compare_at_price": item.price}
                    if item.sale_price
                    else {"price": item.price, "compare_at_price": None}
                )
                for sku, item in self.state.items.items()
            }

    def price_writes_by_sku(self) -> dict[str, int]:
        with self.state.lock:
            return {sku: item.price_writes for sku, item in self.state.items.items()}

    def set_price(self, sku: str, price: str, compare_at_price: str | None) -> bool:
        with self.state.lock:
            item = self.state.items.get(sku)
            if item is None:
                return False
            if compare_at_price:
                item.price, item.sale_price = f"{Decimal(compare_at_price):.2f}", f"{Decimal(price):.2f}"
            else:
                item.price, item.sale_price = f"{Decimal(price):.2f}", ""
            return True

    def seed(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self.state.lock:
            out = []
            for entry in items:
                sku = str(entry["sku"])
                if sku in self.state.items:
                    raise SeedConflict(f"sku already exists: {sku}")
                quantity = entry.get("quantity", 0)
                item = self.state.add_item(
                    sku,
                    str(entry.get("title") or sku),
                    int(quantity) if isinstance(quantity, int) else 0,
                    str(entry.get("price") or "10.00"),
                )
                out.append({"sku": sku, "product_item_id": item.id, "retailer_id": sku})
            return out

    def seed_catalog(self, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each variant is a catalog item (its SKU the retailer id) in the product's item group,
        with the product's text, brand (vendor), images and a link on the sandbox shop."""
        with self.state.lock:
            out = []
            for product in products:
                group = self.state.new_id()
                images = [str(u) for u in product.get("images") or []]
                variants = []
                for variant in product.get("variants") or []:
                    sku = str(variant.get("sku") or "")
                    quantity = variant.get("quantity", 0)
                    options = {str(k): str(v) for k, v in (variant.get("options") or {}).items()}
                    if not sku:
                        variants.append({"sku": "", "variant_id": self.state.new_id()})
                        continue
                    item = self.state.add_item(
                        sku,
                        f"{product['title']} {' '.join(options.values())}".strip(),
                        int(quantity) if isinstance(quantity, int) else 0,
                        str(variant.get("price") or "10.00"),
                        group,
                    )
                    item.description = str(product.get("description") or "")
                    item.brand = str(product.get("vendor") or "")
                    item.image_link = images[0] if images else ""
                    item.additional_image_link = ",".join(images[1:])
                    item.link = f"https://shop.example.test/products/{group}"
                    item.gtin = str(variant.get("barcode") or "")
                    for name, value in options.items():
                        if name.lower() in ("color", "size"):
                            setattr(item, name.lower(), value)
                    variants.append({"sku": sku, "variant_id": item.id})
                out.append({"title": product["title"], "product_id": group, "variants": variants})
            return out

    def catalog_view(self) -> list[dict[str, Any]]:
        """Items grouped by item group; status is the first item's visibility (published/staging)."""
        with self.state.lock:
            groups: dict[str, dict[str, Any]] = {}
            for item in sorted(self.state.items.values(), key=lambda i: int(i.id)):
                key = item.product_group or item.id
                group = groups.setdefault(
                    key,
                    {
                        "product_id": key,
                        "title": item.name,
                        "description": item.description,
                        "status": item.visibility,
                        "images": [u for u in [item.image_link, *item.additional_image_link.split(",")] if u],
                        "variants": [],
                    },
                )
                options = {k.title(): v for k, v in (("color", item.color), ("size", item.size)) if v}
                group["variants"].append(
                    {
                        "sku": item.retailer_id,
                        "variant_id": item.id,
                        "price": item.price,
                        "options": options,
                        "sale_price": item.sale_price,
                        "visibility": item.visibility,
                        "brand": item.brand,
                        "link": item.link,
                    }
                )
            return list(groups.values())

    def set_stock(self, sku: str, quantity: int) -> list[Delivery] | None:
        with self.state.lock:
            item = self.state.items.get(sku)
            if item is None:
                return None
            item.inventory = max(0, quantity)
            item.availability = "in stock" if item.inventory > 0 else "out of stock"
        return []

    def stock_by_sku(self) -> dict[str, int]:
        with self.state.lock:
            return {sku: item.inventory for sku, item in self.state.items.items()}

    # -- orders ---------------------------------------------------------------------------------

    def create_order(
        self, lines: list[dict[str, Any]], email: str, allow_oversell: bool, channel: str = "facebook"
    ) -> Order | str:
        """A checkout on Facebook/Instagram: a CREATED order (finalized, not yet acknowledged);
        stock is decremented. A string says why the order cannot be placed."""
        st = self.state
        with st.lock:
            if not st.onsite_checkout:
                return "this shop has no onsite checkout (no commerce account)"
            made: list[OrderLine] = []
            for line in lines:
                if not isinstance(line, dict):
                    return "each line needs a sku and a quantity"
                sku, quantity = str(line.get("sku") or ""), line.get("quantity", 1)
                item = st.items.get(sku)
                if item is None:
                    return f"unknown sku {sku!r}"
                if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                    return "quantity must be a positive integer"
                if item.inventory < quantity and not allow_oversell:
                    return f"not enough stock for {sku}: {item.inventory} left"
                price = str(line.get("price") or item.sale_price or item.price)
                made.append(OrderLine(st.new_id(), sku, item.name, quantity, f"{Decimal(price):.2f}"))
            for line in made:
                item = st.items[line.retailer_id]
                item.inventory = max(0, item.inventory - line.quantity)
                item.availability = "in stock" if item.inventory > 0 else "out of stock"
            now = time.time()
            order = Order(
                id=st.new_id(),
                state="CREATED",
                channel=channel,
                created=now,
                last_updated=now,
                email=email or "buyer@example.test",
                buyer_name="Sandbox Buyer",
                currency=st.currency,
                lines=made,
            )
            st.orders[order.id] = order
            return order

    def order_view(self, order: Order) -> dict[str, Any]:
        return {
            "id": order.id,
            "name": f"#FB{order.id[-6:]}",
            "state": order.state,
            "acknowledged": order.acknowledged,
            "merchant_order_reference": order.merchant_order_reference,
            "email": order.email,
            "total": f"{order.total():.2f}",
            "currency": order.currency,
            "lines": [
                {
                    "id": ln.id,
                    "sku": ln.retailer_id,
                    "quantity": ln.quantity,
                    "price": ln.price,
                    "shipped": ln.shipped,
                    "cancelled": ln.cancelled,
                }
                for ln in order.lines
            ],
            "shipments": order.shipments,
            "cancellations": order.cancellations,
        }

    # -- webhooks -------------------------------------------------------------------------------

    def send_webhook(self, object_type: str, field: str, value: Any) -> list[Delivery]:
        """A signed {object, entry: [{id, time, changes: [{field, value}]}]} to every registered address."""
        with self.state.lock:
            addresses = list(self.state.webhook_addresses)
        body = json.dumps(
            {
                "object": object_type,
                "entry": [
                    {"id": PAGE_ID, "time": int(time.time()), "changes": [{"field": field, "value": value}]}
                ],
            },
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(self.config.app_secret, body),
            "User-Agent": USER_AGENT,
        }
        deliveries = [
            self.webhooks.enqueue(
                Delivery(
                    self.webhooks.new_id(), index + 1, f"{object_type}/{field}", address, body, dict(headers)
                )
            )
            for index, address in enumerate(addresses)
        ]
        self.webhooks.wait(deliveries)
        return deliveries
