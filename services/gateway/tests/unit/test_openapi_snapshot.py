"""web/openapi.json (what the dashboard's typed client is generated from) equals the document
the gateway serves: a contract change without `python -m gateway.openapi_snapshot` fails here,
and after it, `npm run build` type-checks the dashboard against the new contract."""

from __future__ import annotations

from gateway.openapi_snapshot import SNAPSHOT_PATH, document, render


def test_committed_snapshot_is_current() -> None:
    assert SNAPSHOT_PATH.is_file(), f"{SNAPSHOT_PATH} is missing: run `make openapi`"
    current = render(document())
    committed = SNAPSHOT_PATH.read_text(encoding="utf-8")
    assert committed == current, (
        f"{SNAPSHOT_PATH} is stale: run `make openapi`, then `make web` type-checks the dashboard against it"
    )


def test_snapshot_documents_what_the_dashboard_calls() -> None:
    paths = document()["paths"]
    for path, method in [
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/inventory", "get"),
        ("/api/v1/channels", "get"),
        ("/api/v1/alerts", "get"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} is not in the OpenAPI document"
