"""The dashboard's build served at / (gateway.web): cache headers, client-side routes, CSP, and
the API's own answers (404/405 problem+json, /docs, /healthz) unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.app import create_app
from gateway.config import Settings
from gateway.deps import Deps
from gateway.errors import ErrorMapper

INDEX = "<!doctype html><title>OmniStock</title><script type=module src=/assets/index-Ab12Cd34.js></script>"
ASSET = "console.log('dashboard');"


def make_app(dist: Path) -> Flask:
    # No I/O: only the routes are exercised, so the backends are left out.
    deps: Any = Deps(
        settings=Settings(web_dist_dir=str(dist)),
        identity=None,  # type: ignore[arg-type]
        catalog=None,  # type: ignore[arg-type]
        readiness=None,  # type: ignore[arg-type]
        errors=ErrorMapper(),
    )
    return create_app(deps=deps)


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-Ab12Cd34.js").write_text(ASSET)
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (dist / ".built").write_text("")
    (tmp_path / "secret.txt").write_text("outside the build")
    return make_app(dist).test_client()


def test_root_serves_index_html_revalidated_with_a_strict_csp(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.get_data(as_text=True) == INDEX
    assert response.headers["Cache-Control"] == "no-cache"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "connect-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Revalidation is cheap: the ETag answers 304 while index.html is unchanged.
    again = client.get("/", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_hashed_assets_are_immutable(client: FlaskClient) -> None:
    response = client.get("/assets/index-Ab12Cd34.js")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == ASSET
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "javascript" in response.mimetype


@pytest.mark.parametrize(
    "path", ["/assets/missing-123.js", "/assets/../../secret.txt", "/assets/%2e%2e/secret.txt"]
)
def test_missing_or_escaping_assets_are_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"outside the build" not in response.data


# What a browser sends when it navigates to a page (Chromium's value).
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize("path", ["/login", "/overview", "/products/123/edit", "/index.html", "/.built"])
def test_client_routes_fall_back_to_index_html(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == INDEX
    assert response.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_an_unknown_path_is_a_problem_404_to_anything_but_a_browser_navigation(
    client: FlaskClient, accept: str | None
) -> None:
    """curl, API clients and scanners keep the gateway's problem+json 404 for an unknown path."""
    response = client.get("/no/such/route", headers={"Accept": accept} if accept else {})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_top_level_build_files_are_served(client: FlaskClient) -> None:
    response = client.get("/favicon.svg")
    assert response.status_code == 200 and b"<svg" in response.data
    assert response.headers["Cache-Control"] == "no-cache"


def test_api_routes_are_unaffected(client: FlaskClient) -> None:
    unknown = client.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404
    assert unknown.mimetype == "application/problem+json"
    assert client.get("/api").status_code == 404
    assert client.get("/api/v1/auth/login").status_code == 405  # a POST-only route keeps its 405
    assert client.post("/api/v1/no-such-thing").status_code == 404
    doc = client.get("/api/v1/openapi.json")
    assert doc.status_code == 200 and doc.json is not None and "/api/v1/auth/login" in doc.json["paths"]
    # The dashboard is not part of the API contract.
    assert "/" not in doc.json["paths"] and "/assets/{filename}" not in doc.json["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "sha256-" in docs.headers["Content-Security-Policy"]
    assert client.get("/healthz").status_code == 200


def test_without_a_build_root_explains_how_to_make_one(tmp_path: Path) -> None:
    client = make_app(tmp_path / "no-dist").test_client()
    for path in ("/", "/login"):
        response = client.get(path, headers={"Accept": BROWSER_ACCEPT})
        assert response.status_code == 503
        assert response.mimetype == "text/html"
        assert "make web" in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/assets/index-Ab12Cd34.js").status_code == 404
