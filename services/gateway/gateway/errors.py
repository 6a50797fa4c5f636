"""Every error leaves the gateway as application/problem+json (RFC 9457).

One table maps gRPC status codes to HTTP statuses. It serves both the backends' errors and the
gateway's own domain errors (which are packed into the same google.rpc.Status first), so there
is exactly one path from "something went wrong" to a response. google.rpc details are decoded
into problem extension fields by pluggable decoders keyed by detail message type.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

import grpc
import redis
from flask import Flask, Response, g, json, request
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from omnistock.inventory.v1 import inventory_service_pb2
from omnistock_common.errors import DomainError
from omnistock_common.grpc_status import to_rpc_status

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://omnistock.dev/problems/"

# THE mapping of gRPC codes to HTTP. ABORTED is special-cased in http_status_for (412 vs 409).
GRPC_TO_HTTP: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}

_CODES_BY_NUMBER: dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}

# INVALID_ARGUMENT whose google.rpc.ErrorInfo reason is one of these is a 422 (API.md: semantically
# invalid), not a 400: the request is well-formed but cannot be honoured as it stands; the value is
# the problem's `type` slug. An Idempotency-Key already used for a DIFFERENT request is the case (a
# repeat of the same request returns the first result instead): the IETF Idempotency-Key draft
# (draft-ietf-httpapi-idempotency-key-header-07, section 2.7) says a reuse "with a different request
# payload" SHOULD get 422.
UNPROCESSABLE_REASONS: dict[str, str] = {"IDEMPOTENCY_KEY_REUSED": "idempotency-key-reused"}

# Short slugs for the problem `type` URI, one per HTTP status we produce.
_SLUGS: dict[int, str] = {
    400: "invalid-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "unprocessable",
    429: "rate-limited",
    500: "internal",
    503: "unavailable",
    504: "timeout",
}


def http_status_for(code: grpc.StatusCode, *, had_if_match: bool) -> int:
    """HTTP status for a gRPC code; anything unknown is a 500 (with no internals)."""
    if code is grpc.StatusCode.ABORTED and had_if_match:
        return 412
    return GRPC_TO_HTTP.get(code, 500)


class ApiProblem(Exception):
    """A problem document on its way out: raise it anywhere in a request."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        slug: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title or str(status))
        self.status = status
        self.title = title or _phrase(status)
        self.detail = detail
        self.slug = slug or _SLUGS.get(status, "error")
        self.extensions: dict[str, Any] = dict(extensions)
        if errors is not None:
            self.extensions["errors"] = errors
        self.headers: dict[str, str] = dict(headers or {})

    def to_dict(self) -> dict[str, Any]:
        """The problem document itself: the body of to_response, or a line of a streamed answer
        whose status was already sent (the NDJSON CSV import)."""
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if request:
            body["instance"] = request.path
            if request_id := getattr(g, "request_id", ""):
                body["request_id"] = request_id
        body.update(self.extensions)
        return body

    def to_response(self) -> Response:
        response = Response(json.dumps(self.to_dict()), status=self.status, mimetype=PROBLEM_JSON)
        for key, value in self.headers.items():
            response.headers[key] = value
        if self.status == 401:
            response.headers.setdefault("WWW-Authenticate", 'Bearer realm="omnistock"')
        return response


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# A decoder turns one google.rpc detail message into problem fields/headers, in place.
DetailDecoder = Callable[[Any, ApiProblem], None]


def decode_bad_request(detail: error_details_pb2.BadRequest, problem: ApiProblem) -> None:
    problem.extensions.setdefault("errors", []).extend(
        {"field": v.field, "message": v.description} for v in detail.field_violations
    )


def decode_error_info(detail: error_details_pb2.ErrorInfo, problem: ApiProblem) -> None:
    if detail.reason:
        problem.extensions["reason"] = detail.reason


def decode_retry_info(detail: error_details_pb2.RetryInfo, problem: ApiProblem) -> None:
    seconds = detail.retry_delay.seconds + detail.retry_delay.nanos / 1e9
    problem.headers["Retry-After"] = str(max(1, math.ceil(seconds)))


def decode_insufficient_stock(detail: inventory_service_pb2.InsufficientStock, problem: ApiProblem) -> None:
    """API.md: a reservation that cannot be held is 409 with `lines: [{sku, requested, available}]`."""
    problem.extensions["lines"] = [
        {"sku": line.sku, "requested": line.requested, "available": line.available}
        | ({"location": line.location_code} if line.location_code else {})
        for line in detail.lines
    ]


def default_decoders() -> dict[type[Message], DetailDecoder]:
    return {
        error_details_pb2.BadRequest: decode_bad_request,
        error_details_pb2.ErrorInfo: decode_error_info,
        error_details_pb2.RetryInfo: decode_retry_info,
        inventory_service_pb2.InsufficientStock: decode_insufficient_stock,
    }


class ErrorMapper:
    """gRPC status (remote or local) → ApiProblem. Add decoders for new detail types with register()."""

    def __init__(self, decoders: Mapping[type[Message], DetailDecoder] | None = None) -> None:
        self._decoders: dict[type[Message], DetailDecoder] = dict(
            default_decoders() if decoders is None else decoders
        )

    def register(self, message_type: type[Message], decoder: DetailDecoder) -> None:
        self._decoders[message_type] = decoder

    def from_status(self, status: status_pb2.Status, *, had_if_match: bool) -> ApiProblem:
        code = _CODES_BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN)
        http = http_status_for(code, had_if_match=had_if_match)
        if http >= 500 and http not in (503, 504):
            # INTERNAL, UNKNOWN, DATA_LOSS...: the message may carry internals; say nothing.
            return ApiProblem(500, "internal error")
        problem = ApiProblem(http, status.message or None)
        for packed in status.details:
            for message_type, decoder in self._decoders.items():
                if packed.Is(message_type.DESCRIPTOR):
                    detail = message_type()
                    packed.Unpack(detail)
                    decoder(detail, problem)
                    break
        slug = UNPROCESSABLE_REASONS.get(problem.extensions.get("reason", ""))
        if code is grpc.StatusCode.INVALID_ARGUMENT and slug:
            return _with_status(problem, 422, slug=slug)
        return problem

    def from_rpc_error(self, err: grpc.RpcError, *, had_if_match: bool) -> ApiProblem:
        status: status_pb2.Status | None = None
        if isinstance(err, grpc.Call):
            try:
                status = rpc_status.from_call(err)
            except ValueError:
                status = None
            if status is None:
                status = status_pb2.Status(code=err.code().value[0], message=err.details() or "")
        if status is None:
            status = status_pb2.Status(code=grpc.StatusCode.UNKNOWN.value[0])
        problem = self.from_status(status, had_if_match=had_if_match)
        if problem.status == 503:
            problem.detail = "a backend service is unavailable"
        elif problem.status == 504:
            problem.detail = "a backend service did not answer in time"
        return problem

    def from_domain_error(self, err: DomainError, *, had_if_match: bool) -> ApiProblem:
        status = to_rpc_status(err)
        retry_after = getattr(err, "retry_after", None)
        if retry_after:
            holder = status.details.add()
            holder.Pack(error_details_pb2.RetryInfo(retry_delay={"seconds": int(retry_after)}))
        return self.from_status(status, had_if_match=had_if_match)


def _with_status(problem: ApiProblem, status: int, *, slug: str | None = None) -> ApiProblem:
    """The same problem (detail, extensions, headers) under another status (and type slug)."""
    return ApiProblem(status, problem.detail, slug=slug, headers=problem.headers, **problem.extensions)


def install_error_handlers(app: Flask, mapper: ErrorMapper) -> None:
    """Route every exception through problem+json; nothing falls back to Flask's HTML pages."""

    def had_if_match() -> bool:
        return "If-Match" in request.headers

    @app.errorhandler(ApiProblem)
    def _problem(err: ApiProblem) -> Response:
        return err.to_response()

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        status = err.code or 500
        headers: dict[str, str] = {}
        if isinstance(err, MethodNotAllowed) and err.valid_methods:
            headers["Allow"] = ", ".join(sorted(err.valid_methods))
        return ApiProblem(status, err.description, title=err.name, headers=headers).to_response()

    @app.errorhandler(grpc.RpcError)
    def _rpc(err: grpc.RpcError) -> Response:
        problem = mapper.from_rpc_error(err, had_if_match=had_if_match())
        if problem.status >= 500:
            code = err.code() if isinstance(err, grpc.Call) else None
            log.warning("backend call failed: %s", code, extra={"http_status": problem.status})
        return problem.to_response()

    @app.errorhandler(DomainError)
    def _domain(err: DomainError) -> Response:
        return mapper.from_domain_error(err, had_if_match=had_if_match()).to_response()

    @app.errorhandler(redis.RedisError)
    def _redis(err: redis.RedisError) -> Response:
        log.error("redis unavailable: %s", type(err).__name__)
        return ApiProblem(503, "a dependency is unavailable").to_response()

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        log.exception("unhandled error")
        return ApiProblem(500, "internal error").to_response()
