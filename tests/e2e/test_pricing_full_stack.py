"""Acceptance (issue 16) with every process real: channel prices through the gateway reach the
sandboxes, in each store's currency, a bulk change applies exactly its preview, and a timed sale
moves once with two pricing-worker replicas.

One stack per module (omnistock_devtools.fullstack: every deployable a subprocess, fresh
PostgreSQL databases, a throw-away RabbitMQ vhost, the Redis database of TEST_REDIS_URL). The
WooCommerce sandbox store sells in EUR (WOOCOMMERCE_SANDBOX_CURRENCY, what the store's
`woocommerce_currency` setting says), so its connection learns EUR and its derived prices are
converted with the tenant's FX table. Two pricing workers run (`replicas`), and the pricing server
and workers read "now" from a file the test writes (PRICING_TEST_CLOCK_FILE, a development-only
switch): a sale starts and ends when the test moves the clock, never by sleeping for it. Every
check is the REST API or a sandbox's control API, polled until a deadline; each test has its own
SKUs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis

from omnistock_devtools import order_flow as flow
from omnistock_devtools.demo import CatalogueItem, GatewayClient, Sandbox, expect
from omnistock_devtools.fullstack import MIGRATED_SERVICES, SHOPIFY_AND_WOOCOMMERCE, FullStack, isolated_vhost
from omnistock_devtools.order_flow import Shop
from omnistock_devtools.testing import RABBITMQ, REDIS, postgres_databases, require

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.redis, pytest.mark.slow]

PASSWORD = "correct-horse-battery"
# The acceptance: both sandboxes show a price within 5 s of the change.
PRICE_DEADLINE = 5.0
DEADLINE = 30.0
# pricing.worker runs the timed sales every second; two ticks of both replicas.
SALE_TICKS = 2.5
FX = {"EUR": "0.92", "GBP": "0.79", "BDT": "119.5"}

# sku suffix -> base price (USD, the catalog's); every test uses its own SKUs.
BASE = {
    "DUAL": "89.00",
    **{f"BULK-{n}": price for n, price in enumerate(("10.00", "12.50", "19.99", "7.00", "100.00"))},
    "SALE": "60.00",
}


@dataclass
class PricingStack:
    stack: FullStack
    client: GatewayClient
    shopify: Shop
    woo: Shop
    tag: str
    clock_file: Path

    def sku(self, suffix: str) -> str:
        return f"PR-{self.tag}-{suffix}"

    def prices(self, **query: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = self.client.call(
                "GET", "/prices", params={**query, "limit": 500, **({"cursor": cursor} if cursor else {})}
            ).json()
            items.extend(page["items"])
            cursor = page.get("next_cursor") or ""
            if not cursor:
                return items

    def set_clock(self, moment: datetime | None) -> None:
        """Every pricing process's "now" (None: the real clock again)."""
        self.clock_file.write_text(moment.isoformat() if moment else "")

    def failure_context(self) -> str:
        names = ("pricing", "pricing-worker", "pricing-worker#2", "channels-worker", "woocommerce-connector")
        return "\n".join(
            f"--- {n}:\n{self.stack.processes[n].tail(30)}" for n in names if n in self.stack.processes
        )


def wait(
    probe: Callable[[], Any],
    done: Callable[[Any], bool],
    what: str,
    ctx: PricingStack,
    timeout: float = DEADLINE,
) -> Any:
    return flow.wait_for(probe, done, timeout=timeout, what=what, context=ctx.failure_context)


def shown(shop: Shop, skus: list[str]) -> dict[str, dict[str, str | None]]:
    """What the sandbox's storefront shows: sku -> {price, compare_at_price}."""
    response = shop.sandbox.http.get(f"{shop.sandbox.base_url}/_sandbox/prices")
    everything = expect(response, 200, what="sandbox prices").json()
    return {sku: everything.get(sku) for sku in skus}


def price_writes(shop: Shop, sku: str) -> int:
    response = shop.sandbox.http.get(f"{shop.sandbox.base_url}/_sandbox/prices/writes")
    return int(expect(response, 200, what="sandbox price writes").json().get(sku, 0))


def money(amount: str, currency: str) -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@pytest.fixture(scope="module")
def pricing_stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str
) -> Iterator[PricingStack]:
    require(REDIS, RABBITMQ)
    redis.Redis.from_url(REDIS.url()).flushdb()
    workdir: Path = tmp_path_factory.mktemp("pricing-stack")
    clock_file = workdir / "clock"
    clock_file.write_text("")
    tag = uuid.uuid4().hex[:6].upper()
    env = {"WOOCOMMERCE_SANDBOX_CURRENCY": "EUR", "PRICING_TEST_CLOCK_FILE": str(clock_file)}
    with (
        postgres_databases(postgres_admin_url) as create_database,
        isolated_vhost(RABBITMQ.url(), prefix="omnistock-e2e-pricing") as (vhost_url, _isolated),
        FullStack(
            workdir,
            {s: create_database() for s in MIGRATED_SERVICES},
            REDIS.url(),
            vhost_url,
            env=env,
            replicas={"pricing-worker": 2},
            only=SHOPIFY_AND_WOOCOMMERCE,
        ) as stack,
    ):
        client = GatewayClient(stack.gateway_url)
        try:
            client.register(f"Pricing {tag}", f"owner-{tag.lower()}@pricing.test", PASSWORD)
            items = [
                CatalogueItem(f"PR-{tag}-{s}", f"Pricing item {s}", 5, price) for s, price in BASE.items()
            ]
            client.create_products(items)
            shopify_box, woo_box = Sandbox(stack.shopify_sandbox_url), Sandbox(stack.woocommerce_sandbox_url)
            shopify_box.add_products(items)
            woo_box.add_products(items)
            shopify, woo = flow.connect_shops(client, shopify_box, woo_box)
            for shop in (shopify, woo):
                mapped = client.auto_map(shop.connection_id)
                assert mapped["mapped"] == len(items), mapped
            yield PricingStack(stack, client, shopify, woo, tag, clock_file)
        finally:
            client.close()


# ---------------------------------------------------------------------------- a price per channel
def test_a_price_per_channel_reaches_both_sandboxes_in_each_store_currency(
    pricing_stack: PricingStack,
) -> None:
    """Shopify 99.00 USD set by hand; WooCommerce the base 89.00 USD converted to EUR (the store's
    currency, learnt from its settings) with the tenant's FX table and the connection's `.99`."""
    ctx = pricing_stack
    sku = ctx.sku("DUAL")
    woo_conn = ctx.client.connection(ctx.woo.connection_id)
    assert woo_conn["settings"].get("currency") == "EUR", woo_conn["settings"]

    pricing = ctx.client.call(
        "PUT", f"/channels/{ctx.woo.connection_id}/pricing", json={"rounding": "0.99"}
    ).json()
    assert (pricing["currency"], pricing["rounding"]) == ("", "0.99")
    started = time.monotonic()
    ctx.client.call(
        "PUT",
        f"/prices/{sku}",
        json={"connection_id": ctx.shopify.connection_id, "price": money("99.00", "USD")},
    )
    fx = ctx.client.call("PUT", "/fx-rates", json={"base": "USD", "rates": FX}).json()
    assert fx["repriced"] >= 1, fx

    # 89.00 USD x 0.92 = 81.88 EUR, then the .99 ending: 81.99 EUR.
    expected = {
        ctx.shopify.connection_id: ("99.00", "USD", False),
        ctx.woo.connection_id: ("81.99", "EUR", True),
    }
    listed = {
        p["connection_id"]: (p["price"]["amount"], p["price"]["currency"], p["derived"])
        for p in ctx.prices(sku=sku)
    }
    assert {c: (Decimal(a), cur, d) for c, (a, cur, d) in listed.items()} == {
        c: (Decimal(a), cur, d) for c, (a, cur, d) in expected.items()
    }
    for shop, amount in ((ctx.shopify, "99.00"), (ctx.woo, "81.99")):
        wait(
            lambda shop=shop: shown(shop, [sku])[sku],
            lambda seen, amount=amount: seen is not None and dec(seen["price"]) == Decimal(amount),
            f"{shop.channel_type} sandbox shows {amount} for {sku}",
            ctx,
            timeout=PRICE_DEADLINE,
        )
    assert time.monotonic() - started < PRICE_DEADLINE + 2.0  # both within the 5 s (plus the two calls)

    # A USD price on the EUR store is refused, changing nothing.
    refused = ctx.client.call(
        "PUT",
        f"/prices/{sku}",
        400,
        json={"connection_id": ctx.woo.connection_id, "price": money("80.00", "USD")},
    )
    assert refused.headers["content-type"].startswith("application/problem+json")


# ---------------------------------------------------------------------------- bulk change
def _preview(ctx: PricingStack, percent: int) -> dict[str, Any]:
    body = {
        "connection_id": ctx.shopify.connection_id,
        "change": {"percent": percent},
        "filter": {"sku_prefix": ctx.sku("BULK-")},
        "rounding": "0.99",
        "reason": f"all Shopify prices +{percent}%",
        "dry_run": True,
    }
    return dict(ctx.client.call("POST", "/prices/bulk", json=body).json())


def test_a_bulk_change_applies_exactly_its_preview_and_refuses_a_stale_one(
    pricing_stack: PricingStack,
) -> None:
    ctx = pricing_stack
    skus = [ctx.sku(f"BULK-{n}") for n in range(5)]
    shop = ctx.shopify.connection_id
    # One price set by hand, the others derived from the base price (USD, no conversion).
    ctx.client.call("PUT", f"/prices/{skus[0]}", json={"connection_id": shop, "price": money("15.00", "USD")})

    preview = _preview(ctx, 10)
    assert preview["count"] == len(skus)
    after = {i["sku"]: Decimal(i["after"]["amount"]) for i in preview["items"]}
    before = {i["sku"]: Decimal(i["before"]["amount"]) for i in preview["items"]}
    assert before == {skus[0]: Decimal("15.00"), **{skus[n]: Decimal(BASE[f"BULK-{n}"]) for n in range(1, 5)}}
    for sku in skus:  # +10%, then the .99 ending
        assert str(after[sku]).endswith(".99") and abs(after[sku] - before[sku] * Decimal("1.10")) < 1, after

    applied = ctx.client.call("POST", "/prices/bulk", json={"preview_id": preview["preview_id"]}).json()
    assert applied == {"count": len(skus)}
    listed = {p["sku"]: p for p in ctx.prices(connection_id=shop) if p["sku"] in after}
    assert {s: Decimal(p["price"]["amount"]) for s, p in listed.items()} == after
    assert all(not p["derived"] for p in listed.values())
    wait(
        lambda: {s: dec(v["price"]) if v else None for s, v in shown(ctx.shopify, skus).items()},
        lambda seen: seen == after,
        "the Shopify sandbox shows every applied price",
        ctx,
        timeout=PRICE_DEADLINE,
    )
    for sku in skus:
        newest = ctx.client.call("GET", f"/prices/{sku}/history").json()["items"][0]
        assert newest["connection_id"] == shop
        assert (dec(newest["before"]["amount"]), dec(newest["after"]["amount"])) == (before[sku], after[sku])
        assert newest["reason"] == "all Shopify prices +10%" and newest["actor"].startswith("user:")

    # The same preview twice, and a preview whose prices changed since: 409, nothing changes.
    again = ctx.client.call("POST", "/prices/bulk", 409, json={"preview_id": preview["preview_id"]})
    assert again.headers["content-type"].startswith("application/problem+json")
    stale = _preview(ctx, 5)
    ctx.client.call("PUT", f"/prices/{skus[1]}", json={"connection_id": shop, "price": money("42.00", "USD")})
    refused = ctx.client.call("POST", "/prices/bulk", 409, json={"preview_id": stale["preview_id"]})
    assert refused.headers["content-type"].startswith("application/problem+json")
    now = {
        p["sku"]: Decimal(p["price"]["amount"]) for p in ctx.prices(connection_id=shop) if p["sku"] in after
    }
    assert now == {**after, skus[1]: Decimal("42.00")}


# ---------------------------------------------------------------------------- timed sale
def _sale_state(ctx: PricingStack, sku: str) -> str:
    sales = ctx.client.call("GET", "/timed-sales", params={"sku": sku}).json()["items"]
    assert len(sales) == 1, sales
    return str(sales[0]["state"])


def test_a_timed_sale_starts_and_ends_on_time_once_with_two_worker_replicas(
    pricing_stack: PricingStack,
) -> None:
    ctx = pricing_stack
    assert all(ctx.stack.processes[n].popen.poll() is None for n in ("pricing-worker", "pricing-worker#2"))
    sku, shop = ctx.sku("SALE"), ctx.shopify
    ctx.client.call(
        "PUT", f"/prices/{sku}", json={"connection_id": shop.connection_id, "price": money("50.00", "USD")}
    )
    wait(
        lambda: shown(shop, [sku])[sku],
        lambda v: v is not None and dec(v["price"]) == Decimal("50.00"),
        "50.00 shown",
        ctx,
    )
    writes = price_writes(shop, sku)

    t0 = datetime.now(UTC).replace(microsecond=0)
    ctx.set_clock(t0)
    try:
        starts, ends = t0 + timedelta(minutes=10), t0 + timedelta(minutes=20)
        body = {
            "sku": sku,
            "connection_id": shop.connection_id,
            "sale_price": money("40.00", "USD"),
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
        }
        sale = ctx.client.call(
            "POST",
            "/timed-sales",
            201,
            json=body,
            headers={"Idempotency-Key": f"sale-{sku}"},
        ).json()
        assert sale["state"] == "scheduled"

        # A second before its start nothing moves (both replicas ticked at least twice).
        ctx.set_clock(starts - timedelta(seconds=1))
        time.sleep(SALE_TICKS)
        assert _sale_state(ctx, sku) == "scheduled"
        assert dec(shown(shop, [sku])[sku]["price"]) == Decimal("50.00")

        ctx.set_clock(starts)
        wait(
            lambda: shown(shop, [sku])[sku],
            lambda v: (dec(v["price"]), dec(v["compare_at_price"])) == (Decimal("40.00"), Decimal("50.00")),
            "the sale price with the regular one struck through",
            ctx,
            timeout=PRICE_DEADLINE,
        )
        assert _sale_state(ctx, sku) == "active"
        time.sleep(SALE_TICKS)
        assert price_writes(shop, sku) == writes + 1, "the start was pushed more than once"

        ctx.set_clock(ends)
        wait(
            lambda: shown(shop, [sku])[sku],
            lambda v: (dec(v["price"]), v["compare_at_price"]) == (Decimal("50.00"), None),
            "the regular price again",
            ctx,
            timeout=PRICE_DEADLINE,
        )
        assert _sale_state(ctx, sku) == "ended"
        time.sleep(SALE_TICKS)
        assert price_writes(shop, sku) == writes + 2, "the end was pushed more than once"
        history = ctx.client.call("GET", f"/prices/{sku}/history").json()["items"]
        moves = [h for h in history if h["actor"] == "system:timed-sale"]
        assert [(dec(h["before"]["amount"]), dec(h["after"]["amount"])) for h in moves] == [
            (Decimal("40.00"), Decimal("50.00")),
            (Decimal("50.00"), Decimal("40.00")),
        ]
    finally:
        ctx.set_clock(None)
