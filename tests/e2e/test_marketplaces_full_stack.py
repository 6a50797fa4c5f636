"""Acceptance (issues 18 and 19) with every process real: each marketplace channel connected
through the gateway's OAuth round trip against its sandbox, then driven as a merchant would.

One stack per module (omnistock_devtools.fullstack: every deployable of the registry as a
subprocess, fresh PostgreSQL databases, a throw-away RabbitMQ vhost when rabbitmqctl can make
one, Redis database STACK_REDIS_DB). Per channel, on SKUs of its own: connect, auto-map, a stock
change and a price change reach the sandbox, an order placed on the sandbox is imported once and
reserves stock, its fulfilment reaches the sandbox, the sandbox expiring every token and then
throttling is survived, and a webhook with a forged signature is refused. Every check is the REST
API or the sandbox's control API polled until a deadline, never a sleep as an assertion.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from omnistock_devtools import marketplaces as mk
from omnistock_devtools import order_flow as flow
from omnistock_devtools.demo import CatalogueItem, GatewayClient, Sandbox, expect
from omnistock_devtools.fullstack import MIGRATED_SERVICES, FullStack, isolated_vhost
from omnistock_devtools.order_flow import PlacedOrder
from omnistock_devtools.testing import (
    OWN_STACK_REDIS_DB,
    RABBITMQ,
    REDIS,
    postgres_databases,
    require,
    servers_required,
)

# Its stack shares nothing (fresh databases, a vhost of its own, OWN_STACK_REDIS_DB): it runs on one
# process beside the serial group (omnistock_devtools.testing.OWN_STACK_MARKER).
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.rabbitmq,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.own_stack,
]

PASSWORD = "correct-horse-battery"
# Generous for a shared 2-CPU machine; a healthy run takes a fraction of it.
DEADLINE = 60.0
STOCK = 20


@dataclass
class Stack:
    stack: FullStack
    client: GatewayClient

    def sandbox(self, channel_type: str) -> Sandbox:
        return Sandbox(self.stack.sandbox_url(mk.MARKETPLACES[channel_type].sandbox))

    def failure_context(self) -> str:
        names = (
            "channels-worker",
            "channels",
            "orders-worker",
            *(f"{c}-connector" for c in ("meta", "tiktok", "amazon", "ebay")),
        )
        return "\n".join(
            f"--- {name}:\n{self.stack.processes[name].tail(40)}"
            for name in names
            if name in self.stack.processes
        )

    def wait(self, probe: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
        return flow.wait_for(probe, done, timeout=DEADLINE, what=what, context=self.failure_context)


def require_isolated_vhost() -> None:
    """This module runs beside the serial group only on a vhost of its own (rabbitmqctl)."""
    message = "!!! rabbitmqctl could not create a RabbitMQ vhost: the marketplaces stack needs its own !!!"
    if servers_required(os.environ):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def market_stack(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[Stack]:
    require(REDIS, RABBITMQ)
    workdir: Path = tmp_path_factory.mktemp("marketplaces-stack")
    tag = uuid.uuid4().hex[:6]
    redis_url = f"{REDIS.url().rsplit('/', 1)[0]}/{OWN_STACK_REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()  # ours alone
    with (
        postgres_databases(postgres_admin_url) as create_database,
        isolated_vhost(RABBITMQ.url(), prefix="omnistock-e2e-markets") as (vhost_url, isolated),
        FullStack(workdir, {s: create_database() for s in MIGRATED_SERVICES}, redis_url, vhost_url) as stack,
    ):
        if not isolated:
            # On the shared vhost its workers would take other stacks' events (nameko's fixed
            # queue names), and it runs beside them.
            require_isolated_vhost()
        client = GatewayClient(stack.gateway_url)
        try:
            client.register(f"Markets {tag}", f"owner-{tag}@markets.test", PASSWORD)
            yield Stack(stack, client)
        finally:
            client.close()


def test_every_channel_type_is_connectable(market_stack: Stack) -> None:
    types = market_stack.client.call("GET", "/channel-types").json()
    listed = {t["type"]: t for t in (types["items"] if isinstance(types, dict) else types)}
    assert set(listed) == {"shopify", "woocommerce", "facebook", "instagram", "tiktok", "amazon", "ebay"}
    for name in mk.MARKETPLACES:
        assert listed[name]["available"] is True, listed[name]


@pytest.mark.parametrize("channel_type", sorted(mk.MARKETPLACES))
def test_a_marketplace_from_connect_to_fulfilment(market_stack: Stack, channel_type: str) -> None:
    ctx, client = market_stack, market_stack.client
    sandbox = ctx.sandbox(channel_type)
    tag = uuid.uuid4().hex[:5].upper()
    items = [
        CatalogueItem(f"MK-{channel_type[:2].upper()}-{tag}-{n}", f"{channel_type} item {n}", STOCK, "10.00")
        for n in range(3)
    ]
    skus = [i.sku for i in items]
    client.create_products(items)
    client.set_stock({sku: STOCK for sku in skus})
    sandbox.add_products(items)
    market = mk.MARKETPLACES[channel_type]
    if market.renews_before_expiry:
        mk.issue_short_tokens(sandbox, channel_type)

    # Connect: the OAuth round trip through the gateway, as the dashboard's wizard does it.
    connection = mk.connect(client, channel_type, sandbox, name=f"{channel_type} {tag}")
    assert (connection["type"], connection["status"]) == (channel_type, "connected"), connection
    assert connection["settings"].get("store_id"), connection["settings"]
    conn_id = connection["id"]

    # Auto-map: every SKU of ours the channel sells is mapped.
    mapped = client.auto_map(conn_id)
    listings = client.listings(conn_id)
    assert set(skus) <= set(listings), (mapped, sorted(listings)[:10])

    def shown(sku: str) -> int:
        return sandbox.inventory().get(sku, -1)

    # A stock change reaches the sandbox.
    client.adjust(skus[0], -3)
    ctx.wait(
        lambda: shown(skus[0]), lambda q: q == STOCK - 3, f"{channel_type} shows {STOCK - 3} for {skus[0]}"
    )

    # A price change reaches the sandbox.
    client.call(
        "PUT",
        f"/prices/{skus[1]}",
        json={"connection_id": conn_id, "price": {"amount": "12.34", "currency": "USD"}},
    )
    ctx.wait(
        lambda: (mk.prices(sandbox).get(skus[1]) or {}).get("price"),
        lambda price: price is not None and Decimal(str(price)) == Decimal("12.34"),
        f"{channel_type} shows 12.34 for {skus[1]}",
    )

    # An order placed on the channel is imported once and reserves stock.
    if market.order_webhooks:
        mk.send_order_webhooks_to(
            sandbox, f"{ctx.stack.gateway_url}/api/v1/webhooks/{channel_type}/{conn_id}"
        )
    placed_answer = mk.place_order(sandbox, channel_type, {skus[2]: 2})
    placed = PlacedOrder(channel_type, conn_id, str(placed_answer["id"]), str(placed_answer.get("name", "")))
    if market.order_webhooks:
        # The signed push reached the gateway and was accepted (the poll below comes after it).
        deliveries = placed_answer.get("deliveries", [])
        assert deliveries and all(d["delivered"] for d in deliveries), deliveries
    else:
        flow.sync_orders(client, conn_id)
    order = flow.wait_for_order(client, placed, timeout=DEADLINE, done=flow.fully_reserved)
    flow.wait_for_job(client, flow.sync_orders(client, conn_id), timeout=DEADLINE)
    assert len(flow.orders_of(client, conn_id, placed.external_id)) == 1
    assert flow.stock_levels(client, [skus[2]])[skus[2]]["reserved"] == 2

    # Its fulfilment (carrier, tracking) reaches the channel.
    tracking = f"1Z{tag}{channel_type[:3].upper()}0001"
    flow.fulfill(client, order["id"], mk.carrier_for(channel_type), tracking)
    ctx.wait(
        lambda: json.dumps(mk.order_view(sandbox, placed.external_id)),
        lambda view: tracking in view,
        f"{channel_type} order {placed.external_id} shows tracking {tracking}",
    )

    if market.renews_before_expiry:
        # No refresh token: the connection outlives its first token by renewing it in time.
        first_end = datetime.fromisoformat(connection["health"]["token_expires_at"])
        ctx.wait(lambda: datetime.now(UTC), lambda now: now > first_end, "the first token's end")
    else:
        # The channel expires every token: the next change still arrives.
        mk.expire_tokens(sandbox)
    client.adjust(skus[0], -1)
    ctx.wait(
        lambda: shown(skus[0]),
        lambda q: q == STOCK - 4,
        f"{channel_type} shows {STOCK - 4} after token expiry",
    )
    if market.renews_before_expiry:
        renewed = datetime.fromisoformat(client.connection(conn_id)["health"]["token_expires_at"])
        assert renewed > first_end, (first_end, renewed)

    # The channel throttles: the next change still arrives.
    mk.throttle(sandbox, channel_type)
    client.adjust(skus[0], -1)
    ctx.wait(
        lambda: shown(skus[0]),
        lambda q: q == STOCK - 5,
        f"{channel_type} shows {STOCK - 5} through throttling",
    )
    assert client.connection(conn_id)["status"] in ("connected", "degraded")

    # A delivery whose signature the channel never made is refused, and nothing changes.
    forged = httpx.post(
        f"{ctx.stack.gateway_url}/api/v1/webhooks/{channel_type}/{conn_id}",
        content=b'{"type": 1, "data": {"order_id": "1"}}',
        headers={"Content-Type": "application/json", **market.forged_webhook_headers},
        timeout=10,
    )
    assert forged.status_code == 401, forged.text
    assert len(flow.orders_of(client, conn_id, placed.external_id)) == 1


# ---------------------------------------------------------------------------- marketplace limits
def _catalogue(ctx: Stack, channel_type: str, prefix: str, count: int, stock: int) -> list[str]:
    """`count` SKUs in OmniStock (products of up to 1,000 variants, `stock` each) and on the sandbox."""
    skus = [f"{prefix}-{uuid.uuid4().hex[:4].upper()}-{n:04d}" for n in range(count)]
    for start in range(0, count, 1000):
        variants = [
            {"sku": sku, "price": {"amount": "9.99", "currency": "USD"}} for sku in skus[start : start + 1000]
        ]
        ctx.client.call("POST", "/products", 201, json={"title": f"{prefix} {start}", "variants": variants})
    ctx.client.set_stock(dict.fromkeys(skus, stock))
    ctx.sandbox(channel_type).add_products([CatalogueItem(sku, sku, stock, "9.99") for sku in skus])
    return skus


def test_ebay_a_thousand_changes_to_one_listing_spend_at_most_250_revisions(market_stack: Stack) -> None:
    """Issue 19: eBay allows 250 revisions of a listing a day. 1,000 stock changes through the API
    (each a sale of one unit) reach the listing within that budget, and it ends showing exactly
    OmniStock's figure: decreases are never held back, so it is never left showing more."""
    ctx, client = market_stack, market_stack.client
    sandbox = ctx.sandbox("ebay")
    (sku,) = _catalogue(ctx, "ebay", "EBREV", 1, 1000)
    conn_id = mk.connect(client, "ebay", sandbox)["id"]
    client.auto_map(conn_id, [sku])
    ctx.wait(lambda: sandbox.inventory().get(sku), lambda q: q == 1000, "eBay shows 1000")

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _n: client.adjust(sku, -1, reason="sale"), range(1000)))
    assert len(answers) == 1000 and client.stock(sku)["available"] == 0

    ctx.wait(lambda: sandbox.inventory().get(sku), lambda q: q == 0, "eBay shows OmniStock's 0")
    revisions = expect(
        sandbox.http.get(f"{sandbox.base_url}/_sandbox/revisions"), 200, what="eBay revisions"
    ).json()
    assert 1 <= revisions["by_sku"][sku] <= 250, revisions
    assert revisions["max_listed"].get(sku, 1000) <= 1000, revisions
    # Health shows the lowest budget of the connection's listings: at most this listing's (the
    # same eBay connection's earlier listings in this module, a group sharing one listing id among
    # them, may have spent more).
    limits = client.connection(conn_id)["health"]["limits"]
    assert 0 < int(limits["revisions_left_lowest"]) <= 250 - revisions["by_sku"][sku], limits


def test_amazon_two_thousand_changes_go_as_feeds_and_an_item_error_names_its_sku(market_stack: Stack) -> None:
    """Issue 19: a 2,000-SKU change goes to Amazon as JSON_LISTINGS_FEEDs (Describe's batch of
    1,000: two feeds), not 2,000 patchListingsItem calls; an item the feed's processing report
    refuses is reported on its own SKU in the sync log, the others applied."""
    ctx, client = market_stack, market_stack.client
    sandbox = ctx.sandbox("amazon")
    # 1,999 SKUs the seller sells on Amazon, and one it does not: a 2,000-SKU change.
    skus = _catalogue(ctx, "amazon", "AMZ", 1999, 50)
    conn_id = mk.connect(client, "amazon", sandbox)["id"]
    client.auto_map(conn_id, skus)
    # A listing OmniStock maps that the seller does not sell on Amazon: its feed message fails.
    ghost = f"AMZ-GHOST-{uuid.uuid4().hex[:4].upper()}"
    client.call(
        "POST",
        "/products",
        201,
        json={"title": "ghost", "variants": [{"sku": ghost, "price": {"amount": "1.00", "currency": "USD"}}]},
    )
    client.set_stock({ghost: 5})
    client.call("PUT", f"/channels/{conn_id}/listings/{ghost}", json={"sku": ghost})
    ctx.wait(
        lambda: sum(1 for sku in skus if sandbox.inventory().get(sku) == 50),
        lambda n: n == len(skus),
        "Amazon shows 50 everywhere",
    )

    sandbox.reset_calls()
    client.set_stock({**dict.fromkeys(skus, 40), ghost: 4})
    ctx.wait(
        lambda: sum(1 for q in (sandbox.inventory().get(sku) for sku in skus) if q == 40),
        lambda n: n == len(skus),
        "Amazon shows 40 for all 1,999 SKUs it sells",
    )
    # Two feeds of 1,000 (Describe's batch), the refused SKU's among them; not a patch call each.
    calls = sandbox.calls()["by_operation"]
    assert calls.get("createFeed", 0) == 2 and calls.get("patchListingsItem", 0) == 0, calls
    # The sync log names the refused SKU, alone, with the report's words.
    refused = ctx.wait(
        lambda: [e for e in client.sync_log(conn_id, 200) if e["outcome"] == "error" and ghost in e["skus"]],
        bool,
        f"the sync log's refusal of {ghost}",
    )
    assert refused[0]["skus"] == [ghost] and ghost in refused[0]["message"], refused[0]


@pytest.mark.parametrize("channel_type", ["facebook", "tiktok", "amazon", "ebay"])
def test_a_published_product_reaches_the_marketplace_and_is_archived_there(
    market_stack: Stack, channel_type: str
) -> None:
    """Catalog sync on each marketplace: the merchant sets what the channel needs to publish
    (PATCH /channels/{id}: Meta's link template, TikTok's category and package, Amazon's product
    type, eBay's category and business policies), publishes an OmniStock product with two
    variants, and it becomes one product with both SKUs on the channel (Meta: one item group;
    TikTok: one product, images uploaded from where the merchant hosts them; Amazon: two full
    listings, one per variant; eBay: one item group listing), its stock follows, and archiving it in OmniStock takes
    it off sale there while keeping it."""
    ctx, client = market_stack, market_stack.client
    market = mk.MARKETPLACES[channel_type]
    sandbox = ctx.sandbox(channel_type)
    tag = uuid.uuid4().hex[:5].upper()
    small, large = f"PUB-{tag}-S", f"PUB-{tag}-L"
    image = (
        f"{sandbox.base_url}/_sandbox/images/tee-{tag.lower()}.png"
        if market.fetches_images
        else f"https://img.example.com/{tag.lower()}.jpg"
    )
    digits = str(int(tag, 16)).zfill(10)[-10:]
    product = client.call(
        "POST",
        "/products",
        201,
        json={
            "title": f"Marketplace tee {tag}",
            "description": "A tee, made to last",
            "status": "active",
            "image_urls": [image],
            "variants": [
                {
                    "sku": small,
                    "price": {"amount": "19.99", "currency": "USD"},
                    "barcode": f"0{digits}1",
                    "options": {"Size": "S"},
                },
                {
                    "sku": large,
                    "price": {"amount": "21.50", "currency": "USD"},
                    "barcode": f"0{digits}2",
                    "options": {"Size": "L"},
                },
            ],
        },
    ).json()
    client.set_stock({small: 7, large: 3})
    conn_id = mk.connect(client, channel_type, sandbox, name=f"{channel_type} {tag}")["id"]
    settings = client.call(
        "PATCH", f"/channels/{conn_id}", json={"settings": dict(market.publish_settings)}
    ).json()["settings"]
    assert dict(market.publish_settings).items() <= settings.items(), settings

    job = client.call(
        "POST", f"/channels/{conn_id}/listings/publish", 202, json={"product_ids": [product["id"]]}
    ).json()
    done = flow.wait_for_job(client, job["job_id"], timeout=DEADLINE)
    assert done["result"]["published"] == 1 and done["result"]["rejected"] == [], done

    def on_channel() -> list[dict[str, Any]]:
        """The channel's products holding the tee's SKUs."""
        catalog = expect(
            sandbox.http.get(f"{sandbox.base_url}/_sandbox/catalog"), 200, what=f"{channel_type} catalog"
        ).json()
        return [p for p in catalog["products"] if {v["sku"] for v in p["variants"]} & {small, large}]

    published = ctx.wait(
        on_channel,
        lambda found: {v["sku"] for p in found for v in p["variants"]} == {small, large},
        f"{channel_type} has the tee",
    )
    assert len(published) == (2 if market.lists_variants_apart else 1), published
    assert all(p["title"] == product["title"] for p in published), published
    ctx.wait(
        lambda: sandbox.inventory(),
        lambda stock: stock.get(small) == 7 and stock.get(large) == 3,
        f"{channel_type} shows the tee's stock",
    )

    client.call("PATCH", f"/products/{product['id']}", json={"status": "archived"})
    ctx.wait(
        on_channel,
        lambda found: bool(found) and all(p["status"] == market.archived_status for p in found),
        f"{channel_type} took the archived tee off sale ({market.archived_status})",
    )
