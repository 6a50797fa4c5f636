"""Idempotency keys: the fingerprint of the request a key was first used with, and the rule that a
key reused with a different request is refused.

Stripe's rule (https://docs.stripe.com/idempotency: "The idempotency layer compares incoming
parameters to those of the original request and errors if they're not the same to prevent
accidental misuse"), and the IETF Idempotency-Key draft's (draft-ietf-httpapi-idempotency-key-
header-07, section 2.7: a reuse "with a different request payload" SHOULD get HTTP 422). A repeat
of the same request still gets the first answer; a different one gets INVALID_ARGUMENT with the
reason below, which the gateway turns into 422 problem+json.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

from omnistock_common.errors import FieldViolation, InvalidArgument

# google.rpc.ErrorInfo.reason of the refusal (the gateway maps it to 422).
IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


def _canonical(value: Any) -> Any:
    """Plain JSON values of a request: dataclasses as objects of their fields, enums as values,
    sequences as lists (order kept: it is part of the request and of the answer)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"no canonical form for {type(value).__name__}")


def request_fingerprint(operation: str, request: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of the fields that define a request (never the key)."""
    canonical = json.dumps(
        {"operation": operation, "request": _canonical(request)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_reused() -> InvalidArgument:
    """The refusal of a key whose first request was a different one."""
    return InvalidArgument(
        "this idempotency key was used with a different request; use a new key for a new request",
        reason=IDEMPOTENCY_KEY_REUSED,
        violations=[FieldViolation("idempotency_key", "reused with a different request")],
    )


def same_request(stored: str | None, fingerprint: str) -> bool:
    """Whether a key's stored fingerprint is this request's. A record written before
    fingerprints were stored (None or "") cannot be compared and is accepted."""
    return not stored or stored == fingerprint


def check_same_request(stored: str | None, fingerprint: str) -> None:
    """Raise key_reused() unless same_request()."""
    if not same_request(stored, fingerprint):
        raise key_reused()
