"""The route registry: one decorator declares an endpoint's path, method, roles and models.

From that single declaration the gateway authenticates the caller, enforces the role policy,
validates the body and query with pydantic, serializes the reply, and writes the OpenAPI
operation. A route module owns one `ApiModule`; app.py registers a plain list of them:

    api = ApiModule("inventory", tag="Inventory")

    @api.route("GET", "/inventory/<sku>", summary="Stock of one SKU",
               permission=Permission.INVENTORY_READ, response=StockOut, problems=(404,))
    def get_stock(sku: str) -> StockOut: ...

Input hygiene lives here, once for every route: a JSON body is size-checked from Content-Length
before anything is read (and before the caller is authenticated, which costs nothing but the
header), capped while it is read when the length is not announced, parsed with a nesting limit,
refused if any string holds NUL or a lone surrogate, and validated in pydantic's strict mode.
Path parameters are identifiers (omnistock_common.identifiers): refused control, bidi and
zero-width characters, NFC-normalised before the view sees them.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, g, request
from pydantic import BaseModel, ValidationError

from gateway.domain import POLICY, Permission, allowed
from gateway.errors import ApiProblem
from gateway.schemas import INT64_MAX, validation_errors
from omnistock_common.context import CallContext
from omnistock_common.identifiers import IdentifierError, clean_identifier
from omnistock_common.logging import tenant_id_var

if TYPE_CHECKING:
    from gateway.auth import AccessClaims
    from gateway.deps import Deps

API_PREFIX = "/api/v1"
M = TypeVar("M", bound=BaseModel)
_RULE_PARAM = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
# Request bodies are objects a few levels deep (items[].price.amount); anything deeper is abuse.
MAX_JSON_DEPTH = 32
# `If-Match: "<version>"` (quotes optional, weak prefix tolerated); ASCII digits only, because
# str.isdigit() also accepts "²" or Arabic-Indic digits, which int() then rejects or reinterprets.
_IF_MATCH = re.compile(r'(?:W/)?("?)([0-9]+)\1')
IDEMPOTENCY_HEADER = "Idempotency-Key"


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
    # Largest request body in bytes; None: GATEWAY_MAX_JSON_BYTES for JSON bodies (see body_limit).
    max_body_bytes: int | None = None

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
    ) -> Callable[[Callable[..., ViewResult]], Callable[..., ViewResult]]:
        """Declare an endpoint. The view receives path parameters, plus `body=`/`query=` models.

        `max_body_bytes` overrides the body limit of this route (default: GATEWAY_MAX_JSON_BYTES
        for JSON bodies, the app-wide GATEWAY_MAX_UPLOAD_BYTES otherwise)."""

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
            claims = deps().auth.authenticate(_bearer_token())
            if not allowed(claims.role, op.permission):
                raise ApiProblem(403, f"the {claims.role.value} role may not {op.summary.lower()}")
            g.claims = claims
            tenant_id_var.set(claims.tenant_id)
        kwargs: dict[str, Any] = clean_path_params(path_params)
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


def body_limit(op: Operation) -> int | None:
    """The body limit of `op` in bytes (None: the app-wide MAX_CONTENT_LENGTH applies)."""
    if op.max_body_bytes is not None:
        return op.max_body_bytes
    if op.json_body:
        return deps().settings.max_json_bytes
    return None


def enforce_body_limit(limit: int) -> None:
    """413 from Content-Length without reading; an unannounced (chunked) body is read up to one
    byte past `limit` (load_json_body then refuses it)."""
    g.body_limit = limit
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    # werkzeug stops a length-less (chunked) body at max_content_length without an error, so a
    # body cut at exactly `limit` would look whole: read one byte more and refuse it if it came.
    request.max_content_length = limit + 1


def _too_large(limit: int) -> ApiProblem:
    return ApiProblem(413, f"the request body is larger than {limit} bytes", max_bytes=limit)


def clean_path_params(path_params: Mapping[str, Any]) -> dict[str, Any]:
    """Path parameters are identifiers: refused control/bidi/zero-width characters, NFC."""
    out: dict[str, Any] = {}
    problems = []
    for name, value in path_params.items():
        try:
            out[name] = clean_identifier(value) if isinstance(value, str) else value
        except IdentifierError as exc:
            problems.append({"field": name, "message": str(exc)})
    if problems:
        raise ApiProblem(400, "invalid path parameter", errors=problems)
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json_body() -> Any:
    """The body as JSON: 400 when malformed, nested deeper than MAX_JSON_DEPTH or holding NUL."""
    limit = getattr(g, "body_limit", None)
    if limit is None:
        limit = deps().settings.max_json_bytes
        enforce_body_limit(limit)
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise _too_large(limit)
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        # The C parser recurses once per level; ~1000 levels exhaust the stack before our check.
        raise _nesting_problem() from None
    except ValueError as exc:  # JSONDecodeError, invalid UTF-8, an integer of > 4300 digits
        raise ApiProblem(
            400, "malformed JSON body", errors=[{"field": "body", "message": _short(str(exc))}]
        ) from None
    check_json_tree(data)
    return data


def _nesting_problem() -> ApiProblem:
    return ApiProblem(
        400,
        f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels",
        errors=[{"field": "body", "message": f"at most {MAX_JSON_DEPTH} levels of nesting"}],
    )


def check_json_tree(data: Any) -> None:
    """Depth limit, and no NUL or lone surrogate in any key or string (storage cannot hold them).

    Iterative, so a hostile document cannot exhaust the stack here either; scalars are checked
    in place and a field path is only spelled out for the error, so a 1 MiB array costs little."""
    if isinstance(data, str):
        _check_text(data, ())
    if not isinstance(data, dict | list):
        return
    # (container, depth, location); a location is (parent location, key), () for the root.
    stack: list[tuple[Any, int, Any]] = [(data, 1, ())]
    while stack:
        value, depth, location = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _nesting_problem()
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                _check_text(key, (location, key))
            if isinstance(item, str):
                _check_text(item, (location, key))
            elif isinstance(item, dict | list):
                stack.append((item, depth + 1, (location, key)))


def _path(location: Any) -> str:
    """(((), "items"), 0), "sku") -> "items[0].sku"."""
    parts: list[str | int] = []
    while location:
        location, key = location
        parts.append(key)
    out = ""
    for part in reversed(parts):
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out or "body"


def _check_text(text: str, location: Any, *, field: str | None = None) -> None:
    if text.isascii():
        if "\x00" not in text:
            return
        message = "must not contain NUL characters"
    elif "\x00" in text:
        message = "must not contain NUL characters"
    else:
        try:
            text.encode("utf-8")
            return
        except UnicodeEncodeError:
            message = "must not contain unpaired surrogates (invalid Unicode)"
    name = field or _path(location)
    problem = "invalid query parameters" if field else "invalid request body"
    raise ApiProblem(400, problem, errors=[{"field": _short(name), "message": message}])


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def parse_body(model: type[M]) -> M:
    """The JSON body as `model`, validated strictly: no bool/str/float coercion into numbers."""
    if not request.is_json:
        raise ApiProblem(415, "the request body must be JSON (Content-Type: application/json)")
    data = load_json_body()
    if not isinstance(data, dict):
        raise ApiProblem(
            400, "the body must be a JSON object", errors=[{"field": "body", "message": "expected an object"}]
        )
    try:
        return model.model_validate_json(request.get_data(cache=True), strict=True)
    except ValidationError as exc:
        raise ApiProblem(400, "invalid request body", errors=validation_errors(exc)) from None


def parse_query(model: type[M]) -> M:
    args: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        for value in values:
            _check_text(value, (), field=f"query.{key}")
        args[key] = values if len(values) > 1 else values[0]
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise ApiProblem(
            400, "invalid query parameters", errors=validation_errors(exc, root="query")
        ) from None


def if_match_version() -> int | None:
    """The version in `If-Match: "<version>"` (None without the header or for `*`).

    ASCII digits only; a well-formed version beyond int64 can match no stored version: 412."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    match = _IF_MATCH.fullmatch(raw.strip())
    digits = match.group(2).lstrip("0") if match else ""
    if not digits:  # not an ETag, or version 0
        raise ApiProblem(
            400,
            'If-Match must be an ETag such as "3"',
            errors=[{"field": "If-Match", "message": "expected a quoted version number"}],
        )
    if len(digits) > len(str(INT64_MAX)) or int(digits) > INT64_MAX:
        raise ApiProblem(
            412,
            "If-Match names a version that does not exist; re-read the resource and retry",
            reason="VERSION_MISMATCH",
        )
    return int(digits)


def idempotency_key() -> str:
    """The Idempotency-Key header: an identifier of at most 256 characters (400 otherwise); "" if absent."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    try:
        key = clean_identifier(key)
    except IdentifierError as exc:
        raise ApiProblem(
            400, "invalid Idempotency-Key", errors=[{"field": IDEMPOTENCY_HEADER, "message": str(exc)}]
        ) from None
    if len(key) > 256:
        raise ApiProblem(
            400,
            "invalid Idempotency-Key",
            errors=[{"field": IDEMPOTENCY_HEADER, "message": "at most 256 characters"}],
        )
    return key


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
