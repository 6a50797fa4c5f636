"""Bulk price change benchmark: preview, apply, and until both sandboxes show every new price.

Usage (from the repo root; PostgreSQL, Redis and RabbitMQ local):
    .venv/bin/python bench/price_bulk.py [--skus 10000] [--percent 10] [--sqlite]
    .venv/bin/python bench/price_bulk.py --skus 200          # a smoke run (about a minute)

One run starts the whole stack from the Procfile as subprocesses on free ports
(omnistock_devtools.fullstack), on fresh PostgreSQL databases (SQLite files with --sqlite), a
throw-away RabbitMQ virtual host when rabbitmqctl can create one, and the Redis database of
--redis-url (not flushed; no other stack may share it). The WooCommerce sandbox store sells in EUR
(WOOCOMMERCE_SANDBOX_CURRENCY), so its prices are converted with the tenant's FX table, as in
tests/e2e/test_pricing_full_stack.py. Through the REST API it registers a tenant, creates --skus
products (base prices in USD), lists them on both sandboxes, connects both (Shopify by OAuth,
WooCommerce by keys) and auto-maps them (untimed: Shopify's cost bucket paces it, ~40 s per 1,000).

Measured, on every SKU of both connections (`POST /prices/bulk`, +--percent, `.99` endings):
  preview   the two dry runs (Shopify, WooCommerce): seconds until each answered.
  apply     the two `{preview_id}` applies: seconds until each answered (prices stored, history
            written, `pricing.price_changed` in the outbox).
  visible   from the first apply (so the applies included) until both sandboxes show every new price (GET /_sandbox/prices,
            polled every --poll s, compared with GET /prices after the applies): the pricing
            worker's relay, the channels worker's coalescing and rate limits, the connectors'
            bulk price calls (Shopify productVariantsBulkUpdate per product, WooCommerce
            products/batch of 100).

Baseline, in the same run and first (on the quiet stack): the same number of price writes sent
straight to the sandboxes' vendor APIs by this process, in the connectors' shapes (one
productVariantsBulkUpdate per product with a sandbox token, waiting out THROTTLED; WooCommerce
products/batch of 100 with the store's keys), one call at a time per channel, both channels in
parallel: what the channels themselves allow. Printed: each figure, and visible / baseline.

Results: docs/performance.md ("Bulk price change").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from omnistock_devtools import order_flow as flow
from omnistock_devtools.demo import CatalogueItem, GatewayClient, Sandbox, expect
from omnistock_devtools.fullstack import MIGRATED_SERVICES, FullStack, isolated_vhost
from omnistock_devtools.testing import postgres_databases

PASSWORD = "price-bulk-bench"
FX = {"EUR": "0.92", "GBP": "0.79", "BDT": "119.5"}
VISIBLE_DEADLINE_SECONDS = 3600.0
WOO_BATCH = 100  # the connector's products/batch size (woocommerce_connector.protocol.api.MAX_BATCH)
SHOPIFY_MUTATION = """
mutation BenchSetPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id }
    userErrors { code field message }
  }
}
"""


@contextlib.contextmanager
def databases(use_sqlite: bool, workdir: Path) -> Iterator[tuple[dict[str, str], str]]:
    admin = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    if not use_sqlite:
        with contextlib.ExitStack() as stack:
            try:
                create = stack.enter_context(postgres_databases(admin, prefix="omnistock_bench"))
                urls = {s: create() for s in MIGRATED_SERVICES}
            except Exception as exc:  # unreachable server: say so and fall back
                print(f"PostgreSQL unavailable ({type(exc).__name__}: {exc}); using SQLite", file=sys.stderr)
            else:
                yield urls, "postgresql"
                return
    yield {s: f"sqlite:///{workdir / s}.db" for s in MIGRATED_SERVICES}, "sqlite"


def call(client: GatewayClient, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = client.http.request(method, f"{client.api}{path}", headers=client._auth(), **kwargs)
    return dict(expect(response, 200, what=f"{method} {path}").json())


def prices_of(client: GatewayClient, connection_id: str) -> dict[str, Decimal]:
    """sku -> the price OmniStock holds for the connection (GET /prices, every page)."""
    out: dict[str, Decimal] = {}
    cursor = ""
    while True:
        params = {"connection_id": connection_id, "limit": 500, **({"cursor": cursor} if cursor else {})}
        page = call(client, "GET", "/prices", params=params)
        out.update({item["sku"]: Decimal(item["price"]["amount"]) for item in page["items"]})
        cursor = page.get("next_cursor") or ""
        if not cursor:
            return out


def shown(sandbox: Sandbox) -> dict[str, Decimal | None]:
    response = sandbox.http.get(f"{sandbox.base_url}/_sandbox/prices")
    return {
        sku: Decimal(v["price"]) if v and v.get("price") else None
        for sku, v in expect(response, 200, what="sandbox prices").json().items()
    }


def set_up(stack: FullStack, skus: int) -> tuple[GatewayClient, tuple[flow.Shop, flow.Shop], list[str]]:
    tag = uuid.uuid4().hex[:6].upper()
    client = GatewayClient(stack.gateway_url)
    client.register(f"Price bulk {tag}", f"bench-{tag.lower()}@pricing.test", PASSWORD)
    items = [
        CatalogueItem(f"PB-{tag}-{n}", f"Bench item {n}", 5, f"{10 + n % 90}.{n % 100:02d}")
        for n in range(skus)
    ]
    client.create_products(items)
    shopify_box, woo_box = Sandbox(stack.shopify_sandbox_url), Sandbox(stack.woocommerce_sandbox_url)
    for box in (shopify_box, woo_box):
        box.add_products(items)
    shops = flow.connect_shops(client, shopify_box, woo_box)
    with ThreadPoolExecutor(max_workers=2) as pool:
        mapped = list(pool.map(lambda shop: client.auto_map(shop.connection_id), shops))
    for shop, result in zip(shops, mapped, strict=True):
        if result["mapped"] != skus:
            raise SystemExit(f"{shop.channel_type}: mapped {result['mapped']} of {skus}")
    call(client, "PUT", f"/channels/{shops[1].connection_id}/pricing", json={"rounding": "0.99"})
    call(client, "PUT", "/fx-rates", json={"base": "USD", "rates": FX})
    return client, shops, [i.sku for i in items]


# ---------------------------------------------------------------------------- baseline
def shopify_direct(shop: flow.Shop, listings: dict[str, dict[str, Any]], prices: dict[str, Decimal]) -> int:
    """One productVariantsBulkUpdate per product, straight to the sandbox; the calls it took."""
    token = expect(
        shop.sandbox.http.post(f"{shop.sandbox.base_url}/_sandbox/tokens", json={}), 201, what="mint a token"
    ).json()["access_token"]
    url = shop.sandbox.config()["graphql_url"]
    calls = 0
    for sku, price in prices.items():
        ids = listings[sku]["external_ids"]
        variables = {
            "productId": f"gid://shopify/Product/{ids['product_id']}",
            "variants": [{"id": f"gid://shopify/ProductVariant/{ids['variant_id']}", "price": str(price)}],
        }
        while True:
            calls += 1
            response = shop.sandbox.http.post(
                url,
                json={"query": SHOPIFY_MUTATION, "variables": variables},
                headers={"X-Shopify-Access-Token": token},
            )
            body = response.json() if response.status_code == 200 else {}
            codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
            if response.status_code == 429 or "THROTTLED" in codes:
                time.sleep(0.05)
                continue
            expect(response, 200, what="productVariantsBulkUpdate")
            if body.get("errors"):
                raise SystemExit(f"baseline Shopify write refused: {body['errors']}")
            break
    return calls


def woo_direct(shop: flow.Shop, listings: dict[str, dict[str, Any]], prices: dict[str, Decimal]) -> int:
    """products/batch of 100 updates, straight to the sandbox with the store's keys; the calls."""
    from woocommerce_connector.client import OAuth1Signing

    config = shop.sandbox.config()
    auth = OAuth1Signing(config["consumer_key"], config["consumer_secret"])
    updates = [
        {
            "id": int(listings[sku]["external_ids"]["product_id"]),
            "regular_price": str(price),
            "sale_price": "",
        }
        for sku, price in prices.items()
    ]
    calls = 0
    for start in range(0, len(updates), WOO_BATCH):
        response = shop.sandbox.http.post(
            f"{config['api_base']}/products/batch",
            json={"update": updates[start : start + WOO_BATCH]},
            auth=auth,
        )
        expect(response, 200, what="products/batch")
        calls += 1
    return calls


def run_baseline(
    client: GatewayClient, shops: tuple[flow.Shop, flow.Shop], skus: list[str]
) -> tuple[float, int]:
    """Write every SKU's current sandbox price again, straight to both vendor APIs in parallel:
    (seconds, calls). The same number of writes as the bulk change pushes."""
    plans = []
    for shop in shops:
        listings = client.listings(shop.connection_id)
        current = shown(shop.sandbox)
        plans.append((shop, listings, {sku: current[sku] or Decimal("1.00") for sku in skus}))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(
                shopify_direct if shop.channel_type == "shopify" else woo_direct, shop, listings, prices
            )
            for shop, listings, prices in plans
        ]
        calls = sum(f.result() for f in futures)
    return time.monotonic() - started, calls


# ---------------------------------------------------------------------------- the bulk change
def run_bulk(
    client: GatewayClient, shops: tuple[flow.Shop, flow.Shop], skus: list[str], args: argparse.Namespace
) -> tuple[float, float, float, int]:
    """(preview s, apply s, first apply -> every price visible s, items changed)."""
    previews: list[dict[str, Any]] = []
    started = time.monotonic()
    for shop in shops:
        body = {
            "connection_id": shop.connection_id,
            "change": {"percent": args.percent},
            "rounding": "0.99",
            "reason": f"bench +{args.percent}%",
            "dry_run": True,
        }
        previews.append(call(client, "POST", "/prices/bulk", json=body))
    preview_s = time.monotonic() - started
    for shop, preview in zip(shops, previews, strict=True):
        if preview["count"] != len(skus):
            raise SystemExit(f"{shop.channel_type}: the preview counts {preview['count']} of {len(skus)}")
    started = time.monotonic()
    changed = sum(
        int(call(client, "POST", "/prices/bulk", json={"preview_id": p["preview_id"]})["count"])
        for p in previews
    )
    apply_s = time.monotonic() - started
    expected = [prices_of(client, shop.connection_id) for shop in shops]

    def missing() -> int:
        return sum(
            sum(1 for sku in skus if seen.get(sku) != want[sku])
            for seen, want in ((shown(shop.sandbox), exp) for shop, exp in zip(shops, expected, strict=True))
        )

    flow.wait_for(
        missing,
        lambda n: n == 0,
        timeout=VISIBLE_DEADLINE_SECONDS,
        what="every new price shown",
        interval=args.poll,
    )
    return preview_s, apply_s, time.monotonic() - started, changed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--percent", type=int, default=10)
    parser.add_argument("--poll", type=float, default=0.2, help="sandbox polling interval, seconds")
    parser.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"))
    parser.add_argument(
        "--amqp-url", default=os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    )
    args = parser.parse_args()
    # A SIGTERM (timeout, kill) unwinds the context managers: the stack, databases and vhost go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = {"WOOCOMMERCE_SANDBOX_CURRENCY": "EUR", "ACCESS_TOKEN_TTL_SECONDS": str(24 * 3600)}
    with tempfile.TemporaryDirectory(prefix="price-bulk-") as tmp:
        workdir = Path(tmp)
        with (
            databases(args.sqlite, workdir) as (urls, backend),
            isolated_vhost(args.amqp_url, prefix="omnistock-bench-prices") as (vhost_url, _isolated),
            FullStack(workdir, urls, args.redis_url, vhost_url, env=env) as stack,
        ):
            client, shops, skus = set_up(stack, args.skus)
            baseline_s, baseline_calls = run_baseline(client, shops, skus)
            print(
                f"baseline: {2 * len(skus)} writes straight to the sandboxes in {baseline_s:.1f} s",
                flush=True,
            )
            preview_s, apply_s, visible_s, changed = run_bulk(client, shops, skus, args)
            client.close()
    writes = 2 * len(skus)
    print(
        f"\nBulk price change benchmark ({backend}, {len(skus)} SKUs on each of 2 channels, +{args.percent}%)"
    )
    print(f"  preview:  {preview_s:8.2f} s  (2 dry runs, {writes / preview_s:,.0f} prices/s)")
    print(
        f"  apply:    {apply_s:8.2f} s  (2 applies, {changed} prices changed, {changed / apply_s:,.0f} prices/s)"
    )
    print(f"  visible:  {visible_s:8.2f} s  from the first apply until both sandboxes show every new price")
    print(f"            ({writes / visible_s:,.0f} prices/s)")
    print(
        f"  baseline: {baseline_s:8.2f} s  the same {writes} writes straight to the vendor APIs "
        f"({baseline_calls} calls with THROTTLED retries, {writes / baseline_s:,.0f} prices/s)"
    )
    print(f"  ratio:    visible / baseline {visible_s / baseline_s:.2f}")
    return 0 if changed == writes else 1


if __name__ == "__main__":
    sys.exit(main())
