"""Acceptance (issue 2) through the gateway REST API against the real catalog server.

`stack` (conftest.py) is the gateway app + real catalog server + a health-only inventory stand-in.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.auth import TokenCodec
from gateway.domain import Role

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def is_problem(response: Any, status: int) -> bool:
    return response.status_code == status and response.mimetype == "application/problem+json"


def test_product_lifecycle(stack: Any) -> None:
    registered = stack.register("Acme Outfitters", "owner@acme.test")
    assert registered["user"]["role"] == "owner"
    auth = bearer(stack.login("owner@acme.test")["access_token"])
    client = stack.client

    created = client.post(
        "/api/v1/products",
        json={
            "title": "Classic Tee",
            "description": "Heavy cotton",
            "variants": [
                {"sku": "TEE-S", "price": money("19.99"), "options": {"size": "S"}},
                {"sku": "TEE-M", "price": money("19.99"), "cost": money("7.25"), "options": {"size": "M"}},
                {"sku": "TEE-L", "price": money("21.50"), "barcode": "4006381333931", "weight_grams": 210},
            ],
        },
        headers=auth,
    )
    assert created.status_code == 201, created.json
    product = created.json
    assert len({v["id"] for v in product["variants"]}) == 3
    assert product["status"] == "active"
    tee_m = next(v for v in product["variants"] if v["sku"] == "TEE-M")
    assert tee_m["price"] == money("19.99") and tee_m["cost"] == money("7.25")
    client.post(
        "/api/v1/products",
        json={"title": "Mug", "status": "draft", "variants": [{"sku": "MUG-1", "price": money("8")}]},
        headers=auth,
    )

    by_sku = client.get("/api/v1/products?sku=TEE-", headers=auth).json
    assert [p["title"] for p in by_sku["items"]] == ["Classic Tee"]
    drafts = client.get("/api/v1/products?status=draft", headers=auth).json
    assert [p["title"] for p in drafts["items"]] == ["Mug"]
    assert client.get("/api/v1/products?q=classic", headers=auth).json["items"][0]["id"] == product["id"]

    url = f"/api/v1/products/{product['id']}"
    got = client.get(url, headers=auth)
    assert got.status_code == 200
    etag = got.headers["ETag"]
    assert got.json["updated_at"].endswith("Z")

    patched = client.patch(
        url, json={"title": "Classic Tee 2", "status": "draft"}, headers={**auth, "If-Match": etag}
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["title"] == "Classic Tee 2" and patched.headers["ETag"] != etag
    stale = client.patch(url, json={"title": "lost update"}, headers={**auth, "If-Match": etag})
    assert is_problem(stale, 412)

    variant_url = f"/api/v1/variants/{tee_m['id']}"
    repriced = client.patch(variant_url, json={"price": money("18")}, headers=auth)
    assert repriced.status_code == 200 and repriced.json["price"] == money("18.00")
    added = client.post(f"{url}/variants", json={"sku": "TEE-XL", "price": money("23")}, headers=auth)
    assert added.status_code == 201
    assert client.delete(f"/api/v1/variants/{added.json['id']}", headers=auth).status_code == 204

    # Variant changes move the product's version on, so the ETag from the PATCH is stale now.
    assert is_problem(client.delete(url, headers={**auth, "If-Match": patched.headers["ETag"]}), 412)
    fresh = client.get(url, headers=auth).headers["ETag"]
    assert client.delete(url, headers={**auth, "If-Match": fresh}).status_code == 204
    assert is_problem(client.get(url, headers=auth), 404)


def test_tenants_are_isolated_and_roles_enforced(stack: Any) -> None:
    client = stack.client
    a = stack.register("A", "owner@a.test")
    b = stack.register("B", "owner@b.test")
    product = client.post(
        "/api/v1/products",
        json={"title": "Secret", "variants": [{"sku": "SEC-1", "price": money("1")}]},
        headers=bearer(a["access_token"]),
    ).json

    b_auth = bearer(b["access_token"])
    url = f"/api/v1/products/{product['id']}"
    assert is_problem(client.get(url, headers=b_auth), 404)
    assert is_problem(client.patch(url, json={"title": "mine"}, headers=b_auth), 404)
    assert is_problem(client.delete(url, headers=b_auth), 404)
    assert is_problem(client.delete(f"/api/v1/variants/{product['variants'][0]['id']}", headers=b_auth), 404)
    assert client.get("/api/v1/products", headers=b_auth).json["items"] == []
    # B may reuse A's SKU: SKUs are unique per tenant.
    reuse = client.post(
        "/api/v1/products",
        json={"title": "Mine", "variants": [{"sku": "SEC-1", "price": money("2")}]},
        headers=b_auth,
    )
    assert reuse.status_code == 201

    client.post(
        "/api/v1/users",
        json={"email": "viewer@a.test", "password": stack.password, "role": "viewer"},
        headers=bearer(a["access_token"]),
    )
    viewer = bearer(stack.login("viewer@a.test")["access_token"])
    assert client.get(url, headers=viewer).status_code == 200
    assert is_problem(client.patch(url, json={"title": "x"}, headers=viewer), 403)
    assert is_problem(client.delete(url, headers=viewer), 403)
    assert is_problem(
        client.post("/api/v1/products", json={"title": "x", "variants": []}, headers=viewer), 403
    )
    assert is_problem(client.get("/api/v1/users", headers=viewer), 403)
    assert client.get(url, headers=bearer(a["access_token"])).json["title"] == "Secret"


def test_forged_expired_and_reused_tokens(stack: Any) -> None:
    client = stack.client
    registered = stack.register("Acme", "owner@acme.test")
    user_id, tenant_id = registered["user"]["id"], registered["tenant_id"]

    forged = TokenCodec("attacker-secret-" + "z" * 40, 900).issue_access(user_id, tenant_id, Role.OWNER)
    assert is_problem(client.get("/api/v1/products", headers=bearer(forged)), 401)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    expired = TokenCodec(stack.settings.jwt_secret, 900, clock=lambda: an_hour_ago).issue_access(
        user_id, tenant_id, Role.OWNER
    )
    assert is_problem(client.get("/api/v1/products", headers=bearer(expired)), 401)
    valid = TokenCodec(stack.settings.jwt_secret, 900).issue_access(user_id, tenant_id, Role.OWNER)
    assert client.get("/api/v1/products", headers=bearer(valid)).status_code == 200

    first = stack.login("owner@acme.test")["refresh_token"]
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    newest = rotated.json["refresh_token"]
    assert is_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": first}), 401)
    assert is_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": newest}), 401)


def import_csv(stack: Any, auth: dict[str, str], data: bytes) -> dict[str, Any]:
    response = stack.client.post(
        "/api/v1/products/import",
        data={"file": (io.BytesIO(data), "products.csv")},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    return response.json


def thousand_rows_with_three_bad() -> tuple[bytes, dict[int, str]]:
    """997 good rows (249 products of 4 sizes + 1) plus a bad price, an empty SKU, a repeated SKU."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "product_title",
            "sku",
            "price",
            "currency",
            "cost",
            "barcode",
            "option1_name",
            "option1_value",
            "status",
        ]
    )
    sizes = ["S", "M", "L", "XL"]
    good = 0
    n = 0
    while good < 997:
        title = f"Imported Tee {n // 4:03d}"
        size = sizes[n % 4]
        writer.writerow([title, f"IMP-{n:05d}", "12.50", "USD", "4.10", "", "size", size, "active"])
        good += 1
        n += 1
    # Spreadsheet rows: header is 1, data rows start at 2, so the next row written is good + 2.
    bad_rows = {good + 2: "price", good + 3: "sku", good + 4: "sku"}
    writer.writerow(["Broken", "BROKEN-1", "twelve", "USD", "", "", "", "", "active"])
    writer.writerow(["Broken", "", "3.00", "USD", "", "", "", "", "active"])
    writer.writerow(["Imported Tee 000", "IMP-00000", "12.50", "USD", "4.10", "", "size", "S", "active"])
    return out.getvalue().encode(), bad_rows


def test_csv_import_export_round_trip(stack: Any) -> None:
    auth = bearer(stack.register("Acme", "owner@acme.test")["access_token"])
    data, bad_rows = thousand_rows_with_three_bad()
    assert data.count(b"\n") == 1001

    report = import_csv(stack, auth, data)
    assert report["created"] == 997
    assert report["updated"] == 0 and report["unchanged"] == 0
    assert {e["row"]: e["column"] for e in report["errors"]} == bad_rows
    assert all(e["message"] for e in report["errors"])

    listed = stack.client.get("/api/v1/products?sku=IMP-0000&limit=500", headers=auth).json
    assert sorted(
        v["sku"] for p in listed["items"] for v in p["variants"] if v["sku"].startswith("IMP-0000")
    ) == [f"IMP-0000{i}" for i in range(10)]

    export = stack.client.get("/api/v1/products/export?format=csv", headers=auth)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    exported = export.get_data()
    assert exported.count(b"\n") == 998  # header + 997 variants

    again = import_csv(stack, auth, exported)
    assert again == {
        "created": 0,
        "updated": 0,
        "unchanged": 997,
        "rows": 997,
        "errors": [],
        "errors_not_listed": 0,
    }
    assert is_problem(stack.client.get("/api/v1/products/export?format=xlsx", headers=auth), 400)


def test_readyz_follows_the_backends(stack: Any) -> None:
    ready = stack.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["backends"] == {"catalog": "SERVING", "inventory": "SERVING"}
    assert stack.client.get("/healthz").status_code == 200

    stack.inventory.shutdown(0)
    down = stack.client.get("/readyz")
    assert is_problem(down, 503)
    assert down.json["failing"] == ["inventory"]
    assert "inventory" in down.json["detail"]
    assert stack.client.get("/healthz").status_code == 200
