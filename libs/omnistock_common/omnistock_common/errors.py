"""Domain errors and their mapping to gRPC status codes with google.rpc details.

Domain and service code raise these; one interceptor turns them into statuses, so servicers
never build statuses by hand. Anything else that escapes becomes INTERNAL with no internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

ERROR_DOMAIN = "omnistock.dev"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    message: str


@dataclass(eq=False)
class DomainError(Exception):
    """Base of every error the application raises on purpose."""

    message: str
    reason: str = ""
    # Extra typed protobuf messages for callers (packed as google.rpc.Status details).
    details: list[Message] = field(default_factory=list)

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def status_details(self) -> list[Message]:
        extra: list[Message] = list(self.details)
        if self.reason:
            extra.append(error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN))
        return extra


@dataclass(eq=False)
class InvalidArgument(DomainError):
    violations: list[FieldViolation] = field(default_factory=list)
    code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT

    def status_details(self) -> list[Message]:
        extra = super().status_details()
        if self.violations:
            extra.append(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.message)
                        for v in self.violations
                    ]
                )
            )
        return extra


@dataclass(eq=False)
class NotFound(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.NOT_FOUND


@dataclass(eq=False)
class AlreadyExists(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.ALREADY_EXISTS


@dataclass(eq=False)
class FailedPrecondition(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION


@dataclass(eq=False)
class Aborted(DomainError):
    """A conditional write lost a race (version mismatch); the caller may retry after re-reading."""

    code: grpc.StatusCode = grpc.StatusCode.ABORTED


@dataclass(eq=False)
class PermissionDenied(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.PERMISSION_DENIED


@dataclass(eq=False)
class Unauthenticated(DomainError):
    code: grpc.StatusCode = grpc.StatusCode.UNAUTHENTICATED


def to_rpc_status(error: DomainError) -> status_pb2.Status:
    packed = []
    for detail in error.status_details():
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    return status_pb2.Status(code=error.code.value[0], message=error.message, details=packed)


def internal_status(request_id: str) -> status_pb2.Status:
    return status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=f"internal error (request id {request_id})" if request_id else "internal error",
    )
