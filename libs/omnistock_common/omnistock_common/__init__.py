"""Shared plumbing for OmniStock services: settings, logging, database, gRPC server and clients.

Nothing here knows about a particular service's domain.
"""

from omnistock_common.errors import (
    Aborted,
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)

__all__ = [
    "Aborted",
    "AlreadyExists",
    "DomainError",
    "FailedPrecondition",
    "FieldViolation",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "Unauthenticated",
]
