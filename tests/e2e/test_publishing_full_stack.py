"""Acceptance (issue 15, publishing) with every process real: a product created in OmniStock and
published through the gateway appears on the Shopify and WooCommerce sandboxes with its
variants, price and stock; editing its title in OmniStock reaches both within 5 s (catalog
outbox -> catalog worker -> RabbitMQ -> channels worker -> connectors); archiving it archives it
there; a product one channel refuses is reported on that product while the rest of the batch is
published.

One stack per module (omnistock_devtools.fullstack: every deployable a subprocess, fresh
PostgreSQL databases, a throw-away RabbitMQ vhost, the Redis database of TEST_REDIS_URL). Every
check is the REST API or a sandbox's control API (`GET /_sandbox/catalog`, `/_sandbox/inventory`),
polled until a deadline; each test has its own SKUs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
# The acceptance: an edit reaches both channels within 5 s.
EDIT_DEADLINE = 5.0
DEADLINE = 30.0


@dataclass
class PublishStack:
    stack: FullStack
    client: GatewayClient
    shopify: Shop
    woo: Shop
    tag: str

    def sku(self, suffix: str) -> str:
        return f"PB-{self.tag}-{suffix}"

    def create_product(self, title: str, variants: list[tuple[str, str, dict[str, str]]]) -> dict[str, Any]:
        body = {
            "title": title,
            "description": f"{title}, made to last",
            "image_urls": [f"https://img.example.com/{self.tag.lower()}/{len(title)}.jpg"],
            "variants": [
                {"sku": sku, "price": {"amount": price, "currency": "USD"}, "options": options}
                for sku, price, options in variants
            ],
        }
        return self.client.call("POST", "/products", 201, json=body).json()

    def publish(self, shop: Shop, product_ids: list[str]) -> dict[str, Any]:
        job = self.client.call(
            "POST", f"/channels/{shop.connection_id}/listings/publish", 202, json={"product_ids": product_ids}
        ).json()
        return flow.wait_for_job(self.client, job["job_id"], timeout=DEADLINE)

    def failure_context(self) -> str:
        names = ("catalog-worker", "channels-worker", "shopify-connector", "woocommerce-connector")
        return "\n".join(
            f"--- {n}:\n{self.stack.processes[n].tail(30)}" for n in names if n in self.stack.processes
        )


def wait(
    probe: Callable[[], Any],
    done: Callable[[Any], bool],
    what: str,
    ctx: PublishStack,
    timeout: float = DEADLINE,
) -> Any:
    return flow.wait_for(probe, done, timeout=timeout, what=what, context=ctx.failure_context)


def on_channel(shop: Shop, sku: str) -> dict[str, Any] | None:
    """The sandbox product that has a variant with this SKU, as the sandbox holds it."""
    response = shop.sandbox.http.get(f"{shop.sandbox.base_url}/_sandbox/catalog")
    for product in expect(response, 200, what="sandbox catalog").json()["products"]:
        if any(v.get("sku") == sku for v in product["variants"]):
            return dict(product)
    return None


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[PublishStack]:
    require(REDIS, RABBITMQ)
    redis.Redis.from_url(REDIS.url()).flushdb()
    workdir: Path = tmp_path_factory.mktemp("publish-stack")
    tag = uuid.uuid4().hex[:6].upper()
    with (
        postgres_databases(postgres_admin_url) as create_database,
        isolated_vhost(RABBITMQ.url(), prefix="omnistock-e2e-publish") as (vhost_url, _isolated),
        FullStack(
            workdir,
            {s: create_database() for s in MIGRATED_SERVICES},
            REDIS.url(),
            vhost_url,
            only=SHOPIFY_AND_WOOCOMMERCE,
        ) as stack,
    ):
        client = GatewayClient(stack.gateway_url)
        try:
            client.register(f"Publish {tag}", f"owner-{tag.lower()}@publish.test", PASSWORD)
            shopify, woo = flow.connect_shops(
                client, Sandbox(stack.shopify_sandbox_url), Sandbox(stack.woocommerce_sandbox_url)
            )
            yield PublishStack(stack, client, shopify, woo, tag)
        finally:
            client.close()


def test_a_published_product_reaches_both_channels_follows_an_edit_and_is_archived(ctx: PublishStack) -> None:
    small, large = ctx.sku("TEE-S"), ctx.sku("TEE-L")
    product = ctx.create_product(
        f"Publish tee {ctx.tag}", [(small, "19.99", {"Size": "S"}), (large, "21.50", {"Size": "L"})]
    )
    ctx.client.set_stock({small: 7, large: 3})

    for shop in (ctx.shopify, ctx.woo):
        job = ctx.publish(shop, [product["id"]])
        assert job["kind"] == "publish" and job["result"]["published"] == 1, job
        assert job["result"]["rejected"] == [] and job["result"]["not_found"] == [], job
    for shop in (ctx.shopify, ctx.woo):
        seen = wait(
            lambda shop=shop: on_channel(shop, small),
            lambda p: p is not None,
            f"{shop.channel_type} has the tee",
            ctx,
        )
        assert seen["title"] == product["title"], seen
        prices = {v["sku"]: Decimal(str(v["price"])) for v in seen["variants"]}
        assert prices == {small: Decimal("19.99"), large: Decimal("21.50")}, seen
        wait(
            lambda shop=shop: shop.sandbox.inventory(),
            lambda stock: stock.get(small) == 7 and stock.get(large) == 3,
            f"{shop.channel_type} shows the tee's stock",
            ctx,
        )
    listed = ctx.client.call("GET", f"/products/{product['id']}/channels").json()["items"]
    assert {(i["connection_id"], i["state"]) for i in listed} == {
        (ctx.shopify.connection_id, "published"),
        (ctx.woo.connection_id, "published"),
    }

    # An edit of the title in OmniStock reaches both channels within 5 s.
    renamed = f"Renamed tee {ctx.tag}"
    started = time.monotonic()
    ctx.client.call("PATCH", f"/products/{product['id']}", json={"title": renamed})
    for shop in (ctx.shopify, ctx.woo):
        wait(
            lambda shop=shop: on_channel(shop, small),
            lambda p: p is not None and p["title"] == renamed,
            f"{shop.channel_type} shows the new title",
            ctx,
            timeout=EDIT_DEADLINE,
        )
    assert time.monotonic() - started < EDIT_DEADLINE + 1.0

    # Archiving it in OmniStock archives it on both channels (Shopify ARCHIVED, WooCommerce draft).
    ctx.client.call("PATCH", f"/products/{product['id']}", json={"status": "archived"})
    for shop, status in ((ctx.shopify, "ARCHIVED"), (ctx.woo, "draft")):
        wait(
            lambda shop=shop: on_channel(shop, small),
            lambda p, status=status: p is not None and p["status"] == status,
            f"{shop.channel_type} archived the tee",
            ctx,
        )


def test_a_product_the_channel_refuses_is_reported_on_it_and_the_rest_of_the_batch_is_published(
    ctx: PublishStack,
) -> None:
    taken = ctx.sku("TAKEN")
    # The store already sells this SKU (a product OmniStock never mapped): WooCommerce refuses a
    # second product with it ("Invalid or duplicated SKU.").
    ctx.woo.sandbox.add_products([CatalogueItem(taken, "An old listing", 1, "5.00")])
    refused = ctx.create_product(f"Clashing mug {ctx.tag}", [(taken, "9.00", {})])
    fine = ctx.create_product(f"Fine mug {ctx.tag}", [(ctx.sku("MUG"), "11.00", {})])

    job = ctx.publish(ctx.woo, [refused["id"], fine["id"]])

    assert job["result"]["published"] == 1, job
    [rejection] = job["result"]["rejected"]
    assert rejection["product_id"] == refused["id"] and "sku" in rejection["error"].lower(), job
    wait(
        lambda: on_channel(ctx.woo, ctx.sku("MUG")),
        lambda p: p is not None,
        "WooCommerce has the fine mug",
        ctx,
    )
    states = {
        i["product_id"]: i
        for i in ctx.client.call("GET", f"/channels/{ctx.woo.connection_id}/products").json()["items"]
    }
    assert states[refused["id"]]["state"] == "error" and "sku" in states[refused["id"]]["last_error"].lower()
    assert states[fine["id"]]["state"] == "published"
    log = ctx.client.sync_log(ctx.woo.connection_id)
    assert any(e["operation"] == "publish_products" and "sku" in e["message"].lower() for e in log), log
