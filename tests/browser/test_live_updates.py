"""Live updates in a real browser (docs/decisions/0012-live-updates.md): Debian's /usr/bin/chromium
driven by Playwright's Python package against the stack that carries a stock change end to end —
gateway, catalog, inventory and its worker (outbox relay), channels and its worker, the
WooCommerce connector and sandbox, and the live-updates relay (live-worker), on a RabbitMQ virtual
host of its own.

A tenant with one SKU mapped on a WooCommerce sandbox connection; a person opens the Inventory page
(the header says "Live"); another client lowers the stock through the API; the page shows the new
figure without a reload (and without falling back to polling), the sandbox gets the new quantity,
and the page logs no console error.

Chromium or npm missing: see tests/browser/conftest.py (skipped loudly, failed under CI).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnistock_devtools.browser import (
    PASSWORD,
    UI_TIMEOUT_MS,
    assert_page_basics,
    browser_stack,
    log_in,
    phone_page,
    unexpected_problems,
)
from omnistock_devtools.demo import CatalogueItem, GatewayClient, Sandbox
from omnistock_devtools.fullstack import FullStack

pytestmark = [pytest.mark.slow]

STACK = (
    "gateway",
    "catalog",
    "inventory",
    "inventory-worker",
    "channels",
    "channels-worker",
    "woocommerce-connector",
    "woocommerce-sandbox",
    "live-worker",
)
# The sandbox gets a pushed figure within a second or two; generous on a shared 2-CPU machine.
SANDBOX_DEADLINE_SECONDS = 60.0


@pytest.fixture
def stack(tmp_path: Path, redis_url: str, amqp_url: str, web_dist: Path) -> Iterator[FullStack]:
    # Heartbeats every 2 s: a stream whose browser has gone is noticed (and its thread freed)
    # quickly when the stack stops.
    env = {"GATEWAY_LIVE_HEARTBEAT_SECONDS": "2"}
    with browser_stack(tmp_path, redis_url, amqp_url, web_dist, STACK, own_vhost=True, env=env) as running:
        yield running


def seed(stack: FullStack, tag: str) -> tuple[str, str, str]:
    """(email, SKU, connection id): a tenant with one SKU at 12, mapped on a WooCommerce sandbox
    connection that shows 12 for it."""
    email = f"owner-{tag.lower()}@live.test"
    sku = f"LIVE-{tag}"
    item = CatalogueItem(sku, "Live mug", 12, "9.00")
    client = GatewayClient(stack.gateway_url)
    woo = Sandbox(stack.woocommerce_sandbox_url)
    try:
        client.register(f"Live {tag}", email, PASSWORD)
        client.create_products([item])
        client.set_stock({sku: 12})
        woo.add_products([item])
        config = woo.config()
        conn = client.connect_woocommerce(
            config["store_url"], config["consumer_key"], config["consumer_secret"], f"Woo {tag}"
        )
        assert conn["status"] == "connected", conn
        mapped = client.auto_map(conn["id"], [sku])
        assert mapped["mapped"] == 1 and mapped["unmapped_skus"] == [], mapped
    finally:
        client.close()
    wait_for_sandbox(stack, woo, sku, 12)
    return email, sku, conn["id"]


def wait_for_sandbox(stack: FullStack, sandbox: Sandbox, sku: str, quantity: int) -> None:
    deadline = time.monotonic() + SANDBOX_DEADLINE_SECONDS
    while (shown := sandbox.inventory().get(sku)) != quantity:
        if time.monotonic() > deadline:
            worker = stack.processes.get("channels-worker")
            pytest.fail(
                f"the sandbox shows {shown} for {sku}, not {quantity}\n"
                f"--- channels-worker log:\n{worker.tail(60) if worker else '(not running)'}"
            )
        time.sleep(0.2)


def test_the_inventory_page_shows_a_stock_change_made_elsewhere_without_a_reload(
    stack: FullStack, chromium: Path
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    tag = uuid.uuid4().hex[:8].upper()
    email, sku, _connection_id = seed(stack, tag)
    with phone_page(chromium) as (page, problems):
        log_in(page, stack.gateway_url, "/inventory", email)
        expect(page.get_by_role("heading", name="Inventory", exact=True)).to_be_visible()
        levels = page.get_by_role("region", name="Stock levels")
        row = levels.get_by_role("row").filter(has=page.get_by_role("rowheader", name=sku))
        available = row.get_by_role("cell").nth(1)
        expect(available).to_have_text("12")
        status = page.get_by_role("status").filter(has_text="Figures:")
        expect(status).to_have_text("Figures: Live")

        # Another client (not this page) lowers the stock through the API.
        page.evaluate("window.__sameDocument = true")
        other = GatewayClient(stack.gateway_url)
        try:
            other.login(email, PASSWORD)
            level = other.adjust(sku, -5, reason="damaged")
            assert level["available"] == 7, level
        finally:
            other.close()

        # The page shows it by itself: same document (no reload), still live (not polling).
        expect(available).to_have_text("7")
        assert page.evaluate("window.__sameDocument === true")
        expect(status).to_have_text("Figures: Live")
        assert_page_basics(page)
        # And the channel got the new quantity.
        wait_for_sandbox(stack, Sandbox(stack.woocommerce_sandbox_url), sku, 7)

        # The merchant adjusts in a second tab (window.open keeps the tab's session) with the
        # form: the first tab's list follows live, and so does the channel.
        with page.expect_popup() as popup:
            page.evaluate(f"window.open('/inventory/{sku}')")
        second = popup.value
        form = second.get_by_role("region", name="Adjust stock")
        form.get_by_label("Quantity (±)").fill("-2")
        form.get_by_role("button", name="Save adjustment").click()
        expect(form.get_by_role("status")).to_contain_text("now has 5 on hand")
        expect(available).to_have_text("5")
        assert page.evaluate("window.__sameDocument === true")
        wait_for_sandbox(stack, Sandbox(stack.woocommerce_sandbox_url), sku, 5)
    unexpected = unexpected_problems(problems)
    assert unexpected == [], unexpected


# Polling: the gateway refuses every stream (GATEWAY_LIVE_MAX_STREAMS=0, as when its slots are
# taken); no worker is needed, since polls read the inventory service directly.
POLLING_STACK = ("gateway", "catalog", "inventory")


@pytest.fixture
def polling_stack(tmp_path: Path, redis_url: str, amqp_url: str, web_dist: Path) -> Iterator[FullStack]:
    env = {"GATEWAY_LIVE_MAX_STREAMS": "0"}
    with browser_stack(tmp_path, redis_url, amqp_url, web_dist, POLLING_STACK, env=env) as running:
        yield running


def test_when_the_stream_is_refused_the_page_polls_with_etags(
    polling_stack: FullStack, chromium: Path
) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    tag = uuid.uuid4().hex[:8].upper()
    email, sku = f"owner-{tag.lower()}@polling.test", f"POLL-{tag}"
    client = GatewayClient(polling_stack.gateway_url)
    try:
        client.register(f"Polling {tag}", email, PASSWORD)
        client.create_products([CatalogueItem(sku, "Polled mug", 12, "9.00")])
        client.set_stock({sku: 12})
        with phone_page(chromium) as (page, problems):
            log_in(page, polling_stack.gateway_url, "/inventory", email)
            row = page.get_by_role("region", name="Stock levels").get_by_role("row")
            available = row.filter(has=page.get_by_role("rowheader", name=sku)).get_by_role("cell").nth(1)
            expect(available).to_have_text("12")
            # The stream answers 503: the header says so and the lists are re-read every 10 s.
            expect(page.get_by_role("status").filter(has_text="Figures:")).to_have_text(
                "Figures: Updating every 10 s"
            )
            # An unchanged list costs a 304 (the page sent the ETag it had).
            with page.expect_response(
                lambda r: "/api/v1/inventory?" in r.url and r.status == 304, timeout=UI_TIMEOUT_MS
            ):
                pass
            page.evaluate("window.__sameDocument = true")
            client.adjust(sku, -5, reason="damaged")
            expect(available).to_have_text("7")
            assert page.evaluate("window.__sameDocument === true")
    finally:
        client.close()
    # Chromium reports each refused stream (the 503 is the point of this test); nothing else.
    unexpected = [p for p in unexpected_problems(problems) if "503" not in p and "EventSource" not in p]
    assert unexpected == [], unexpected
