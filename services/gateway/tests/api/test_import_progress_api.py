"""POST /products/import with `Accept: application/x-ndjson`: progress lines while the catalog
reads the upload, then the report (row errors included) or, once streaming, a problem line."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

pytestmark = pytest.mark.redis

NDJSON = {"Accept": "application/x-ndjson"}


@pytest.fixture
def client(app_factory: Any, sqlite_url: str) -> Any:
    return app_factory(sqlite_url).test_client()


@pytest.fixture
def owner(client: Any, helpers: Any) -> Any:
    return helpers.register(client, "Acme", "owner@acme.test")


def products_csv(rows: int, bad_every: int = 0) -> bytes:
    lines = [
        f"Product {i},SKU-{i:06d},{'BAD' if bad_every and i % bad_every == 7 else '9.99'},USD"
        for i in range(rows)
    ]
    return ("product_title,sku,price,currency\n" + "\n".join(lines) + "\n").encode()


def post_import(client: Any, owner: Any, csv: bytes, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        "/api/v1/products/import",
        data={"file": (io.BytesIO(csv), "products.csv")},
        headers={**owner.auth, **(headers or {})},
        content_type="multipart/form-data",
    )


def lines_of(response: Any) -> list[dict[str, Any]]:
    text = response.get_data(as_text=True)
    assert text.endswith("\n"), text[-200:]
    return [json.loads(line) for line in text.splitlines()]


def test_progress_lines_then_the_report_with_row_errors(client: Any, owner: Any, catalog: Any) -> None:
    # About 1 MB (16 chunks of 64 KiB). On a fast link gRPC's flow-control windows take all of it
    # at once, so the lines here are the first (0) and the last (everything); the lines between
    # are tests/unit/test_import_progress.py's.
    catalog.import_delay_seconds = 0.005
    csv = products_csv(30_000, bad_every=2_000)
    response = post_import(client, owner, csv, NDJSON)

    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert response.is_streamed
    assert response.headers["X-Accel-Buffering"] == "no"
    *progress, last = lines_of(response)
    assert len(progress) >= 2 and all(set(line) == {"progress"} for line in progress)
    done = [line["progress"]["bytes_done"] for line in progress]
    assert {line["progress"]["bytes_total"] for line in progress} == {len(csv)}
    assert done[0] == 0 and done[-1] == len(csv)
    assert done == sorted(done) and len(set(done)) == len(done)

    report = last["report"]
    assert report["rows"] == 30_000 and report["created"] == 29_985
    assert report["errors"][0] == {"row": 9, "column": "price", "message": "not a decimal amount"}
    assert len(report["errors"]) == 15 and report["errors_not_listed"] == 0
    assert bytes(catalog.import_bytes) == csv
    assert catalog.contexts[-1].tenant_id == owner.tenant_id


def test_the_report_line_is_the_plain_answer(client: Any, owner: Any, catalog: Any) -> None:
    csv = products_csv(3) + b"Broken,SKU-X,BAD,USD\n"
    streamed = lines_of(post_import(client, owner, csv, NDJSON))
    catalog.import_bytes.clear()  # the fake reports on everything it was sent
    plain = post_import(client, owner, csv)
    assert plain.mimetype == "application/json"
    assert streamed[-1] == {"report": plain.json}
    assert plain.json["errors"] == [{"row": 5, "column": "price", "message": "not a decimal amount"}]


def test_a_failure_once_streaming_is_a_problem_line(client: Any, owner: Any, catalog: Any) -> None:
    response = post_import(client, owner, b"product_title,price\nTee,9.99\n", NDJSON)
    assert response.status_code == 200
    *progress, last = lines_of(response)
    assert all("progress" in line for line in progress)
    problem = last["problem"]
    assert problem["status"] == 400 and problem["type"].endswith("/invalid-request")
    assert problem["errors"] == [{"field": "header", "message": "missing required column(s): sku"}]
    assert problem["instance"] == "/api/v1/products/import" and problem["request_id"]


def test_backend_down_is_a_problem_line(
    app_factory: Any, sqlite_url: str, helpers: Any, unused_port: int
) -> None:
    client = app_factory(
        sqlite_url,
        catalog_addr=f"127.0.0.1:{unused_port}",
        grpc_timeout_seconds=2.0,
        bulk_timeout_seconds=2.0,
    ).test_client()
    owner = helpers.register(client, "Acme", "owner@acme.test")
    response = post_import(client, owner, products_csv(2), NDJSON)
    assert response.status_code == 200
    problem = lines_of(response)[-1]["problem"]
    assert problem["status"] in (503, 504)
    assert problem["detail"].startswith("a backend service")


def test_checks_before_the_stream_stay_problem_responses(client: Any, owner: Any, helpers: Any) -> None:
    missing = client.post(
        "/api/v1/products/import",
        data={"other": "x"},
        headers={**owner.auth, **NDJSON},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 400 and missing.mimetype == "application/problem+json"
    assert missing.json["errors"][0]["field"] == "file"
    bad_query = post_import_query(client, owner, "?default_currency=EURO")
    assert bad_query.status_code == 400 and bad_query.json["errors"][0]["field"] == "default_currency"
    viewer_token = helpers.bearer("not-a-token")
    refused = client.post(
        "/api/v1/products/import",
        data={"file": (io.BytesIO(b"x"), "p.csv")},
        headers={**viewer_token, **NDJSON},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"


def post_import_query(client: Any, owner: Any, query: str) -> Any:
    return client.post(
        f"/api/v1/products/import{query}",
        data={"file": (io.BytesIO(products_csv(1)), "p.csv")},
        headers={**owner.auth, **NDJSON},
        content_type="multipart/form-data",
    )


def test_any_type_keeps_the_json_answer(client: Any, owner: Any) -> None:
    response = post_import(client, owner, products_csv(2), {"Accept": "*/*"})
    assert response.mimetype == "application/json"
    assert response.json["rows"] == 2
