"""How long one connector RPC may spend on the channel, retries included.

Why: the channels worker calls a connector with a gRPC deadline (CHANNELS_CONNECTOR_TIMEOUT_SECONDS).
If the connector kept retrying past it, the worker would see DEADLINE_EXCEEDED (no RetryInfo, no
idea what the channel said) while the connector was still working, and the next flush would
overlap the abandoned one. So the connector's retry budget is DERIVED from the caller's deadline:
`DeadlineInterceptor` records each RPC's deadline in a context variable, and every
`ChannelHttpClient` opened during the RPC stops retrying (and bounds each attempt's timeout and
bucket wait) so that it answers `DEADLINE_MARGIN_SECONDS` before the caller gives up, with the
channel's own failure (UNAVAILABLE / RESOURCE_EXHAUSTED + RetryInfo). Without a deadline from the
caller the connector's own cap (`ChannelHttpFactory.call_budget`) applies.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from typing import Any

import grpc

__all__ = ["DEADLINE_MARGIN_SECONDS", "DeadlineInterceptor", "effective_deadline", "rpc_deadline"]

# The connector answers this long before the caller's deadline (network + serialisation slack).
DEADLINE_MARGIN_SECONDS = 1.0

# time.monotonic() at which the current RPC's caller gives up; None outside an RPC or without one.
rpc_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("rpc_deadline", default=None)


def effective_deadline(budget: float | None, *, now: Callable[[], float] = time.monotonic) -> float | None:
    """The monotonic time by which a channel call must be finished: the caller's deadline minus the
    margin, or `budget` seconds from now, whichever comes first (None: no limit at all)."""
    candidates = []
    caller = rpc_deadline.get()
    if caller is not None:
        candidates.append(caller - DEADLINE_MARGIN_SECONDS)
    if budget is not None:
        candidates.append(now() + budget)
    return min(candidates) if candidates else None


class DeadlineInterceptor(grpc.ServerInterceptor):
    """Puts each unary RPC's deadline (from `context.time_remaining()`) in `rpc_deadline` for the
    handler's thread; every connector RPC is unary-unary."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        def behaviour(request: Any, context: grpc.ServicerContext) -> Any:
            remaining = context.time_remaining()
            # No deadline reads as None (or, in some gRPC builds, as a practically infinite one).
            known = remaining is not None and remaining < 10**6
            token = rpc_deadline.set(time.monotonic() + remaining if known else None)
            try:
                return inner(request, context)
            finally:
                rpc_deadline.reset(token)

        return grpc.unary_unary_rpc_method_handler(
            behaviour,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
