"""The dashboard in a real browser: Debian's /usr/bin/chromium driven by Playwright's Python
package (never a browser Playwright downloads), against the whole stack on free ports
(omnistock_devtools.fullstack: the same commands as `make run`).

A tenant registered through the API with one SKU under its low-stock threshold and a WooCommerce
sandbox connection; a person on a phone-sized screen logs in with the keyboard, sees the SKU in
"Low stock" and the connection in "Channel health"; an expired access token is refreshed without
leaving the page; the page logs no console error (a CSP violation would be one).

A second tenant with one SKU and two manual orders (POST /orders): on the Inventory page a person
searches the SKU, adjusts its stock (a refused adjustment first, shown in words), sees the new
figure and the history row; on the Orders page filters by status, exports CSV (the file holds only
the filtered order) and opens the order.

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
from omnistock_devtools.testing import RABBITMQ

pytestmark = [pytest.mark.slow]

STACK = (
    "gateway",
    "catalog",
    "inventory",
    "orders",
    "channels",
    "woocommerce-connector",
    "woocommerce-sandbox",
)


@pytest.fixture
def stack(tmp_path: Path, redis_url: str, web_dist: Path) -> Iterator[FullStack]:
    # Nothing started here talks to RabbitMQ (the test passes with it down); the URL is configuration.
    with browser_stack(tmp_path, redis_url, RABBITMQ.url(), web_dist, STACK) as running:
        yield running


def seed(stack: FullStack, tag: str) -> tuple[str, str, str]:
    """(email, low-stock SKU, connection name): a tenant with one SKU at 2 under a threshold of 5,
    another well stocked, and a WooCommerce sandbox connection."""
    email = f"owner-{tag.lower()}@browser.test"
    low, plenty = f"LOW-{tag}", f"OK-{tag}"
    client = GatewayClient(stack.gateway_url)
    woo = Sandbox(stack.woocommerce_sandbox_url)
    try:
        client.register(f"Browser {tag}", email, PASSWORD)
        client.create_products(
            [CatalogueItem(low, "Low mug", 2, "9.00"), CatalogueItem(plenty, "Full mug", 40, "9.00")]
        )
        client.set_stock({low: 2, plenty: 40})
        for sku in (low, plenty):
            client.call("PUT", f"/inventory/{sku}/threshold", json={"low_stock_threshold": 5})
        levels = client.call("GET", "/inventory", params={"low_stock": "true"}).json()["items"]
        assert [level["sku"] for level in levels] == [low], levels
        config = woo.config()
        name = f"Woo {tag}"
        conn = client.connect_woocommerce(
            config["store_url"], config["consumer_key"], config["consumer_secret"], name
        )
        assert conn["status"] == "connected", conn
    finally:
        client.close()
    return email, low, name


def test_log_in_and_see_low_stock_and_channel_health(stack: FullStack, chromium: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    tag = uuid.uuid4().hex[:8].upper()
    email, low_sku, connection = seed(stack, tag)
    started = time.monotonic()
    with phone_page(chromium) as (page, problems):
        # A client-side route loads the app; without a session it asks for a login, by keyboard.
        page.goto(f"{stack.gateway_url}/")
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        page.get_by_label("Email").focus()
        page.keyboard.type(email)
        page.keyboard.press("Tab")
        page.keyboard.type("wrong-password")
        page.keyboard.press("Enter")
        expect(page.get_by_role("alert")).to_contain_text("invalid email or password")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()

        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        low_stock = page.get_by_role("region", name="Low stock")
        expect(low_stock.get_by_role("rowheader", name=low_sku)).to_be_visible()
        expect(low_stock).not_to_contain_text(f"OK-{tag}")
        channels = page.get_by_role("region", name="Channel health")
        expect(channels).to_contain_text(connection)
        expect(channels).to_contain_text("connected")
        expect(channels).to_contain_text("Errors")
        figures = page.get_by_role("region", name="Key figures")
        expect(figures).to_contain_text("Low-stock SKUs")
        expect(figures).to_contain_text("1 of 1")
        expect(figures.get_by_role("definition").first).to_have_text("2")  # Products (GET /products/count)
        # No order yet: the sales sections say so instead of drawing an empty chart.
        expect(page.get_by_role("region", name="Revenue by channel")).to_contain_text(
            "No sales in the last 30 days."
        )
        expect(page.get_by_role("region", name="Best sellers")).to_contain_text(
            "No sales in the last 30 days."
        )
        expect(page.get_by_role("region", name="Revenue by channel").get_by_role("img")).to_have_count(0)

        # Phone-sized: nothing wider than the screen (the table scrolls inside its box).
        assert_page_basics(page)

        # An expired access token: the next load refreshes it (POST /auth/refresh) and the
        # page comes back with its data instead of the login form.
        page.evaluate(
            """() => {
              const s = JSON.parse(sessionStorage.getItem('omnistock.session'));
              s.accessToken = 'expired.' + s.accessToken;
              sessionStorage.setItem('omnistock.session', JSON.stringify(s));
            }"""
        )
        with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/refresh") and r.status == 200):
            page.reload()
        expect(low_stock.get_by_role("rowheader", name=low_sku)).to_be_visible()
        token = page.evaluate("JSON.parse(sessionStorage.getItem('omnistock.session')).accessToken")
        assert not token.startswith("expired.")
        expect(page.get_by_role("heading", name="Log in")).to_have_count(0)
    unexpected = unexpected_problems(problems)
    assert unexpected == [], unexpected
    print(f"browser part took {time.monotonic() - started:.1f}s")


# The inventory and orders pages: gateway, catalog, inventory and orders (a manual order reserves
# stock through the inventory service); no connector, no sandbox.
PAGES_STACK = ("gateway", "catalog", "inventory", "orders")


@pytest.fixture
def pages_stack(tmp_path: Path, redis_url: str, web_dist: Path) -> Iterator[FullStack]:
    with browser_stack(tmp_path, redis_url, RABBITMQ.url(), web_dist, PAGES_STACK) as running:
        yield running


def seed_pages(stack: FullStack, tag: str) -> tuple[str, str]:
    """(email, SKU): a tenant with one SKU at 12 on hand, threshold 5, and two manual orders of
    it: "#P-<tag>" paid (2 units) and "#Q-<tag>" pending (1 unit)."""
    email = f"owner-{tag.lower()}@browser.test"
    sku = f"MUG-{tag}"
    client = GatewayClient(stack.gateway_url)
    try:
        client.register(f"Pages {tag}", email, PASSWORD)
        client.create_products([CatalogueItem(sku, "Blue mug", 12, "9.00")])
        client.set_stock({sku: 12})
        client.call("PUT", f"/inventory/{sku}/threshold", json={"low_stock_threshold": 5})
        for name, status, quantity in ((f"#P-{tag}", "PAID", 2), (f"#Q-{tag}", "PENDING", 1)):
            order = {
                "external_name": name,
                "status": status,
                "customer_email": f"buyer-{tag.lower()}@example.com",
                "lines": [
                    {"sku": sku, "quantity": quantity, "unit_price": {"amount": "9.00", "currency": "USD"}}
                ],
            }
            client.call("POST", "/orders", 201, json=order)
    finally:
        client.close()
    return email, sku


def test_inventory_and_orders_pages(pages_stack: FullStack, chromium: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    tag = uuid.uuid4().hex[:8].upper()
    email, sku = seed_pages(pages_stack, tag)
    started = time.monotonic()
    with phone_page(chromium) as (page, problems):
        # Logging in at a page's address shows that page (no channels service here for the
        # overview's channel health).
        log_in(page, pages_stack.gateway_url, "/inventory", email)
        expect(page.get_by_role("heading", name="Inventory", exact=True)).to_be_visible()
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Inventory")).to_have_attribute("aria-current", "page")

        levels = page.get_by_role("region", name="Stock levels")
        levels.get_by_label("SKU").fill(sku)
        levels.get_by_role("button", name="Search").click()
        row = levels.get_by_role("row").filter(has=page.get_by_role("rowheader", name=sku))
        expect(row).to_have_count(1)
        expect(row).to_contain_text("12")
        expect(row).to_contain_text("OK")
        levels.get_by_label("SKU").fill(f"NOPE-{tag}")
        levels.get_by_role("button", name="Search").click()
        expect(levels).to_contain_text(f"No stock is recorded for SKU NOPE-{tag}")
        levels.get_by_label("SKU").fill(sku)
        levels.get_by_role("button", name="Search").click()
        row.get_by_role("link", name=sku).click()

        expect(page.get_by_role("heading", name=f"Stock of {sku}")).to_be_visible()
        stock = page.get_by_role("region", name="Stock", exact=True)
        expect(stock.get_by_test_id("on-hand")).to_have_text("12")
        form = page.get_by_role("region", name="Adjust stock")
        # Setting a count below zero is refused next to the field, before any request.
        form.get_by_label("Set the count on hand").check()
        form.get_by_label("New count on hand").fill("-1")
        expect(form.get_by_text("Enter a whole number of 0 or more.")).to_be_visible()
        expect(form.get_by_role("button", name="Save adjustment")).to_be_disabled()
        # Removing more than is on hand: the server's problem+json, shown in words.
        form.get_by_label("Add or remove (±)").check()
        form.get_by_label("Quantity (±)").fill("-50")
        form.get_by_role("button", name="Save adjustment").click()
        expect(form.get_by_role("alert")).to_contain_text(f"on_hand of {sku} would become")
        expect(stock.get_by_test_id("on-hand")).to_have_text("12")
        # A real adjustment: 3 units damaged, with a note.
        form.get_by_label("Quantity (±)").fill("-3")
        form.get_by_label("Reason").select_option("damaged")
        form.get_by_label("Note (optional)").fill(f"dropped {tag}")
        form.get_by_role("button", name="Save adjustment").click()
        expect(form.get_by_role("status")).to_contain_text("now has 9 on hand")
        expect(stock.get_by_test_id("on-hand")).to_have_text("9")
        history = page.get_by_role("region", name="Movement history")
        newest = history.get_by_role("row").nth(1)
        expect(newest).to_contain_text("damaged")
        expect(newest).to_contain_text("-3")
        expect(newest).to_contain_text(f"dropped {tag}")
        assert_page_basics(page)

        # Back to the list: the cached page was invalidated and shows the new figure.
        page.get_by_role("link", name="← Inventory").click()
        levels.get_by_label("SKU").fill(sku)
        levels.get_by_role("button", name="Search").click()
        expect(row).to_contain_text("9")

        # Orders, by keyboard from the main navigation.
        nav.get_by_role("link", name="Orders").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name="Orders")).to_have_attribute("aria-current", "page")
        orders = page.get_by_role("region", name="All channels")
        paid, pending = f"#P-{tag}", f"#Q-{tag}"
        expect(orders.get_by_role("rowheader", name=paid)).to_be_visible()
        expect(orders.get_by_role("rowheader", name=pending)).to_be_visible()
        orders.get_by_label("Status").select_option("PAID")
        orders.get_by_role("button", name="Apply filters").click()
        expect(orders.get_by_role("rowheader", name=pending)).to_have_count(0)
        expect(orders.get_by_role("rowheader", name=paid)).to_be_visible()
        assert_page_basics(page)

        # The export carries the bearer token (fetch + blob) and the same filter.
        with page.expect_download() as downloading:
            orders.get_by_role("button", name="CSV").click()
        csv_text = Path(downloading.value.path()).read_text(encoding="utf-8")
        assert paid in csv_text and pending not in csv_text, csv_text[:500]
        expect(orders.get_by_text("Downloaded orders.csv.")).to_be_visible()
        with page.expect_download() as downloading:
            orders.get_by_role("button", name="XLSX").click()
        assert downloading.value.suggested_filename == "orders.xlsx"
        assert Path(downloading.value.path()).read_bytes()[:2] == b"PK"  # an XLSX is a zip

        # An end date before the start date is refused next to the field.
        orders.get_by_label("From").fill("2026-03-10")
        orders.get_by_label("To").fill("2026-03-01")
        expect(orders.get_by_text("The end date is before the start date.")).to_be_visible()
        expect(orders.get_by_role("button", name="Apply filters")).to_be_disabled()
        orders.get_by_label("From").fill("")
        orders.get_by_label("To").fill("")

        orders.get_by_role("link", name=paid).click()
        expect(page.get_by_role("heading", name=f"Order {paid}")).to_be_visible()
        summary = page.get_by_role("region", name="Summary")
        expect(summary).to_contain_text("Paid")
        expect(summary).to_contain_text(f"buyer-{tag.lower()}@example.com")
        expect(summary).to_contain_text("none")
        lines = page.get_by_role("region", name="Lines")
        line = lines.get_by_role("row").filter(has=page.get_by_role("rowheader", name=sku))
        expect(line).to_contain_text("2")
        expect(page.get_by_role("region", name="Status history")).to_contain_text("Paid")
        assert_page_basics(page)
    # Chromium logs the refused adjustment (an answered 4xx) as a failed resource.
    unexpected = [p for p in problems if "status of 409" not in p and "status of 422" not in p]
    assert unexpected == [], unexpected
    print(f"browser part took {time.monotonic() - started:.1f}s")


# The charts and the channels page: orders for the analytics, channels + its worker (the sync
# engine runs "Sync now" jobs, fed through RabbitMQ, on a vhost of its own) and the WooCommerce
# connector and sandbox.
CHARTS_STACK = (
    "gateway",
    "catalog",
    "inventory",
    "orders",
    "channels",
    "channels-worker",
    "woocommerce-connector",
    "woocommerce-sandbox",
)


@pytest.fixture
def charts_stack(tmp_path: Path, redis_url: str, amqp_url: str, web_dist: Path) -> Iterator[FullStack]:
    with browser_stack(tmp_path, redis_url, amqp_url, web_dist, CHARTS_STACK, own_vhost=True) as running:
        yield running


def seed_charts(stack: FullStack, tag: str) -> tuple[str, str, str]:
    """(email, SKU, connection name): a tenant with one SKU, a WooCommerce sandbox connection and
    one paid manual order of 3 units at 9.00 USD (27.00 of revenue, all of it `manual`)."""
    email = f"owner-{tag.lower()}@browser.test"
    sku = f"CUP-{tag}"
    client = GatewayClient(stack.gateway_url)
    woo = Sandbox(stack.woocommerce_sandbox_url)
    try:
        client.register(f"Charts {tag}", email, PASSWORD)
        client.create_products([CatalogueItem(sku, "Green cup", 20, "9.00")])
        client.set_stock({sku: 20})
        config = woo.config()
        name = f"Woo {tag}"
        conn = client.connect_woocommerce(
            config["store_url"], config["consumer_key"], config["consumer_secret"], name
        )
        assert conn["status"] == "connected", conn
        order = {
            "external_name": f"#C-{tag}",
            "status": "PAID",
            "customer_email": f"buyer-{tag.lower()}@example.com",
            "lines": [{"sku": sku, "quantity": 3, "unit_price": {"amount": "9.00", "currency": "USD"}}],
        }
        client.call("POST", "/orders", 201, json=order)
    finally:
        client.close()
    return email, sku, name


def test_sales_charts_and_channels_page(charts_stack: FullStack, chromium: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    tag = uuid.uuid4().hex[:8].upper()
    email, sku, connection = seed_charts(charts_stack, tag)
    started = time.monotonic()
    with phone_page(chromium) as (page, problems):
        log_in(page, charts_stack.gateway_url, "/", email)
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()

        # The donut names its slices for a screen reader; its table is the text equivalent.
        revenue = page.get_by_role("region", name="Revenue by channel")
        expect(revenue.get_by_role("img", name="Revenue in USD by channel: Manual 100%")).to_be_visible()
        row = revenue.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Manual"))
        expect(row).to_contain_text("27.00")
        expect(row).to_contain_text("100%")
        best = page.get_by_role("region", name="Best sellers")
        seller = best.get_by_role("row").filter(has=page.get_by_role("rowheader", name=sku))
        expect(seller).to_contain_text("3")
        # Another period asks again (today is in every one of them).
        page.get_by_label("Sales period").select_option("7")
        expect(revenue).to_contain_text("27.00")
        assert_page_basics(page)

        nav = page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="Channels").click()
        expect(page.get_by_role("heading", name="Channels", exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name="Channels")).to_have_attribute("aria-current", "page")
        card = page.get_by_role("region", name=connection)
        expect(card).to_contain_text("connected")
        expect(card).to_contain_text("Token expires")
        expect(card.get_by_role("heading", name="Sync log")).to_be_visible()
        expect(card.get_by_role("heading", name="Published products")).to_be_visible()
        expect(card).to_contain_text("No product is published to this channel.")
        card.get_by_label("What to sync").select_option("inventory")
        card.get_by_role("button", name="Sync now").click()
        job = card.get_by_role("status").filter(has_text="Sync job")
        expect(job).to_contain_text("succeeded")
        expect(job).to_contain_text("inventory:")
        assert_page_basics(page)
    assert problems == [], problems
    print(f"browser part took {time.monotonic() - started:.1f}s")
