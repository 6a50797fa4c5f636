"""Catalog REST → gRPC: money, ETags/If-Match, error mapping, metadata, streamed import/export."""

from __future__ import annotations

import io
from typing import Any

import pytest

pytestmark = pytest.mark.redis

THREE_VARIANTS = [
    {"sku": "TEE-S", "price": {"amount": "19.99", "currency": "USD"}, "options": {"size": "S"}},
    {
        "sku": "TEE-M",
        "price": {"amount": "19.99", "currency": "USD"},
        "cost": {"amount": "7.5", "currency": "USD"},
        "options": {"size": "M", "color": "Red"},
        "barcode": "0123456789012",
        "weight_grams": 180,
    },
    {"sku": "TEE-L", "price": {"amount": "21", "currency": "USD"}},
]


@pytest.fixture
def client(app_factory: Any, sqlite_url: str) -> Any:
    return app_factory(sqlite_url).test_client()


@pytest.fixture
def owner(client: Any, helpers: Any) -> Any:
    return helpers.register(client, "Acme", "owner@acme.test")


def create_tee(client: Any, auth: dict[str, str]) -> Any:
    response = client.post(
        "/api/v1/products", json={"title": "Tee", "status": "draft", "variants": THREE_VARIANTS}, headers=auth
    )
    assert response.status_code == 201, response.json
    return response


def test_create_product_converts_money_and_returns_variant_ids(client: Any, owner: Any, catalog: Any) -> None:
    response = create_tee(client, owner.auth)
    body = response.json
    assert response.headers["ETag"] == '"1"'
    assert body["status"] == "draft"
    assert [v["sku"] for v in body["variants"]] == ["TEE-S", "TEE-M", "TEE-L"]
    assert all(v["id"] for v in body["variants"])
    assert body["variants"][1]["cost"] == {"amount": "7.50", "currency": "USD"}
    assert body["variants"][1]["options"] == {"size": "M", "color": "Red"}
    assert body["variants"][0]["cost"] is None and body["variants"][0]["barcode"] is None
    assert body["variants"][2]["price"] == {"amount": "21.00", "currency": "USD"}
    assert body["created_at"].endswith("Z")

    sent = catalog.last("CreateProduct")
    assert [v.price.amount_minor for v in sent.variants] == [1999, 1999, 2100]
    assert sent.variants[1].cost.amount_minor == 750
    assert not sent.variants[0].HasField("cost")


@pytest.mark.parametrize(
    ("price", "field"),
    [
        ({"amount": "19.999", "currency": "USD"}, "variants[0].price"),
        ({"amount": 19.99, "currency": "USD"}, "variants[0].price.amount"),
        ({"amount": "-1", "currency": "USD"}, "variants[0].price.amount"),
        ({"amount": "1e3", "currency": "USD"}, "variants[0].price.amount"),
        ({"amount": "10", "currency": "XXX"}, "variants[0].price.currency"),
        ({"amount": "10.5", "currency": "JPY"}, "variants[0].price"),
        ({"amount": "10"}, "variants[0].price.currency"),
    ],
)
def test_bad_money_is_400_with_field_path(
    client: Any, owner: Any, catalog: Any, price: dict[str, Any], field: str
) -> None:
    response = client.post(
        "/api/v1/products",
        json={"title": "T", "variants": [{"sku": "A", "price": price}]},
        headers=owner.auth,
    )
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json["errors"]]
    assert not [rpc for rpc, _ in catalog.requests if rpc == "CreateProduct"]


def test_image_url_bounds_are_checked_before_the_catalog_is_called(
    client: Any, owner: Any, catalog: Any
) -> None:
    too_many = [f"https://cdn.example.com/{i}.jpg" for i in range(21)]
    too_long = ["https://cdn.example.com/" + "a" * 2048]
    for urls in (too_many, too_long, [""]):
        refused = client.post(
            "/api/v1/products",
            json={"title": "Big", "image_urls": urls, "variants": THREE_VARIANTS[:1]},
            headers=owner.auth,
        )
        assert refused.status_code == 400 and refused.mimetype == "application/problem+json"
        assert refused.json["errors"][0]["field"].startswith("image_urls"), refused.json
    assert not [rpc for rpc, _ in catalog.requests if rpc == "CreateProduct"]
    created = client.post(
        "/api/v1/products",
        json={"title": "Ok", "image_urls": too_many[:20], "variants": THREE_VARIANTS[:1]},
        headers=owner.auth,
    )
    assert created.status_code == 201 and list(catalog.last("CreateProduct").image_urls) == too_many[:20]


def test_viewer_reads_but_cannot_write(client: Any, owner: Any, helpers: Any, catalog: Any) -> None:
    product = create_tee(client, owner.auth).json
    client.post(
        "/api/v1/users",
        json={"email": "v@acme.test", "password": "correct-horse", "role": "viewer"},
        headers=owner.auth,
    )
    viewer = helpers.bearer(helpers.login(client, "v@acme.test")["access_token"])
    assert client.get(f"/api/v1/products/{product['id']}", headers=viewer).status_code == 200
    writes = [
        client.post("/api/v1/products", json={"title": "X", "variants": []}, headers=viewer),
        client.patch(f"/api/v1/products/{product['id']}", json={"title": "Y"}, headers=viewer),
        client.delete(f"/api/v1/products/{product['id']}", headers=viewer),
        client.post(f"/api/v1/products/{product['id']}/variants", json=THREE_VARIANTS[0], headers=viewer),
        client.patch(f"/api/v1/variants/{product['variants'][0]['id']}", json={"sku": "Z"}, headers=viewer),
        client.delete(f"/api/v1/variants/{product['variants'][0]['id']}", headers=viewer),
        client.post("/api/v1/products/import", data={"file": (io.BytesIO(b"x"), "p.csv")}, headers=viewer),
    ]
    assert [r.status_code for r in writes] == [403] * len(writes)
    assert writes[0].mimetype == "application/problem+json"
    assert len([rpc for rpc, _ in catalog.requests if rpc == "CreateProduct"]) == 1


def test_tenant_user_role_travel_signed_and_request_id_as_metadata(
    client: Any, owner: Any, catalog: Any
) -> None:
    product = create_tee(client, owner.auth).json
    response = client.get(
        f"/api/v1/products/{product['id']}", headers={**owner.auth, "X-Request-ID": "req-abc.123"}
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-abc.123"
    metadata = catalog.metadata[-1]
    # Identity travels only inside the signed internal token, never as plain metadata.
    assert "x-internal-token" in metadata and "x-tenant-id" not in metadata
    caller = catalog.contexts[-1]
    assert (caller.tenant_id, caller.user_id, caller.role) == (owner.tenant_id, owner.user_id, "owner")
    assert metadata["x-request-id"] == "req-abc.123"
    # An unsafe request id is replaced, not echoed.
    odd = client.get(f"/api/v1/products/{product['id']}", headers={**owner.auth, "X-Request-ID": "a b\tc"})
    assert odd.headers["X-Request-ID"] != "a b\tc"


def test_another_tenants_product_is_404(client: Any, owner: Any, helpers: Any) -> None:
    product = create_tee(client, owner.auth).json
    other = helpers.register(client, "Other", "b@other.test")
    response = client.get(f"/api/v1/products/{product['id']}", headers=other.auth)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_list_forwards_filters_and_pages(client: Any, owner: Any, catalog: Any) -> None:
    create_tee(client, owner.auth)
    client.post(
        "/api/v1/products",
        json={"title": "Mug", "variants": [{"sku": "MUG-1", "price": {"amount": "5", "currency": "USD"}}]},
        headers=owner.auth,
    )
    first = client.get("/api/v1/products?limit=1", headers=owner.auth).json
    assert len(first["items"]) == 1 and first["next_cursor"] == "1"
    second = client.get(f"/api/v1/products?limit=1&cursor={first['next_cursor']}", headers=owner.auth).json
    assert len(second["items"]) == 1 and second["next_cursor"] is None

    filtered = client.get(
        "/api/v1/products?sku=MUG&status=active&q=mug&updated_since=2026-01-31T12:00:00Z", headers=owner.auth
    )
    assert [p["title"] for p in filtered.json["items"]] == ["Mug"]
    sent = catalog.last("ListProducts")
    assert sent.sku_prefix == "MUG" and sent.query == "mug" and sent.status == 1
    assert sent.updated_since.ToJsonString() == "2026-01-31T12:00:00Z"
    assert sent.page.limit == 50

    # The count takes the same filters, without pages.
    assert client.get("/api/v1/products/count", headers=owner.auth).json == {"count": 2}
    counted = client.get("/api/v1/products/count?sku=MUG&status=draft&q=mug", headers=owner.auth)
    assert counted.json == {"count": 1}
    sent_count = catalog.last("CountProducts")
    assert sent_count.sku_prefix == "MUG" and sent_count.query == "mug" and sent_count.status == 2
    refused = client.get("/api/v1/products/count?limit=5", headers=owner.auth)  # not a filter
    assert refused.status_code == 400 and [e["field"] for e in refused.json["errors"]] == ["limit"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=deleted", "status"),
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("updated_since=2026-01-31T12:00:00", "updated_since"),
        ("updated_since=yesterday", "updated_since"),
        ("colour=red", "colour"),
    ],
)
def test_list_query_validation(client: Any, owner: Any, query: str, field: str) -> None:
    response = client.get(f"/api/v1/products?{query}", headers=owner.auth)
    assert response.status_code == 400
    assert [e["field"] for e in response.json["errors"]] == [field]


def test_get_patch_delete_with_if_match(client: Any, owner: Any, catalog: Any) -> None:
    product = create_tee(client, owner.auth).json
    url = f"/api/v1/products/{product['id']}"
    got = client.get(url, headers=owner.auth)
    assert got.headers["ETag"] == '"1"'

    patched = client.patch(
        url, json={"title": "Tee v2", "status": "active"}, headers={**owner.auth, "If-Match": '"1"'}
    )
    assert patched.status_code == 200
    assert patched.json["title"] == "Tee v2" and patched.json["status"] == "active"
    assert patched.headers["ETag"] == '"2"'
    sent = catalog.last("UpdateProduct")
    assert sorted(sent.update_mask.paths) == ["status", "title"] and sent.expected_version == 1

    stale = client.patch(url, json={"title": "lost update"}, headers={**owner.auth, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json["reason"] == "VERSION_MISMATCH"
    assert client.delete(url, headers={**owner.auth, "If-Match": '"1"'}).status_code == 412
    # Without If-Match the last write wins.
    assert client.patch(url, json={"description": "soft"}, headers=owner.auth).status_code == 200
    assert catalog.last("UpdateProduct").expected_version == 0

    assert client.delete(url, headers=owner.auth).status_code == 204
    assert client.get(url, headers=owner.auth).status_code == 404


def test_patch_body_validation(client: Any, owner: Any) -> None:
    product = create_tee(client, owner.auth).json
    url = f"/api/v1/products/{product['id']}"
    assert client.patch(url, json={}, headers=owner.auth).status_code == 400
    extra = client.patch(url, json={"title": "x", "variants": []}, headers=owner.auth)
    assert extra.status_code == 400 and extra.json["errors"][0]["field"] == "variants"
    assert client.patch(url, json={"title": None}, headers=owner.auth).status_code == 400


def test_variant_add_patch_delete(client: Any, owner: Any, catalog: Any) -> None:
    product = create_tee(client, owner.auth).json
    added = client.post(
        f"/api/v1/products/{product['id']}/variants",
        json={"sku": "TEE-XL", "price": {"amount": "22.50", "currency": "USD"}},
        headers=owner.auth,
    )
    assert added.status_code == 201 and added.json["product_id"] == product["id"]
    variant_url = f"/api/v1/variants/{added.json['id']}"

    patched = client.patch(
        variant_url,
        json={"price": {"amount": "23", "currency": "USD"}, "barcode": None},
        headers={**owner.auth, "If-Match": '"1"'},
    )
    assert patched.status_code == 200
    assert patched.json["price"] == {"amount": "23.00", "currency": "USD"}
    sent = catalog.last("UpdateVariant")
    assert sorted(sent.update_mask.paths) == ["barcode", "price"]
    assert sent.variant.price.amount_minor == 2300 and not sent.variant.HasField("barcode")

    assert client.patch(variant_url, json={"sku": None}, headers=owner.auth).status_code == 400
    assert (
        client.patch(variant_url, json={"sku": "X"}, headers={**owner.auth, "If-Match": '"1"'}).status_code
        == 412
    )
    assert client.delete(variant_url, headers=owner.auth).status_code == 204
    assert client.delete(variant_url, headers=owner.auth).status_code == 404


def test_backend_errors_map_to_problems(client: Any, owner: Any) -> None:
    invalid = client.post("/api/v1/products", json={"title": "invalid", "variants": []}, headers=owner.auth)
    assert invalid.status_code == 400
    assert invalid.json["errors"] == [{"field": "variants[0].sku", "message": "SKU must not contain spaces"}]

    create_tee(client, owner.auth)
    conflict = client.post(
        "/api/v1/products", json={"title": "Again", "variants": THREE_VARIANTS[:1]}, headers=owner.auth
    )
    assert conflict.status_code == 409 and conflict.json["reason"] == "SKU_TAKEN"

    boom = client.post("/api/v1/products", json={"title": "boom", "variants": []}, headers=owner.auth)
    assert boom.status_code == 500
    assert boom.mimetype == "application/problem+json"
    assert "hunter2" not in boom.get_data(as_text=True)
    assert boom.json["detail"] == "internal error"


def test_backend_down_is_503(app_factory: Any, sqlite_url: str, helpers: Any, unused_port: int) -> None:
    client = app_factory(
        sqlite_url, catalog_addr=f"127.0.0.1:{unused_port}", grpc_timeout_seconds=2.0
    ).test_client()
    owner = helpers.register(client, "Acme", "owner@acme.test")
    response = client.get("/api/v1/products", headers=owner.auth)
    assert response.status_code in (503, 504)
    assert response.mimetype == "application/problem+json"


def test_import_streams_the_upload_in_chunks(client: Any, owner: Any, catalog: Any) -> None:
    rows = [f"Product {i},SKU-{i:06d},{'BAD' if i % 1000 == 7 else '9.99'},USD" for i in range(5000)]
    csv = ("product_title,sku,price,currency\n" + "\n".join(rows) + "\n").encode()
    response = client.post(
        "/api/v1/products/import?default_currency=EUR",
        data={"file": (io.BytesIO(csv), "products.csv")},
        headers=owner.auth,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["rows"] == 5000 and body["created"] == 4995
    assert body["errors"][0] == {"row": 9, "column": "price", "message": "not a decimal amount"}
    assert len(body["errors"]) == 5

    kinds = catalog.import_messages
    assert kinds[0] == ("options:EUR", 0)
    sizes = [size for kind, size in kinds[1:]]
    assert len(sizes) > 1 and max(sizes) <= 64 * 1024
    assert bytes(catalog.import_bytes) == csv
    assert catalog.contexts[-1].tenant_id == owner.tenant_id


def test_import_needs_multipart_file(client: Any, owner: Any) -> None:
    as_json = client.post("/api/v1/products/import", json={"file": "x"}, headers=owner.auth)
    assert as_json.status_code == 415
    missing = client.post(
        "/api/v1/products/import", data={"other": "x"}, headers=owner.auth, content_type="multipart/form-data"
    )
    assert missing.status_code == 400 and missing.json["errors"][0]["field"] == "file"


def test_export_streams_csv(client: Any, owner: Any, catalog: Any) -> None:
    catalog.export_chunks = [b"product_title,sku\n", b"A,1\n", b"B,2\n"]
    response = client.get("/api/v1/products/export?format=csv&status=active", headers=owner.auth)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    assert response.get_data() == b"product_title,sku\nA,1\nB,2\n"
    assert catalog.last("ExportProducts").status == 1
    xlsx = client.get("/api/v1/products/export?format=xlsx", headers=owner.auth)
    assert xlsx.status_code == 400 and xlsx.json["errors"][0]["field"] == "format"
