"""Context → client: the `ChannelHttpClient` of one RPC for one connection.

A connector keeps no state between calls. Each RPC carries a `ConnectionContext`; the connector's
own `ClientFactory` (in its client.py) derives the channel's base URL and credentials from it and
asks `ChannelHttpFactory.open` for the HTTP client: bucket per connection, retry policy, egress
guard and the channel's hooks are fixed at start-up by the composition root. Channel failures
leave `open` as the contract's errors (connector_base.translate_channel_errors) and the client is
always closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpx

from omnistock_common.egress import EgressPolicy
from omnistock_connector_kit.call_budget import effective_deadline
from omnistock_connector_kit.channel_http import ChannelHttpClient
from omnistock_connector_kit.connector_base import build_http_client, translate_channel_errors
from omnistock_connector_kit.rate_limit import BucketLevel, RateLimiter
from omnistock_connector_kit.retry import RetryPolicy

__all__ = ["ChannelClient", "ChannelHttpFactory", "ClientFactory"]

ClientT_co = TypeVar("ClientT_co", covariant=True)
# Without a caller deadline: a little under the channels worker's default connector deadline (30 s).
DEFAULT_CALL_BUDGET_SECONDS = 28.0


class ChannelClient:
    """Base of every connector's channel client (its client.py): one connection's operations over
    one `ChannelHttpClient`, and what the RPC's answer and the sync log report of it."""

    http: ChannelHttpClient

    @property
    def calls(self) -> int:
        """HTTP attempts made so far (retries included): what the channel actually saw."""
        return len(self.http.calls)

    @property
    def retried(self) -> list[str]:
        """What each retried HTTP attempt met, for the sync log."""
        return list(self.http.retried)


class ClientFactory(Protocol[ClientT_co]):
    """What a connector servicer needs from its client.py: a channel client per RPC."""

    def open(self, connection: Any) -> AbstractContextManager[ClientT_co]:
        """The channel client for `connection`, closed when the block ends."""
        ...


@dataclass(frozen=True)
class ChannelHttpFactory:
    """Builds the rate-limited, retrying, egress-guarded HTTP client of one call.

    `transport` is for tests only: it returns an in-process transport per call, which replaces
    the network and with it the egress guard. `sleep` replaces real backoff waits in tests.
    """

    limiter: RateLimiter
    egress: EgressPolicy = field(default_factory=EgressPolicy)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 10.0
    # Longest wait for a token of the local bucket before RESOURCE_EXHAUSTED.
    max_wait: float = 30.0
    # Channel hooks (see ChannelHttpClient): a throttle signal in a 200 body, the bucket level
    # the channel reports.
    throttle_delay: Callable[[httpx.Response], float | None] | None = None
    bucket_observer: Callable[[httpx.Response], BucketLevel | float | None] | None = None
    sleep: Callable[[float], None] | None = None
    transport: Callable[[], httpx.BaseTransport] | None = None
    # Longest one call (retries, sleeps and bucket waits included) may take when the gRPC caller
    # set no deadline; with one, the caller's deadline minus a margin wins (call_budget.py).
    call_budget: float | None = DEFAULT_CALL_BUDGET_SECONDS

    @contextmanager
    def open(
        self,
        connection: Any,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[ChannelHttpClient]:
        """A client on `base_url` (from connector_base.channel_base_url) for this connection."""
        http = build_http_client(
            connection,
            base_url=base_url,
            egress=None if self.transport is not None else self.egress,
            limiter=self.limiter,
            retry=self.retry,
            timeout=self.timeout,
            auth=auth,
            headers=headers,
            transport=self.transport() if self.transport is not None else None,
            sleep=self.sleep,
            throttle_delay=self.throttle_delay,
            max_wait=self.max_wait,
            bucket_observer=self.bucket_observer,
            deadline=effective_deadline(self.call_budget),
        )
        try:
            with translate_channel_errors():
                yield http
        finally:
            http.close()
