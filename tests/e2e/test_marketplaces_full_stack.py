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
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnistock_devtools import marketplaces as mk
from omnistock_devtools import order_flow as flow
from omnistock_devtools.demo import CatalogueItem, GatewayClient, Sandbox
from omnistock_devtools.fullstack import MIGRATED_SERVICES, FullStack, isolated_vhost
from omnistock_devtools.order_flow import PlacedOrder
from omnistock_devtools.testing import RABBITMQ, REDIS, STACK_REDIS_DB, postgres_databases, require

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.redis, pytest.mark.slow]

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


@pytest.fixture(scope="module")
def market_stack(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[Stack]:
    require(REDIS, RABBITMQ)
    workdir: Path = tmp_path_factory.mktemp("marketplaces-stack")
    tag = uuid.uuid4().hex[:6]
    redis_url = f"{REDIS.url().rsplit('/', 1)[0]}/{STACK_REDIS_DB}"
    with (
        postgres_databases(postgres_admin_url) as create_database,
        isolated_vhost(RABBITMQ.url(), prefix="omnistock-e2e-markets") as (vhost_url, _isolated),
        FullStack(workdir, {s: create_database() for s in MIGRATED_SERVICES}, redis_url, vhost_url) as stack,
    ):
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
