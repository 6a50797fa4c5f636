"""Dashboard benchmark: each page's data and the page itself, at 10,000 SKUs and 50,000 orders.

Usage (from the repo root; PostgreSQL and Redis local, Debian's chromium, the dashboard built):
    .venv/bin/python bench/dashboard_pages.py [--skus 10000] [--orders 50000] [--loads 20]
    .venv/bin/python bench/dashboard_pages.py --skus 500 --orders 2000 --loads 5   # a smoke run

One run starts gateway, catalog, inventory, orders, channels and pricing from the Procfile
(omnistock_devtools.fullstack) on fresh PostgreSQL databases, registers a tenant, creates --skus
SKUs through the CSV import (POST /products/import) and sets their stock (POST
/inventory/adjustments/batch; one SKU in twenty under its low-stock threshold), then writes
--orders orders over the last 90 days on three channels (Shopify, WooCommerce, manual; 1-3 lines
of 1-4 units) through the orders service's own repository, which keeps the sales read model in the
same transaction as each order, as the service does. Seeding is not timed.

Measured, in Debian's Chromium (headless, 1280x900) driven by Playwright's Python package, after
one log-in, --loads times per page (a fresh navigation each time, the HTTP cache on):
  data     from the page's first API request starting to its last API response ending, from the
           browser's Resource Timing entries of /api/v1/ (what "the page's data arrives" means);
  usable   from navigation start until the page's heading is shown and no section still says
           "Loading …" (every section has its data or its empty/error state).
Printed per page: p50 and p95 of both, and the API calls the page made.

Baseline, in the same run and browser: the app shell with no data (an unknown path, "Page not
found", usable p95) and the cheapest authenticated call (GET /api/v1/me, data p95, fetched by the
page); ratios are page / baseline. Targets (issue 17): data p95 < 300 ms, usable p95 < 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from omnistock_common.config import project_root
from omnistock_common.db import make_engine
from omnistock_devtools.browser import CHROMIUM, DESKTOP, PASSWORD, log_in
from omnistock_devtools.demo import GatewayClient
from omnistock_devtools.fullstack import MIGRATED_SERVICES, FullStack
from omnistock_devtools.testing import RABBITMQ, postgres_databases

STACK = ("gateway", "catalog", "inventory", "orders", "channels", "pricing")
CHANNELS = (("SHOPIFY", "conn-shopify"), ("WOOCOMMERCE", "conn-woo"), ("MANUAL", ""))
ORDER_BATCH = 500
# Waits until the page's heading is there and no section is still loading (ui.tsx's <Loading>).
USABLE = """() => {
  const main = document.querySelector('main');
  if (!main || !main.querySelector('h1')) return false;
  return ![...main.querySelectorAll('[role=status][aria-live]')].some(e => e.textContent.startsWith('Loading'));
}"""
DATA_SPAN = """() => {
  const api = performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/'));
  if (!api.length) return null;
  const start = Math.min(...api.map(e => e.startTime));
  const end = Math.max(...api.map(e => e.responseEnd));
  return {span: end - start, calls: api.map(e => new URL(e.name).pathname),
          durations: api.map(e => [new URL(e.name).pathname, e.responseEnd - e.startTime])};
}"""


@dataclass
class Figures:
    page: str
    data_ms: list[float]
    usable_ms: list[float]
    calls: list[str]
    # API path -> each load's time from its request's start to its response's end (ms)
    per_call: dict[str, list[float]]


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


@contextlib.contextmanager
def databases() -> Iterator[dict[str, str]]:
    admin = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with postgres_databases(admin, prefix="omnistock_bench") as create:
        yield {service: create() for service in MIGRATED_SERVICES}


def seed_catalogue(client: GatewayClient, skus: list[str]) -> None:
    rows = io.StringIO()
    rows.write("product_title,sku,price,currency\n")
    for n, sku in enumerate(skus):
        rows.write(f"Product {n},{sku},{5 + n % 50}.99,USD\n")
    report = client.call(
        "POST", "/products/import", files={"file": ("catalogue.csv", rows.getvalue().encode(), "text/csv")}
    ).json()
    if report.get("errors"):
        raise SystemExit(f"catalogue import refused rows: {report['errors'][:3]}")
    quantities = {sku: (3 if n % 20 == 0 else 40 + n % 100) for n, sku in enumerate(skus)}
    client.set_stock(quantities)


def seed_orders(orders_url: str, tenant_id: str, skus: list[str], count: int) -> float:
    """`count` orders through the orders repository (sales read model kept in the same transaction)."""
    from orders.domain import Order, OrderLine, OrderStatus
    from orders.repository import UnitOfWork

    rng = random.Random(42)
    uow = UnitOfWork(make_engine(orders_url))
    now = datetime.now(UTC)
    statuses = (
        OrderStatus.PAID,
        OrderStatus.PAID,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.PENDING,
    )
    started = time.monotonic()
    for first in range(0, count, ORDER_BATCH):
        batch = []
        for n in range(first, min(count, first + ORDER_BATCH)):
            source, connection = CHANNELS[n % 3]
            at = now - timedelta(days=rng.randrange(90), seconds=rng.randrange(86_400))
            lines = [
                OrderLine(
                    id=uuid.uuid4().hex,
                    line_no=k,
                    sku=rng.choice(skus),
                    quantity=rng.randint(1, 4),
                    unit_price=rng.choice((599, 1299, 2499)),
                )
                for k in range(rng.randint(1, 3))
            ]
            batch.append(
                Order(
                    id=str(uuid.uuid4()),
                    source=source,
                    connection_id=connection,
                    external_id=f"bench-{n}",
                    external_name=f"#{100000 + n}",
                    customer_email=f"buyer{n % 5000}@example.com",
                    currency="USD",
                    status=rng.choice(statuses),
                    created_at=at,
                    updated_at=at,
                    lines=lines,
                )
            )

        def insert(repo: Any, batch: list[Any] = batch) -> None:
            for order in batch:
                repo.insert_order_if_absent(tenant_id, order)

        uow.run(insert)
    return time.monotonic() - started


def measure(
    page: Any, url: str, loads: int
) -> tuple[list[float], list[float], list[str], dict[str, list[float]]]:
    data: list[float] = []
    usable: list[float] = []
    calls: list[str] = []
    per_call: dict[str, list[float]] = {}
    for _ in range(loads):
        page.goto(url, wait_until="commit")
        page.wait_for_function(USABLE, timeout=30_000)
        usable.append(page.evaluate("performance.now()"))
        page.wait_for_load_state("networkidle")
        span = page.evaluate(DATA_SPAN)
        if span:
            data.append(span["span"])
            calls = span["calls"]
            for path, ms in span["durations"]:
                per_call.setdefault(path, []).append(ms)
    return data, usable, calls, per_call


def pages(client: GatewayClient, skus: list[str]) -> list[tuple[str, str]]:
    order_id = client.call("GET", "/orders", params={"limit": 1}).json()["items"][0]["id"]
    return [
        ("overview", "/"),
        ("inventory", "/inventory"),
        ("inventory SKU", f"/inventory/{skus[len(skus) // 2]}"),
        ("orders", "/orders"),
        ("order detail", f"/orders/{order_id}"),
        ("channels", "/channels"),
        ("users", "/users"),
        ("products", "/products"),
        ("pricing", "/pricing"),
    ]


def run(args: argparse.Namespace) -> int:
    if not os.access(CHROMIUM, os.X_OK):
        print(f"{CHROMIUM} not found (apt-get install -y chromium)", file=sys.stderr)
        return 2
    web_dist = project_root() / "web" / "dist"
    if not (web_dist / "index.html").is_file():
        print("web/dist is not built: run `make web`", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    tag = uuid.uuid4().hex[:6].upper()
    skus = [f"B{tag}-{n:05d}" for n in range(args.skus)]
    with tempfile.TemporaryDirectory(prefix="omnistock-dash-") as tmp, databases() as urls:
        env = {"GATEWAY_WEB_DIST_DIR": str(web_dist)}
        with FullStack(Path(tmp), urls, args.redis_url, RABBITMQ.url(), env=env, only=STACK) as stack:
            client = GatewayClient(stack.gateway_url, httpx.Client(timeout=600))
            email = f"bench-{tag.lower()}@bench.test"
            client.register(f"Bench {tag}", email, PASSWORD)
            tenant_id = client.tenant_id
            started = time.monotonic()
            seed_catalogue(client, skus)
            print(f"seeded {len(skus)} SKUs in {time.monotonic() - started:.1f}s", flush=True)
            seconds = seed_orders(urls["orders"], tenant_id, skus, args.orders)
            print(
                f"seeded {args.orders} orders in {seconds:.1f}s ({args.orders / seconds:.0f}/s)", flush=True
            )
            targets = pages(client, skus)
            results: list[Figures] = []
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
                )
                page = browser.new_context(viewport=DESKTOP).new_page()
                log_in(page, stack.gateway_url, "/", email)
                # Logged in once the app shows its log-out button (the login page is usable too).
                page.get_by_role("button", name="Log out").wait_for(timeout=60_000)
                page.wait_for_function(USABLE, timeout=60_000)
                base = stack.gateway_url
                _, shell, _, _ = measure(page, f"{base}/no-such-page", args.loads)
                me: list[float] = []
                for _ in range(args.loads):
                    me.append(
                        page.evaluate(
                            """async () => {
                              const s = JSON.parse(sessionStorage.getItem('omnistock.session'));
                              const t = performance.now();
                              const r = await fetch('/api/v1/me', {headers: {Authorization: 'Bearer ' + s.accessToken}});
                              await r.json();
                              return performance.now() - t;
                            }"""
                        )
                    )
                for name, path in targets:
                    if args.pages and name not in args.pages:
                        continue
                    data, usable, calls, per_call = measure(page, f"{base}{path}", args.loads)
                    results.append(Figures(name, data, usable, calls, per_call))
                browser.close()
    shell95, me95 = p(shell, 0.95), p(me, 0.95)
    print(f"\n{args.skus} SKUs, {args.orders} orders, {args.loads} loads per page (Chromium {DESKTOP})")
    print(f"baseline: app shell usable p95 {shell95:.0f} ms; GET /me p95 {me95:.0f} ms")
    print(
        f"{'page':<14} {'data p50':>9} {'data p95':>9} {'x /me':>6} {'usable p50':>11} {'usable p95':>11} {'x shell':>8}  calls"
    )
    failed = False
    for r in results:
        d95, u95 = (p(r.data_ms, 0.95) if r.data_ms else 0.0), p(r.usable_ms, 0.95)
        d50 = statistics.median(r.data_ms) if r.data_ms else 0.0
        failed |= d95 >= 300 or u95 >= 1000
        print(
            f"{r.page:<14} {d50:>7.0f}ms {d95:>7.0f}ms {d95 / me95:>6.1f} {statistics.median(r.usable_ms):>9.0f}ms"
            f" {u95:>9.0f}ms {u95 / shell95:>8.1f}  {len(r.calls)}: {' '.join(sorted(set(r.calls)))}"
        )
    print("\nslowest API calls per page (p95 of request start to response end):")
    for r in results:
        slowest = sorted(((p(ms, 0.95), path) for path, ms in r.per_call.items()), reverse=True)[:4]
        print(
            f"  {r.page:<14} "
            + ", ".join(f"{path.removeprefix('/api/v1')} {ms:.0f}ms" for ms, path in slowest)
        )
    print("targets: data p95 < 300 ms, usable p95 < 1000 ms:", "MISSED" if failed else "met")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--pages", nargs="*", default=[], help="only these pages (e.g. overview orders)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
