"""The edge between domain errors and gRPC: `DomainError` → `google.rpc.Status` with typed details.

Only the shared interceptor, the gateway's error mapper and tests use this; domain code raises
`omnistock_common.errors` and never sees a status.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from omnistock_common.errors import DomainError, InvalidArgument

ERROR_DOMAIN = "omnistock.dev"


def grpc_code(error: DomainError) -> grpc.StatusCode:
    return grpc.StatusCode[error.code.value]


def status_details(error: DomainError) -> list[Message]:
    """The error's own payloads, then ErrorInfo (reason), BadRequest (violations), RetryInfo."""
    extra: list[Message] = list(error.details)
    if error.reason:
        extra.append(error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN))
    if isinstance(error, InvalidArgument) and error.violations:
        extra.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.message)
                    for v in error.violations
                ]
            )
        )
    if error.retry_after is not None:
        seconds = max(0.0, error.retry_after)
        whole = int(seconds)
        extra.append(
            error_details_pb2.RetryInfo(
                retry_delay=duration_pb2.Duration(seconds=whole, nanos=int((seconds - whole) * 1e9))
            )
        )
    return extra


def to_rpc_status(error: DomainError) -> status_pb2.Status:
    packed = []
    for detail in status_details(error):
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    return status_pb2.Status(code=grpc_code(error).value[0], message=error.message, details=packed)


def internal_status(request_id: str) -> status_pb2.Status:
    return status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=f"internal error (request id {request_id})" if request_id else "internal error",
    )
