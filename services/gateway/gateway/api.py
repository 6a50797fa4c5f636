"""The route registry: one decorator declares an endpoint's path, method, roles and models.

From that single declaration the gateway authenticates the caller, enforces the role policy,
validates the body and query with pydantic, serializes the reply, and writes the OpenAPI
operation. A route module owns one `ApiModule`; app.py registers a plain list of them:

    api = ApiModule("inventory", tag="Inventory")

    @api.route("GET", "/inventory/<sku>", summary="Stock of one SKU",
               permission=Permission.INVENTORY_READ, response=StockOut)
    def get_stock(sku: str) -> StockOut: ...

Input hygiene is applied here, once for every route, with the checks of gateway.inputs: the body
limit is enforced from Content-Length before the caller is authenticated, then path parameters,
body and query are cleaned and validated before the view runs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, g, request
from pydantic import BaseModel

from gateway.domain import POLICY, Permission, allowed
from gateway.errors import ApiProblem
from gateway.etags import conditional as conditional_get
from gateway.inputs import clean_path_params, enforce_body_limit, parse_body, parse_query
from gateway.service import sessions
from omnistock_common.context import CallContext
from omnistock_common.logging import tenant_id_var

if TYPE_CHECKING:
    from gateway.auth import AccessClaims
    from gateway.deps import Deps

API_PREFIX = "/api/v1"
_RULE_PARAM = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


@dataclass(frozen=True)
class AlternativeResponse:
    """Another success answer of one operation, chosen by the request (e.g. its Accept header):
    documented next to the usual one so a typed client knows both."""

    description: str
    # True: the operation's response model; False: no body.
    body: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)


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
    # Non-JSON bodies (multipart upload, CSV download) described as raw OpenAPI fragments; with
    # `response` too, another form of the same answer (the import's NDJSON progress).
    request_content: Mapping[str, Any] | None = None
    response_content: Mapping[str, Any] | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)
    # Largest request body in bytes; None: GATEWAY_MAX_JSON_BYTES for JSON bodies (see body_limit).
    max_body_bytes: int | None = None
    # The view reads an Idempotency-Key header (inputs.idempotency_key): documented as a parameter,
    # with the 422 of a key reused for a different request.
    idempotency_key: bool = False
    # A GET answered with a weak ETag of its JSON body, and 304 on a matching If-None-Match
    # (gateway.etags): for lists the dashboard polls.
    conditional: bool = False
    # Success statuses other than `status`, e.g. 200 with the body instead of a 302 for a fetch.
    alternatives: Mapping[int, AlternativeResponse] = field(default_factory=dict)

    @property
    def json_body(self) -> bool:
        """The request body, if any, is JSON: a body model, or raw content that is JSON only."""
        return self.body is not None or (
            self.request_content is not None and set(self.request_content) == {"application/json"}
        )

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


class RouteGroup:
    """Routes of one area written in a file of their own; the area's ApiModule mounts the groups
    with `include`, in the order given, which is the order of the OpenAPI document.

    Declared exactly like ApiModule.route: `@routes.route("GET", "/alerts", summary=..., ...)`."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, str, dict[str, Any], Callable[..., ViewResult]]] = []

    def route(
        self, method: str, path: str, **options: Any
    ) -> Callable[[Callable[..., ViewResult]], Callable[..., ViewResult]]:
        def decorator(view: Callable[..., ViewResult]) -> Callable[..., ViewResult]:
            self.routes.append((method, path, options, view))
            return view

        return decorator


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
        max_body_bytes: int | None = None,
        idempotency_key: bool = False,
        conditional: bool = False,
        alternatives: Mapping[int, AlternativeResponse] | None = None,
    ) -> Callable[[Callable[..., ViewResult]], Callable[..., ViewResult]]:
        """Declare an endpoint. The view receives path parameters, plus `body=`/`query=` models.

        `problems` lists only the error statuses the rest of the declaration does not imply: the
        OpenAPI document adds 400 for a body or query, 413/415 for a JSON body, 401/403 for a
        permission, 404 for a path parameter and 422 for an idempotency key (openapi._operation).
        `max_body_bytes` overrides the body limit of this route (default: GATEWAY_MAX_JSON_BYTES
        for JSON bodies, the app-wide GATEWAY_MAX_UPLOAD_BYTES otherwise). `idempotency_key`
        documents the Idempotency-Key header the view reads. `conditional` (GET only) adds a weak
        ETag of the JSON reply and answers 304 to a matching If-None-Match (gateway.etags).
        `alternatives` documents other success statuses the view answers with (its Reply sets them)."""
        if conditional and method.upper() != "GET":
            raise ValueError(f"{path}: only a GET can be conditional")

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
                max_body_bytes=max_body_bytes,
                idempotency_key=idempotency_key,
                conditional=conditional,
                alternatives=dict(alternatives or {}),
            )
            self.operations.append(op)
            self.blueprint.add_url_rule(
                op.rule, endpoint=view.__name__, view_func=_wrap(op, view), methods=[op.method]
            )
            return view

        return decorator

    def include(self, *groups: RouteGroup) -> ApiModule:
        """Mount the routes of `groups` (one area split over several files) under this module's name:
        endpoints and operation ids are `<module>.<view>` whichever file a view is written in."""
        for group in groups:
            for method, path, options, view in group.routes:
                self.route(method, path, **options)(view)
        return self


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
        # Size first, from the header alone: nothing of the body is read before the caller is known.
        limit = body_limit(op)
        if limit is not None:
            enforce_body_limit(limit)
        if op.permission is not None:
            claims = sessions.authenticate(deps().identity, _bearer_token())
            if not allowed(claims.role, op.permission):
                raise ApiProblem(403, f"the {claims.role.value} role may not {op.summary.lower()}")
            g.claims = claims
            tenant_id_var.set(claims.tenant_id)
        kwargs: dict[str, Any] = clean_path_params(path_params)
        if op.body is not None:
            kwargs["body"] = parse_body(op.body)
        if op.query is not None:
            kwargs["query"] = parse_query(op.query)
        response = _to_response(view(**kwargs), op.status)
        return conditional_get(response, request.headers.get("If-None-Match")) if op.conditional else response

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


def body_limit(op: Operation) -> int | None:
    """The body limit of `op` in bytes (None: the app-wide MAX_CONTENT_LENGTH applies)."""
    if op.max_body_bytes is not None:
        return op.max_body_bytes
    if op.json_body:
        return deps().settings.max_json_bytes
    return None


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def versioned(body: BaseModel, version: int) -> Reply:
    """A resource with its version as the ETag: what the client sends back in If-Match."""
    return Reply(body, headers=etag(version))


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
