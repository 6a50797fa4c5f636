"""Opaque keyset cursors: a sort key as URL-safe base64 without padding, one format for every
service. Clients treat a cursor as a blob; the service that issued it reads it back."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any


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
