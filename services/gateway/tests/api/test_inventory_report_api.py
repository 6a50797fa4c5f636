"""GET /reports/inventory against the REAL inventory and catalog gRPC servers (SQLite, 127.0.0.1:0).

The exact CSV for a small tenant (two locations, a reservation, costs in two currencies, a SKU
whose variant has no cost and a SKU the catalog does not know), read over several inventory pages;
the same rows in the XLSX; tenancy, a viewer's access, a bad `format` and a backend that is down.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from catalog.config import load_settings as catalog_settings
from catalog.server import Catalog, with_port
from catalog.server import build as build_catalog
from catalog.service import StockLine
from gateway.mapping import inventory_report
from gateway.tabular import XLSX_MEDIA_TYPE
from inventory.config import load_settings as inventory_settings
from inventory.server import build as build_inventory
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_devtools.migrated import migrate

pytestmark = pytest.mark.redis

URL = "/api/v1/reports/inventory"
HEADER = "row,sku,location,on_hand,reserved,available,currency,unit_cost,value_at_cost"


class NoStock:
    """The catalog's stock port: the products here are created without initial stock."""

    def set_stock(self, ctx: CallContext, lines: Sequence[StockLine]) -> dict[int, str]:
        return {}


@pytest.fixture
def inventory_port(tmp_path: Path) -> Iterator[int]:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    migrate("inventory", url)
    running = build_inventory(
        inventory_settings(
            {"INVENTORY_DATABASE_URL": url, "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"}
        )
    )
    yield running.port
    running.stop()


@pytest.fixture
def catalog_server(tmp_path: Path) -> Iterator[Catalog]:
    url = f"sqlite:///{tmp_path}/catalog.db"
    migrate("catalog", url)
    engine = make_engine(url)
    running = build_catalog(
        with_port(catalog_settings({"CATALOG_DATABASE_URL": url}), "127.0.0.1", 0),
        engine=engine,
        stock=NoStock(),
    )
    yield running
    running.stop()
    engine.dispose()


@pytest.fixture
def client(app_factory: Any, sqlite_url: str, inventory_port: int, catalog_server: Catalog) -> Any:
    catalog = f"127.0.0.1:{catalog_server.port}"
    return app_factory(
        sqlite_url,
        inventory_addr=f"127.0.0.1:{inventory_port}",
        catalog_addr=catalog,
        backends={"catalog": catalog},
    ).test_client()


@pytest.fixture
def owner(client: Any, helpers: Any) -> Any:
    return helpers.register(client, "Acme", "owner@acme.test")


def post(client: Any, auth: dict[str, str], url: str, body: dict[str, Any], status: int = 200) -> Any:
    response = client.post(url, json=body, headers=auth)
    assert response.status_code == status, response.json
    return response.json


def product(client: Any, auth: dict[str, str], title: str, *variants: dict[str, Any]) -> None:
    post(client, auth, "/api/v1/products", {"title": title, "variants": list(variants)}, 201)


def stock(client: Any, auth: dict[str, str], sku: str, quantity: int, location: str | None = None) -> None:
    body = {
        "sku": sku,
        "delta": quantity,
        "reason": "received",
        **({"location": location} if location else {}),
    }
    post(client, auth, "/api/v1/inventory/adjustments", body)


def small_dataset(client: Any, auth: dict[str, str]) -> None:
    post(client, auth, "/api/v1/locations", {"code": "EAST", "name": "East warehouse"}, 201)
    usd = {"currency": "USD"}
    product(
        client,
        auth,
        "Tee",
        {"sku": "TEE-M", "price": {"amount": "19.99", **usd}, "cost": {"amount": "4.50", **usd}},
        {"sku": "TEE-L", "price": {"amount": "19.99", **usd}, "cost": {"amount": "4.75", **usd}},
    )
    product(client, auth, "Mug", {"sku": "MUG", "price": {"amount": "9.00", **usd}})
    yen = {"currency": "JPY"}
    product(
        client,
        auth,
        "Mat",
        {"sku": "MAT", "price": {"amount": "3000", **yen}, "cost": {"amount": "1200", **yen}},
    )
    stock(client, auth, "TEE-M", 12)
    stock(client, auth, "TEE-M", 3, "EAST")
    stock(client, auth, "TEE-L", 1, "EAST")
    stock(client, auth, "MUG", 5)
    stock(client, auth, "MAT", 2, "EAST")
    stock(client, auth, "GHOST", 7)  # stock of a SKU the catalog does not know
    held = post(
        client,
        auth,
        "/api/v1/reservations",
        {"order_ref": "o-1", "lines": [{"sku": "TEE-M", "quantity": 2}]},
        201,
    )
    assert held["status"] == "HELD"


def default_code(client: Any, auth: dict[str, str]) -> str:
    codes = {loc["code"] for loc in client.get("/api/v1/locations", headers=auth).json["items"]}
    (code,) = codes - {"EAST"}
    return code


def expected_csv(home: str, tee_m_home: tuple[int, int], tee_m_east: tuple[int, int]) -> str:
    """`tee_m_*`: (reserved, available) of TEE-M at that location (the service picks where the
    reservation holds its units; the report shows what it chose)."""
    rows = [
        HEADER,
        f"level,GHOST,{home},7,0,7,,,",
        "level,MAT,EAST,2,0,2,JPY,1200,2400",
        f"level,MUG,{home},5,0,5,,,",
        "level,TEE-L,EAST,1,0,1,USD,4.75,4.75",
        # By location code as the inventory service orders them (binary order in SQLite).
        *sorted(
            [
                f"level,TEE-M,{home},12,{tee_m_home[0]},{tee_m_home[1]},USD,4.50,54.00",
                f"level,TEE-M,EAST,3,{tee_m_east[0]},{tee_m_east[1]},USD,4.50,13.50",
            ],
            key=lambda row: row.split(",")[2],
        ),
        "total,,,30,2,28,,,",
        "total,,,2,0,2,JPY,,2400",
        "total,,,16,2,14,USD,,72.25",
    ]
    return "".join(row + "\r\n" for row in rows)


def tee_m_split(client: Any, auth: dict[str, str], home: str) -> tuple[tuple[int, int], tuple[int, int]]:
    levels = client.get("/api/v1/inventory?sku=TEE-M", headers=auth).json["items"]
    by_code = {level["location"]: (level["reserved"], level["available"]) for level in levels}
    assert sum(reserved for reserved, _ in by_code.values()) == 2
    return by_code[home], by_code["EAST"]


def test_csv_report_rows_and_totals_over_several_pages(
    client: Any, owner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_dataset(client, owner.auth)
    home = default_code(client, owner.auth)
    # Two levels per inventory page: the report reads four pages and joins each with its costs.
    monkeypatch.setattr(inventory_report, "LEVELS_PER_PAGE", 2)

    response = client.get(URL, headers=owner.auth)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="inventory.csv"'
    assert response.get_data(as_text=True) == expected_csv(home, *tee_m_split(client, owner.auth, home))


def comparable(row: Sequence[object]) -> list[object]:
    """A CSV or XLSX row as values: empty -> None, "4.50" or 4.5 -> Decimal("4.5"), text as it is."""
    out: list[object] = []
    for value in row:
        if value is None or value == "":
            out.append(None)
        elif isinstance(value, int | float) or str(value).replace(".", "", 1).isdigit():
            out.append(Decimal(str(value)).normalize())
        else:
            out.append(value)
    return out


def test_xlsx_report_has_the_same_rows(client: Any, owner: Any) -> None:
    small_dataset(client, owner.auth)
    home = default_code(client, owner.auth)
    csv_text = client.get(f"{URL}?format=csv", headers=owner.auth).get_data(as_text=True)
    assert csv_text == expected_csv(home, *tee_m_split(client, owner.auth, home))

    response = client.get(f"{URL}?format=xlsx", headers=owner.auth)

    assert response.status_code == 200 and response.headers["Content-Type"] == XLSX_MEDIA_TYPE
    data = response.get_data()
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["Content-Disposition"] == 'attachment; filename="inventory.xlsx"'
    sheet = load_workbook(io.BytesIO(data), read_only=True)["Inventory"]
    width = len(HEADER.split(","))
    cells = [comparable(list(row) + [None] * (width - len(row))) for row in sheet.iter_rows(values_only=True)]
    assert cells == [comparable(row) for row in csv.reader(io.StringIO(csv_text))]
    # Amounts are numbers in the workbook, with the currency's decimals as the number format.
    sheet = load_workbook(io.BytesIO(data))["Inventory"]
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=2) if row[0].value == "level"}
    tee_l, mat = rows["TEE-L"], rows["MAT"]
    assert (tee_l[3].value, tee_l[7].number_format, tee_l[8].number_format) == (1, "0.00", "0.00")
    assert (mat[3].value, mat[7].number_format, mat[8].number_format) == (2, "0", "0")


def test_an_empty_tenant_has_the_overall_total_only(client: Any, owner: Any) -> None:
    response = client.get(URL, headers=owner.auth)
    assert response.get_data(as_text=True) == f"{HEADER}\r\ntotal,,,0,0,0,,,\r\n"


def test_other_tenants_stock_stays_out_and_a_viewer_may_read(client: Any, owner: Any, helpers: Any) -> None:
    small_dataset(client, owner.auth)
    other = helpers.register(client, "Other", "owner@other.test")
    stock(client, other.auth, "OTHER-SKU", 4)
    other_rows = client.get(URL, headers=other.auth).get_data(as_text=True).splitlines()
    assert [row.split(",")[:2] for row in other_rows[1:]] == [["level", "OTHER-SKU"], ["total", ""]]

    post(
        client,
        owner.auth,
        "/api/v1/users",
        {"email": "v@acme.test", "password": "correct-horse", "role": "viewer"},
        201,
    )
    viewer = helpers.bearer(helpers.login(client, "v@acme.test")["access_token"])
    response = client.get(URL, headers=viewer)
    assert response.status_code == 200
    assert "OTHER-SKU" not in response.get_data(as_text=True)
    assert client.get(URL).status_code == 401


def test_a_bad_format_is_a_400_problem(client: Any, owner: Any) -> None:
    for query in ("format=pdf", "format=", "limit=5"):
        response = client.get(f"{URL}?{query}", headers=owner.auth)
        assert response.status_code == 400, query
        assert response.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("report_format", ["csv", "xlsx"])
def test_a_backend_that_is_down_is_a_problem_not_a_file(
    app_factory: Any, sqlite_url: str, unused_port: int, helpers: Any, report_format: str
) -> None:
    client = app_factory(sqlite_url, inventory_addr=f"127.0.0.1:{unused_port}").test_client()
    owner = helpers.register(client, "Down", "owner@down.test")
    response = client.get(f"{URL}?format={report_format}", headers=owner.auth)
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("application/problem+json")
