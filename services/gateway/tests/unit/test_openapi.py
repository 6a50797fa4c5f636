"""The OpenAPI document is generated from the code and covers every mounted /api/v1 route."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask

from gateway.app import create_app
from gateway.config import Settings
from gateway.deps import Deps
from gateway.errors import ErrorMapper


@pytest.fixture
def app() -> Flask:
    # No I/O: the document needs only the routes, so the services are left out.
    deps: Any = Deps(
        settings=Settings(),
        identity=None,  # type: ignore[arg-type]
        catalog=None,  # type: ignore[arg-type]
        readiness=None,  # type: ignore[arg-type]
        errors=ErrorMapper(),
    )
    return create_app(deps=deps)


def test_every_api_route_is_documented(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").json
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if method.lower() not in doc["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert missing == []
    assert len(doc["paths"]) >= 10


def test_operations_carry_roles_schemas_and_problems(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    users_post = doc["paths"]["/api/v1/users"]["post"]
    assert users_post["x-roles"] == ["admin", "owner"]
    assert users_post["security"] == [{"bearerAuth": []}]
    assert {"400", "401", "403", "409"} <= set(users_post["responses"])
    problem_ref = users_post["responses"]["403"]["content"]["application/problem+json"]["schema"]["$ref"]
    assert problem_ref.endswith("/Problem")

    listing = doc["paths"]["/api/v1/products"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert set(params) == {"q", "status", "sku", "updated_since", "limit", "cursor"}
    assert params["limit"]["schema"]["maximum"] == 500

    patch = doc["paths"]["/api/v1/products/{product_id}"]["patch"]
    assert "If-Match" in [p["name"] for p in patch["parameters"]]
    assert "412" in patch["responses"]
    ok = patch["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "variants" in schemas[ok]["properties"]

    for path in ("/inventory/adjustments", "/inventory/adjustments/batch", "/reservations"):
        keyed = doc["paths"][f"/api/v1{path}"]["post"]
        assert "Idempotency-Key" in [p["name"] for p in keyed["parameters"]], path
        assert "422" in keyed["responses"], path
    assert "422" not in doc["paths"]["/api/v1/locations"]["post"]["responses"]

    upload = doc["paths"]["/api/v1/products/import"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    for ref in re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', str(doc).replace("'", '"')):
        assert ref in schemas


def test_alternative_success_answers_are_documented_beside_the_usual_one(app: Flask) -> None:
    """The OAuth start's 200 for a JSON-only fetch carries the same body as its 302 (a typed
    client reads it); the callback's 303 for a browser has a Location and no body."""
    doc = app.test_client().get("/api/v1/openapi.json").json
    start = doc["paths"]["/api/v1/channels/{channel_type}/oauth/start"]["get"]["responses"]
    assert start["200"]["content"] == start["302"]["content"]
    assert "Location" in start["302"]["headers"] and "headers" not in start["200"]
    callback = doc["paths"]["/api/v1/channels/oauth/callback"]["get"]["responses"]
    assert "content" in callback["200"] and "content" not in callback["303"]
    assert "Location" in callback["303"]["headers"]


def _schemas_with_examples(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (location, schema) in the document whose JSON Schema carries `examples`."""
    if isinstance(node, dict):
        if isinstance(node.get("examples"), list) and (
            "type" in node or "$ref" in node or "properties" in node or "anyOf" in node
        ):
            yield where, node
        for key, value in node.items():
            yield from _schemas_with_examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _schemas_with_examples(value, f"{where}/{index}")


def test_every_example_in_the_document_is_valid_against_its_schema(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").json
    found = list(_schemas_with_examples(doc, ""))
    assert len(found) >= 10
    invalid = []
    for where, schema in found:
        validator = jsonschema_rs.Draft202012Validator({**schema, "components": doc["components"]})
        invalid += [
            f"{where}: {error.message}"
            for example in schema["examples"]
            for error in validator.iter_errors(example)
        ]
    assert invalid == []


def test_every_orders_operation_shows_examples_of_its_json_bodies(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]

    def examples(content: dict[str, Any]) -> list[Any]:
        schema = content["application/json"]["schema"]
        if "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema.get("examples", [])

    operations = [
        (path, op)
        for path, item in doc["paths"].items()
        if path.startswith("/api/v1/orders")
        for op in item.values()
    ]
    assert len(operations) == 8
    for path, op in operations:
        ok = next(response for status, response in op["responses"].items() if status.startswith("2"))
        if "requestBody" in op:
            assert examples(op["requestBody"]["content"]), path
        if "application/json" in ok.get("content", {}):
            assert examples(ok["content"]), path
        else:
            assert ok["content"]["text/csv"]["example"].startswith("order_id,"), path
    fulfil = doc["paths"]["/api/v1/orders/{order_id}/fulfill"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in fulfil["parameters"]]
    assert "422" in fulfil["responses"] and fulfil["x-roles"] == ["admin", "owner", "staff"]
    listing = {p["name"]: p for p in doc["paths"]["/api/v1/orders"]["get"]["parameters"]}
    assert set(listing) == {"channel", "status", "from", "to", "q", "flag", "limit", "cursor"}
    assert listing["status"]["schema"]["type"] == "array"
