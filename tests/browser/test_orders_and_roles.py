"""Acting from the dashboard and what a role may see, in Debian's Chromium (omnistock_devtools.browser).

An owner fulfils a paid order (carrier + tracking: the order becomes Shipped, the fulfilment is
listed, inventory commits the units), sees on the SKU's page which order still holds a unit, and
cancels a pending one (after a confirmation step); on
"Users" adds a viewer (a too-short password first, refused in words). The viewer then logs in and
sees no write control anywhere: every button on the inventory, order, channels and users pages is
a read-only one (log out, paging, filters, exports), and there is no "Users" link.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
from omnistock_devtools.demo import CatalogueItem, GatewayClient
from omnistock_devtools.fullstack import FullStack
from omnistock_devtools.testing import RABBITMQ

pytestmark = [pytest.mark.slow]

STACK = ("gateway", "catalog", "inventory", "orders", "channels")
# Buttons that change nothing: a viewer may see these and nothing else.
READ_ONLY_BUTTONS = {
    "Log out",
    "Previous",
    "Next",
    "Try again",
    "Search",
    "Apply filters",
    "Reset",
    "CSV",
    "XLSX",
    "7 days",
    "30 days",
    "90 days",
}


@pytest.fixture
def stack(tmp_path: Path, redis_url: str, web_dist: Path) -> Iterator[FullStack]:
    with browser_stack(tmp_path, redis_url, RABBITMQ.url(), web_dist, STACK) as running:
        yield running


def seed(stack: FullStack, tag: str) -> tuple[str, str, str, str]:
    """(owner email, SKU, paid order id, pending order id): 12 units on hand, a paid order of 2
    and a pending order of 1."""
    email = f"owner-{tag.lower()}@roles.test"
    sku = f"JAR-{tag}"
    client = GatewayClient(stack.gateway_url)
    try:
        client.register(f"Roles {tag}", email, PASSWORD)
        client.create_products([CatalogueItem(sku, "Glass jar", 12, "7.50")])
        client.set_stock({sku: 12})
        ids = []
        for name, status, quantity in ((f"#F-{tag}", "PAID", 2), (f"#X-{tag}", "PENDING", 1)):
            order = {
                "external_name": name,
                "status": status,
                "customer_email": f"buyer-{tag.lower()}@example.com",
                "lines": [
                    {"sku": sku, "quantity": quantity, "unit_price": {"amount": "7.50", "currency": "USD"}}
                ],
            }
            ids.append(client.call("POST", "/orders", 201, json=order).json()["id"])
    finally:
        client.close()
    return email, sku, ids[0], ids[1]


def buttons(page: Any) -> set[str]:
    """The accessible names of the buttons on the page now."""
    names = page.get_by_role("button").evaluate_all("els => els.map(e => e.innerText.trim())")
    return {name for name in names if name}


def test_fulfil_cancel_add_a_viewer_who_sees_no_write_control(stack: FullStack, chromium: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    tag = uuid.uuid4().hex[:8].upper()
    email, sku, paid_id, pending_id = seed(stack, tag)
    viewer = f"viewer-{tag.lower()}@roles.test"
    base = stack.gateway_url
    started = time.monotonic()
    with phone_page(chromium) as (page, problems):
        log_in(page, base, f"/orders/{paid_id}", email)
        expect(page.get_by_role("heading", name=f"Order #F-{tag}")).to_be_visible()
        actions = page.get_by_role("region", name="Actions")
        fulfil = actions.get_by_role("form", name="Fulfil every unshipped unit")
        expect(fulfil.get_by_role("button", name="Fulfil order")).to_be_disabled()
        assert_page_basics(page)
        fulfil.get_by_label("Carrier").fill("UPS")
        fulfil.get_by_label("Tracking number").fill(f"1Z{tag}")
        fulfil.get_by_role("button", name="Fulfil order").click()
        summary = page.get_by_role("region", name="Summary")
        expect(summary).to_contain_text("Shipped")
        expect(page.get_by_role("region", name="Fulfilments")).to_contain_text(f"1Z{tag}")
        expect(page.get_by_role("region", name="Fulfilments")).to_contain_text("2 units")
        # A shipped order offers neither form any more.
        expect(page.get_by_role("region", name="Actions")).to_have_count(0)

        # Who holds the SKU: the pending order's hold of 1 unit (the paid one's shipped).
        page.goto(f"{base}/inventory/{sku}")
        holds = page.get_by_role("region", name="Reservations")
        hold = holds.get_by_role("row").filter(has=page.get_by_role("rowheader", name=f"#X-{tag}"))
        expect(hold).to_contain_text("1")
        expect(hold).to_contain_text("until shipped or cancelled")
        expect(holds.get_by_role("rowheader", name=f"#F-{tag}")).to_have_count(0)

        page.goto(f"{base}/orders/{pending_id}")
        cancel = page.get_by_role("form", name="Cancel the order")
        cancel.get_by_label("Reason (optional)").fill("customer asked")
        cancel.get_by_role("button", name="Cancel order").click()
        # First click only asks; the second one cancels.
        expect(page.get_by_role("region", name="Summary")).to_contain_text("Pending")
        cancel.get_by_role("button", name="Yes, cancel this order").click()
        expect(page.get_by_role("region", name="Summary")).to_contain_text("Cancelled")
        expect(page.get_by_role("region", name="Status history")).to_contain_text("customer asked")

        # Inventory: the 2 shipped units left on hand, the cancelled reservation was released.
        page.goto(f"{base}/inventory/{sku}")
        stock = page.get_by_role("region", name="Stock", exact=True)
        expect(stock.get_by_test_id("on-hand")).to_have_text("10")
        expect(stock.get_by_test_id("available")).to_have_text("10")
        expect(page.get_by_role("region", name="Reservations")).to_contain_text("Nothing holds this SKU")

        nav = page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="Users").click()
        expect(page.get_by_role("heading", name="Users and roles")).to_be_visible()
        add = page.get_by_role("region", name="Add a user")
        add.get_by_label("Email").fill(viewer)
        add.get_by_label("Password (at least 8 characters)").fill("short")
        add.get_by_label("Role").select_option("viewer")
        add.get_by_role("button", name="Add user").click()
        expect(add.get_by_text("8")).not_to_have_count(0)
        expect(page.get_by_role("region", name="Users").get_by_role("rowheader", name=viewer)).to_have_count(
            0
        )
        add.get_by_label("Password (at least 8 characters)").fill(PASSWORD)
        add.get_by_role("button", name="Add user").click()
        expect(add.get_by_role("status")).to_contain_text(f"Added {viewer} as viewer.")
        users = page.get_by_role("region", name="Users")
        expect(users.get_by_role("rowheader", name=viewer)).to_be_visible()
        assert_page_basics(page)
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()

        # The viewer: every page without a write control.
        log_in(page, base, f"/inventory/{sku}", viewer)
        expect(page.get_by_role("heading", name=f"Stock of {sku}")).to_be_visible()
        expect(page.get_by_role("region", name="Movement history")).to_contain_text("10")
        expect(page.get_by_role("region", name="Adjust stock")).to_have_count(0)
        seen: dict[str, set[str]] = {f"/inventory/{sku}": buttons(page)}
        for path, ready in (
            (f"/orders/{paid_id}", "Fulfilments"),
            (f"/orders/{pending_id}", "Status history"),
            ("/orders", "All channels"),
            ("/inventory", "Stock levels"),
            ("/channels", None),
            ("/", "Low stock"),
        ):
            page.goto(f"{base}{path}")
            if ready:
                expect(page.get_by_role("region", name=ready)).to_be_visible()
            else:
                expect(page.get_by_role("heading", name="Channels", exact=True)).to_be_visible()
            page.wait_for_load_state("networkidle")
            seen[path] = buttons(page)
            assert_page_basics(page)
        leaked = {
            path: names - READ_ONLY_BUTTONS for path, names in seen.items() if names - READ_ONLY_BUTTONS
        }
        assert leaked == {}, leaked
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_have_count(0)
        page.goto(f"{base}/users")
        expect(page.get_by_text("Your role (viewer) cannot manage users.")).to_be_visible()
    # The refused password (422) is an answer the page showed; nothing else may be logged.
    unexpected = [
        p for p in unexpected_problems(problems) if "status of 422" not in p and "status of 400" not in p
    ]
    assert unexpected == [], unexpected
    print(f"browser part took {time.monotonic() - started:.1f}s")
