"""The `/_sandbox/*` control API as both sandboxes answer it, and `SandboxBase`, which it drives.

Reset, config, seeding, stock, faults, webhook deliveries/redelivery and call counters behave the
same on Shopify and WooCommerce; only what differs by vendor (orders, subscriptions, tokens, the
cost bucket) is routed in `shopify/control.py` and `woocommerce/control.py`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from flask import Flask, Response

from channel_sandboxes.common import (
    CallStats,
    Delivery,
    FaultInjector,
    WebhookDispatcher,
    json_body,
    json_response,
    parse_fault_request,
)


class SeedConflict(Exception):
    """A seed item the catalogue cannot take (answered 409 by `POST /_sandbox/products`)."""


class SandboxBase(ABC):
    """The machinery every sandbox instance has: fault injection, call counters, webhook delivery."""

    def __init__(self, user_agent: str) -> None:
        self.faults = FaultInjector()
        self.stats = CallStats()
        self.webhooks = WebhookDispatcher(user_agent)

    @abstractmethod
    def reset_state(self) -> None:
        """Wipe the vendor-specific state (catalogue, orders, tokens, ...)."""

    @abstractmethod
    def describe_config(self) -> dict[str, Any]:
        """`GET /_sandbox/config`: what a test needs to point a connector at this sandbox."""

    @abstractmethod
    def has_sku(self, sku: str) -> bool:
        """Whether the catalogue already sells `sku` (takes the state lock itself)."""

    @abstractmethod
    def prices_by_sku(self) -> dict[str, dict[str, str | None]]:
        """`GET /_sandbox/prices`: per SKU the selling `price` and the `compare_at_price` (the "was"
        price, or None) a shopper would see, as decimal strings."""

    @abstractmethod
    def price_writes_by_sku(self) -> dict[str, int]:
        """`GET /_sandbox/prices/writes`: per SKU, how many API writes changed its price."""

    @abstractmethod
    def set_price(self, sku: str, price: str, compare_at_price: str | None) -> bool:
        """Change a SKU's price as a merchant would in the admin; False if the SKU is unknown."""

    @abstractmethod
    def seed(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create catalogue entries for `/_sandbox/products` and `--demo`; SeedConflict when impossible."""

    @abstractmethod
    def seed_catalog(self, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create whole products with their variants for `POST /_sandbox/catalog` (the onboarding
        import's shop): {title, description?, vendor?, tags?, images?, status?, variants: [{sku?,
        barcode?, options: {name: value}, price, weight_grams?, quantity}]}. Returns per product
        {title, product_id, variants: [{sku, variant_id}]}."""

    @abstractmethod
    def catalog_view(self) -> list[dict[str, Any]]:
        """`GET /_sandbox/catalog`: every product as a merchant sees it in the admin: {product_id,
        title, description, status (the channel's word), images, variants: [{sku, variant_id,
        price, options: {name: value}}]} (what publishing tests check)."""

    @abstractmethod
    def set_stock(self, sku: str, quantity: int) -> list[Delivery] | None:
        """Set a SKU's quantity as a merchant would in the admin; its webhooks, or None if unknown."""

    @abstractmethod
    def stock_by_sku(self) -> dict[str, int]:
        """`GET /_sandbox/inventory`: what a merchant would see as available, per SKU."""

    def reset(self) -> None:
        """`POST /_sandbox/reset`: the vendor state, then faults, counters and recorded deliveries."""
        self.reset_state()
        self.faults.clear()
        self.stats.reset()
        self.webhooks.clear()


def _seed_items_error(items: Any, exists: Callable[[str], bool]) -> Response | None:
    """Validate a `POST /_sandbox/products` body: 400 when malformed, 409 when a SKU exists already."""
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("sku") for i in items):
        return json_response({"error": "items must be a list of objects with a sku"}, 400)
    clash = [i["sku"] for i in items if exists(str(i["sku"]))]
    if clash:
        return json_response({"error": f"sku already exists: {', '.join(map(str, clash))}"}, 409)
    return None


MAX_GENERATED_PRODUCTS = 5000


def generated_catalog(
    products: int, variants_per_product: int, *, prefix: str = "GEN"
) -> list[dict[str, Any]]:
    """A deterministic shop of `products` x `variants_per_product` (sizes), for tests and the
    bench: product i sells <prefix>-<i>-<size> at 10.00 + i cents with quantity i % 50."""
    sizes = ["S", "M", "L", "XL", "XXL", "3XL"]
    out = []
    for i in range(products):
        per = max(1, min(variants_per_product, len(sizes)))
        out.append(
            {
                "title": f"{prefix} product {i}",
                "description": f"<p>Generated product {i}</p>",
                "vendor": "Sandbox",
                "tags": ["generated"],
                "images": [f"https://cdn.example.test/{prefix.lower()}/{i}.jpg"],
                "variants": [
                    {
                        "sku": f"{prefix}-{i}-{size}",
                        "options": {"Size": size},
                        "price": f"{10 + i // 100}.{i % 100:02d}",
                        "weight_grams": 100 + j,
                        "quantity": (i + j) % 50,
                    }
                    for j, size in enumerate(sizes[:per])
                ],
            }
        )
    return out


def _catalog_request(body: dict[str, Any]) -> list[dict[str, Any]] | str:
    """The products of a `POST /_sandbox/catalog` body ({products} or {generate}), or why not."""
    generate = body.get("generate")
    if isinstance(generate, dict):
        count, per = generate.get("products"), generate.get("variants_per_product", 3)
        if not isinstance(count, int) or not isinstance(per, int) or not 0 < count <= MAX_GENERATED_PRODUCTS:
            return f"generate needs products (1..{MAX_GENERATED_PRODUCTS}) and variants_per_product (1..6)"
        return generated_catalog(count, per, prefix=str(generate.get("prefix") or "GEN"))
    products = body.get("products")
    if not isinstance(products, list) or not all(isinstance(p, dict) and p.get("title") for p in products):
        return "products must be a list of objects with a title (or pass generate)"
    for product in products:
        variants = product.get("variants") or []
        if not isinstance(variants, list) or not all(isinstance(v, dict) for v in variants):
            return "variants must be a list of objects"
    return products


def order_lines_error(lines: Any) -> Response | None:
    """Validate a `POST /_sandbox/orders` body's lines (a non-empty list)."""
    if not isinstance(lines, list) or not lines:
        return json_response({"error": "lines must be a non-empty list of {sku, quantity}"}, 400)
    return None


def register_common_control_routes(app: Flask, sandbox: SandboxBase) -> None:
    """The control routes both sandboxes share: reset, config, seeding, stock, faults, deliveries, counters."""

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        sandbox.reset()
        return json_response({"ok": True})

    @app.get("/_sandbox/config")
    def config_view() -> Response:
        return json_response(sandbox.describe_config())

    @app.post("/_sandbox/products")
    def add_products() -> Response:
        items = json_body().get("items")
        error = _seed_items_error(items, sandbox.has_sku)
        if error is not None:
            return error
        try:
            return json_response({"items": sandbox.seed(items)}, 201)
        except SeedConflict as exc:
            return json_response({"error": str(exc)}, 409)

    @app.post("/_sandbox/catalog")
    def add_catalog() -> Response:
        products = _catalog_request(json_body())
        if isinstance(products, str):
            return json_response({"error": products}, 400)
        skus = [str(v["sku"]) for p in products for v in p.get("variants") or [] if v.get("sku")]
        clash = [sku for sku in skus if sandbox.has_sku(sku)] or sorted(
            {s for s in skus if skus.count(s) > 1}
        )
        if clash:
            return json_response({"error": f"sku already exists: {', '.join(clash[:20])}"}, 409)
        try:
            return json_response({"products": sandbox.seed_catalog(products)}, 201)
        except SeedConflict as exc:
            return json_response({"error": str(exc)}, 409)

    @app.get("/_sandbox/catalog")
    def catalog_view() -> Response:
        return json_response({"products": sandbox.catalog_view()})

    @app.get("/_sandbox/inventory")
    def inventory() -> Response:
        return json_response(sandbox.stock_by_sku())

    @app.get("/_sandbox/prices")
    def prices() -> Response:
        return json_response(sandbox.prices_by_sku())

    @app.get("/_sandbox/prices/writes")
    def price_writes() -> Response:
        return json_response(sandbox.price_writes_by_sku())

    @app.post("/_sandbox/prices")
    def set_price() -> Response:
        data = json_body()
        sku, price, compare = str(data.get("sku", "")), data.get("price"), data.get("compare_at_price")
        if not isinstance(price, str) or not (compare is None or isinstance(compare, str)):
            return json_response({"error": "price (and compare_at_price) must be decimal strings"}, 400)
        try:
            known = sandbox.set_price(sku, price, compare)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        if not known:
            return json_response({"error": "unknown sku"}, 404)
        return json_response(sandbox.prices_by_sku()[sku])

    @app.post("/_sandbox/inventory")
    def set_inventory() -> Response:
        data = json_body()
        sku, quantity = str(data.get("sku", "")), data.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            return json_response({"error": "quantity must be an integer"}, 400)
        deliveries = sandbox.set_stock(sku, quantity)
        if deliveries is None:
            return json_response({"error": "unknown sku"}, 404)
        sandbox.webhooks.wait(deliveries)
        return json_response({sku: quantity})

    @app.post("/_sandbox/faults")
    def faults() -> Response:
        parsed = parse_fault_request(json_body())
        if isinstance(parsed, str):
            return json_response({"error": parsed}, 400)
        parsed.apply(sandbox.faults)
        return json_response(sandbox.faults.describe())

    @app.get("/_sandbox/faults")
    def faults_view() -> Response:
        return json_response(sandbox.faults.describe())

    @app.get("/_sandbox/webhooks/deliveries")
    def deliveries() -> Response:
        sandbox.webhooks.wait_idle()
        return json_response({"deliveries": sandbox.webhooks.list()})

    @app.post("/_sandbox/webhooks/redeliver")
    def redeliver() -> Response:
        delivery_id = str(json_body().get("delivery_id", ""))
        delivery = sandbox.webhooks.redeliver(delivery_id)
        if delivery is None:
            return json_response({"error": "unknown delivery_id"}, 404)
        sandbox.webhooks.wait([delivery])
        return json_response(delivery.describe())

    @app.get("/_sandbox/calls")
    def calls() -> Response:
        return json_response(sandbox.stats.snapshot())

    @app.post("/_sandbox/calls/reset")
    def calls_reset() -> Response:
        sandbox.stats.reset()
        return json_response(sandbox.stats.snapshot())
