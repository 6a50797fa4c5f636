"""`make screenshots`: the dashboard's main pages as PNGs in docs/screenshots/ (shown in the README).

Starts the whole stack (the same commands as `make run`) on SQLite files in a temporary directory,
registers a tenant, brings it to the demo state (omnistock_devtools.demo.ensure_demo: 20 products
with stock, both channel sandboxes connected and mapped), lowers a few SKUs under their threshold,
places some paid and pending manual orders and fulfils one, then opens each page in Debian's
Chromium (Playwright's Python package) at 1280x900 and saves it once every section has loaded.
Nothing here is a test: it writes files into the repository for people to look at.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omnistock_common.config import project_root
from omnistock_devtools.browser import CHROMIUM, DESKTOP, PASSWORD, log_in
from omnistock_devtools.demo import GatewayClient, ensure_demo
from omnistock_devtools.fullstack import MIGRATED_SERVICES, FullStack, isolated_vhost
from omnistock_devtools.testing import RABBITMQ

# The page is usable once its heading is there and no section still says "Loading …".
LOADED = """() => {
  const main = document.querySelector('main');
  if (!main || !main.querySelector('h1')) return false;
  return ![...main.querySelectorAll('[role=status][aria-live]')].some(e => e.textContent.startsWith('Loading'));
}"""


def seed(client: GatewayClient) -> tuple[str, str]:
    """Low stock, orders and a fulfilment on top of the demo tenant: (a SKU, an order id)."""
    skus = [level["sku"] for level in client.call("GET", "/inventory", params={"limit": 20}).json()["items"]]
    low = skus[:3]
    client.set_stock({sku: 2 for sku in low}, reason="correction", note="counted")
    orders = []
    for n, sku in enumerate(skus[:8]):
        order = {
            "external_name": f"#10{n:02d}",
            "status": "PAID" if n % 3 else "PENDING",
            "customer_email": f"customer{n}@example.com",
            "customer_name": f"Customer {n}",
            "lines": [
                {
                    "sku": sku,
                    "quantity": 1 + n % 3,
                    "unit_price": {"amount": f"{12 + n}.50", "currency": "USD"},
                }
            ],
        }
        orders.append(client.call("POST", "/orders", 201, json=order).json())
    paid = next(o for o in orders if o["status"] == "PAID")
    client.call(
        "POST",
        f"/orders/{paid['id']}/fulfill",
        json={"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
    )
    return skus[0], orders[-1]["id"]


def pages(sku: str, order_id: str) -> Sequence[tuple[str, str]]:
    return (
        ("overview", "/"),
        ("inventory", "/inventory"),
        ("inventory-sku", f"/inventory/{sku}"),
        ("orders", "/orders"),
        ("order", f"/orders/{order_id}"),
        ("channels", "/channels"),
        ("products", "/products"),
        ("pricing", "/pricing"),
        ("users", "/users"),
    )


def capture(base_url: str, email: str, targets: Sequence[tuple[str, str]], out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    saved: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            page: Any = browser.new_context(viewport=DESKTOP).new_page()
            log_in(page, base_url, "/", email)
            # Logged in once the app shows its log-out button (the login page is "loaded" too).
            page.get_by_role("button", name="Log out").wait_for(timeout=60_000)
            page.wait_for_function(LOADED, timeout=60_000)
            for name, path in targets:
                page.goto(f"{base_url}{path}")
                page.wait_for_function(LOADED, timeout=60_000)
                page.wait_for_load_state("networkidle")
                target = out / f"{name}.png"
                page.screenshot(path=str(target), full_page=False)
                saved.append(target)
        finally:
            browser.close()
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=project_root() / "docs" / "screenshots")
    parser.add_argument(
        "--redis-url", default=os.environ.get("SCREENSHOTS_REDIS_URL", "redis://127.0.0.1:6379/13")
    )
    args = parser.parse_args(argv)
    web_dist = project_root() / "web" / "dist"
    if not os.access(CHROMIUM, os.X_OK) or not (web_dist / "index.html").is_file():
        print(
            f"needs {CHROMIUM} (apt-get install -y chromium) and a built dashboard (make web)",
            file=sys.stderr,
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="omnistock-shots-") as tmp:
        work = Path(tmp)
        databases = {service: f"sqlite:///{work / service}.db" for service in MIGRATED_SERVICES}
        env = {"GATEWAY_WEB_DIST_DIR": str(web_dist)}
        with (
            isolated_vhost(RABBITMQ.url(), prefix="omnistock-shots") as (amqp_url, _isolated),
            FullStack(work, databases, args.redis_url, amqp_url, env=env) as stack,
        ):
            email = f"owner-{uuid.uuid4().hex[:6]}@demo.test"
            client = GatewayClient(stack.gateway_url)
            client.register("Demo Store", email, PASSWORD)
            ensure_demo(
                stack.gateway_url,
                stack.shopify_sandbox_url,
                stack.woocommerce_sandbox_url,
                email=email,
                password=PASSWORD,
            )
            client.login(email, PASSWORD)
            sku, order_id = seed(client)
            for path in capture(stack.gateway_url, email, pages(sku, order_id), args.out):
                print(f"saved {path.relative_to(project_root())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
