"""Outgoing gRPC: channels with sane options, and stubs that always carry a deadline."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import grpc

from omnistock_common.context import CallContext
from omnistock_common.service_auth import TokenSigner

# Retry UNAVAILABLE transparently a few times (server restarting, connection reset).
_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


def make_channel(target: str) -> grpc.Channel:
    return grpc.insecure_channel(
        target,
        options=[
            ("grpc.enable_retries", 1),
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ],
    )


StubT = TypeVar("StubT")


class DeadlineStub(Generic[StubT]):
    """Wraps a generated stub so every call gets a timeout and the caller's signed identity.

    Usage: catalog = DeadlineStub(CatalogServiceStub(channel), timeout=5.0)
           catalog.call(ctx).GetProduct(request)
    `.call(ctx)` attaches an internal token for ctx's tenant, user and role, signed by `signer`
    (default: the process's, from INTERNAL_TOKEN_SECRET), and ctx's request id.
    """

    def __init__(self, stub: StubT, timeout: float, *, signer: TokenSigner | None = None) -> None:
        self._stub = stub
        self.timeout = timeout
        self._signer = signer

    def call(self, ctx: CallContext, timeout: float | None = None) -> StubT:
        return _BoundStub(self._stub, ctx.metadata(self._signer), timeout or self.timeout)  # type: ignore[return-value]


class _BoundStub:
    def __init__(self, stub: Any, metadata: Sequence[tuple[str, str]], timeout: float) -> None:
        self._stub = stub
        self._metadata = metadata
        self._timeout = timeout

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._stub, name)

        def invoke(request: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", self._timeout)
            kwargs.setdefault("metadata", self._metadata)
            return method(request, **kwargs)

        return invoke
