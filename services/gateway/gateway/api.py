"""The route registry: one decorator declares an endpoint's path, method, roles and models.

From that single declaration the gateway authenticates the caller, enforces the role policy,
validates the body and query with pydantic, serializes the reply, and writes the OpenAPI
operation. A route module owns one `ApiModule`; app.py registers a plain list of them:

    api = ApiModule("inventory", tag="Inventory")

    @api.route("GET", "/inventory/<sku>", summary="Stock of one SKU",
               permission=Permission.INVENTORY_READ, response=StockOut, problems=(404,))
    def get_stock(sku: str) -> StockOut: ...
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, g, request
from pydantic import BaseModel, ValidationError

from gateway.domain import POLICY, Permission, allowed
from gateway.errors import ApiProblem
from gateway.schemas import validation_errors
from omnistock_common.context import CallContext
from omnistock_common.logging import tenant_id_var

if TYPE_CHECKING:
    from gateway.auth import AccessClaims
    from gateway.deps import Deps

API_PREFIX = "/api/v1"
M = TypeVar("M", bound=BaseModel)
_RULE_PARAM = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Operation:
    """Everything the OpenAPI document says about one endpoint."""

    method: str
    rule: str  # full Flask rule, e.g. /api/v1/products/<product_id>
    endpoint: str
    summary: str
    tag: str
    permission: Permission | None  # None: public (no token)
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    description: str = ""
    problems: tuple[int, ...] = ()
    # Non-JSON bodies (multipart upload, CSV download) described as raw OpenAPI fragments.
    request_content: Mapping[str, Any] | None = None
    response_content: Mapping[str, Any] | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def openapi_path(self) -> str:
        return _RULE_PARAM.sub(r"{\1}", self.rule)

    @property
    def path_params(self) -> list[str]:
        return _RULE_PARAM.findall(self.rule)

    @property
    def roles(self) -> list[str]:
        if self.permission is None:
            return []
        return sorted(role.value for role in POLICY[self.permission])


@dataclass
class Reply:
    """A view's answer when it needs a non-default status or extra headers (e.g. ETag)."""

    body: BaseModel | Mapping[str, Any] | None = None
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


ViewResult = BaseModel | Reply | Response | None


class ApiModule:
    """A Flask blueprint plus the list of operations it declares."""

    def __init__(self, name: str, *, tag: str, prefix: str = API_PREFIX) -> None:
        self.name = name
        self.tag = tag
        self.prefix = prefix
        self.blueprint = Blueprint(name, f"gateway.routes.{name}")
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        permission: Permission | None,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        description: str = "",
        problems: Sequence[int] = (),
        request_content: Mapping[str, Any] | None = None,
        response_content: Mapping[str, Any] | None = None,
        response_headers: Mapping[str, str] | None = None,
    ) -> Callable[[Callable[..., ViewResult]], Callable[..., ViewResult]]:
        """Declare an endpoint. The view receives path parameters, plus `body=`/`query=` models."""

        def decorator(view: Callable[..., ViewResult]) -> Callable[..., ViewResult]:
            op = Operation(
                method=method.upper(),
                rule=self.prefix + path,
                endpoint=f"{self.name}.{view.__name__}",
                summary=summary,
                tag=self.tag,
                permission=permission,
                body=body,
                query=query,
                response=response,
                status=status,
                description=description or (view.__doc__ or "").strip(),
                problems=tuple(problems),
                request_content=request_content,
                response_content=response_content,
                response_headers=dict(response_headers or {}),
            )
            self.operations.append(op)
            self.blueprint.add_url_rule(
                op.rule, endpoint=view.__name__, view_func=_wrap(op, view), methods=[op.method]
            )
            return view

        return decorator


def register_modules(app: Flask, modules: Sequence[ApiModule]) -> None:
    """Mount each module and remember it, so /openapi.json documents exactly what is mounted."""
    for module in modules:
        app.register_blueprint(module.blueprint)
    app.extensions["omnistock.api_modules"] = list(modules)


def registered_operations(app: Flask) -> list[Operation]:
    return [op for module in app.extensions["omnistock.api_modules"] for op in module.operations]


def _wrap(op: Operation, view: Callable[..., ViewResult]) -> Callable[..., Response]:
    @functools.wraps(view)
    def handler(**path_params: Any) -> Response:
        if op.permission is not None:
            claims = deps().auth.authenticate(_bearer_token())
            if not allowed(claims.role, op.permission):
                raise ApiProblem(403, f"the {claims.role.value} role may not {op.summary.lower()}")
            g.claims = claims
            tenant_id_var.set(claims.tenant_id)
        kwargs: dict[str, Any] = dict(path_params)
        if op.body is not None:
            kwargs["body"] = parse_body(op.body)
        if op.query is not None:
            kwargs["query"] = parse_query(op.query)
        return _to_response(view(**kwargs), op.status)

    return handler


def _to_response(result: ViewResult, default_status: int) -> Response:
    if isinstance(result, Response):
        return result
    reply = result if isinstance(result, Reply) else Reply(body=result)
    status = reply.status or default_status
    if reply.body is None:
        response = Response(status=status)
    else:
        data = reply.body.model_dump_json() if isinstance(reply.body, BaseModel) else _json(reply.body)
        response = Response(data, status=status, mimetype="application/json")
    for key, value in reply.headers.items():
        response.headers[key] = value
    return response


def _json(value: Mapping[str, Any]) -> str:
    from flask import json

    return json.dumps(value)


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(401, "missing bearer token")
    return token.strip()


def parse_body(model: type[M]) -> M:
    if not request.is_json:
        raise ApiProblem(415, "the request body must be JSON (Content-Type: application/json)")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiProblem(400, "malformed JSON body", errors=[{"field": "body", "message": "malformed JSON"}])
    if not isinstance(data, dict):
        raise ApiProblem(
            400, "the body must be a JSON object", errors=[{"field": "body", "message": "expected an object"}]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiProblem(400, "invalid request body", errors=validation_errors(exc)) from None


def parse_query(model: type[M]) -> M:
    args: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        args[key] = values if len(values) > 1 else values[0]
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise ApiProblem(
            400, "invalid query parameters", errors=validation_errors(exc, root="query")
        ) from None


def if_match_version() -> int | None:
    """The version in `If-Match: "<version>"` (None without the header or for `*`)."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip()
    value = value.removeprefix("W/")
    value = value.strip('"')
    if not value.isdigit() or int(value) < 1:
        raise ApiProblem(
            400,
            'If-Match must be an ETag such as "3"',
            errors=[{"field": "If-Match", "message": "expected a quoted version number"}],
        )
    return int(value)


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def deps() -> Deps:
    return current_app.extensions["omnistock"]


def current_claims() -> AccessClaims:
    """The authenticated caller (set by the route wrapper for non-public operations)."""
    return g.claims


def call_context() -> CallContext:
    """Tenant, user, role and request id to forward to backends as gRPC metadata."""
    claims = current_claims()
    return CallContext(
        tenant_id=claims.tenant_id,
        user_id=claims.user_id,
        role=claims.role.value,
        request_id=getattr(g, "request_id", ""),
    )


def client_ip() -> str:
    return request.remote_addr or "unknown"
