"""Acceptance (issue 13) with every process real: channel orders in, stock reserved once, shipped
back to the source.

One stack per module (omnistock_devtools.fullstack: every deployable as a subprocess, four fresh
PostgreSQL databases, a throw-away RabbitMQ vhost when rabbitmqctl can make one, the Redis
database of TEST_REDIS_URL, flushed first). The tenant connects both sandboxes through the
gateway; their order webhooks go to a WebhookCatcher (omnistock_devtools.order_flow), which keeps
each delivery exactly as the sandbox signed it, so a test fires it at the gateway when it wants:
concurrently with an on-demand poll, after a newer one, or never. Every check is the REST API or a
sandbox's control API, polled until a deadline (never a sleep as an assertion). Each test has its
own SKUs, so the tests share the stack without sharing stock.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kombu
import pytest
import redis

from omnistock_devtools import order_flow as flow
from omnistock_devtools.demo import CatalogueItem, GatewayClient, Sandbox
from omnistock_devtools.fullstack import MIGRATED_SERVICES, SHOPIFY_AND_WOOCOMMERCE, FullStack, isolated_vhost
from omnistock_devtools.order_flow import PlacedOrder, Shop, WebhookCatcher
from omnistock_devtools.testing import RABBITMQ, REDIS, postgres_databases, require

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.redis, pytest.mark.slow]

PASSWORD = "correct-horse-battery"
# Generous for a shared 2-CPU machine; a healthy run takes a fraction of each.
DEADLINE = 45.0
# "The other channel's quantity drops within seconds".
OTHER_CHANNEL_DEADLINE = 10.0
CONCURRENT_ORDERS = 50

# sku suffix -> OmniStock stock; every test uses its own SKUs.
STOCK = {
    "SHOP-1": 20,
    "WOO-1": 20,
    **{f"BULK-{n}": 500 for n in range(5)},
    "FUL": 10,
    "OOO-S": 20,
    "OOO-W": 20,
    "DUP": 20,
    "OVER": 2,
}


@dataclass
class OrdersStack:
    stack: FullStack
    client: GatewayClient
    shopify: Shop
    woo: Shop
    catcher: WebhookCatcher
    tag: str
    orders_events: Any  # a kombu queue bound to every orders.* event

    def orders_event(self, routing_key: str, order_id: str, timeout: float = DEADLINE) -> dict[str, Any]:
        """The first `orders.<routing_key>` event about `order_id` the orders worker published."""
        seen: list[str] = []

        def probe() -> dict[str, Any] | None:
            while (message := self.orders_events.get(no_ack=True)) is not None:
                body = message.decode()
                seen.append(message.delivery_info["routing_key"])
                if message.delivery_info["routing_key"] == routing_key and body.get("order_id") == order_id:
                    return dict(body)
            return None

        return wait(
            probe,
            lambda found: found is not None,
            f"orders.{routing_key} for {order_id} ({seen})",
            self,
            timeout,
        )

    def sku(self, suffix: str) -> str:
        return f"OR-{self.tag}-{suffix}"

    def shops(self) -> tuple[Shop, Shop]:
        return self.shopify, self.woo

    def other(self, shop: Shop) -> Shop:
        return self.woo if shop is self.shopify else self.shopify

    def fire(self, placed: PlacedOrder, topic: str | None = None) -> None:
        """Send the sandbox's captured webhooks of an order (one topic, or all) to the gateway. A
        change made through the channel's REST API (Woo) sends its webhook asynchronously, as the
        vendors do: wait until the catcher has it."""
        captured = wait(
            lambda: self.catcher.of_order(placed.external_id, topic),
            bool,
            f"the sandbox's {topic or 'order'} webhook for {placed}",
            self,
            timeout=10.0,
        )
        for item in captured:
            assert self.catcher.fire(item) == 200, item.topic

    def levels(self, *skus: str) -> dict[str, dict[str, int]]:
        return flow.stock_levels(self.client, skus)

    def failure_context(self) -> str:
        tails = [
            f"--- {name}:\n{self.stack.processes[name].tail(30)}"
            for name in ("orders-worker", "channels-worker", "orders", "channels")
            if name in self.stack.processes
        ]
        return "\n".join(tails)


def wait(
    probe: Callable[[], Any],
    done: Callable[[Any], bool],
    what: str,
    ctx: OrdersStack,
    timeout: float = DEADLINE,
) -> Any:
    return flow.wait_for(probe, done, timeout=timeout, what=what, context=ctx.failure_context)


@pytest.fixture(scope="module")
def orders_stack(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[OrdersStack]:
    require(REDIS, RABBITMQ)
    redis.Redis.from_url(REDIS.url()).flushdb()
    workdir: Path = tmp_path_factory.mktemp("orders-stack")
    tag = uuid.uuid4().hex[:6].upper()
    with (
        postgres_databases(postgres_admin_url) as create_database,
        isolated_vhost(RABBITMQ.url(), prefix="omnistock-e2e-orders") as (vhost_url, _isolated),
        FullStack(
            workdir,
            {s: create_database() for s in MIGRATED_SERVICES},
            REDIS.url(),
            vhost_url,
            only=SHOPIFY_AND_WOOCOMMERCE,
        ) as stack,
        WebhookCatcher(stack.gateway_url) as catcher,
        kombu.Connection(vhost_url, connect_timeout=5) as amqp,
    ):
        exchange = kombu.Exchange("orders.events", type="topic", durable=True)
        events = kombu.Queue(
            f"test-orders-events-{tag}", exchange=exchange, routing_key="#", auto_delete=True
        )
        bound = events(amqp.channel())
        exchange(bound.channel).declare()
        bound.declare()
        client = GatewayClient(stack.gateway_url)
        try:
            client.register(f"Orders {tag}", f"owner-{tag.lower()}@orders.test", PASSWORD)
            items = [
                CatalogueItem(f"OR-{tag}-{s}", f"Orders item {s}", qty, "10.00") for s, qty in STOCK.items()
            ]
            client.create_products(items)
            client.set_stock({i.sku: i.quantity for i in items})
            shopify_box, woo_box = Sandbox(stack.shopify_sandbox_url), Sandbox(stack.woocommerce_sandbox_url)
            shopify_box.add_products(items)
            woo_box.add_products(items)
            shopify, woo = flow.connect_shops(client, shopify_box, woo_box)
            for shop in (shopify, woo):
                mapped = client.auto_map(shop.connection_id)
                assert mapped["mapped"] == len(items), mapped
                flow.subscribe_order_webhooks(
                    shop.sandbox, shop.channel_type, catcher.address(shop.channel_type, shop.connection_id)
                )
                client.request_sync(shop.connection_id, "inventory")
            ctx = OrdersStack(stack, client, shopify, woo, catcher, tag, bound)
            expected = {i.sku: i.quantity for i in items}
            for shop in (shopify, woo):
                wait(
                    lambda shop=shop: {sku: shop.sandbox.inventory().get(sku) for sku in expected},
                    lambda seen: seen == expected,
                    f"{shop.channel_type} sandbox shows OmniStock's stock",
                    ctx,
                )
            yield ctx
        finally:
            client.close()


def wait_reserved(ctx: OrdersStack, placed: PlacedOrder) -> dict[str, Any]:
    """The one unified order of `placed`, once every line holds its units."""
    try:
        return flow.wait_for_order(ctx.client, placed, timeout=DEADLINE, done=flow.fully_reserved)
    except flow.FlowTimeout as exc:
        pytest.fail(f"{exc}\n{ctx.failure_context()}")


# ---------------------------------------------------------------------------- import exactly once
@pytest.mark.parametrize("channel", ["shopify", "woocommerce"])
def test_an_order_by_webhook_and_by_poll_is_one_order_reserved_once(
    orders_stack: OrdersStack, channel: str
) -> None:
    ctx = orders_stack
    shop = ctx.shopify if channel == "shopify" else ctx.woo
    sku = ctx.sku("SHOP-1" if channel == "shopify" else "WOO-1")
    placed = shop.place_order({sku: 2})

    ctx.fire(placed)  # the signed webhook (Shopify: orders/create and orders/paid)
    flow.wait_for_job(ctx.client, flow.sync_orders(ctx.client, shop.connection_id), DEADLINE)
    ctx.fire(placed)  # and a vendor retry of the same deliveries

    order = wait_reserved(ctx, placed)
    assert (order["source"], order["status"], order["flags"]) == (channel.upper(), "PAID", [])
    assert [(line["sku"], line["quantity"], line["quantity_reserved"]) for line in order["lines"]] == [
        (sku, 2, 2)
    ]
    # Both paths went through, one order and one hold: the poll job succeeded after the webhook.
    level = ctx.levels(sku)[sku]
    assert (level["on_hand"], level["reserved"], level["available"]) == (20, 2, 18)
    other = ctx.other(shop)
    wait(lambda: other.sandbox.inventory()[sku], lambda q: q == 18, f"the other channel shows 18 {sku}", ctx)
    assert len(flow.orders_of(ctx.client, shop.connection_id, placed.external_id)) == 1


def test_fifty_orders_fired_by_webhook_and_poll_concurrently(orders_stack: OrdersStack) -> None:
    """50 orders over both channels; each order's webhook is fired while both connections are being
    polled: 50 orders, 50 holds, and every channel ends at inventory's figure (no commitment
    counted twice or left unsettled)."""
    ctx = orders_stack
    skus = [ctx.sku(f"BULK-{n}") for n in range(5)]
    plan = [(ctx.shops()[i % 2], skus[i % 5], 1 + i % 3) for i in range(CONCURRENT_ORDERS)]
    placed = [shop.place_order({sku: qty}) for shop, sku, qty in plan]

    stop = threading.Event()

    def keep_polling(shop: Shop) -> int:
        jobs = 0
        while not stop.is_set() and jobs < 20:
            flow.wait_for_job(ctx.client, flow.sync_orders(ctx.client, shop.connection_id), DEADLINE)
            jobs += 1
        return jobs

    with ThreadPoolExecutor(max_workers=10) as pool:
        polls = [pool.submit(keep_polling, shop) for shop in ctx.shops()]
        fired = list(pool.map(ctx.fire, placed))
        stop.set()
        assert all(p.result() >= 1 for p in polls)
    assert len(fired) == CONCURRENT_ORDERS

    def imported() -> list[dict[str, Any]]:
        return [o for o in flow.list_orders(ctx.client, q=f"OR-{ctx.tag}-BULK") if flow.fully_reserved(o)]

    orders = wait(
        imported, lambda found: len(found) >= CONCURRENT_ORDERS, "50 orders imported and reserved", ctx
    )
    assert len(orders) == CONCURRENT_ORDERS
    assert sorted((o["connection_id"], o["external_id"]) for o in orders) == sorted(
        (p.connection_id, p.external_id) for p in placed
    )
    sold = {sku: sum(q for _, s, q in plan if s == sku) for sku in skus}
    levels = ctx.levels(*skus)
    assert {sku: levels[sku]["reserved"] for sku in skus} == sold
    expected = {sku: 500 - sold[sku] for sku in skus}
    for shop in ctx.shops():
        wait(
            lambda shop=shop: {sku: shop.sandbox.inventory()[sku] for sku in skus},
            lambda seen: seen == expected,
            f"{shop.channel_type} ends at inventory's available figures {expected}",
            ctx,
        )


# ---------------------------------------------------------------------------- stock, fulfilment, cancel
def test_three_units_reserve_three_then_fulfil_commits_and_cancel_releases(orders_stack: OrdersStack) -> None:
    ctx = orders_stack
    sku = ctx.sku("FUL")
    placed = ctx.shopify.place_order({sku: 3})
    ctx.fire(placed)
    order = wait_reserved(ctx, placed)
    assert ctx.levels(sku)[sku] == {"on_hand": 10, "reserved": 3, "available": 7}
    wait(
        lambda: ctx.woo.sandbox.inventory()[sku],
        lambda q: q == 7,
        "WooCommerce shows 7",
        ctx,
        OTHER_CHANNEL_DEADLINE,
    )

    tracking = f"1Z{uuid.uuid4().hex[:12].upper()}"
    shipped = flow.fulfill(ctx.client, order["id"], "UPS", tracking)
    assert shipped["order"]["status"] == "SHIPPED"
    view = wait(
        lambda: ctx.shopify.order_view(placed.external_id),
        lambda v: any(f["tracking_number"] == tracking for f in v["fulfillments"]),
        "the Shopify sandbox shows the fulfilment with its tracking number",
        ctx,
    )
    assert view["order"]["fulfillment_status"] == "fulfilled"
    wait(
        lambda: flow.get_order(ctx.client, order["id"])["fulfillments"],
        lambda fs: [f["sync_state"] for f in fs] == ["synced"],
        "the fulfilment is synced on the order",
        ctx,
    )
    assert ctx.levels(sku)[sku] == {"on_hand": 7, "reserved": 0, "available": 7}

    # Cancelling an unshipped order releases what it holds and tells the channel.
    second = ctx.woo.place_order({sku: 2})
    ctx.fire(second)
    unshipped = wait_reserved(ctx, second)
    assert ctx.levels(sku)[sku] == {"on_hand": 7, "reserved": 2, "available": 5}
    cancelled = flow.cancel(ctx.client, unshipped["id"])
    assert cancelled["status"] == "CANCELLED"
    assert ctx.levels(sku)[sku] == {"on_hand": 7, "reserved": 0, "available": 7}
    wait(
        lambda: ctx.woo.order_view(second.external_id)["order"]["status"],
        lambda status: status == "cancelled",
        "the WooCommerce sandbox shows the order cancelled",
        ctx,
    )
    for shop in ctx.shops():
        wait(
            lambda shop=shop: shop.sandbox.inventory()[sku],
            lambda q: q == 7,
            f"{shop.channel_type} back at 7",
            ctx,
        )


# ---------------------------------------------------------------------------- out of order
def raw_versions(ctx: OrdersStack, order_id: str) -> int:
    return len(flow.get_order(ctx.client, order_id)["raw_versions"])


@pytest.mark.parametrize("channel", ["shopify", "woocommerce"])
def test_paid_before_create_converges_to_paid(orders_stack: OrdersStack, channel: str) -> None:
    ctx = orders_stack
    shop = ctx.shopify if channel == "shopify" else ctx.woo
    sku = ctx.sku("OOO-S" if channel == "shopify" else "OOO-W")
    placed = shop.place_order({sku: 1}, paid=False)
    shop.mark_paid(placed.external_id)
    created, updated = (
        ("orders/create", "orders/paid") if channel == "shopify" else ("order.created", "order.updated")
    )

    ctx.fire(placed, updated)  # the payment's webhook arrives first
    order = wait_reserved(ctx, placed)
    assert order["status"] == "PAID"
    ctx.fire(placed, created)  # then the creation, older
    wait(
        lambda: raw_versions(ctx, order["id"]),
        lambda n: n >= 2,
        "the late create is kept as a raw version",
        ctx,
    )
    final = flow.get_order(ctx.client, order["id"])
    assert final["status"] == "PAID"
    assert ctx.levels(sku)[sku]["reserved"] == 1


def test_an_old_update_replayed_after_a_newer_one_changes_nothing(orders_stack: OrdersStack) -> None:
    """Shopify: created unpaid, paid, then cancelled by the merchant on the shop. The paid update's
    first delivery was lost and its retry lands after the cancellation: the order stays cancelled
    with nothing held."""
    ctx = orders_stack
    sku = ctx.sku("OOO-S")
    placed = ctx.shopify.place_order({sku: 2}, paid=False)
    ctx.fire(placed, "orders/create")
    order = wait_reserved(ctx, placed)
    held = ctx.levels(sku)[sku]["reserved"]
    ctx.shopify.mark_paid(placed.external_id)
    response = ctx.shopify.sandbox.http.post(
        f"{ctx.shopify.sandbox.base_url}/_sandbox/orders/{placed.external_id}", json={"action": "cancel"}
    )
    assert response.status_code == 200, response.text
    ctx.fire(placed, "orders/cancelled")
    wait(
        lambda: flow.get_order(ctx.client, order["id"])["status"],
        lambda s: s == "CANCELLED",
        "cancelled",
        ctx,
    )
    versions = raw_versions(ctx, order["id"])
    ctx.fire(placed, "orders/paid")  # the older update, late
    wait(lambda: raw_versions(ctx, order["id"]), lambda n: n > versions, "the late update is kept", ctx)
    final = flow.get_order(ctx.client, order["id"])
    assert final["status"] == "CANCELLED"
    assert [line["quantity_reserved"] for line in final["lines"]] == [0]
    assert ctx.levels(sku)[sku]["reserved"] == held - 2


# ---------------------------------------------------------------------------- duplicates, oversold
def test_same_email_and_total_on_two_channels_are_flagged_and_linked(orders_stack: OrdersStack) -> None:
    ctx = orders_stack
    sku = ctx.sku("DUP")
    email = f"twice-{ctx.tag.lower()}@example.test"
    first = ctx.shopify.place_order({sku: 2}, email=email)
    second = ctx.woo.place_order({sku: 2}, email=email)
    ctx.fire(first)
    ctx.fire(second)
    a, b = wait_reserved(ctx, first), wait_reserved(ctx, second)
    assert a["total"] == b["total"], (a["totals"], b["totals"])
    a, b = flow.get_order(ctx.client, a["id"]), flow.get_order(ctx.client, b["id"])
    assert "possible_duplicate" in a["flags"] and "possible_duplicate" in b["flags"]
    assert (a["duplicate_of"], b["duplicate_of"]) == ([b["id"]], [a["id"]])
    flagged = flow.list_orders(ctx.client, flag="possible_duplicate", q=email)
    assert sorted(o["id"] for o in flagged) == sorted([a["id"], b["id"]])


def test_an_oversold_order_is_kept_flagged_alerted_and_zero_goes_to_every_channel(
    orders_stack: OrdersStack,
) -> None:
    ctx = orders_stack
    sku = ctx.sku("OVER")  # OmniStock holds 2; the shop sells 3 (two buyers at once on the channel)
    placed = ctx.shopify.place_order({sku: 3}, allow_oversell=True)
    ctx.fire(placed)
    order = wait(
        lambda: flow.orders_of(ctx.client, placed.connection_id, placed.external_id),
        lambda found: len(found) == 1 and "oversold" in found[0]["flags"],
        "the order is kept and flagged oversold",
        ctx,
    )[0]
    assert [(line["quantity"], line["quantity_reserved"]) for line in order["lines"]] == [(3, 2)]
    assert ctx.levels(sku)[sku] == {"on_hand": 2, "reserved": 2, "available": 0}
    alert = ctx.orders_event("order_oversold", order["id"])
    assert [(line["sku"], line["requested"], line["reserved"]) for line in alert["lines"]] == [(sku, 3, 2)]

    def open_alerts() -> list[dict[str, Any]]:
        response = ctx.client.http.get(
            f"{ctx.client.api}/alerts", params={"status": "open"}, headers=ctx.client._auth()
        )
        assert response.status_code == 200, response.text
        return [a for a in response.json()["items"] if a["kind"] == "oversold" and a["sku"] == sku]

    # The merchant's alert: opened by the inventory worker from orders.order_oversold.
    merchant_alert = wait(open_alerts, lambda found: len(found) == 1, "an open oversold alert", ctx)[0]
    assert (merchant_alert["reference"], merchant_alert["quantity_short"]) == (f"orders:{order['id']}", 1)
    closed = ctx.client.http.post(
        f"{ctx.client.api}/alerts/{merchant_alert['id']}/close", headers=ctx.client._auth()
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text
    assert open_alerts() == []
    for shop in ctx.shops():
        wait(
            lambda shop=shop: shop.sandbox.inventory()[sku],
            lambda q: q == 0,
            f"{shop.channel_type} shows 0 {sku}",
            ctx,
            OTHER_CHANNEL_DEADLINE,
        )
