"""GET /orders/export against a fake OrdersService streaming pages of orders (see conftest).

CSV: header, one row per line, formulas neutralised, the list's filters forwarded. XLSX: 10,000
orders open with openpyxl with exactly the right rows. A backend failing before the first page is
a problem+json answer (CSV) or before the file is complete (XLSX); exports are rate limited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import grpc
import pytest
from openpyxl import load_workbook

from gateway.mapping.order_rows import COLUMNS
from omnistock.common.v1 import common_pb2
from omnistock.orders.v1 import orders_service_pb2 as pb

pytestmark = pytest.mark.redis

HEADER = [column.name for column in COLUMNS]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=minor, currency="USD")


def generated(count: int) -> Iterator[pb.Order]:
    """Order i has (i % 3) + 1 lines: 10,000 orders are 19,999 rows."""
    for i in range(count):
        yield pb.Order(
            id=f"order-{i:05d}",
            source="WOOCOMMERCE",
            external_name=f"#{i}",
            customer_email=f"c{i}@example.test",
            status=pb.ORDER_STATUS_PAID,
            totals=pb.Totals(total=usd(1000 + i)),
            lines=[
                pb.OrderLine(id=f"l{i}-{n}", sku=f"SKU-{n}", quantity=n + 1, unit_price=usd(100 * (n + 1)))
                for n in range(i % 3 + 1)
            ],
        )


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    reader = csv.reader(io.StringIO(response.get_data(as_text=True)))
    header = next(reader)
    assert header == HEADER
    return [dict(zip(header, row, strict=True)) for row in reader]


def test_csv_export_one_row_per_line_with_the_filters_forwarded(client: Any, owner: Any, orders: Any) -> None:
    orders.add(
        owner.tenant_id,
        pb.Order(
            id="o1",
            source="SHOPIFY",
            external_name='=HYPERLINK("http://evil.test")',
            customer_name="@Ada",
            status=pb.ORDER_STATUS_PAID,
            flags=[pb.ORDER_FLAG_OVERSOLD],
            totals=pb.Totals(total=usd(3998)),
            lines=[
                pb.OrderLine(
                    id="l1", sku="-TEE", title="Tee, red", quantity=2, unit_price=usd(1999), sku_known=True
                ),
                pb.OrderLine(id="l2", sku="MUG", quantity=1, unit_price=usd(0)),
            ],
        ),
    )
    orders.add(owner.tenant_id, pb.Order(id="o2", source="MANUAL", status=pb.ORDER_STATUS_PENDING))

    response = client.get("/api/v1/orders/export?status=PAID,PENDING&flag=oversold&q=x", headers=owner.auth)
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="orders.csv"'
    sent = orders.last("ExportOrders").filter
    assert (list(sent.statuses), list(sent.flags), sent.query) == (
        [pb.ORDER_STATUS_PAID, pb.ORDER_STATUS_PENDING],
        [pb.ORDER_FLAG_OVERSOLD],
        "x",
    )

    rows = rows_of(client.get("/api/v1/orders/export?format=csv", headers=owner.auth))
    assert [(r["order_id"], r["line_number"], r["sku"], r["quantity"], r["unit_price"]) for r in rows] == [
        ("o1", "1", "'-TEE", "2", "19.99"),
        ("o1", "2", "MUG", "1", "0.00"),
        ("o2", "", "", "", ""),
    ]
    first = rows[0]
    assert first["order_name"] == '\'=HYPERLINK("http://evil.test")' and first["customer_name"] == "'@Ada"
    assert (first["order_total"], first["currency"], first["flags"], first["title"]) == (
        "39.98",
        "USD",
        "oversold",
        "Tee, red",
    )
    assert (first["sku_known"], rows[1]["sku_known"]) == ("true", "false")


def test_bad_export_parameters_are_a_400(client: Any, owner: Any, orders: Any) -> None:
    for query in ("format=pdf", "status=LOST", "limit=5"):
        response = client.get(f"/api/v1/orders/export?{query}", headers=owner.auth)
        assert response.status_code == 400 and response.headers["Content-Type"].startswith(
            "application/problem+json"
        )
    assert orders.count("ExportOrders") == 0


@pytest.mark.slow
def test_xlsx_export_of_10000_orders_opens_with_the_right_rows(client: Any, owner: Any, orders: Any) -> None:
    orders.export_source = lambda: generated(10_000)
    response = client.get("/api/v1/orders/export?format=xlsx", headers=owner.auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == XLSX
    data = response.get_data()
    assert response.headers["Content-Length"] == str(len(data))

    sheet = load_workbook(io.BytesIO(data), read_only=True)["Orders"]
    rows = sheet.iter_rows(values_only=True)
    assert list(next(rows)) == HEADER
    col = {name: index for index, name in enumerate(HEADER)}
    expected = [(order, n, line) for order in generated(10_000) for n, line in enumerate(order.lines, 1)]
    count = 0
    for (order, number, line), row in zip(expected, rows, strict=True):
        assert row[col["order_id"]] == order.id and row[col["line_number"]] == number
        assert (row[col["sku"]], row[col["quantity"]]) == (line.sku, line.quantity)
        assert Decimal(str(row[col["unit_price"]])) == Decimal(line.unit_price.amount_minor) / 100
        assert Decimal(str(row[col["order_total"]])) == Decimal(order.totals.total.amount_minor) / 100
        count += 1
    assert count == 19_999 == len(expected)


def test_xlsx_export_of_nothing_is_a_header_only_workbook(client: Any, owner: Any) -> None:
    response = client.get("/api/v1/orders/export?format=xlsx&channel=ebay", headers=owner.auth)
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True)["Orders"]
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [HEADER]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_a_backend_failing_before_the_file_is_complete_is_a_problem(
    client: Any, owner: Any, orders: Any, export_format: str
) -> None:
    orders.export_source = lambda: generated(1200)
    # CSV fails before its first page, XLSX after two pages: neither answers 200 with a broken file.
    orders.export_fails_after = 0 if export_format == "csv" else 2
    response = client.get(f"/api/v1/orders/export?format={export_format}", headers=owner.auth)
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_exports_are_rate_limited_per_tenant(
    app_factory: Any, sqlite_url: str, fake_orders: Any, helpers: Any
) -> None:
    app = app_factory(sqlite_url, orders_addr=f"127.0.0.1:{fake_orders[1].port}", order_export_rate_limit=2)
    client = app.test_client()
    acme = helpers.register(client, "Acme", "owner@acme.test")
    globex = helpers.register(client, "Globex", "owner@globex.test")
    statuses = [client.get("/api/v1/orders/export", headers=acme.auth).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = client.get("/api/v1/orders/export", headers=acme.auth)
    assert int(limited.headers["Retry-After"]) >= 1
    assert client.get("/api/v1/orders/export", headers=globex.auth).status_code == 200
    assert fake_orders[0].count("ExportOrders") == 3


def test_a_csv_export_failing_midway_breaks_the_download(client: Any, owner: Any, orders: Any) -> None:
    """The header is out already: the body stops with an error instead of ending like a whole file."""
    orders.export_source = lambda: generated(1200)
    orders.export_fails_after = 1
    response = client.get("/api/v1/orders/export", headers=owner.auth)
    assert response.status_code == 200
    with pytest.raises(grpc.RpcError):
        response.get_data()
