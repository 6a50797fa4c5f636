"""Inventory REST endpoints against a REAL inventory gRPC server (SQLite, 127.0.0.1:0).

Covers API.md "Inventory": locations, levels with filters and cursors, adjustments with
Idempotency-Key, batch results per line, the ledger, thresholds and alerts, reservations (201 /
409 with short lines / commit / release), channel allocation, bundles, the role policy and tenancy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory.config import load_settings
from inventory.server import build
from omnistock_devtools.migrated import migrate

pytestmark = pytest.mark.redis


@pytest.fixture
def inventory_port(tmp_path: Path) -> Iterator[int]:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    migrate("inventory", url)
    inventory = build(
        load_settings({"INVENTORY_DATABASE_URL": url, "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"})
    )
    yield inventory.port
    inventory.stop()


@pytest.fixture
def client(app_factory: Any, sqlite_url: str, inventory_port: int) -> Any:
    addr = f"127.0.0.1:{inventory_port}"
    return app_factory(sqlite_url, inventory_addr=addr).test_client()


@pytest.fixture
def owner(client: Any, helpers: Any) -> Any:
    return helpers.register(client, "Acme", "owner@acme.test")


def adjust(client: Any, auth: dict[str, str], sku: str, **change: Any) -> Any:
    body = {"sku": sku, "reason": "received", **change}
    response = client.post("/api/v1/inventory/adjustments", json=body, headers=auth)
    assert response.status_code == 200, response.json
    return response.json


def test_adjust_then_read_levels_sku_stock_and_history(client: Any, owner: Any) -> None:
    auth = owner.auth
    created = client.post("/api/v1/locations", json={"code": "EAST", "name": "East warehouse"}, headers=auth)
    assert created.status_code == 201, created.json
    assert created.json["code"] == "EAST"

    level = adjust(client, auth, "TEE-M", set=12, note="first count")
    assert (level["sku"], level["on_hand"], level["reserved"], level["available"]) == ("TEE-M", 12, 0, 12)
    adjust(client, auth, "TEE-M", delta=3, location="EAST")
    adjust(client, auth, "TEE-L", delta=1)

    codes = {loc["code"] for loc in client.get("/api/v1/locations", headers=auth).json["items"]}
    assert "EAST" in codes and len(codes) == 2

    stock = client.get("/api/v1/inventory/TEE-M", headers=auth).json
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (15, 0, 15)
    assert sorted((row["location"], row["on_hand"]) for row in stock["locations"])[0] == ("EAST", 3)
    assert stock["low_stock_threshold"] == 10

    first = client.get("/api/v1/inventory?limit=2", headers=auth).json
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(f"/api/v1/inventory?limit=2&cursor={first['next_cursor']}", headers=auth).json
    seen = [(i["sku"], i["location"]) for i in first["items"] + rest["items"]]
    assert len(seen) == 3 == len(set(seen)) and rest["next_cursor"] is None
    east = client.get("/api/v1/inventory?location=EAST", headers=auth).json["items"]
    assert [(i["sku"], i["available"]) for i in east] == [("TEE-M", 3)]

    history = client.get("/api/v1/inventory/TEE-M/history", headers=auth).json["items"]
    assert [(m["kind"], m["delta"], m["on_hand_after"], m["reason"]) for m in history] == [
        ("adjustment", 3, 3, "received"),
        ("adjustment", 12, 12, "received"),
    ]
    assert history[1]["note"] == "first count" and history[0]["at"].endswith("Z")


def test_idempotency_key_makes_a_repeated_adjustment_apply_once(client: Any, owner: Any) -> None:
    headers = {**owner.auth, "Idempotency-Key": "count-2026-05-01"}
    body = {"sku": "MUG", "delta": 5, "reason": "received"}
    first = client.post("/api/v1/inventory/adjustments", json=body, headers=headers)
    again = client.post("/api/v1/inventory/adjustments", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json == again.json
    assert client.get("/api/v1/inventory/MUG", headers=owner.auth).json["on_hand"] == 5


def test_an_idempotency_key_reused_with_another_body_is_422(client: Any, owner: Any) -> None:
    """Stripe's rule: the same key with a different request is refused, and changes nothing."""
    headers = {**owner.auth, "Idempotency-Key": "count-2026-05-02"}
    first = client.post(
        "/api/v1/inventory/adjustments",
        json={"sku": "CUP", "delta": 5, "reason": "received"},
        headers=headers,
    )
    assert first.status_code == 200, first.json
    changed = {"sku": "CUP", "delta": 7, "reason": "received"}
    response = client.post("/api/v1/inventory/adjustments", json=changed, headers=headers)
    assert response.status_code == 422, response.json
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json["type"].endswith("/idempotency-key-reused")
    assert response.json["reason"] == "IDEMPOTENCY_KEY_REUSED"
    assert response.json["errors"] == [
        {"field": "idempotency_key", "message": "reused with a different request"}
    ]
    # A batch is another operation: the same key is a first use there.
    batch = client.post("/api/v1/inventory/adjustments/batch", json={"items": [changed]}, headers=headers)
    assert batch.status_code == 200, batch.json
    assert client.get("/api/v1/inventory/CUP", headers=owner.auth).json["on_hand"] == 5 + 7

    adjust(client, owner.auth, "TEE", set=5)
    order = {"order_ref": "order-9", "lines": [{"sku": "TEE", "quantity": 2}]}
    key = {**owner.auth, "Idempotency-Key": "shop-1:order-9"}
    held = client.post("/api/v1/reservations", json=order, headers=key)
    assert held.status_code == 201, held.json
    other = {"order_ref": "order-9", "lines": [{"sku": "TEE", "quantity": 3}]}
    refused = client.post("/api/v1/reservations", json=other, headers=key)
    assert refused.status_code == 422 and refused.json["type"].endswith("/idempotency-key-reused")
    commit_key = {**owner.auth, "Idempotency-Key": "ship-9"}
    path = f"/api/v1/reservations/{held.json['id']}/commit"
    assert (
        client.post(path, json={"lines": [{"sku": "TEE", "quantity": 1}]}, headers=commit_key).status_code
        == 200
    )
    again = client.post(path, json={"lines": [{"sku": "TEE", "quantity": 2}]}, headers=commit_key)
    assert again.status_code == 422
    stock = client.get("/api/v1/inventory/TEE", headers=owner.auth).json
    assert (stock["on_hand"], stock["reserved"]) == (4, 1)


def test_adjustment_validation_is_a_400_naming_the_field(client: Any, owner: Any) -> None:
    both = client.post(
        "/api/v1/inventory/adjustments",
        json={"sku": "MUG", "delta": 1, "set": 4, "reason": "received"},
        headers=owner.auth,
    )
    assert both.status_code == 400
    assert both.headers["Content-Type"].startswith("application/problem+json")
    bad_reason = client.post(
        "/api/v1/inventory/adjustments",
        json={"sku": "MUG", "delta": 1, "reason": "stolen"},
        headers=owner.auth,
    )
    assert bad_reason.status_code == 400
    assert [e["field"] for e in bad_reason.json["errors"]] == ["reason"]


def test_batch_applies_good_lines_and_reports_the_bad_one(client: Any, owner: Any) -> None:
    items = [
        {"sku": "A", "set": 4, "reason": "cycle_count"},
        {"sku": "B", "delta": -1, "reason": "damaged"},
        {"sku": "C", "delta": 2, "reason": "received"},
    ]
    response = client.post("/api/v1/inventory/adjustments/batch", json={"items": items}, headers=owner.auth)
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["applied"], body["failed"]) == (2, 1)
    by_index = {r["index"]: r for r in body["results"]}
    assert by_index[0]["level"]["on_hand"] == 4 and by_index[2]["level"]["on_hand"] == 2
    assert by_index[1]["level"] is None and by_index[1]["error"]["code"] == "FAILED_PRECONDITION"


def test_reserve_commit_release_and_409_with_the_short_lines(client: Any, owner: Any) -> None:
    auth = owner.auth
    adjust(client, auth, "TEE-M", set=5)
    adjust(client, auth, "MUG", set=1)
    headers = {**auth, "Idempotency-Key": "shop-1:order-1001"}
    order = {"order_ref": "order-1001", "lines": [{"sku": "TEE-M", "quantity": 3}], "ttl_seconds": 600}

    held = client.post("/api/v1/reservations", json=order, headers=headers)
    assert held.status_code == 201, held.json
    assert held.json["status"] == "HELD" and held.json["expires_at"].endswith("Z")
    assert [(line["sku"], line["quantity"]) for line in held.json["lines"]] == [("TEE-M", 3)]
    repeat = client.post("/api/v1/reservations", json=order, headers=headers)
    assert repeat.json["id"] == held.json["id"]
    assert client.get("/api/v1/inventory/TEE-M", headers=auth).json["reserved"] == 3
    # Who holds the 3 reserved units: the one open reservation, with its lines.
    holds = client.get("/api/v1/inventory/TEE-M/reservations", headers=auth).json
    assert [(h["order_ref"], h["status"], h["lines"][0]["quantity"]) for h in holds["items"]] == [
        ("order-1001", "HELD", 3)
    ]
    assert holds["next_cursor"] is None
    bad_cursor = client.get("/api/v1/inventory/TEE-M/reservations?cursor=nope", headers=auth)
    assert bad_cursor.status_code == 400

    short = client.post(
        "/api/v1/reservations",
        json={
            "order_ref": "order-1002",
            "lines": [{"sku": "TEE-M", "quantity": 1}, {"sku": "MUG", "quantity": 4}],
        },
        headers=auth,
    )
    assert short.status_code == 409
    assert short.headers["Content-Type"].startswith("application/problem+json")
    assert [(line["sku"], line["requested"], line["available"]) for line in short.json["lines"]] == [
        ("MUG", 4, 1)
    ]
    assert client.get("/api/v1/inventory/TEE-M", headers=auth).json["reserved"] == 3

    reservation_id = held.json["id"]
    partial = client.post(
        f"/api/v1/reservations/{reservation_id}/commit",
        json={"lines": [{"sku": "TEE-M", "quantity": 1}]},
        headers=auth,
    )
    assert partial.status_code == 200, partial.json
    assert partial.json["status"] == "PARTIALLY_COMMITTED"
    released = client.post(f"/api/v1/reservations/{reservation_id}/release", headers=auth)
    assert released.status_code == 200, released.json
    assert released.json["status"] == "RELEASED"
    fetched = client.get(f"/api/v1/reservations/{reservation_id}", headers=auth).json
    assert [(line["committed"], line["released"]) for line in fetched["lines"]] == [(1, 2)]
    stock = client.get("/api/v1/inventory/TEE-M", headers=auth).json
    assert (stock["on_hand"], stock["reserved"]) == (4, 0)
    assert client.get("/api/v1/inventory/TEE-M/reservations", headers=auth).json["items"] == []

    whole = client.post("/api/v1/reservations", json={**order, "order_ref": "order-1003"}, headers=auth).json
    committed = client.post(f"/api/v1/reservations/{whole['id']}/commit", headers=auth)
    assert committed.status_code == 200 and committed.json["status"] == "COMMITTED"


def test_threshold_alerts_and_low_stock_filter(client: Any, owner: Any) -> None:
    auth = owner.auth
    adjust(client, auth, "TEE-M", set=20)
    put = client.put("/api/v1/inventory/TEE-M/threshold", json={"low_stock_threshold": 8}, headers=auth)
    assert put.status_code == 200 and put.json == {"sku": "TEE-M", "low_stock_threshold": 8}
    adjust(client, auth, "TEE-M", delta=-15)

    alerts = client.get("/api/v1/alerts?status=open", headers=auth).json["items"]
    assert [(a["sku"], a["status"], a["threshold"], a["available_at_open"]) for a in alerts] == [
        ("TEE-M", "open", 8, 5)
    ]
    low = client.get("/api/v1/inventory?low_stock=true", headers=auth).json["items"]
    assert [i["sku"] for i in low] == ["TEE-M"]

    adjust(client, auth, "TEE-M", delta=10)
    assert client.get("/api/v1/alerts?status=open", headers=auth).json["items"] == []
    closed = client.get("/api/v1/alerts?status=closed", headers=auth).json["items"]
    assert [a["id"] for a in closed] == [alerts[0]["id"]]


def test_channel_allocation_and_bundles(client: Any, owner: Any, channels: Any) -> None:
    auth = owner.auth
    # Allocation rules only for the tenant's own connections, bundles only of catalog SKUs.
    channels.connections[owner.tenant_id] = {"shopify-1"}
    for sku in ("TEE-M", "MUG"):
        created = client.post(
            "/api/v1/products",
            json={"title": sku, "variants": [{"sku": sku, "price": {"amount": "1", "currency": "USD"}}]},
            headers=auth,
        )
        assert created.status_code == 201, created.json
    adjust(client, auth, "TEE-M", set=10)
    adjust(client, auth, "MUG", set=3)
    rule = client.put(
        "/api/v1/channels/shopify-1/allocation",
        json={"buffer": 2, "max_quantity": 5, "channel": "shopify"},
        headers=auth,
    )
    assert rule.status_code == 200, rule.json
    assert (rule.json["buffer"], rule.json["max_quantity"], rule.json["percentage"]) == (2, 5, None)
    assert client.get("/api/v1/channels/shopify-1/allocation", headers=auth).json["buffer"] == 2
    channels = client.get("/api/v1/inventory/TEE-M", headers=auth).json["channels"]
    assert [(c["connection_id"], c["available_to_sell"]) for c in channels] == [("shopify-1", 5)]

    bundle = client.put(
        "/api/v1/bundles/GIFT-SET",
        json={"components": [{"sku": "TEE-M", "quantity": 1}, {"sku": "MUG", "quantity": 2}]},
        headers=auth,
    )
    assert bundle.status_code == 200, bundle.json
    gift = client.get("/api/v1/inventory/GIFT-SET", headers=auth).json
    assert gift["is_bundle"] and gift["available"] == 1


def test_viewer_reads_but_cannot_write(client: Any, owner: Any, helpers: Any) -> None:
    adjust(client, owner.auth, "TEE-M", set=4)
    created = client.post(
        "/api/v1/users",
        json={"email": "v@acme.test", "password": "correct-horse", "role": "viewer"},
        headers=owner.auth,
    )
    assert created.status_code == 201, created.json
    viewer = helpers.bearer(helpers.login(client, "v@acme.test")["access_token"])

    assert client.get("/api/v1/inventory/TEE-M", headers=viewer).json["on_hand"] == 4
    assert client.get("/api/v1/inventory", headers=viewer).status_code == 200
    # Every read of a SKU's page is open to a viewer, here and in the inventory service's own check.
    for read in ("/api/v1/inventory/TEE-M/history", "/api/v1/inventory/TEE-M/reservations"):
        assert client.get(read, headers=viewer).status_code == 200, read
    writes = [
        client.post(
            "/api/v1/inventory/adjustments",
            json={"sku": "TEE-M", "delta": 1, "reason": "received"},
            headers=viewer,
        ),
        client.post(
            "/api/v1/reservations",
            json={"order_ref": "o", "lines": [{"sku": "TEE-M", "quantity": 1}]},
            headers=viewer,
        ),
        client.put(
            "/api/v1/bundles/X", json={"components": [{"sku": "TEE-M", "quantity": 1}]}, headers=viewer
        ),
        client.post("/api/v1/locations", json={"code": "W2", "name": "W2"}, headers=viewer),
    ]
    assert [w.status_code for w in writes] == [403, 403, 403, 403]
    assert client.get("/api/v1/inventory/TEE-M", headers=owner.auth).json["on_hand"] == 4
    assert client.get("/api/v1/inventory").status_code == 401


def test_another_tenants_reservation_is_a_404(client: Any, owner: Any, helpers: Any) -> None:
    adjust(client, owner.auth, "TEE-M", set=4)
    held = client.post(
        "/api/v1/reservations",
        json={"order_ref": "o-1", "lines": [{"sku": "TEE-M", "quantity": 1}]},
        headers=owner.auth,
    ).json
    other = helpers.register(client, "Globex", "owner@globex.test")

    assert client.get(f"/api/v1/reservations/{held['id']}", headers=other.auth).status_code == 404
    assert client.get("/api/v1/inventory/TEE-M/reservations", headers=other.auth).json["items"] == []
    assert client.post(f"/api/v1/reservations/{held['id']}/release", headers=other.auth).status_code == 404
    assert client.get("/api/v1/inventory/TEE-M", headers=other.auth).json["on_hand"] == 0
    assert client.get(f"/api/v1/reservations/{held['id']}", headers=owner.auth).json["status"] == "HELD"
