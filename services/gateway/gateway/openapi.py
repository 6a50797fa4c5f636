"""OpenAPI 3.1 document built from the route registry (never written by hand).

Every operation declared with ApiModule.route appears, with its roles, its pydantic request and
response models turned into JSON Schema, and the problem responses it can give.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gateway.api import Operation
from gateway.errors import PROBLEM_JSON
from gateway.inputs import IDEMPOTENCY_HEADER
from gateway.schemas import Problem

REF = "#/components/schemas/{model}"
API_VERSION = "1.0.0"


def build_document(operations: Sequence[Operation], *, title: str = "OmniStock API") -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [(Problem, "serialization")]
    for op in operations:
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.query is not None:
            models.append((op.query, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
    unique = list(dict.fromkeys(models))
    refs, defs = models_json_schema(unique, ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.openapi_path, {})[op.method.lower()] = _operation(op, refs, schemas)

    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": API_VERSION,
            "description": (
                "OmniStock REST API. Errors are application/problem+json (RFC 9457). "
                "Authenticate with `Authorization: Bearer <access token>` from /api/v1/auth/login."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "tags": [{"name": tag} for tag in dict.fromkeys(op.tag for op in operations)],
    }


def _operation(op: Operation, refs: dict[Any, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": op.endpoint.replace(".", "_"),
        "summary": op.summary,
        "tags": [op.tag],
        "x-roles": op.roles,
    }
    if op.description:
        doc["description"] = op.description
    if op.permission is None:
        doc["security"] = []
    else:
        doc["security"] = [{"bearerAuth": []}]
        doc["x-permission"] = op.permission.value

    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in op.path_params
    ]
    if op.query is not None:
        parameters.extend(_query_parameters(op.query, refs, schemas))
    if op.method in {"PATCH", "PUT", "DELETE"} and 412 in op.problems:
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": 'the version from the ETag, e.g. "3"; a mismatch fails with 412',
                "schema": {"type": "string"},
            }
        )
    if op.conditional:
        parameters.append(
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "the ETag of a previous answer: 304 with no body while it still matches",
                "schema": {"type": "string"},
            }
        )
    if op.idempotency_key:
        parameters.append(
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "a repeat with the same key returns the first result and changes nothing; "
                "the same key with a different request fails with 422 (idempotency-key-reused)",
                "schema": {"type": "string", "maxLength": 256},
            }
        )
    if parameters:
        doc["parameters"] = parameters

    if op.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    elif op.request_content is not None:
        doc["requestBody"] = {"required": True, "content": dict(op.request_content)}

    success: dict[str, Any] = {"description": HTTPStatus(op.status).phrase}
    if op.response is not None:
        success["content"] = {"application/json": {"schema": refs[(op.response, "serialization")]}}
    if op.response_content is not None:
        # Beside the JSON model, other forms of the same answer (the import's NDJSON progress,
        # the analytics' CSV and XLSX).
        success["content"] = {**success.get("content", {}), **op.response_content}
    if op.response_headers:
        success["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in op.response_headers.items()
        }
    if op.conditional:
        etag_header = {"description": "weak ETag of the JSON body", "schema": {"type": "string"}}
        success.setdefault("headers", {})["ETag"] = etag_header
    responses: dict[str, Any] = {str(op.status): success}
    if op.conditional:
        responses["304"] = {
            "description": "Not Modified: the If-None-Match ETag still matches",
            "headers": {"ETag": etag_header},
        }
    for status, alternative in sorted(op.alternatives.items()):
        other: dict[str, Any] = {"description": alternative.description}
        if alternative.body and "content" in success:
            other["content"] = success["content"]
        if alternative.headers:
            other["headers"] = {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in alternative.headers.items()
            }
        responses[str(status)] = other

    problem = {PROBLEM_JSON: {"schema": refs[(Problem, "serialization")]}}
    statuses = set(op.problems)
    if op.body is not None or op.query is not None:
        statuses.add(400)
    if op.json_body:
        statuses.update({413, 415})
    if op.permission is not None:
        statuses.update({401, 403})
    if op.path_params:
        statuses.add(404)
    if op.idempotency_key:
        statuses.add(422)
    for status in sorted(statuses):
        responses[str(status)] = {"description": HTTPStatus(status).phrase, "content": problem}
    responses["default"] = {"description": "error", "content": problem}
    doc["responses"] = responses
    return doc


def _query_parameters(
    model: type[BaseModel], refs: dict[Any, Any], schemas: dict[str, Any]
) -> list[dict[str, Any]]:
    ref = refs[(model, "validation")]["$ref"]
    schema = schemas[ref.rsplit("/", 1)[1]]
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            param["description"] = prop["description"]
        out.append(param)
    return out
