"""GET /analytics/inventory-turnover through the gateway against the REAL inventory gRPC server
(SQLite): stock received, sold through a committed reservation and a SALE adjustment, then the
figures read exactly as JSON for today and for the default 30 days; a SKU with nothing on hand
has a null turnover; bad ranges are 400 problems; viewers read; tenants are apart. (The
arithmetic against a generated ledger: services/inventory/tests/integration/test_turnover.py.)"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from inventory.config import load_settings
from inventory.server import build
from omnistock_devtools.migrated import migrate

pytestmark = pytest.mark.redis

URL = "/api/v1/analytics/inventory-turnover"


@pytest.fixture
def inventory_port(tmp_path: Path) -> Iterator[int]:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    migrate("inventory", url)
    running = build(
        load_settings({"INVENTORY_DATABASE_URL": url, "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"})
    )
    yield running.port
    running.stop()


@pytest.fixture
def client(app_factory: Any, sqlite_url: str, inventory_port: int) -> Any:
    return app_factory(sqlite_url, inventory_addr=f"127.0.0.1:{inventory_port}").test_client()


@pytest.fixture
def owner(client: Any, helpers: Any) -> Any:
    return helpers.register(client, "Acme", "owner@acme.test")


def call(client: Any, auth: dict[str, str], url: str, body: dict[str, Any], status: int = 200) -> Any:
    response = client.post(url, json=body, headers=auth)
    assert response.status_code == status, response.json
    return response.json


def sell(client: Any, auth: dict[str, str]) -> None:
    adjust = "/api/v1/inventory/adjustments"
    call(client, auth, adjust, {"sku": "TEE", "delta": 10, "reason": "received"})
    call(client, auth, adjust, {"sku": "MUG", "delta": 5, "reason": "received"})
    call(client, auth, adjust, {"sku": "MUG", "delta": -1, "reason": "sale"})
    held = call(
        client,
        auth,
        "/api/v1/reservations",
        {"order_ref": "o-1", "lines": [{"sku": "TEE", "quantity": 4}]},
        201,
    )
    call(client, auth, f"/api/v1/reservations/{held['id']}/commit", {})
    # Held, never committed: no sale, on hand unchanged.
    call(
        client,
        auth,
        "/api/v1/reservations",
        {"order_ref": "o-2", "lines": [{"sku": "MUG", "quantity": 2}]},
        201,
    )
    # Sold out the same day: nothing on hand at the day's end, so no turnover to speak of.
    call(client, auth, adjust, {"sku": "CAP", "delta": 2, "reason": "received"})
    call(client, auth, adjust, {"sku": "CAP", "delta": -2, "reason": "sale"})


def test_turnover_of_today_and_of_the_default_range(client: Any, owner: Any) -> None:
    sell(client, owner.auth)
    today = datetime.now(UTC).date()
    day = today.isoformat()

    response = client.get(f"{URL}?from={day}&to={day}", headers=owner.auth)

    assert response.status_code == 200, response.json
    assert response.json == {
        "from_date": day,
        "to_date": day,
        "items": [
            {"sku": "TEE", "units_sold": 4, "average_on_hand": 6.0, "turnover": 0.666667},
            {"sku": "MUG", "units_sold": 1, "average_on_hand": 4.0, "turnover": 0.25},
            {"sku": "CAP", "units_sold": 2, "average_on_hand": 0.0, "turnover": None},
        ],
        "overall": {"units_sold": 7, "average_on_hand": 10.0, "turnover": 0.7},
    }
    # 30 days up to today, the stock there on the last one only: averages are a 30th.
    default = client.get(URL, headers=owner.auth).json
    assert (default["from_date"], default["to_date"]) == ((today - timedelta(days=29)).isoformat(), day)
    assert default["items"][0] == {"sku": "TEE", "units_sold": 4, "average_on_hand": 0.2, "turnover": 20.0}
    assert default["overall"] == {"units_sold": 7, "average_on_hand": 0.33, "turnover": 21.0}
    assert [i["sku"] for i in client.get(f"{URL}?limit=1", headers=owner.auth).json["items"]] == ["TEE"]
    # Before any stock: nothing.
    earlier = (today - timedelta(days=3)).isoformat()
    before = client.get(f"{URL}?to={earlier}", headers=owner.auth).json
    assert before["items"] == [] and before["overall"] == {
        "units_sold": 0,
        "average_on_hand": 0.0,
        "turnover": None,
    }


def test_turnover_downloads_as_csv_and_xlsx_with_an_unknown_turnover_empty(client: Any, owner: Any) -> None:
    sell(client, owner.auth)
    day = datetime.now(UTC).date().isoformat()

    response = client.get(f"{URL}?from={day}&to={day}&format=csv", headers=owner.auth)
    assert response.status_code == 200
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="inventory-turnover_{day}_{day}.csv"'
    )
    assert response.get_data(as_text=True) == (
        "sku,units_sold,average_on_hand,turnover\r\n"
        "TEE,4,6.00,0.666667\r\n"
        "MUG,1,4.00,0.250000\r\n"
        "CAP,2,0.00,\r\n"
    )

    response = client.get(f"{URL}?from={day}&to={day}&format=xlsx", headers=owner.auth)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(f'_{day}.xlsx"')
    sheet = load_workbook(io.BytesIO(response.get_data()))["Inventory turnover"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows == [
        ["sku", "units_sold", "average_on_hand", "turnover"],
        ["TEE", 4, 6, 0.666667],  # numbers in the workbook
        ["MUG", 1, 4, 0.25],
        ["CAP", 2, 0, None],
    ]
    assert sheet["D2"].number_format == "0.000000"


def test_bad_ranges_are_400_problems(client: Any, owner: Any) -> None:
    for query, field in (
        ("from=2026-12-09&to=2026-12-01", "from"),
        ("to=2026-02-30", "to"),
        ("from=2024-01-01&to=2026-01-01", "from"),
        ("from=yesterday", "from"),
    ):
        response = client.get(f"{URL}?{query}", headers=owner.auth)
        assert response.status_code == 400, query
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json["errors"]], (query, response.json)
    assert client.get(f"{URL}?limit=0", headers=owner.auth).status_code == 400


def test_viewers_read_and_tenants_are_apart(client: Any, owner: Any, helpers: Any) -> None:
    sell(client, owner.auth)
    call(
        client,
        owner.auth,
        "/api/v1/users",
        {"email": "v@acme.test", "password": "correct-horse", "role": "viewer"},
        201,
    )
    viewer = helpers.bearer(helpers.login(client, "v@acme.test")["access_token"])
    assert client.get(URL, headers=viewer).json["overall"]["units_sold"] == 7
    other = helpers.register(client, "Other", "owner@other.test")
    assert client.get(URL, headers=other.auth).json["items"] == []
    assert client.get(URL).status_code == 401
