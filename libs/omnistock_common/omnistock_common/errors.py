"""Domain errors: what domain and service code raise on purpose.

Pure Python (no grpc, no protobuf), so every `domain.py` can raise them and stay free of the
transport. `omnistock_common.grpc_status` turns them into gRPC statuses with google.rpc details
at the edge (the shared interceptor), so servicers never build statuses by hand; anything else
that escapes becomes INTERNAL with no internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class Code(StrEnum):
    """The status codes application errors use; the names are gRPC's (google.rpc.Code)."""

    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    ABORTED = "ABORTED"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    INTERNAL = "INTERNAL"
    UNAVAILABLE = "UNAVAILABLE"
    DATA_LOSS = "DATA_LOSS"
    UNAUTHENTICATED = "UNAUTHENTICATED"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    message: str


@dataclass(eq=False)
class DomainError(Exception):
    """Base of every error the application raises on purpose."""

    message: str
    # Machine-readable reason (google.rpc.ErrorInfo.reason at the edge).
    reason: str = ""
    # Extra typed payloads for callers: protobuf messages, packed as google.rpc.Status details by
    # the edge. Domain code leaves this empty; mapping modules fill it.
    details: list[Any] = field(default_factory=list)
    # When the caller may try again (google.rpc.RetryInfo at the edge); None: no advice.
    retry_after: float | None = None

    # The status of every instance of the class: a class attribute, not a constructor argument.
    code: ClassVar[Code] = Code.UNKNOWN

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass(eq=False)
class InvalidArgument(DomainError):
    violations: list[FieldViolation] = field(default_factory=list)
    code = Code.INVALID_ARGUMENT


class NotFound(DomainError):
    code = Code.NOT_FOUND


class AlreadyExists(DomainError):
    code = Code.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    code = Code.FAILED_PRECONDITION


class Aborted(DomainError):
    """A conditional write lost a race (version mismatch); the caller may retry after re-reading."""

    code = Code.ABORTED


class PermissionDenied(DomainError):
    code = Code.PERMISSION_DENIED


class Unauthenticated(DomainError):
    code = Code.UNAUTHENTICATED


class ResourceExhausted(DomainError):
    """Rate limited; `retry_after` says when to come back."""

    code = Code.RESOURCE_EXHAUSTED


class Unavailable(DomainError):
    """A dependency failed (5xx, timeouts, connection errors); `retry_after` may say when to retry."""

    code = Code.UNAVAILABLE
