"""Token buckets per connection: the Redis one every replica shares in production, an in-memory
one for tests and single processes.

Every HTTP attempt of a `ChannelHttpClient` first takes a token; a wait longer than `max_wait`
is `RateLimitTimeout` (RESOURCE_EXHAUSTED at the edge), never an unbounded sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from omnistock_connector_kit.channel_errors import RateLimitTimeout

if TYPE_CHECKING:
    import redis


@dataclass(frozen=True)
class BucketLevel:
    """What a channel reports about its own bucket for this connection (Shopify's
    `extensions.cost.throttleStatus`): the level now and, when it says, its size and restore rate.

    The size and rate are the shop's plan figures; once reported they replace the configured
    defaults for that connection's bucket, so ours never paces a bigger plan at a smaller one's rate.
    """

    available: float
    capacity: float | None = None
    refill_per_second: float | None = None


class RateLimiter(Protocol):
    def acquire(self, key: str, cost: float = 1.0, max_wait: float = 30.0) -> None:
        """Block until `cost` tokens were taken from bucket `key`; raise RateLimitTimeout if the
        wait would exceed `max_wait` seconds."""
        ...


def _check_bucket_args(capacity: float, refill_per_second: float) -> None:
    if capacity <= 0 or refill_per_second <= 0:
        raise ValueError("token bucket capacity and refill_per_second must be positive")


# Atomic refill-and-take. Uses the server's clock (TIME) so replicas with skewed clocks agree.
# Returns the wait (seconds, as a string: Lua numbers become integers on the way back) needed
# before `cost` tokens are available; "0" means the tokens were taken.
_TAKE_SCRIPT = """
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', key, 'tokens', 'ts', 'cap', 'rate')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tonumber(state[3]) then capacity = tonumber(state[3]) end
if tonumber(state[4]) then rate = tonumber(state[4]) end
if cost > capacity then cost = capacity end
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
local elapsed = now - ts
if elapsed < 0 then elapsed = 0 end
tokens = math.min(capacity, tokens + elapsed * rate)
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', key, 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000) + 60000)
return string.format('%.6f', wait)
"""


# Overwrite the bucket with the level the channel itself reports (Shopify's
# throttleStatus.currentlyAvailable): the channel's figure is the truth, our debit was an estimate.
# ARGV[4], ARGV[5] (or "" when not reported): the channel's own bucket size and restore rate, kept
# in the hash ('cap', 'rate') and used by every later take of that connection's bucket.
_OBSERVE_SCRIPT = """
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local available = tonumber(ARGV[3])
local reported_capacity = tonumber(ARGV[4])
local reported_rate = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
if reported_capacity and reported_capacity > 0 then
  capacity = reported_capacity
  redis.call('HSET', key, 'cap', string.format('%.6f', capacity))
end
if reported_rate and reported_rate > 0 then
  rate = reported_rate
  redis.call('HSET', key, 'rate', string.format('%.6f', rate))
end
local tokens = math.max(0, math.min(capacity, available))
redis.call('HSET', key, 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000) + 60000)
return 1
"""


class RedisTokenBucket:
    """Token bucket shared by every process that uses the same Redis and key.

    The channel's limit is per connection (per shop, per store), not per replica; a bucket in
    process memory would let N replicas send N times the allowed rate. The state is a hash
    (tokens, ts) that expires once it would have refilled anyway, so idle connections cost nothing.
    """

    def __init__(
        self,
        redis: redis.Redis,
        capacity: float,
        refill_per_second: float,
        prefix: str = "omnistock:bucket:",
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _check_bucket_args(capacity, refill_per_second)
        self._redis = redis
        self.capacity = float(capacity)
        self.refill_per_second = float(refill_per_second)
        self.prefix = prefix
        self._sleep = sleep
        self._script = redis.register_script(_TAKE_SCRIPT)
        self._observe_script = redis.register_script(_OBSERVE_SCRIPT)

    def try_take(self, key: str, cost: float = 1.0) -> float:
        """Take `cost` tokens now if possible; return 0.0, or the seconds to wait otherwise."""
        # A request costing more than the bucket holds could never run; let it run on a full one
        # (the script caps it again at the size the channel reported, if it did).
        cost = min(float(cost), self.capacity)
        raw = self._script(keys=[self.prefix + key], args=[self.capacity, self.refill_per_second, cost])
        return float(raw.decode() if isinstance(raw, bytes) else raw)

    def acquire(self, key: str, cost: float = 1.0, max_wait: float = 30.0) -> None:
        _acquire_loop(self.try_take, self._sleep, time.monotonic, key, cost, max_wait)

    def observe(self, key: str, level: BucketLevel | float) -> None:
        """Set the bucket to the level the channel reported (corrects our cost estimates) and adopt
        the size and restore rate it reported for this connection."""
        level = level if isinstance(level, BucketLevel) else BucketLevel(float(level))
        self._observe_script(
            keys=[self.prefix + key],
            args=[
                self.capacity,
                self.refill_per_second,
                level.available,
                level.capacity or "",
                level.refill_per_second or "",
            ],
        )


class InMemoryTokenBucket:
    """The same semantics as RedisTokenBucket, in process memory (tests, single-process tools).

    `clock` and `sleep` are injectable so tests can run a virtual clock without real waiting.
    """

    def __init__(
        self,
        capacity: float,
        refill_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _check_bucket_args(capacity, refill_per_second)
        self.capacity = float(capacity)
        self.refill_per_second = float(refill_per_second)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}
        # Per key: the (size, restore rate) the channel reported, replacing the defaults.
        self._reported: dict[str, tuple[float, float]] = {}

    def try_take(self, key: str, cost: float = 1.0) -> float:
        with self._lock:
            capacity, rate = self._reported.get(key, (self.capacity, self.refill_per_second))
            cost = min(float(cost), capacity)
            now = self._clock()
            tokens, ts = self._state.get(key, (capacity, now))
            tokens = min(capacity, tokens + max(0.0, now - ts) * rate)
            if tokens >= cost:
                self._state[key] = (tokens - cost, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (cost - tokens) / rate

    def acquire(self, key: str, cost: float = 1.0, max_wait: float = 30.0) -> None:
        _acquire_loop(self.try_take, self._sleep, self._clock, key, cost, max_wait)

    def observe(self, key: str, level: BucketLevel | float) -> None:
        """Set the bucket to the level the channel reported (corrects our cost estimates) and adopt
        the size and restore rate it reported for this connection."""
        level = level if isinstance(level, BucketLevel) else BucketLevel(float(level))
        with self._lock:
            capacity, rate = self._reported.get(key, (self.capacity, self.refill_per_second))
            capacity = level.capacity if level.capacity and level.capacity > 0 else capacity
            rate = (
                level.refill_per_second if level.refill_per_second and level.refill_per_second > 0 else rate
            )
            if (capacity, rate) != (self.capacity, self.refill_per_second):
                self._reported[key] = (capacity, rate)
            self._state[key] = (max(0.0, min(capacity, float(level.available))), self._clock())


def _acquire_loop(
    try_take: Callable[[str, float], float],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    key: str,
    cost: float,
    max_wait: float,
) -> None:
    """Poll the bucket, sleeping exactly the wait it reports, until granted or out of budget.

    Failing fast when the reported wait exceeds the remaining budget (instead of sleeping and
    then failing) keeps a worker thread from idling for nothing.
    """
    waited = 0.0
    while True:
        wait = try_take(key, cost)
        if wait <= 0:
            return
        if waited + wait > max_wait:
            raise RateLimitTimeout(
                f"rate limit bucket {key!r} needs {wait:.3f}s more (waited {waited:.3f}s, max {max_wait}s)",
                retry_after=wait,
            )
        sleep(wait)
        waited += wait
