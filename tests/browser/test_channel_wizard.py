"""The Channels page's connect wizard, mappings and allocation rule in a real browser (Debian's
Chromium through Playwright's Python package) against the whole stack on free ports, with both
channel sandboxes.

An owner on a phone-sized screen connects the WooCommerce sandbox with API keys (a wrong secret
first: refused in words, nothing stored), then Shopify through the OAuth round trip in the browser:
the dashboard's fetch of oauth/start (200 + the HttpOnly cookie), the sandbox's consent page (it
approves at once and redirects to the gateway's callback), the callback's 303 back to
/channels?connected=<id>. Then the WooCommerce connection's mappings: an auto-map job followed to
its end, one mapping edited; and its allocation rule changed (a bad share refused next to the
field first) and saved. A failed round trip's ?connect_error= is said in words; a viewer sees
the page with no write control at all. A manager changes a WooCommerce connection's editable
settings (PATCH /channels/{id}): a blank value is refused beside its box, then saved, read back
after a reload and cleared; staff see no settings form.

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
from omnistock_devtools.demo import CatalogueItem, GatewayClient, Sandbox, demo_catalogue
from omnistock_devtools.fullstack import FullStack

pytestmark = [pytest.mark.slow]

# The channels worker runs the auto-map job (fed through RabbitMQ, on a vhost of its own); the
# shopify connector reads SHOPIFY_CLIENT_ID/SECRET, which fullstack sets to the sandbox's.
STACK = (
    "gateway",
    "catalog",
    "inventory",
    "channels",
    "channels-worker",
    "woocommerce-connector",
    "woocommerce-sandbox",
    "shopify-connector",
    "shopify-sandbox",
)


@pytest.fixture
def stack(tmp_path: Path, redis_url: str, amqp_url: str, web_dist: Path) -> Iterator[FullStack]:
    with browser_stack(tmp_path, redis_url, amqp_url, web_dist, STACK, own_vhost=True) as running:
        yield running


def seed(stack: FullStack, tag: str) -> tuple[GatewayClient, str, list[str], str]:
    """(the owner's API client, email, two SKUs both sandboxes have, a SKU only OmniStock has)."""
    email = f"owner-{tag.lower()}@browser.test"
    shared = demo_catalogue()[:2]
    own = CatalogueItem(f"OWN-{tag}", "Own mug", 5, "9.00")
    client = GatewayClient(stack.gateway_url)
    client.register(f"Wizard {tag}", email, PASSWORD)
    client.create_products([*shared, own])
    client.set_stock({item.sku: item.quantity for item in (*shared, own)})
    return client, email, [item.sku for item in shared], own.sku


def test_connect_map_and_allocate(stack: FullStack, chromium: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    tag = uuid.uuid4().hex[:8].upper()
    client, email, shared_skus, own_sku = seed(stack, tag)
    woo = Sandbox(stack.woocommerce_sandbox_url).config()
    shop = Sandbox(stack.shopify_sandbox_url).config()
    woo_name, shop_name = f"Woo {tag}", f"Shop {tag}"
    started = time.monotonic()
    try:
        with phone_page(chromium) as (page, problems):
            log_in(page, stack.gateway_url, "/channels", email)
            expect(page.get_by_role("heading", name="Channels", exact=True)).to_be_visible()
            expect(page.get_by_text("No channel is connected yet.")).to_be_visible()

            # WooCommerce with API keys: a wrong secret is refused in words and nothing is stored.
            page.get_by_role("link", name="Connect a channel").click()
            expect(page.get_by_role("heading", name="Connect a channel")).to_be_visible()
            page.get_by_label("WooCommerce").check()
            form = page.get_by_role("form", name="Connect WooCommerce")
            form.get_by_label("Store URL").fill(woo["store_url"])
            form.get_by_label("Consumer key").fill(woo["consumer_key"])
            form.get_by_label("Consumer secret").fill("cs_" + "1" * 40)
            form.get_by_label("Name (optional)").fill(woo_name)
            assert_page_basics(page)
            form.get_by_role("button", name="Connect WooCommerce").click()
            expect(form.get_by_role("alert")).to_contain_text("WooCommerce rejected these credentials")
            expect(form.get_by_role("alert")).to_contain_text("nothing was saved")
            assert client.connections() == []
            form.get_by_label("Consumer secret").fill(woo["consumer_secret"])
            form.get_by_role("button", name="Connect WooCommerce").click()
            expect(page.get_by_role("status").filter(has_text="Connected")).to_contain_text(
                f"Connected {woo_name} (WooCommerce)."
            )
            assert page.url == f"{stack.gateway_url}/channels"
            woo_card = page.get_by_role("region", name=woo_name)
            expect(woo_card).to_contain_text("connected")

            # Shopify through the OAuth round trip: the sandbox's consent page approves at once
            # and the callback sends this browser back to the Channels page.
            page.get_by_role("link", name="Connect a channel").click()
            page.get_by_label("Shopify").check()
            form = page.get_by_role("form", name="Connect Shopify")
            form.get_by_label("Shop domain").fill("not a shop")
            form.get_by_role("button", name="Continue to Shopify").click()
            expect(form.get_by_text("Enter the shop's domain, like my-shop.myshopify.com.")).to_be_visible()
            form.get_by_label("Shop domain").fill(shop["shop_domain"])
            form.get_by_label("Name (optional)").fill(shop_name)
            form.get_by_label("API base URL (optional)").fill(shop["base_url"])
            with page.expect_response(lambda r: "/admin/oauth/authorize" in r.url and r.status == 302):
                form.get_by_role("button", name="Continue to Shopify").click()
            expect(page.get_by_role("status").filter(has_text="Connected")).to_contain_text(
                f"Connected {shop_name} (Shopify)."
            )
            assert page.url == f"{stack.gateway_url}/channels"  # ?connected= taken out of the address
            shop_card = page.get_by_role("region", name=shop_name)
            expect(shop_card).to_contain_text("connected")
            assert {(c["name"], c["type"], c["status"]) for c in client.connections()} == {
                (woo_name, "woocommerce", "connected"),
                (shop_name, "shopify", "connected"),
            }
            assert_page_basics(page)

            # Mappings: none yet; an auto-map job maps the SKUs both sides have.
            woo_card.get_by_role("button", name="Show mappings").click()
            expect(woo_card.get_by_text("No SKU is mapped to this channel yet.")).to_be_visible()
            woo_card.get_by_role("button", name="Auto-map by SKU").click()
            job = woo_card.get_by_role("status").filter(has_text="Auto-map job")
            expect(job).to_contain_text("succeeded")
            expect(job).to_contain_text("2 mapped")
            expect(job).to_contain_text(f"not on the channel: {own_sku}")
            for sku in shared_skus:
                expect(woo_card.get_by_role("rowheader", name=sku)).to_be_visible()
            expect(woo_card.get_by_role("rowheader", name=own_sku)).to_have_count(0)
            # One mapping edited by hand.
            sku = shared_skus[0]
            woo_card.get_by_role("button", name=f"Edit {sku}").click()
            edit = woo_card.get_by_role("form", name=f"Edit the mapping of {sku}")
            edit.get_by_label("Product ID").fill("4242")
            edit.get_by_label("Variation ID").fill("")
            edit.get_by_role("button", name="Save mapping").click()
            expect(woo_card.get_by_role("status").filter(has_text="Saved:")).to_contain_text(
                f"Saved: {sku} maps to product_id 4242."
            )
            row = woo_card.get_by_role("row").filter(has=page.get_by_role("rowheader", name=sku))
            expect(row).to_contain_text("product_id 4242")
            woo_id = _id(client, woo_name)
            assert client.listings(woo_id)[sku]["external_ids"] == {"product_id": "4242"}
            assert_page_basics(page)

            # Allocation: no rule yet; a share over 100 is refused beside the field; then saved.
            woo_card.get_by_role("button", name="Show allocation rule").click()
            expect(
                woo_card.get_by_text("No rule: this channel is offered all of the available stock.")
            ).to_be_visible()
            woo_card.get_by_role("button", name="Edit allocation rule").click()
            rule = woo_card.get_by_role("form", name=f"Allocation rule of {woo_name}")
            rule.get_by_label("Buffer (units held back)").fill("3")
            rule.get_by_label("Share offered, % (empty: all)").fill("150")
            expect(rule.get_by_text("Enter a whole number from 0 to 100, or leave it empty.")).to_be_visible()
            expect(rule.get_by_role("button", name="Save rule")).to_be_disabled()
            rule.get_by_label("Share offered, % (empty: all)").fill("50")
            rule.get_by_role("button", name="Save rule").click()
            expect(
                woo_card.get_by_role("status").filter(has_text="Saved the allocation rule")
            ).to_be_visible()
            facts = woo_card.get_by_test_id("allocation")
            expect(facts).to_contain_text("3 units held back")
            expect(facts).to_contain_text("50%")
            saved = client.call("GET", f"/channels/{woo_id}/allocation").json()
            assert (saved["buffer"], saved["percentage"], saved["max_quantity"]) == (3, 50, None)
            # A reload reads the stored rule back.
            page.reload()
            woo_card.get_by_role("button", name="Show allocation rule").click()
            expect(woo_card.get_by_test_id("allocation")).to_contain_text("3 units held back")
            assert_page_basics(page)

            # A failed round trip comes back as ?connect_error=<slug>: said in words, once.
            page.goto(f"{stack.gateway_url}/channels?connect_error=oauth-state-reused")
            expect(page.get_by_role("alert")).to_contain_text("This sign-in was already used.")
            assert page.url == f"{stack.gateway_url}/channels"

            # A viewer sees the same page without a single write control.
            viewer = f"viewer-{tag.lower()}@browser.test"
            client.call("POST", "/users", 201, json={"email": viewer, "password": PASSWORD, "role": "viewer"})
            page.get_by_role("button", name="Log out").click()
            log_in(page, stack.gateway_url, "/channels", viewer)
            woo_card = page.get_by_role("region", name=woo_name)
            expect(woo_card).to_contain_text("connected")
            woo_card.get_by_role("button", name="Show mappings").click()
            expect(woo_card.get_by_role("rowheader", name=sku)).to_be_visible()
            woo_card.get_by_role("button", name="Show allocation rule").click()
            expect(woo_card.get_by_test_id("allocation")).to_contain_text("3 units held back")
            for control in (
                "Sync now",
                "Auto-map by SKU",
                "Map a SKU",
                f"Edit {sku}",
                "Edit allocation rule",
            ):
                expect(woo_card.get_by_role("button", name=control)).to_have_count(0)
            expect(page.get_by_role("link", name="Connect a channel")).to_have_count(0)
            page.goto(f"{stack.gateway_url}/channels/connect")
            expect(page.get_by_text("Your role may not connect channels")).to_be_visible()
            expect(page.get_by_role("radio")).to_have_count(0)
        # Chromium logs answered 4xx as failed resources: the refused WooCommerce keys (400) and
        # the allocation rule a connection does not have yet (404, shown as "No rule").
        unexpected = [
            p for p in unexpected_problems(problems) if "status of 400" not in p and "status of 404" not in p
        ]
        assert unexpected == [], unexpected
    finally:
        client.close()
    print(f"browser part took {time.monotonic() - started:.1f}s")


def test_a_manager_changes_a_connections_settings(stack: FullStack, chromium: Path) -> None:
    """The card's Settings (the type's editable_settings): one PATCH with what changed; a 400's
    field error sits beside its box and nothing is stored; an emptied box removes the setting."""
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    tag = uuid.uuid4().hex[:8].upper()
    email, name = f"owner-{tag.lower()}@browser.test", f"Woo {tag}"
    client = GatewayClient(stack.gateway_url)
    try:
        client.register(f"Settings {tag}", email, PASSWORD)
        woo = Sandbox(stack.woocommerce_sandbox_url).config()
        conn_id = client.connect_woocommerce(
            woo["store_url"], woo["consumer_key"], woo["consumer_secret"], name
        )["id"]
        with phone_page(chromium) as (page, problems):
            log_in(page, stack.gateway_url, "/channels", email)
            card = page.get_by_role("region", name=name)
            card.get_by_role("button", name="Show settings").click()
            form = card.get_by_role("form", name=f"Settings of {name}")
            unit, tracking = (
                form.get_by_label("Store weight unit"),
                form.get_by_label("Shipment Tracking extension"),
            )
            expect(unit).to_have_value("")
            expect(form.get_by_role("textbox")).to_have_count(2)  # WooCommerce's two editable settings
            assert_page_basics(page)

            # A blank value: the server's field error beside its box, the form still open, nothing stored.
            unit.fill("lbs")
            tracking.fill("   ")
            form.get_by_role("button", name="Save settings").click()
            expect(tracking).to_have_attribute("aria-invalid", "true")
            expect(form).to_contain_text("printable characters")
            expect(unit).to_have_value("lbs")
            assert "weight_unit" not in client.connection(conn_id)["settings"]

            tracking.fill("off")
            form.get_by_role("button", name="Save settings").click()
            expect(form.get_by_role("status")).to_contain_text(f"Saved the settings of {name}.")
            expect(tracking).not_to_have_attribute("aria-invalid", "true")
            stored = client.connection(conn_id)["settings"]
            assert (stored["weight_unit"], stored["shipment_tracking"]) == ("lbs", "off"), stored
            assert stored["store_url"] == woo["store_url"]

            # A reload reads them back; an emptied box removes its setting.
            page.reload()
            card.get_by_role("button", name="Show settings").click()
            expect(unit).to_have_value("lbs")
            expect(tracking).to_have_value("off")
            tracking.fill("")
            form.get_by_role("button", name="Save settings").click()
            expect(form.get_by_role("status")).to_contain_text("Saved the settings")
            stored = client.connection(conn_id)["settings"]
            assert "shipment_tracking" not in stored and stored["weight_unit"] == "lbs", stored
            assert_page_basics(page)

            # Staff may sync but not manage the connection: no settings form.
            staff = f"staff-{tag.lower()}@browser.test"
            client.call("POST", "/users", 201, json={"email": staff, "password": PASSWORD, "role": "staff"})
            page.get_by_role("button", name="Log out").click()
            log_in(page, stack.gateway_url, "/channels", staff)
            expect(card.get_by_role("button", name="Sync now")).to_be_visible()
            expect(card.get_by_role("button", name="Show settings")).to_have_count(0)
        # The refused blank value is a 400, which Chromium logs as a failed resource.
        unexpected = [p for p in unexpected_problems(problems) if "status of 400" not in p]
        assert unexpected == [], unexpected
    finally:
        client.close()


def _id(client: GatewayClient, name: str) -> str:
    (found,) = [c["id"] for c in client.connections() if c["name"] == name]
    return str(found)
