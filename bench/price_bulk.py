"""Bulk price change benchmark: preview, apply, and until both sandboxes show every new price.

Usage (from the repo root; PostgreSQL, Redis and RabbitMQ local):
    .venv/bin/python bench/price_bulk.py [--skus 10000] [--variants-per-product N] [--percent 10] [--sqlite]
    .venv/bin/python bench/price_bulk.py --skus 200 --variants-per-product 20   # a smoke run
    .venv/bin/python bench/price_bulk.py --skus 10000 --variants-per-product 20 --workdir /tmp/pb

One run starts the whole stack from the Procfile as subprocesses on free ports
(omnistock_devtools.fullstack), on fresh PostgreSQL databases (SQLite files with --sqlite), a
throw-away RabbitMQ virtual host when rabbitmqctl can create one, and the Redis database of
--redis-url (not flushed; no other stack may share it). --workdir keeps the stack's files (the
processes' logs in <workdir>/logs) after the run; without it they go with a temporary directory.
The WooCommerce sandbox store sells in EUR
(WOOCOMMERCE_SANDBOX_CURRENCY), so its prices are converted with the tenant's FX table, as in
tests/e2e/test_pricing_full_stack.py. Through the REST API it registers a tenant, creates --skus
SKUs (base prices in USD), lists them on both sandboxes, connects both (Shopify by OAuth,
WooCommerce by keys) and auto-maps them (untimed: Shopify's cost bucket paces it, ~40 s per 1,000
single-variant products).

--variants-per-product N (default 1): with 1, one product per SKU (`POST /products` with one
variant; the sandboxes' `/_sandbox/products`: a Shopify product with one variant, a WooCommerce
simple product). With N > 1, the SKUs are the N variants (Size x Colour options) of skus/N
products, as merchants selling sizes and colours have them: `POST /products` with N variants, and
the sandboxes' `/_sandbox/catalog` (Shopify: one product with N variants; WooCommerce: a variable
product with N variations). The connectors then send one call per product instead of per SKU.

Measured, on every SKU of both connections (`POST /prices/bulk`, +--percent, `.99` endings):
  preview   the two dry runs (Shopify, WooCommerce): seconds until each answered.
  apply     the two `{preview_id}` applies: seconds until each answered (prices stored, history
            written, `pricing.price_changed` in the outbox).
  visible   from the first apply (so the applies included) until both sandboxes show every new
            price, per channel: GET /_sandbox/prices polled every --poll s from the first apply,
            each SKU's change timestamped as first seen, checked against GET /prices read after
            the applies (that read is not counted). The pricing worker's relay, the channels
            worker's coalescing and rate limits, the connectors' bulk price calls (Shopify
            productVariantsBulkUpdate per product, WooCommerce products/batch of 100 simple
            products or variations/batch per variable product).

Before the baseline, the bench waits (untimed) until the sandboxes show the prices the set-up
itself changed (the WooCommerce listings re-priced by the FX table and `.99` rounding).

Baseline, in the same run, before the change (on the quiet stack): the same number of price writes sent
straight to the sandboxes' vendor APIs by this process, in the connectors' shapes and with their
own constants and planners (Shopify: one productVariantsBulkUpdate per product carrying all its
variants, at most MAX_PRICE_BATCH a call, the connector's mutation, with a sandbox token, waiting
out THROTTLED; WooCommerce: woocommerce_connector.protocol.plan_batches, i.e. products/batch of 100
simple products and products/<parent>/variations/batch per variable product, with the store's
keys), one call at a time per channel, both channels in parallel: what the channels themselves
allow. (Not OmniStock's own limits: the WooCommerce connector's 5 req/s token bucket per
connection does not apply to these calls, which is why WooCommerce's ratio is large.) Printed: each figure, visible / baseline, and visible and baseline per channel.

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
from concurrent.futures import Future, ThreadPoolExecutor
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
PROGRESS_SECONDS = 30.0
SEED_BATCH = 100  # products per POST /_sandbox/catalog
SIZES = ("XS", "S", "M", "L", "XL")


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


def catalogue(tag: str, skus: int, per_product: int) -> list[dict[str, Any]]:
    """The bench's products: `skus` SKUs as variants of ceil(skus / per_product) products (the last
    may have fewer), SKU n priced 10..99 + n cents. With more than one variant per product each
    variant gets Size x Colour options, as a merchant selling sizes and colours has them."""
    products = []
    for first in range(0, skus, per_product):
        variants: list[dict[str, Any]] = []
        for n in range(first, min(first + per_product, skus)):
            j = n - first
            variant: dict[str, Any] = {
                "sku": f"PB-{tag}-{n}",
                "price": f"{10 + n % 90}.{n % 100:02d}",
                "quantity": 5,
            }
            if per_product > 1:
                variant["options"] = {
                    "Size": SIZES[j % len(SIZES)],
                    "Colour": f"Colour {j // len(SIZES) + 1}",
                }
            variants.append(variant)
        products.append({"title": f"Bench item {first // per_product}", "variants": variants})
    return products


def create_catalogue(
    client: GatewayClient, boxes: tuple[Sandbox, Sandbox], products: list[dict[str, Any]], per_product: int
) -> None:
    """The products in OmniStock's catalog (POST /products, USD) and listed on both sandboxes.
    One variant per product: one product per SKU (CatalogueItem, `/_sandbox/products`) as the
    bench always did; more: products with variants (`/_sandbox/catalog`: Shopify variants,
    WooCommerce a variable product with one variation per variant)."""
    if per_product == 1:
        items = [
            CatalogueItem(v["sku"], p["title"], v["quantity"], v["price"])
            for p in products
            for v in p["variants"]
        ]
        client.create_products(items)
        for box in boxes:
            box.add_products(items)
        return
    for product in products:
        body = {
            "title": product["title"],
            "variants": [
                {"sku": v["sku"], "price": {"amount": v["price"], "currency": "USD"}, "options": v["options"]}
                for v in product["variants"]
            ],
        }
        response = client.http.post(f"{client.api}/products", json=body, headers=client._auth())
        expect(response, 201, what=f"create product {product['title']}")
    for box in boxes:
        for start in range(0, len(products), SEED_BATCH):
            response = box.http.post(
                f"{box.base_url}/_sandbox/catalog", json={"products": products[start : start + SEED_BATCH]}
            )
            expect(response, 201, what=f"list products on the sandbox at {box.base_url}")


def set_up(
    stack: FullStack, skus: int, per_product: int
) -> tuple[GatewayClient, tuple[flow.Shop, flow.Shop], list[str]]:
    tag = uuid.uuid4().hex[:6].upper()
    client = GatewayClient(stack.gateway_url)
    client.register(f"Price bulk {tag}", f"bench-{tag.lower()}@pricing.test", PASSWORD)
    products = catalogue(tag, skus, per_product)
    shopify_box, woo_box = Sandbox(stack.shopify_sandbox_url), Sandbox(stack.woocommerce_sandbox_url)
    create_catalogue(client, (shopify_box, woo_box), products, per_product)
    shops = flow.connect_shops(client, shopify_box, woo_box)
    with ThreadPoolExecutor(max_workers=2) as pool:
        mapped = list(pool.map(lambda shop: client.auto_map(shop.connection_id), shops))
    for shop, result in zip(shops, mapped, strict=True):
        if result["mapped"] != skus:
            raise SystemExit(f"{shop.channel_type}: mapped {result['mapped']} of {skus}")
    call(client, "PUT", f"/channels/{shops[1].connection_id}/pricing", json={"rounding": "0.99"})
    call(client, "PUT", "/fx-rates", json={"base": "USD", "rates": FX})
    return client, shops, [v["sku"] for p in products for v in p["variants"]]


# ---------------------------------------------------------------------------- baseline
def shopify_direct(shop: flow.Shop, listings: dict[str, dict[str, Any]], prices: dict[str, Decimal]) -> int:
    """What the Shopify connector sends (ShopifyClient.push_prices): one productVariantsBulkUpdate
    per product carrying its variants (at most MAX_PRICE_BATCH a call), the connector's mutation
    and variant inputs, straight to the sandbox; the calls it took, THROTTLED retries included."""
    from shopify_connector.protocol.api import MAX_PRICE_BATCH, gid
    from shopify_connector.protocol.graphql import VARIANTS_BULK_UPDATE_MUTATION

    token = expect(
        shop.sandbox.http.post(f"{shop.sandbox.base_url}/_sandbox/tokens", json={}), 201, what="mint a token"
    ).json()["access_token"]
    url = shop.sandbox.config()["graphql_url"]
    by_product: dict[str, list[dict[str, Any]]] = {}
    for sku, price in prices.items():
        ids = listings[sku]["external_ids"]
        # The listing's ids are GIDs already (catalog.catalog_variants); gid() as the connector does.
        by_product.setdefault(gid("Product", ids["product_id"]), []).append(
            # push.variant_price_input: the price, and compareAtPrice null (no sale).
            {
                "id": gid("ProductVariant", ids["variant_id"]),
                "price": str(price),
                "compareAtPrice": None,
            }
        )
    calls = 0
    for product_id, variants in by_product.items():
        for start in range(0, len(variants), MAX_PRICE_BATCH):
            variables = {
                "productId": product_id,
                "variants": variants[start : start + MAX_PRICE_BATCH],
            }
            while True:
                calls += 1
                response = shop.sandbox.http.post(
                    url,
                    json={"query": VARIANTS_BULK_UPDATE_MUTATION, "variables": variables},
                    headers={"X-Shopify-Access-Token": token},
                )
                body = response.json() if response.status_code == 200 else {}
                codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
                if response.status_code == 429 or "THROTTLED" in codes:
                    time.sleep(0.05)
                    continue
                expect(response, 200, what="productVariantsBulkUpdate")
                errors = body.get("errors") or (body.get("data") or {}).get(
                    "productVariantsBulkUpdate", {}
                ).get("userErrors")
                if errors:
                    raise SystemExit(f"baseline Shopify write refused: {errors}")
                break
    return calls


def woo_direct(shop: flow.Shop, listings: dict[str, dict[str, Any]], prices: dict[str, Decimal]) -> int:
    """What the WooCommerce connector sends (protocol.plan_batches, WooClient's push loop): simple
    products in products/batch of 100, variations in products/<parent>/variations/batch per
    parent, one call at a time, straight to the sandbox with the store's keys; the calls."""
    from woocommerce_connector.client import OAuth1Signing
    from woocommerce_connector.protocol import parse_target, plan_batches

    config = shop.sandbox.config()
    auth = OAuth1Signing(config["consumer_key"], config["consumer_secret"])
    plan = plan_batches(
        (sku, parse_target(listings[sku]["external_ids"]), {"regular_price": str(price), "sale_price": ""})
        for sku, price in prices.items()
    )
    for batch in plan:
        response = shop.sandbox.http.post(f"{config['api_base']}/{batch.path}", json=batch.body, auth=auth)
        expect(response, 200, what=batch.path)
        failed = [u for u in response.json().get("update", []) if u.get("error")]
        if failed:
            raise SystemExit(f"baseline WooCommerce write refused: {failed[:3]}")
    return len(plan)


def run_baseline(
    client: GatewayClient, shops: tuple[flow.Shop, flow.Shop], skus: list[str]
) -> tuple[dict[str, float], int]:
    """Write every SKU's current sandbox price again, straight to both vendor APIs in parallel:
    (seconds per channel, calls). The same number of writes as the bulk change pushes."""
    plans = []
    for shop in shops:
        listings = client.listings(shop.connection_id)
        current = shown(shop.sandbox)
        plans.append((shop, listings, {sku: current[sku] or Decimal("1.00") for sku in skus}))
    started = time.monotonic()

    def timed(
        shop: flow.Shop, listings: dict[str, dict[str, Any]], prices: dict[str, Decimal]
    ) -> tuple[float, int]:
        direct = shopify_direct if shop.channel_type == "shopify" else woo_direct
        calls = direct(shop, listings, prices)
        return time.monotonic() - started, calls

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {plan[0].channel_type: pool.submit(timed, *plan) for plan in plans}
        done = {channel: f.result() for channel, f in futures.items()}
    seconds = {channel: s for channel, (s, _) in done.items()}
    return seconds, sum(c for _, c in done.values())


# ---------------------------------------------------------------------------- the bulk change
def run_bulk(
    client: GatewayClient, shops: tuple[flow.Shop, flow.Shop], skus: list[str], args: argparse.Namespace
) -> tuple[float, float, dict[str, float], int]:
    """(preview s, apply s, first apply -> every price visible s per channel, items changed)."""
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
    # The sandboxes are watched from before the first apply, each SKU's price change timestamped
    # as it is first seen: reading what to expect (GET /prices, 2 x --skus prices) takes tens of
    # seconds on a busy machine, and must not count as time the channels took.
    before = [shown(shop.sandbox) for shop in shops]
    expected: Future[list[dict[str, Decimal]]] = Future()
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        watching = pool.submit(wait_visible, shops, before, expected, started, args.poll)
        try:
            changed = sum(
                int(call(client, "POST", "/prices/bulk", json={"preview_id": p["preview_id"]})["count"])
                for p in previews
            )
            apply_s = time.monotonic() - started
            print(
                f"previewed in {preview_s:.2f} s, applied in {apply_s:.2f} s; waiting for the sandboxes",
                flush=True,
            )
            wanted = [prices_of(client, shop.connection_id) for shop in shops]
            for shop, want in zip(shops, wanted, strict=True):
                if set(want) != set(skus):
                    raise SystemExit(
                        f"{shop.channel_type}: GET /prices has {len(want)} of the {len(skus)} SKUs"
                    )
            expected.set_result(wanted)
        except BaseException as exc:
            expected.set_exception(exc)
            raise
        return preview_s, apply_s, watching.result(), changed


def wait_visible(
    shops: tuple[flow.Shop, flow.Shop],
    before: list[dict[str, Decimal | None]],
    expected: Future[list[dict[str, Decimal]]],
    started: float,
    poll: float,
) -> dict[str, float]:
    """Seconds from `started` until each sandbox shows every expected price: the poll that first saw
    the last SKU at its expected price (a SKU whose price is what it was in `before` counts at 0).
    Polls from the start, timestamping every change it sees, while `expected` may still be coming. A
    channel done is no longer polled (a 10,000-price read is work for the sandbox that is serving the
    pushes); the counts still missing are printed every PROGRESS_SECONDS."""
    last = [dict(b) for b in before]
    changed_at = [dict.fromkeys(b, 0.0) for b in before]
    pending = dict(enumerate(shops))
    visible: dict[str, float] = {}
    missing: dict[str, int | str] = {shop.channel_type: "?" for shop in shops}
    next_progress = started + PROGRESS_SECONDS
    while pending:
        for i, shop in list(pending.items()):
            seen = shown(shop.sandbox)
            at = time.monotonic() - started
            for sku, price in seen.items():
                if last[i].get(sku) != price:
                    last[i][sku], changed_at[i][sku] = price, at
            if not expected.done():
                continue
            want = expected.result()[i]
            missing[shop.channel_type] = sum(1 for sku, price in want.items() if last[i].get(sku) != price)
            if not missing[shop.channel_type]:
                visible[shop.channel_type] = max(changed_at[i].get(sku, at) for sku in want)
                print(
                    f"  {shop.channel_type}: every new price shown after {visible[shop.channel_type]:.1f} s",
                    flush=True,
                )
                del pending[i]
        now = time.monotonic()
        if pending and now - started > VISIBLE_DEADLINE_SECONDS:
            raise SystemExit(
                f"not every new price shown within {VISIBLE_DEADLINE_SECONDS:.0f} s: missing {missing}"
            )
        if pending and now >= next_progress:
            print(f"  {now - started:.0f} s: still to show {missing}", flush=True)
            next_progress = now + PROGRESS_SECONDS
        if pending:
            time.sleep(poll)
    return visible


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument(
        "--variants-per-product",
        type=int,
        default=1,
        metavar="N",
        help="the SKUs as N variants (Size x Colour) of skus/N products; 1: one product per SKU",
    )
    parser.add_argument("--percent", type=int, default=10)
    parser.add_argument("--poll", type=float, default=0.2, help="sandbox polling interval, seconds")
    parser.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"))
    parser.add_argument(
        "--amqp-url", default=os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the stack's files here (logs/<process>.log, SQLite files) instead of a temporary directory",
    )
    args = parser.parse_args()
    if args.variants_per_product < 1:
        parser.error("--variants-per-product must be at least 1")
    # A SIGTERM (timeout, kill) unwinds the context managers: the stack, databases and vhost go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = {"WOOCOMMERCE_SANDBOX_CURRENCY": "EUR", "ACCESS_TOKEN_TTL_SECONDS": str(24 * 3600)}
    with contextlib.ExitStack() as files:
        if args.workdir:
            workdir = args.workdir.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(files.enter_context(tempfile.TemporaryDirectory(prefix="price-bulk-")))
        print(f"stack files in {workdir}", flush=True)
        with (
            databases(args.sqlite, workdir) as (urls, backend),
            isolated_vhost(args.amqp_url, prefix="omnistock-bench-prices") as (vhost_url, _isolated),
            FullStack(workdir, urls, args.redis_url, vhost_url, env=env) as stack,
        ):
            started = time.monotonic()
            client, shops, skus = set_up(stack, args.skus, args.variants_per_product)
            print(
                f"set up (catalog, listings, connections, auto-map) in {time.monotonic() - started:.0f} s",
                flush=True,
            )
            # The set-up's FX table and .99 rounding re-price the WooCommerce listings: let those
            # pushes land (untimed) so that neither the baseline nor the measurement shares the
            # channels with them.
            print("waiting for the set-up's own price pushes (FX, rounding) to land", flush=True)
            started = time.monotonic()
            settled: Future[list[dict[str, Decimal]]] = Future()
            settled.set_result([prices_of(client, shop.connection_id) for shop in shops])
            wait_visible(shops, [shown(shop.sandbox) for shop in shops], settled, started, args.poll)
            print(f"set-up prices shown after {time.monotonic() - started:.0f} s", flush=True)
            baseline, baseline_calls = run_baseline(client, shops, skus)
            print(
                f"baseline: {2 * len(skus)} writes straight to the sandboxes in {max(baseline.values()):.1f} s "
                f"({', '.join(f'{c} {s:.1f} s' for c, s in baseline.items())})",
                flush=True,
            )
            preview_s, apply_s, visible, changed = run_bulk(client, shops, skus, args)
            client.close()
    writes = 2 * len(skus)
    products = -(-len(skus) // args.variants_per_product)
    visible_s, baseline_s = max(visible.values()), max(baseline.values())
    print(
        f"\nBulk price change benchmark ({backend}, {len(skus)} SKUs as {args.variants_per_product} variant(s) "
        f"of {products} products, on each of 2 channels, +{args.percent}%)"
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
    for channel in visible:
        print(
            f"  {channel + ':':12} visible {visible[channel]:8.2f} s, baseline {baseline[channel]:8.2f} s, "
            f"ratio {visible[channel] / baseline[channel]:.2f}"
        )
    return 0 if changed == writes else 1


if __name__ == "__main__":
    sys.exit(main())
