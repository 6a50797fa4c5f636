"""Acceptance (issue 4) with every process real: a stock change reaches both sandboxes.

The Procfile's processes run as subprocesses on free ports (omnistock_devtools.fullstack): catalog,
inventory + its nameko worker, channels + its nameko worker, both connector services, both
sandboxes and the gateway under gunicorn. The test is a user of the REST API only: register,
create products, set stock, connect WooCommerce with keys and Shopify by OAuth against its
sandbox, auto-map, adjust stock, and then poll the sandboxes' control API until they show the
new quantities (a deadline, never a timed assertion).

Isolation: each run gets its own databases, its own RabbitMQ virtual host when rabbitmqctl can
create one (nameko's queue names are fixed, so a second channels worker on the same vhost would
take part of the events), and unique SKUs and tenant. Redis: the sync engine keeps its pending
pushes there, and the `redis_url` test database is flushed by every other Redis test, so the stack
uses another database of the same server (STACK_REDIS_DB), whose keys are all per connection.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from omnistock_devtools.demo import CatalogueItem, GatewayClient, Sandbox
from omnistock_devtools.fullstack import MIGRATED_SERVICES, SHOPIFY_AND_WOOCOMMERCE, FullStack, isolated_vhost
from omnistock_devtools.testing import STACK_REDIS_DB

pytestmark = [pytest.mark.rabbitmq, pytest.mark.redis, pytest.mark.slow]

# Generous: the machine is shared; a healthy run delivers in about a second.
DELIVERY_DEADLINE_SECONDS = 90.0
PASSWORD = "correct-horse-battery"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """One database per service, as in production."""
    if request.param == "sqlite":
        return {service: f"sqlite:///{tmp_path / service}.db" for service in MIGRATED_SERVICES}
    make: Callable[[], str] = request.getfixturevalue("make_postgres_database")
    return {service: make() for service in MIGRATED_SERVICES}


def stack_redis_url(redis_url: str) -> str:
    """The test Redis server, database STACK_REDIS_DB."""
    return urlunparse(urlparse(redis_url)._replace(path=f"/{STACK_REDIS_DB}"))


@pytest.fixture
def stack(databases: dict[str, str], tmp_path: Path, redis_url: str, amqp_url: str) -> Iterator[FullStack]:
    with (
        isolated_vhost(amqp_url, prefix="omnistock-e2e") as (vhost_url, _isolated),
        FullStack(
            tmp_path,
            databases,
            f"{redis_url.rsplit('/', 1)[0]}/{STACK_REDIS_DB}",
            vhost_url,
            only=SHOPIFY_AND_WOOCOMMERCE,
        ) as running,
    ):
        yield running


def wait_for_quantities(
    stack: FullStack, sandboxes: dict[str, Sandbox], expected: dict[str, int]
) -> dict[str, dict[str, int]]:
    """Poll both sandboxes until each shows `expected`; on the deadline, fail with what they show."""
    deadline = time.monotonic() + DELIVERY_DEADLINE_SECONDS
    seen: dict[str, dict[str, int]] = {}
    while True:
        seen = {
            name: {sku: sb.inventory().get(sku, -1) for sku in expected} for name, sb in sandboxes.items()
        }
        if all(shown == expected for shown in seen.values()):
            return seen
        if time.monotonic() > deadline:
            worker = stack.processes.get("channels-worker")
            pytest.fail(
                f"sandboxes never showed {expected} within {DELIVERY_DEADLINE_SECONDS}s: {seen}\n"
                f"--- channels-worker log:\n{worker.tail(60) if worker else '(not running)'}"
            )
        time.sleep(0.1)


def test_stock_changes_reach_both_sandboxes(stack: FullStack) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    items = [CatalogueItem(f"FS-{tag}-{n}", f"Full stack item {n}", 10, "5.00") for n in range(6)]
    skus = [item.sku for item in items]
    client = GatewayClient(stack.gateway_url)
    shopify, woo = Sandbox(stack.shopify_sandbox_url), Sandbox(stack.woocommerce_sandbox_url)
    try:
        client.register(f"Full stack {tag}", f"owner-{tag.lower()}@fullstack.test", PASSWORD)
        assert client.create_products(items) == len(items)
        client.set_stock({sku: 10 for sku in skus})
        shopify.add_products(items)
        woo.add_products(items)

        woo_config = woo.config()
        woo_conn = client.connect_woocommerce(
            woo_config["store_url"], woo_config["consumer_key"], woo_config["consumer_secret"]
        )
        shop_conn = client.connect_shopify(shopify.config()["shop_domain"], stack.shopify_sandbox_url)
        assert (woo_conn["type"], woo_conn["status"]) == ("woocommerce", "connected")
        assert (shop_conn["type"], shop_conn["status"]) == ("shopify", "connected")
        assert shop_conn["health"]["token_expires_at"] is not None  # an expiring offline token
        for conn in (woo_conn, shop_conn):
            mapped = client.auto_map(conn["id"])
            assert mapped["mapped"] == len(items) and mapped["unmapped_skus"] == [], mapped

        sandboxes = {"shopify": shopify, "woocommerce": woo}
        # One decrease through the single-adjustment endpoint.
        level = client.adjust(skus[0], -3, reason="sale")
        assert level["available"] == 7
        wait_for_quantities(stack, sandboxes, {skus[0]: 7, **{sku: 10 for sku in skus[1:]}})

        # A batch with decreases and increases (increases wait for the orders to be current, and
        # still arrive).
        target = {skus[1]: 0, skus[2]: 4, skus[3]: 25, skus[4]: 11}
        client.set_stock(target, reason="cycle_count")
        wait_for_quantities(stack, sandboxes, {skus[0]: 7, **target, skus[5]: 10})

        # What the channels service recorded: the pushed figures, an ok push, a healthy connection.
        for conn in (woo_conn, shop_conn):
            listings = client.listings(conn["id"])
            pushed = {sku: listings[sku]["last_pushed_quantity"] for sku in target}
            assert pushed == target, listings
            log = client.sync_log(conn["id"])
            assert any(e["operation"] == "push_inventory" and e["outcome"] == "ok" for e in log), log
            health = client.connection(conn["id"])
            assert health["status"] == "connected" and health["health"]["error_count"] == 0, health
    finally:
        client.close()
