"""Keyset pagination cursors and page sizes."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from omnistock_common.errors import FieldViolation, InvalidArgument

# --------------------------------------------------------------------------- pagination


def encode_cursor(key: Sequence[Any]) -> str:
    """Opaque keyset cursor: base64 of the last row's sort key."""
    return base64.urlsafe_b64encode(json.dumps(list(key), default=str).encode()).decode()


def decode_cursor(cursor: str, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise InvalidArgument(
            "invalid cursor", violations=[FieldViolation("page.cursor", "malformed")]
        ) from exc
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidArgument("invalid cursor", violations=[FieldViolation("page.cursor", "malformed")])
    return key


def page_limit(limit: int) -> int:
    """limit default 50, max 500 (docs/development.md)."""
    if limit < 0:
        raise InvalidArgument("invalid limit", violations=[FieldViolation("page.limit", "must be >= 0")])
    return 50 if limit == 0 else min(limit, 500)


def parse_time(raw: str) -> datetime:
    value = datetime.fromisoformat(raw)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
