"""Amazon's usage plans on our side: a token bucket per (connection, operation), and the
ChannelHttpClient hook that reads what Amazon reports (server.py installs both).

Amazon keeps one bucket per (selling partner, application, operation) with the rate and burst of
the operation's usage plan (protocol.api.USAGE_PLANS, from the models). The ChannelHttpClient takes
a token from `bucket_key` before each attempt; AmazonClient sets that key to
`<connection bucket>:<operation>` for each call, and `OperationLimiter` sizes each key's bucket by
the operation's plan: in Redis (shared by every replica) in production. `x-amzn-RateLimit-Limit`
on a response is the rate Amazon applied (a seller may have more than the default); a 429 means
the bucket is empty on Amazon's side, so ours is emptied too and the next attempt waits 1/rate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from amazon_connector import protocol as p
from omnistock_connector_kit.rate_limit import BucketLevel, RateLimiter

# A plan for an operation the table does not name (never used by this connector's calls).
FALLBACK_PLAN = (1.0, 1.0)


@dataclass(frozen=True)
class RateReport(BucketLevel):
    """What one answer says about the operation's bucket: the rate Amazon applied (header), and
    whether it refused for lack of tokens (429). `available` is 0 only for a 429."""

    throttled: bool = False


def rate_report(response: httpx.Response) -> BucketLevel | None:
    """ChannelHttpClient hook (bucket_observer): the rate header and the 429 signal."""
    rate = p.rate_limit_header(response.headers.get(p.RATE_LIMIT_HEADER))
    throttled = response.status_code == 429
    if rate is None and not throttled:
        return None
    return RateReport(available=0.0, refill_per_second=rate, throttled=throttled)


class OperationLimiter:
    """RateLimiter over one bucket per (connection, operation), each sized by the operation's
    usage plan, or by the rate Amazon reported for that connection and operation.

    `bucket_for(capacity, refill_per_second)` gives the underlying limiter of one plan (a
    RedisTokenBucket in production, InMemoryTokenBucket in tests); one is kept per distinct plan.
    Reported rates are remembered per key in this process (each replica learns them from its own
    answers; the bucket itself stays shared).
    """

    def __init__(
        self,
        bucket_for: Callable[[float, float], RateLimiter],
        plans: Mapping[str, tuple[float, float]] = p.USAGE_PLANS,
    ) -> None:
        self._bucket_for = bucket_for
        self._plans = dict(plans)
        self._lock = threading.Lock()
        self._buckets: dict[tuple[float, float], RateLimiter] = {}
        self._reported: dict[str, float] = {}

    def plan(self, key: str) -> tuple[float, float]:
        """(rate, burst) for a bucket key ending in ':<operation>'."""
        operation = key.rsplit(":", 1)[-1]
        rate, burst = self._plans.get(operation, FALLBACK_PLAN)
        with self._lock:
            rate = self._reported.get(key, rate)
        return rate, burst

    def _bucket(self, key: str) -> RateLimiter:
        rate, burst = self.plan(key)
        with self._lock:
            bucket = self._buckets.get((rate, burst))
            if bucket is None:
                bucket = self._bucket_for(burst, rate)
                self._buckets[(rate, burst)] = bucket
            return bucket

    def acquire(self, key: str, cost: float = 1.0, max_wait: float = 30.0) -> None:
        self._bucket(key).acquire(key, cost, max_wait)

    def observe(self, key: str, level: BucketLevel | float) -> None:
        if not isinstance(level, RateReport):
            return
        if level.refill_per_second:
            with self._lock:
                self._reported[key] = level.refill_per_second
        if level.throttled:
            observe = getattr(self._bucket(key), "observe", None)
            if observe is not None:
                observe(key, BucketLevel(0.0))
