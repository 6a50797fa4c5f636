"""Input hygiene for every route, applied by the route registry (gateway.api) before a view runs.

A JSON body is size-checked from Content-Length before anything is read (and before the caller is
authenticated, which costs nothing but the header), capped while it is read when the length is
not announced, parsed with a nesting limit, refused if any string holds NUL or a lone surrogate,
and validated in pydantic's strict mode. Path parameters are identifiers
(omnistock_common.identifiers): refused control, bidi and zero-width characters, NFC-normalised
before the view sees them. The conditional headers a view reads (If-Match, Idempotency-Key) are
checked here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from flask import current_app, g, request
from pydantic import BaseModel, ValidationError

from gateway.errors import ApiProblem
from gateway.schemas import INT64_MAX, validation_errors
from omnistock_common.identifiers import IdentifierError, clean_identifier

M = TypeVar("M", bound=BaseModel)
# Request bodies are objects a few levels deep (items[].price.amount); anything deeper is abuse.
MAX_JSON_DEPTH = 32
# `If-Match: "<version>"` (quotes optional, weak prefix tolerated); ASCII digits only, because
# str.isdigit() also accepts "²" or Arabic-Indic digits, which int() then rejects or reinterprets.
_IF_MATCH = re.compile(r'(?:W/)?("?)([0-9]+)\1')
IDEMPOTENCY_HEADER = "Idempotency-Key"


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
        limit = current_app.extensions["omnistock"].settings.max_json_bytes
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
