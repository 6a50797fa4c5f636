"""Outgoing gRPC: channels with sane options, and stubs that always carry a deadline."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
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


class PerThreadStub(Generic[StubT]):
    """A DeadlineStub per OS thread, made on a thread's first call; `close()` closes every channel.

    Why: the nameko workers call services from OS threads (eventlet's tpool, the sync dispatcher),
    where one gRPC channel shared between threads deadlocks (docs/architecture.md, Events). In a
    patched worker pass the ORIGINAL threading module's `local` and module (`threads`), so the
    thread-locals and the lock are the operating system's, not green ones.
    """

    def __init__(
        self,
        address: str,
        timeout: float,
        make_stub: Callable[[grpc.Channel], StubT],
        *,
        local_factory: Callable[[], Any] = threading.local,
        threads: ModuleType = threading,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self._make_stub = make_stub
        self._local = local_factory()
        self._lock = threads.Lock()
        self._channels: list[grpc.Channel] = []

    def get(self) -> DeadlineStub[StubT]:
        stub: DeadlineStub[StubT] | None = getattr(self._local, "stub", None)
        if stub is None:
            channel = make_channel(self.address)
            with self._lock:
                self._channels.append(channel)
            stub = DeadlineStub(self._make_stub(channel), self.timeout)
            self._local.stub = stub
        return stub

    def close(self) -> None:
        with self._lock:
            for channel in self._channels:
                channel.close()
            self._channels.clear()


class _BoundStub:
    def __init__(self, stub: Any, metadata: Sequence[tuple[str, str]], timeout: float) -> None:
        self._stub = stub
        self._metadata = metadata
        self._timeout = timeout

    def __getattr__(self, name: str) -> _BoundMethod:
        return _BoundMethod(getattr(self._stub, name), self._metadata, self._timeout)


class _BoundMethod:
    """One RPC of a bound stub: called like the generated method, or `.future(request)` for a
    unary-response call the caller polls and may cancel (the gateway's streamed CSV import reports
    progress while the call runs); either way with the deadline and the signed identity."""

    def __init__(self, method: Any, metadata: Sequence[tuple[str, str]], timeout: float) -> None:
        self._method = method
        self._metadata = metadata
        self._timeout = timeout

    def _options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("timeout", self._timeout)
        kwargs.setdefault("metadata", self._metadata)
        return kwargs

    def __call__(self, request: Any, **kwargs: Any) -> Any:
        return self._method(request, **self._options(kwargs))

    def future(self, request: Any, **kwargs: Any) -> Any:
        return self._method.future(request, **self._options(kwargs))
