"""Opaque keyset cursors: a sort key as URL-safe base64 without padding, one format for every
service. Clients treat a cursor as a blob; the service that issued it reads it back.

`read_cursor` and `page_limit` are the request side (docs/development.md: limit default 50, max
500): what a use case calls with the page fields of a request, raising InvalidArgument for a
token it did not issue.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from omnistock_common.errors import FieldViolation, InvalidArgument

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def b64_encode(raw: bytes) -> str:
    """URL-safe base64 without `=` padding (a cursor travels in query strings)."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64_decode(token: str) -> bytes | None:
    """Inverse of `b64_encode`, padded or not; None for anything that is not strict base64."""
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None


def encode_cursor(key: Sequence[Any]) -> str:
    """The cursor after a row with this sort key (JSON-serialisable values)."""
    return b64_encode(json.dumps(list(key), separators=(",", ":")).encode())


def decode_cursor(token: str, arity: int | None = None) -> list[Any] | None:
    """The sort key of a cursor from `encode_cursor`; None when the token is not one (bad
    base64, bad JSON, not a list, or not `arity` values long). The caller says what is wrong."""
    raw = b64_decode(token)
    if raw is None:
        return None
    try:
        key = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(key, list) or (arity is not None and len(key) != arity):
        return None
    return key


def read_cursor(token: str, *types: type, field: str = "page.cursor") -> list[Any] | None:
    """The sort key of a request's cursor, one value per type in `types`: None for the first
    page (empty token). `datetime` reads an ISO 8601 string (no offset = UTC). A token that is
    not such a cursor is InvalidArgument naming `field`, never a failure further down."""
    if not token:
        return None
    key = decode_cursor(token, arity=len(types))
    values = (
        None if key is None else [_key_value(value, kind) for value, kind in zip(key, types, strict=True)]
    )
    if values is None or any(value is None for value in values):
        raise InvalidArgument("invalid cursor", violations=[FieldViolation(field, "malformed")])
    return values


def _key_value(value: Any, kind: type) -> Any:
    """`value` as `kind`, or None when it is not one (bool is not an int here)."""
    if kind is datetime:
        if not isinstance(value, str):
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if isinstance(value, bool) and kind is not bool:
        return None
    return value if isinstance(value, kind) else None


def page_limit(limit: int, field: str = "page.limit") -> int:
    """Rows per page: 0 means the default (50), more than 500 is 500, negative is refused."""
    if limit < 0:
        raise InvalidArgument("invalid limit", violations=[FieldViolation(field, "must be >= 0")])
    return DEFAULT_LIMIT if limit == 0 else min(limit, MAX_LIMIT)
