"""Idempotent requests: one key, one answer. A repeat with the same body gets the first answer;
the same key with another body is a client bug and is refused (INVALID_ARGUMENT)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from omnistock_common.errors import FieldViolation, InvalidArgument
from orders.domain.model import MAX_TEXT


def validate_key(key: str) -> None:
    if len(key) > MAX_TEXT:
        raise InvalidArgument(
            "idempotency_key is too long",
            violations=[FieldViolation("idempotency_key", f"at most {MAX_TEXT} characters")],
        )


def canonical_json(command: Any) -> str:
    """A command dataclass as canonical JSON, without its idempotency key."""
    body = {k: v for k, v in asdict(command).items() if k != "idempotency_key"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(command: Any) -> str:
    return hashlib.sha256(canonical_json(command).encode()).hexdigest()


@dataclass(frozen=True)
class Operation:
    """A claimed request (scope, key). `response` is the stored first answer once done."""

    scope: str
    key: str
    request_hash: str
    order_id: str
    payload: dict[str, Any]
    done: bool
    response: dict[str, Any] | None = None


def require_same_request(operation: Operation, request_hash: str) -> None:
    if operation.request_hash != request_hash:
        raise InvalidArgument(
            "idempotency_key was already used with a different request",
            reason="IDEMPOTENCY_KEY_REUSED",
            violations=[FieldViolation("idempotency_key", "already used with a different request body")],
        )
