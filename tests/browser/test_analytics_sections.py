"""The overview's analytics sections in Debian's Chromium (omnistock_devtools.browser): sales over
time (the chart's summary and its per-day table show the day's revenue), inventory turnover (the
SKU sold), conversion by channel ("n/a" until sessions are imported from a CSV — a bad row refused by its line
— then 2 orders / 70 sessions over the 7 days shown) and the CSV download of
revenue by channel, fetched with the login token. No console error, nothing wider than a phone.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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
from omnistock_devtools.demo import CatalogueItem, GatewayClient
from omnistock_devtools.fullstack import FullStack
from omnistock_devtools.testing import RABBITMQ

pytestmark = [pytest.mark.slow]

# Orders for the sales figures (a manual order reserves through inventory), inventory for the
# turnover, catalog for the product, channels for the overview's channel health and key figures.
STACK = ("gateway", "catalog", "inventory", "orders", "channels")


@pytest.fixture
def stack(tmp_path: Path, redis_url: str, web_dist: Path) -> Iterator[FullStack]:
    # Nothing started here consumes RabbitMQ; the URL is configuration.
    with browser_stack(tmp_path, redis_url, RABBITMQ.url(), web_dist, STACK) as running:
        yield running


def seed(stack: FullStack, tag: str) -> tuple[str, str]:
    """(email, SKU): 20 on hand, two paid manual orders of 2 and 1 units at 8.50 USD (25.50 of
    revenue today, all `manual`) and 2 units sold by a SALE adjustment (the turnover's units sold)."""
    email = f"owner-{tag.lower()}@analytics.test"
    sku = f"BOWL-{tag}"
    client = GatewayClient(stack.gateway_url)
    try:
        client.register(f"Analytics {tag}", email, PASSWORD)
        client.create_products([CatalogueItem(sku, "Blue bowl", 20, "8.50")])
        client.set_stock({sku: 20})
        for n, quantity in enumerate((2, 1)):
            order = {
                "external_name": f"#A{n}-{tag}",
                "status": "PAID",
                "customer_email": f"buyer-{tag.lower()}@example.com",
                "lines": [
                    {"sku": sku, "quantity": quantity, "unit_price": {"amount": "8.50", "currency": "USD"}}
                ],
            }
            client.call("POST", "/orders", 201, json=order)
        client.call("POST", "/inventory/adjustments", json={"sku": sku, "delta": -2, "reason": "sale"})
    finally:
        client.close()
    return email, sku


def test_sales_over_time_turnover_conversion_and_a_csv_download(stack: FullStack, chromium: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    tag = uuid.uuid4().hex[:8].upper()
    email, sku = seed(stack, tag)
    today = datetime.now(UTC).date().isoformat()
    started = time.monotonic()
    with phone_page(chromium) as (page, problems):
        log_in(page, stack.gateway_url, "/", email)
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()

        # The chart summarises itself for a screen reader; the table holds every day.
        sales = page.get_by_role("region", name="Sales over time")
        chart = sales.get_by_role("img", name=re.compile(r"^Revenue in USD per day"))
        expect(chart).to_have_attribute(
            "aria-label", re.compile(r"\$25\.50 in total; 1 of 30 days with sales")
        )
        expect(chart).to_have_attribute("aria-label", re.compile(rf"highest \$25\.50 on {today}"))
        sales.get_by_text("Figures per day (USD)").click()
        day = sales.get_by_role("row").filter(has=page.get_by_role("rowheader", name=today))
        expect(day.get_by_role("cell")).to_have_text(["$25.50", "2", "3"])  # revenue, orders, units
        expect(sales.get_by_role("row")).to_have_count(31)  # the header and 30 days, zeros included
        page.get_by_label("Sales period").select_option("7")
        expect(chart).to_have_attribute("aria-label", re.compile(r"1 of 7 days with sales"))

        turnover = page.get_by_role("region", name="Inventory turnover")
        row = turnover.get_by_role("row").filter(has=page.get_by_role("rowheader", name=sku))
        expect(row.get_by_role("cell").first).to_have_text("2")  # units sold by the SALE adjustment
        expect(turnover).to_contain_text("Turnover, all SKUs")

        conversion = page.get_by_role("region", name="Conversion by channel")
        manual = conversion.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Manual"))
        expect(manual.get_by_role("cell")).to_have_text(["2", "n/a", "n/a"])  # orders, sessions, conversion
        # Sessions from a CSV: a row with an unknown channel refuses the file, named by its line.
        days = [(datetime.now(UTC).date() - timedelta(days=n)).isoformat() for n in range(30)]
        sessions_file = conversion.get_by_label("Import sessions (CSV: day,channel,sessions)")
        bad = "day,channel,sessions\n" + f"{days[0]},manual,10\n{days[1]},myspace,4\n"
        sessions_file.set_input_files(
            {"name": "sessions.csv", "mimeType": "text/csv", "buffer": bad.encode()}
        )
        expect(conversion.get_by_role("alert")).to_contain_text("Line 3 (channel)")
        expect(manual.get_by_role("cell")).to_have_text(["2", "n/a", "n/a"])
        # 10 sessions on each of the last 30 days; the page shows the last 7 (selected above):
        # 2 orders / 70 sessions.
        good = "day,channel,sessions\n" + "".join(f"{day},manual,10\n" for day in days)
        sessions_file.set_input_files(
            {"name": "sessions.csv", "mimeType": "text/csv", "buffer": good.encode()}
        )
        expect(conversion.get_by_role("status")).to_contain_text("Stored sessions for 30 channel days.")
        expect(manual.get_by_role("cell")).to_have_text(["2", "70", "2.86%"])

        revenue = page.get_by_role("region", name="Revenue by channel")
        with page.expect_download() as info:
            revenue.get_by_role("button", name="CSV").click()
        download = info.value
        assert download.suggested_filename.startswith(
            "revenue-by-channel_"
        ) and download.suggested_filename.endswith(".csv")
        text = Path(download.path()).read_text(encoding="utf-8")
        assert text.splitlines() == [
            "channel,currency,revenue,orders,units,share",
            "manual,USD,25.50,2,3,1.000000",
        ]
        expect(revenue.get_by_role("status")).to_contain_text("Downloaded revenue-by-channel_")
        assert_page_basics(page)
    # The refused sessions file is an answered 400, shown in the page.
    unexpected = [p for p in unexpected_problems(problems) if "status of 400" not in p]
    assert unexpected == [], unexpected
    print(f"browser part took {time.monotonic() - started:.1f}s")
