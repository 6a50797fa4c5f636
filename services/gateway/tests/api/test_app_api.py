"""App-wide behaviour: problem+json for Flask's own errors, health probes, OpenAPI and docs."""

from __future__ import annotations

import io
from typing import Any

import pytest

pytestmark = pytest.mark.redis


@pytest.fixture
def client(app_factory: Any, sqlite_url: str) -> Any:
    return app_factory(sqlite_url).test_client()


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == status
    return response.json


def test_flask_errors_are_problems(client: Any, helpers: Any) -> None:
    assert assert_problem(client.get("/api/v1/nowhere"), 404)["instance"] == "/api/v1/nowhere"
    not_allowed = client.put("/api/v1/auth/login", json={})
    assert_problem(not_allowed, 405)
    assert "POST" in not_allowed.headers["Allow"]
    assert_problem(client.post("/api/v1/auth/login", data="{oops", content_type="application/json"), 400)
    assert_problem(client.post("/api/v1/auth/login", data="email=x", content_type="text/plain"), 415)
    array = assert_problem(client.post("/api/v1/auth/login", json=[1, 2]), 400)
    assert array["errors"] == [{"field": "body", "message": "expected an object"}]


def test_oversized_upload_is_413(app_factory: Any, sqlite_url: str, helpers: Any) -> None:
    client = app_factory(sqlite_url, max_upload_bytes=2048).test_client()
    owner = helpers.register(client, "Acme", "owner@acme.test")
    response = client.post(
        "/api/v1/products/import",
        data={"file": (io.BytesIO(b"x" * 10_000), "p.csv")},
        headers=owner.auth,
        content_type="multipart/form-data",
    )
    assert_problem(response, 413)


def test_request_id_is_generated_and_echoed(client: Any) -> None:
    response = client.get("/healthz")
    assert len(response.headers["X-Request-ID"]) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "abc-1"}).headers["X-Request-ID"] == "abc-1"
    problem = client.get("/api/v1/nowhere", headers={"X-Request-ID": "abc-2"}).json
    assert problem["request_id"] == "abc-2"


def test_healthz_and_readyz_with_backend_serving(client: Any) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"status": "ready", "backends": {"catalog": "SERVING"}}


def test_readyz_names_the_failing_backend(
    app_factory: Any, sqlite_url: str, fake_catalog: Any, unused_port: int
) -> None:
    backends = {"catalog": f"127.0.0.1:{fake_catalog[1].port}", "inventory": f"127.0.0.1:{unused_port}"}
    client = app_factory(sqlite_url, backends=backends).test_client()
    body = assert_problem(client.get("/readyz"), 503)
    assert body["failing"] == ["inventory"]
    assert "inventory" in body["detail"] and "catalog" not in body["detail"]
    assert body["backends"]["catalog"] == "SERVING"


def test_readyz_reports_not_serving(client: Any, fake_catalog: Any) -> None:
    fake_catalog[1].health.enter_graceful_shutdown()
    body = assert_problem(client.get("/readyz"), 503)
    assert body["backends"] == {"catalog": "NOT_SERVING"}


def test_openapi_document_and_docs_page(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    create = doc["paths"]["/api/v1/products"]["post"]
    assert create["x-roles"] == ["admin", "owner", "staff"]
    schema_name = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "variants" in doc["components"]["schemas"][schema_name]["properties"]
    assert doc["paths"]["/api/v1/auth/login"]["post"]["security"] == []

    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "openapi.json" in html
    assert "<script src" not in html and "<link" not in html  # self-contained, no CDN
    assert "script-src 'sha256-" in page.headers["Content-Security-Policy"]
