"""`POST /admin/api/{version}/graphql.json`: auth, faults, parsing, validation, cost throttling, execution.

The order of the checks is Shopify's: a fault or a bad token answers before the document is looked
at; a parse or validation error costs nothing; a query over the single-query limit or over what the
bucket holds is refused before it runs; the bucket is charged the actual cost afterwards.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Flask, Response, request

from channel_sandboxes.common import format_retry_after, json_body, json_response
from channel_sandboxes.graphql_lite import GraphQLSyntaxError, Operation, parse
from channel_sandboxes.shopify.models import SUPPORTED_VERSIONS
from channel_sandboxes.shopify.sandbox import ShopifySandbox
from channel_sandboxes.shopify.schema import (
    ExecContext,
    GraphQLError,
    check_scopes,
    execute,
    validate_and_cost,
)

_VERSION_RE = re.compile(r"^(\d{4}-\d{2}|unstable)$")
_UNAUTHORIZED = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
_FAULT_BODIES = {
    429: "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _bind_variables(op: Operation, variables: dict[str, Any], ctx: ExecContext) -> None:
    """Given values, then defaults; a missing non-null variable is INVALID_VARIABLE."""
    for definition in op.variables:
        if definition.name in variables:
            ctx.variables[definition.name] = variables[definition.name]
        elif definition.has_default:
            ctx.variables[definition.name] = definition.default
        elif definition.type.endswith("!"):
            raise GraphQLError(
                f"Variable ${definition.name} of type {definition.type} was provided invalid value",
                "INVALID_VARIABLE",
                problems=[{"path": [], "explanation": "Expected value to not be null"}],
            )


def _parse_error(error: GraphQLSyntaxError) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": str(error),
                "locations": [{"line": error.line, "column": error.column}],
                "extensions": {"code": "parseError"},
            }
        ]
    }


def _max_cost_exceeded(requested: int, max_cost: int) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                f"({max_cost}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits "
                "for more information on how the cost of a query is calculated.\n\nTo query larger amounts "
                "of data with fewer limits, bulk operations should be used instead.\nSee "
                "https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": max_cost},
            }
        ]
    }


def _throttled(requested: int, throttle_status: dict[str, float]) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": None,
                "throttleStatus": throttle_status,
            }
        },
    }


def register_graphql_route(app: Flask, sandbox: ShopifySandbox) -> None:
    cfg, state = sandbox.config, sandbox.state

    @app.post("/admin/api/<version>/graphql.json")
    def graphql(version: str) -> Response:
        if not _VERSION_RE.match(version):
            return json_response({"errors": "Not Found"}, 404)
        served = version if version in SUPPORTED_VERSIONS else cfg.api_version
        headers = {"X-Shopify-API-Version": served, "X-Request-Id": str(uuid.uuid4())}
        payload = json_body()
        query = payload.get("query")
        doc = None
        parse_error: GraphQLSyntaxError | None = None
        try:
            doc = parse(query) if isinstance(query, str) else None
            op = doc.operation(payload.get("operationName")) if doc else None
        except GraphQLSyntaxError as exc:
            parse_error, op = exc, None
        operations = [getattr(s, "name", "graphql") for s in op.selections] if op else ["graphql"]
        sandbox.stats.record(operations)

        fault = sandbox.faults.take(operations)
        if fault is not None:
            sandbox.stats.bump("throttled" if fault.kind == "throttle" else "faulted")
            extra = {**headers}
            if fault.retry_after is not None:
                extra["Retry-After"] = format_retry_after(fault.retry_after)
            message = _FAULT_BODIES.get(fault.status, "Error")
            return json_response({"errors": message}, fault.status, extra)

        with state.lock:
            token = state.check_token(request.headers.get("X-Shopify-Access-Token"))
        if token is None:
            sandbox.stats.bump("unauthorized")
            return json_response(_UNAUTHORIZED, 401, headers)

        if parse_error is not None or doc is None or op is None:
            error = parse_error or GraphQLSyntaxError("No query string was present")
            return json_response(_parse_error(error), 200, headers)

        variables = payload.get("variables") or {}
        ctx = ExecContext(state, {}, doc.fragments)
        try:
            _bind_variables(op, variables if isinstance(variables, dict) else {}, ctx)
            root = "Mutation" if op.kind == "mutation" else "QueryRoot"
            requested = validate_and_cost(root, op.selections, ctx, [])
            if cfg.enforce_scopes:
                check_scopes(op.selections, token.scope)
        except GraphQLError as exc:
            return json_response({"errors": [exc.payload]}, 200, headers)

        if requested > cfg.max_query_cost:
            return json_response(_max_cost_exceeded(requested, cfg.max_query_cost), 200, headers)
        if not sandbox.bucket.take(requested):
            sandbox.stats.bump("throttled")
            return json_response(_throttled(requested, sandbox.bucket.status()), 200, headers)
        try:
            with state.lock:
                data = execute(op, doc, ctx)
        except GraphQLError as exc:
            sandbox.bucket.refund(requested)
            return json_response({"errors": [exc.payload]}, 200, headers)
        actual = min(ctx.actual_cost, requested)
        sandbox.bucket.refund(requested - actual)
        sandbox.emit(ctx.events)
        cost = {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": sandbox.bucket.status(),
        }
        return json_response({"data": data, "extensions": {"cost": cost}}, 200, headers)
