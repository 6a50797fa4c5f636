"""Why a channel call produced no usable response: the exceptions of the channel HTTP client.

connector_base.map_channel_error turns them into the connector contract's gRPC statuses.
"""

from __future__ import annotations

import httpx

from omnistock_common.egress import HOST_NOT_ALLOWED


class ChannelHttpError(Exception):
    """A channel call that did not produce a usable response.

    `retryable` tells the caller whether trying again later can help (exhausted retries on
    429/5xx/timeouts, a rate-limit wait that was too long) or not. `retry_after` is the channel's
    (or the bucket's) hint in seconds when one is known, for google.rpc.RetryInfo.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        response: httpx.Response | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.response = response
        self.retryable = retryable
        self.retry_after = retry_after


class EgressRefusedError(ChannelHttpError):
    """The destination is not allowed (egress.py). Always the same message, never retried."""

    def __init__(self) -> None:
        super().__init__(HOST_NOT_ALLOWED, retryable=False)


class ResponseTooLarge(ChannelHttpError):
    """The channel's response body exceeded the client's cap; nothing of it is used.

    ChannelHttpClient raises it for omnistock_common.egress_transport.ResponseTooLarge (what
    read_capped raises), so connector code keeps handling one ChannelHttpError hierarchy.
    """

    def __init__(self, status: int | None) -> None:
        super().__init__("channel response too large", status=status, retryable=False)


class RateLimitTimeout(ChannelHttpError):
    """The local token bucket would not grant a token within `max_wait` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, retryable=True, retry_after=retry_after)
