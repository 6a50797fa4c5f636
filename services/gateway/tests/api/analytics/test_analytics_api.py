"""GET /analytics/revenue-by-channel, best-sellers, conversion-by-channel and sales-over-time
through the gateway, backed by the REAL orders and inventory gRPC servers (SQLite): channel orders
applied by the orders service layer (the worker's path), a manual order created and one cancelled
through the gateway, then the figures read exactly as JSON, and as CSV and XLSX downloads; bad
ranges are 400 problems; viewers read; tenants are apart."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from inventory.config import load_settings as load_inventory_settings
from inventory.server import Inventory
from inventory.server import build as build_inventory
from omnistock_devtools.migrated import migrate
from orders import service
from orders.config import load_settings as load_orders_settings
from orders.domain import ChannelOrderVersion, IncomingLine, OrderStatus, Policy, Totals
from orders.inventory_client import InventoryStock
from orders.server import Orders
from orders.server import build as build_orders

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
DAY = TODAY.date().isoformat()


@pytest.fixture
def inventory_server(tmp_path: Path) -> Iterator[Inventory]:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    migrate("inventory", url)
    server = build_inventory(
        load_inventory_settings(
            {"INVENTORY_DATABASE_URL": url, "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"}
        )
    )
    yield server
    server.stop()


@pytest.fixture
def orders_server(tmp_path: Path, inventory_server: Inventory) -> Iterator[Orders]:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    migrate("orders", url)
    settings = {
        "ORDERS_DATABASE_URL": url,
        "ORDERS_GRPC_PORT": "0",
        "INVENTORY_ADDR": f"127.0.0.1:{inventory_server.port}",
        "LOG_LEVEL": "WARNING",
    }
    server = build_orders(load_orders_settings(settings))
    yield server
    server.stop()


@pytest.fixture
def client(app_factory: Any, sqlite_url: str, orders_server: Orders) -> Any:
    return app_factory(sqlite_url, orders_addr=f"127.0.0.1:{orders_server.port}").test_client()


def channel_order(
    external_id: str, source: str, lines: tuple[tuple[str, int, int], ...]
) -> ChannelOrderVersion:
    at = TODAY + timedelta(hours=1)
    return ChannelOrderVersion(
        connection_id=f"conn-{source.lower()}",
        source=source,
        external_id=external_id,
        via="webhook",
        received_at=at,
        status=OrderStatus.PAID,
        lines=tuple(
            IncomingLine(sku=sku, quantity=q, unit_price=price, external_line_id=f"{external_id}-{i}")
            for i, (sku, q, price) in enumerate(lines)
        ),
        currency="USD",
        totals=Totals(),
        updated_at=at,
        created_at=at,
        raw_json=json.dumps({"id": external_id}),
    )


def seed(client: Any, owner: Any, orders_server: Orders, inventory_server: Inventory) -> None:
    """Today: a Shopify order (A 2 x 19.99, B 5.00), an eBay one (B 3 x 5.00), a paid manual one
    (C 10.00) and a cancelled manual one, all USD."""
    stock = InventoryStock(f"127.0.0.1:{inventory_server.port}", timeout=30.0)
    try:
        for version in (
            channel_order("s1", "SHOPIFY", (("A", 2, 1999), ("B", 1, 500))),
            channel_order("e1", "EBAY", (("B", 3, 500),)),
        ):
            service.apply_channel_order(orders_server.parts, stock, owner.tenant_id, version, Policy())
    finally:
        stock.close()

    def manual(status: str) -> dict[str, Any]:
        body = {"lines": [{"sku": "C", "quantity": 1, "unit_price": {"amount": "10.00", "currency": "USD"}}]}
        made = client.post("/api/v1/orders", json={**body, "status": status}, headers=owner.auth)
        assert made.status_code == 201, made.json
        return made.json

    manual("PAID")
    cancelled = manual("PAID")
    done = client.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=owner.auth)
    assert done.status_code == 200, done.json


def test_revenue_and_best_sellers_through_the_gateway(
    client: Any, helpers: Any, orders_server: Orders, inventory_server: Inventory
) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    other = helpers.register(client, "Other", "owner@other.test")
    seed(client, owner, orders_server, inventory_server)

    revenue = client.get(f"/api/v1/analytics/revenue-by-channel?from={DAY}&to={DAY}", headers=owner.auth)
    assert revenue.status_code == 200, revenue.json
    assert revenue.json == {
        "from_date": DAY,
        "to_date": DAY,
        # Of 69.98 USD: 44.98, 15.00 and 10.00 (the cancelled manual order does not count).
        "items": [
            {
                "channel": "shopify",
                "revenue": {"amount": "44.98", "currency": "USD"},
                "orders": 1,
                "units": 3,
                "share": 0.642755,
            },
            {
                "channel": "ebay",
                "revenue": {"amount": "15.00", "currency": "USD"},
                "orders": 1,
                "units": 3,
                "share": 0.214347,
            },
            {
                "channel": "manual",
                "revenue": {"amount": "10.00", "currency": "USD"},
                "orders": 1,
                "units": 1,
                "share": 0.142898,
            },
        ],
    }
    best = client.get("/api/v1/analytics/best-sellers?limit=2", headers=owner.auth)
    assert best.status_code == 200, best.json
    assert best.json["to_date"] == DAY
    assert best.json["items"] == [
        {"sku": "B", "units": 4, "revenue": {"amount": "20.00", "currency": "USD"}, "orders": 2},
        {"sku": "A", "units": 2, "revenue": {"amount": "39.98", "currency": "USD"}, "orders": 1},
    ]
    ebay = client.get("/api/v1/analytics/best-sellers?channel=ebay", headers=owner.auth)
    assert [item["sku"] for item in ebay.json["items"]] == ["B"]

    conversion = client.get("/api/v1/analytics/conversion-by-channel", headers=owner.auth)
    assert conversion.status_code == 200, conversion.json
    assert conversion.json["items"] == [  # no channel's sessions are known: n/a, not a number
        {"channel": "ebay", "orders": 1, "sessions": None, "conversion": None},
        {"channel": "manual", "orders": 1, "sessions": None, "conversion": None},
        {"channel": "shopify", "orders": 1, "sessions": None, "conversion": None},
    ]

    yesterday = (TODAY - timedelta(days=1)).date().isoformat()
    series = client.get(f"/api/v1/analytics/sales-over-time?from={yesterday}&to={DAY}", headers=owner.auth)
    assert series.status_code == 200, series.json
    assert series.json == {  # every day of the range, zeros where nothing sold
        "from_date": yesterday,
        "to_date": DAY,
        "items": [
            {"day": yesterday, "revenue": {"amount": "0.00", "currency": "USD"}, "orders": 0, "units": 0},
            {"day": DAY, "revenue": {"amount": "69.98", "currency": "USD"}, "orders": 3, "units": 7},
        ],
    }
    ebay = client.get(f"/api/v1/analytics/sales-over-time?from={DAY}&channel=conn-ebay", headers=owner.auth)
    assert ebay.json["items"] == [
        {"day": DAY, "revenue": {"amount": "15.00", "currency": "USD"}, "orders": 1, "units": 3}
    ]
    default = client.get("/api/v1/analytics/sales-over-time", headers=owner.auth).json
    assert len(default["items"]) == 30 and default["items"][-1]["day"] == DAY

    assert client.get("/api/v1/analytics/revenue-by-channel", headers=other.auth).json["items"] == []
    assert client.get("/api/v1/analytics/sales-over-time", headers=other.auth).json["items"] == []

    created = client.post(
        "/api/v1/users",
        json={"email": "v@acme.test", "password": "correct-horse", "role": "viewer"},
        headers=owner.auth,
    )
    assert created.status_code == 201, created.json
    viewer = helpers.bearer(helpers.login(client, "v@acme.test")["access_token"])
    assert client.get("/api/v1/analytics/best-sellers", headers=viewer).status_code == 200
    assert client.get("/api/v1/analytics/sales-over-time?format=csv", headers=viewer).status_code == 200
    assert client.get("/api/v1/analytics/revenue-by-channel").status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-12-02&to=2026-12-01", "from"),
        ("from=12/01/2026", "from"),
        ("to=2026-02-30", "to"),
        ("from=2024-01-01&to=2026-01-01", "from"),
    ],
)
def test_a_bad_range_is_a_400_problem_naming_the_field(
    client: Any, helpers: Any, query: str, field: str
) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    for path in ("revenue-by-channel", "best-sellers", "conversion-by-channel", "sales-over-time"):
        response = client.get(f"/api/v1/analytics/{path}?{query}", headers=owner.auth)
        assert response.status_code == 400, response.json
        assert response.content_type == "application/problem+json"
        assert field in [error["field"] for error in response.json["errors"]]
        download = client.get(f"/api/v1/analytics/{path}?{query}&format=csv", headers=owner.auth)
        assert download.status_code == 400  # a problem, never a file
        assert download.content_type == "application/problem+json"
    too_many = client.get("/api/v1/analytics/best-sellers?limit=101", headers=owner.auth)
    assert too_many.status_code == 400
    for bad in ("format=pdf", "format=CSV", "channel=" + "x" * 65):
        response = client.get(f"/api/v1/analytics/sales-over-time?{bad}", headers=owner.auth)
        assert response.status_code == 400, bad


# The CSV of each report for the seeded day: one row per item of its JSON answer.
DOWNLOADS = {
    "revenue-by-channel": [
        "channel,currency,revenue,orders,units,share",
        "shopify,USD,44.98,1,3,0.642755",
        "ebay,USD,15.00,1,3,0.214347",
        "manual,USD,10.00,1,1,0.142898",
    ],
    "best-sellers": [
        "sku,currency,units,revenue,orders",
        "B,USD,4,20.00,2",
        "A,USD,2,39.98,1",
        "C,USD,1,10.00,1",
    ],
    "conversion-by-channel": [  # sessions and conversion unknown: empty cells, not 0
        "channel,orders,sessions,conversion",
        "ebay,1,,",
        "manual,1,,",
        "shopify,1,,",
    ],
    "sales-over-time": ["day,currency,revenue,orders,units", f"{DAY},USD,69.98,3,7"],
}


def comparable(row: Sequence[object]) -> list[object]:
    """A CSV or XLSX cell as a value: empty -> None, "19.99" or 19.99 -> Decimal, text as it is."""
    out: list[object] = []
    for value in row:
        if value is None or value == "":
            out.append(None)
        elif isinstance(value, int | float) or (isinstance(value, str) and value.replace(".", "").isdigit()):
            out.append(Decimal(str(value)))
        else:
            out.append(value)
    return out


@pytest.mark.parametrize("path", sorted(DOWNLOADS))
def test_each_report_downloads_as_csv_and_xlsx(
    client: Any, helpers: Any, orders_server: Orders, inventory_server: Inventory, path: str
) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    seed(client, owner, orders_server, inventory_server)
    url = f"/api/v1/analytics/{path}?from={DAY}&to={DAY}"

    response = client.get(f"{url}&format=csv", headers=owner.auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{path}_{DAY}_{DAY}.csv"'
    text = response.get_data(as_text=True)
    assert text == "\r\n".join(DOWNLOADS[path]) + "\r\n"
    assert len(client.get(url, headers=owner.auth).json["items"]) == len(DOWNLOADS[path]) - 1

    response = client.get(f"{url}&format=xlsx", headers=owner.auth)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{path}_{DAY}_{DAY}.xlsx"'
    data = response.get_data()
    assert response.headers["Content-Length"] == str(len(data))
    book = load_workbook(io.BytesIO(data), read_only=True)
    assert len(book.sheetnames) == 1
    width = len(DOWNLOADS[path][0].split(","))
    cells = [comparable(list(r) + [None] * (width - len(r))) for r in book.active.iter_rows(values_only=True)]
    assert cells == [comparable(r) for r in csv.reader(io.StringIO(text))]


def test_imported_sessions_give_a_conversion_rate_and_bad_rows_store_nothing(
    client: Any, helpers: Any, orders_server: Orders, inventory_server: Inventory
) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    seed(client, owner, orders_server, inventory_server)
    yesterday = (TODAY - timedelta(days=1)).date().isoformat()
    bad = {
        "days": [
            {"day": DAY, "channel": "shopify", "sessions": 40},
            {"day": DAY, "channel": "myspace", "sessions": 5},
            {"day": DAY, "channel": "shopify", "sessions": 7},
        ]
    }
    refused = client.put("/api/v1/analytics/sessions", json=bad, headers=owner.auth)
    assert refused.status_code == 400 and refused.content_type == "application/problem+json"
    assert [e["field"] for e in refused.json["errors"]] == ["days[1].channel", "days[2]"]
    negative = {"days": [{"day": DAY, "channel": "shopify", "sessions": -1}]}
    assert client.put("/api/v1/analytics/sessions", json=negative, headers=owner.auth).status_code == 400

    good = {
        "days": [
            {"day": DAY, "channel": "shopify", "sessions": 40},
            {"day": yesterday, "channel": "shopify", "sessions": 10},
            {"day": DAY, "channel": "ebay", "sessions": 20},
        ]
    }
    stored = client.put("/api/v1/analytics/sessions", json=good, headers=owner.auth)
    assert stored.status_code == 200 and stored.json == {"stored": 3}
    today_only = client.get(
        f"/api/v1/analytics/conversion-by-channel?from={DAY}&to={DAY}", headers=owner.auth
    )
    assert today_only.json["items"] == [
        {"channel": "ebay", "orders": 1, "sessions": 20, "conversion": 0.05},
        {"channel": "manual", "orders": 1, "sessions": None, "conversion": None},
        {"channel": "shopify", "orders": 1, "sessions": 40, "conversion": 0.025},
    ]
    # Over two days eBay's sessions miss yesterday: n/a, not a rate over half the visits.
    two_days = client.get(
        f"/api/v1/analytics/conversion-by-channel?from={yesterday}&to={DAY}", headers=owner.auth
    )
    by_channel = {item["channel"]: item for item in two_days.json["items"]}
    assert by_channel["shopify"]["sessions"] == 50 and by_channel["shopify"]["conversion"] == 0.02
    assert by_channel["ebay"]["sessions"] is None and by_channel["ebay"]["conversion"] is None

    # A viewer reads the rate but may not import.
    user = {"email": "v@acme.test", "password": "correct-horse", "role": "viewer"}
    assert client.post("/api/v1/users", json=user, headers=owner.auth).status_code == 201
    viewer = helpers.bearer(helpers.login(client, "v@acme.test")["access_token"])
    assert client.put("/api/v1/analytics/sessions", json=good, headers=viewer).status_code == 403
    read = client.get(f"/api/v1/analytics/conversion-by-channel?from={DAY}&to={DAY}", headers=viewer)
    assert read.json["items"][0]["conversion"] == 0.05
