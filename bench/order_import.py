"""Order import benchmark: sandbox order -> its webhook -> order stored -> stock reserved, end to end.

Usage (from the repo root; PostgreSQL, Redis and RabbitMQ local):
    .venv/bin/python bench/order_import.py [--orders 10000] [--latency 50] [--placers 8] [--skus 20] [--sqlite]

One run starts the whole stack from the Procfile as subprocesses on free ports
(omnistock_devtools.fullstack), on fresh PostgreSQL databases (SQLite files with --sqlite), a
throw-away RabbitMQ virtual host when rabbitmqctl can create one, and the Redis database of
--redis-url (not flushed; no other stack may share it). Through the REST API it registers a tenant,
creates --skus SKUs with ample stock, puts them in both sandboxes, connects WooCommerce (keys, with
its webhook secret) and Shopify (OAuth against the sandbox), auto-maps, and subscribes each sandbox's
order webhooks (below). The steps are omnistock_devtools.order_flow's,
the ones tests/e2e/test_orders_full_stack.py checks.

  import    --orders one-line orders (1-3 units of a SKU, alternating channels) placed by --placers
            threads; each sandbox signs and sends its webhook as it takes the order. Clock: from
            the first placement until inventory holds every unit (sum of `reserved` over the SKUs,
            GET /inventory/{sku}); the orders service reserves only after storing the order, so
            that is "order stored and stock reserved". Then GET /orders must list exactly --orders.
            Orders/s = orders / that time. Also the CPU seconds each deployable (its child
            processes included) used meanwhile: on a 2-CPU machine the import is CPU-bound.
  latency   (first) --latency orders of 1 unit, one at a time on an otherwise idle stack, alternating the
            selling channel: time from the sandbox order request (the sandbox sends the webhook
            before it answers) until the OTHER sandbox shows the lower quantity (polled every
            --poll s). p50/p99.

The sandboxes' webhooks go to omnistock_devtools.order_flow.WebhookCatcher, which forwards each
to the gateway as it arrives during the import and latency runs (one local HTTP hop more than a
direct subscription) and only answers 200 during the baseline.

Baselines, in the same run and on the same stack:
  import    the sandboxes alone (run last): as many orders, placed the same way, of SKUs only
            the sandboxes sell, with the catcher only answering: the ceiling the sandboxes and webhook delivery
            put on the import rate.
  latency   the same SKUs decreased by 1 through POST /inventory/adjustments (no order): the
            stock-sync path the order path ends with.

Results: docs/performance.md ("Order import").
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import redis
import sqlalchemy

from omnistock_devtools import order_flow as flow
from omnistock_devtools.demo import CatalogueItem, GatewayClient, Sandbox
from omnistock_devtools.fullstack import MIGRATED_SERVICES, FullStack, isolated_vhost
from omnistock_devtools.testing import postgres_databases

PASSWORD = "order-import-bench"
IMPORT_DEADLINE_SECONDS = 1800.0
LATENCY_DEADLINE_SECONDS = 60.0


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for an empty list."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


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


@dataclass
class Bench:
    client: GatewayClient
    shops: tuple[flow.Shop, flow.Shop]
    skus: list[str]
    baseline_skus: list[str]  # only in the sandboxes: an order of them reserves nothing anywhere
    stock: int
    # Where `explain` reads the channels service's commitments and listings.
    channels_db: str = ""

    def reserved(self) -> int:
        return sum(level["reserved"] for level in flow.stock_levels(self.client, self.skus).values())


def set_up(stack: FullStack, args: argparse.Namespace, stock: int, catcher: flow.WebhookCatcher) -> Bench:
    tag = uuid.uuid4().hex[:6].upper()
    client = GatewayClient(stack.gateway_url)
    client.register(f"Order import {tag}", f"bench-{tag.lower()}@orders.test", PASSWORD)
    items = [CatalogueItem(f"OI-{tag}-{n}", f"Bench item {n}", stock, "10.00") for n in range(args.skus)]
    client.create_products(items)
    client.set_stock({i.sku: stock for i in items})
    shopify_box, woo_box = Sandbox(stack.shopify_sandbox_url), Sandbox(stack.woocommerce_sandbox_url)
    baseline = [
        CatalogueItem(f"OB-{tag}-{n}", f"Baseline item {n}", stock, "10.00") for n in range(args.skus)
    ]
    for box in (shopify_box, woo_box):
        box.add_products(items + baseline)
    shops = flow.connect_shops(client, shopify_box, woo_box)
    for shop in shops:
        client.auto_map(shop.connection_id, [i.sku for i in items])
        client.request_sync(shop.connection_id, "inventory")
        flow.subscribe_order_webhooks(
            shop.sandbox, shop.channel_type, catcher.address(shop.channel_type, shop.connection_id)
        )
    skus = [i.sku for i in items]
    for shop in shops:
        flow.wait_for(
            lambda shop=shop: {s: shop.sandbox.inventory().get(s) for s in skus},
            lambda seen: all(q == stock for q in seen.values()),
            timeout=120,
            what=f"{shop.channel_type} shows the stock",
        )
    return Bench(client, shops, skus, [i.sku for i in baseline], stock)


def place_all(bench: Bench, orders: int, placers: int, offset: int = 0) -> float:
    """Place `orders` one-line orders from `placers` threads; seconds it took."""
    counter = iter(range(orders))
    lock = threading.Lock()

    def placer() -> None:
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            i = n + offset
            bench.shops[i % 2].place_order({bench.skus[i % len(bench.skus)]: 1 + i % 3})

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=placers) as pool:
        for future in [pool.submit(placer) for _ in range(placers)]:
            future.result()
    return time.monotonic() - started


def units(orders: int, offset: int = 0) -> int:
    return sum(1 + (n + offset) % 3 for n in range(orders))


def cpu_seconds(stack: FullStack) -> dict[str, float]:
    """CPU seconds (user + system) each deployable has used so far, its child processes included
    (every deployable runs in its own session: its process group is its popen pid)."""
    tick = os.sysconf("SC_CLK_TCK")
    groups = {proc.popen.pid: name for name, proc in stack.processes.items()}
    used = dict.fromkeys(groups.values(), 0.0)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = groups.get(int(fields[2]))  # pgrp
        if name is not None:
            used[name] += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return used


def run_import(bench: Bench, args: argparse.Namespace) -> tuple[float, float, int]:
    """(seconds until every unit is reserved, seconds placing took, orders listed)."""
    target = bench.reserved() + units(args.orders)
    started = time.monotonic()
    placing = place_all(bench, args.orders, args.placers)
    flow.wait_for(
        bench.reserved,
        lambda r: r >= target,
        timeout=IMPORT_DEADLINE_SECONDS,
        what="every unit reserved",
        interval=0.2,
    )
    seconds = time.monotonic() - started
    listed = len(flow.list_orders(bench.client, q=bench.skus[0].rsplit("-", 1)[0]))
    return seconds, placing, listed


def run_baseline_import(bench: Bench, args: argparse.Namespace) -> float:
    """The same placements on SKUs only the sandboxes sell, with the webhooks going to the catcher,
    which only answers: the sandboxes' and webhook delivery's own rate."""
    skus = bench.skus
    bench.skus = bench.baseline_skus
    try:
        return place_all(bench, args.orders, args.placers)
    finally:
        bench.skus = skus


def seconds_until_lower(shop: flow.Shop, sku: str, below: int, started: float, poll: float) -> float:
    """Seconds from `started` until `shop`'s sandbox shows `sku` below `below`."""
    flow.wait_for(
        lambda: shop.sandbox.inventory()[sku],
        lambda q: q < below,
        timeout=LATENCY_DEADLINE_SECONDS,
        what=f"{shop.channel_type} shows {sku} below {below}",
        interval=poll,
    )
    return time.monotonic() - started


def settled(bench: Bench, sku: str, poll: float, redis_url: str = "") -> None:
    """Both channels show inventory's figure of `sku` (the last order's hold replaced its commitment)."""
    try:
        _settled(bench, sku, poll)
    except flow.FlowTimeout:
        if redis_url:
            explain(bench, sku, redis_url)
        raise


def _settled(bench: Bench, sku: str, poll: float) -> None:
    # Both channels at inventory's figure, not merely equal: while an order's hold is in
    # inventory and its commitment not yet settled, both show one unit fewer for a moment (safe),
    # and a step measured from there can wait for a decrease that already happened.
    def seen() -> dict[str, int]:
        shown = {s.channel_type: s.sandbox.inventory()[sku] for s in bench.shops}
        return {**shown, "inventory": flow.stock_levels(bench.client, [sku])[sku]["available"]}

    flow.wait_for(
        seen,
        lambda figures: len(set(figures.values())) == 1,
        timeout=LATENCY_DEADLINE_SECONDS,
        what=f"both channels show inventory's {sku}",
        interval=poll,
    )


def explain(bench: Bench, sku: str, redis_url: str) -> None:
    """What every side knew of `sku` when a channel did not show a change in time (stderr)."""
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    out = sys.stderr
    print(f"--- state of {sku} at the timeout", file=out)
    print(f"inventory: {flow.stock_levels(bench.client, [sku])}", file=out)
    history = bench.client.http.get(
        f"{bench.client.api}/inventory/{sku}/history", params={"limit": 12}, headers=bench.client._auth()
    ).json()
    for move in history.get("items", []):
        print(f"ledger: {move}", file=out)
    for order in flow.list_orders(bench.client, q=sku)[:3]:
        lines = [(line["sku"], line["quantity"], line.get("quantity_reserved")) for line in order["lines"]]
        print(
            f"order {order['source']} {order['external_id']} {order['status']} {lines}"
            f" created {order['created_at']} updated {order.get('updated_at')}",
            file=out,
        )
    for shop in bench.shops:
        conn = shop.connection_id
        print(f"{shop.channel_type}: sandbox shows {shop.sandbox.inventory().get(sku)}", file=out)
        print(
            f"  redis pending={store.hget('omnistock:pending:' + conn, sku)}"
            f" figures={store.hget('omnistock:figures:' + conn, sku)}"
            f" due={store.zscore('omnistock:sync:due', conn)} hold={store.get('omnistock:sync:hold:' + conn)}"
            f" attempts={store.get('omnistock:sync:attempts:' + conn)}",
            file=out,
        )
        for entry in bench.client.sync_log(conn, limit=8):
            print(f"  log {entry}", file=out)
    if bench.channels_db:
        engine = sqlalchemy.create_engine(bench.channels_db.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            for table, order in (("channel_commitments", "updated_at"), ("listings", "connection_id")):
                query = f"SELECT * FROM {table} WHERE sku = :sku ORDER BY {order} DESC LIMIT 6"
                for row in conn.execute(sqlalchemy.text(query), {"sku": sku}):
                    print(f"{table}: {dict(row._mapping)}", file=out)
        engine.dispose()


def run_latency(bench: Bench, args: argparse.Namespace) -> tuple[list[float], list[float]]:
    """(order webhook -> other channel lower, plain adjustment -> channel lower) seconds."""
    via_order: list[float] = []
    via_adjust: list[float] = []
    for n in range(args.latency):
        shop, other = bench.shops[n % 2], bench.shops[(n + 1) % 2]
        sku = bench.skus[n % len(bench.skus)]
        settled(bench, sku, args.poll, args.redis_url)
        before = other.sandbox.inventory()[sku]
        started = time.monotonic()
        placed = shop.place_order({sku: 1})
        try:
            via_order.append(seconds_until_lower(other, sku, before, started, args.poll))
        except flow.FlowTimeout:
            print(
                f"--- step {n}: {placed} on {shop.channel_type}, {other.channel_type} showed {before}",
                file=sys.stderr,
            )
            explain(bench, sku, args.redis_url)
            raise
        settled(bench, sku, args.poll, args.redis_url)
        before = other.sandbox.inventory()[sku]
        started = time.monotonic()
        adjusted = bench.client.adjust(sku, -1, reason="correction")
        try:
            via_adjust.append(seconds_until_lower(other, sku, before, started, args.poll))
        except flow.FlowTimeout:
            print(f"--- step {n}: adjusted {adjusted}, {other.channel_type} showed {before}", file=sys.stderr)
            explain(bench, sku, args.redis_url)
            raise
    return via_order, via_adjust


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--latency", type=int, default=50, help="orders timed one at a time")
    parser.add_argument("--placers", type=int, default=8, help="threads placing sandbox orders")
    parser.add_argument("--skus", type=int, default=20)
    parser.add_argument("--poll", type=float, default=0.02, help="sandbox polling interval, seconds")
    parser.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"))
    parser.add_argument(
        "--amqp-url", default=os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the stack's files (every process's log) here instead of a temporary directory",
    )
    args = parser.parse_args()
    # A SIGTERM (timeout, kill) unwinds the context managers: the stack, databases and vhost go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Every unit of both import runs and the latency orders, with room to spare.
    stock = 2 * units(args.orders) // args.skus + 4 * args.latency + 100
    env = {
        "GATEWAY_WEBHOOK_RATE_LIMIT": str(10 * args.orders + 1000),
        # A 10,000-order import outlasts the default 15-minute access token of the bench's user.
        "ACCESS_TOKEN_TTL_SECONDS": str(24 * 3600),
    }
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    keep = contextlib.nullcontext(str(args.workdir)) if args.workdir else None
    with keep or tempfile.TemporaryDirectory(prefix="order-import-") as tmp:
        workdir = Path(tmp)
        with (
            databases(args.sqlite, workdir) as (urls, backend),
            isolated_vhost(args.amqp_url, prefix="omnistock-bench-orders") as (vhost_url, _isolated),
            FullStack(workdir, urls, args.redis_url, vhost_url, env=env) as stack,
            flow.WebhookCatcher(stack.gateway_url) as catcher,
        ):
            bench = set_up(stack, args, stock, catcher)
            bench.channels_db = urls["channels"]
            # Each webhook goes on to the gateway as it arrives (one local hop more).
            catcher.forward = True
            # First, on the quiet stack: after a large import the channels keep converging (held
            # increases, settlements) for a while, and a figure moving for those reasons is not
            # the latency of one order.
            via_order, via_adjust = run_latency(bench, args)
            cpu_before = cpu_seconds(stack)
            seconds, placing, listed = run_import(bench, args)
            cpu = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_seconds(stack).items()}
            # At once: the import's figures survive a failure of the phases after it.
            print(
                f"import: {args.orders / seconds:.1f} orders/s ({seconds:.1f} s), listed {listed}", flush=True
            )
            # Last: the order polls would import the baseline's orders (unmapped SKUs) and load
            # the stack during anything measured after it.
            catcher.forward = False
            baseline = run_baseline_import(bench, args)
            bench.client.close()
    print(
        f"\nOrder import benchmark ({backend}, {args.orders} orders, {args.placers} placers, {args.skus} SKUs)"
    )
    print(
        f"  import:   {args.orders / seconds:8.1f} orders/s end to end ({seconds:.1f} s; placing took {placing:.1f} s)"
    )
    print(f"  baseline: {args.orders / baseline:8.1f} orders/s sandboxes + webhooks to a no-op receiver")
    # The latency phase's orders are of the same SKUs: they are listed too.
    print(f"  listed through GET /orders afterwards: {listed} (expected {args.orders + args.latency})")
    total_cpu = sum(cpu.values())
    print(
        f"  CPU of the stack during the import: {total_cpu:.1f} s ({total_cpu / args.orders * 1000:.0f} ms per order):"
    )
    for name, used in sorted(cpu.items(), key=lambda kv: -kv[1]):
        print(f"    {name:<22} {used:7.1f} s  {used / args.orders * 1000:6.1f} ms/order")
    print(f"  latency, order webhook -> other channel lower ({len(via_order)} orders): ", end="")
    print(f"p50 {pct(via_order, 50) * 1000:.0f} ms, p99 {pct(via_order, 99) * 1000:.0f} ms")
    print(f"  baseline, stock adjustment -> channel lower ({len(via_adjust)}): ", end="")
    print(f"p50 {pct(via_adjust, 50) * 1000:.0f} ms, p99 {pct(via_adjust, 99) * 1000:.0f} ms")
    return 0 if listed == args.orders + args.latency else 1


if __name__ == "__main__":
    sys.exit(main())
