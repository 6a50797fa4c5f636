"""Redis-backed attempt counters, login failure backoff and the access-token denylist.

Fixed windows: the first attempt creates the counter with the window as its TTL, so counters
clean themselves up and every gateway replica shares them. Failure backoff: a failure counter
(forgotten a while after the last failure) and a "blocked" key whose TTL is the imposed wait.
"""

from __future__ import annotations

import redis

_PREFIX = "omnistock:gateway:"


class RedisAttemptLimiter:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def attempt(self, key: str, limit: int, window_seconds: int) -> int:
        full = _PREFIX + "ratelimit:" + key
        pipe = self._redis.pipeline(transaction=True)
        # SET NX EX starts a window only if none is open; INCR counts this attempt. MULTI/EXEC
        # makes the pair atomic, so a counter can never live without its expiry.
        pipe.set(full, 0, ex=window_seconds, nx=True)
        pipe.incr(full)
        pipe.ttl(full)
        _, count, ttl = pipe.execute()
        if int(count) <= limit:
            return 0
        return max(1, int(ttl)) if int(ttl) > 0 else window_seconds

    def blocked_for(self, key: str) -> int:
        ttl_ms = int(self._redis.pttl(_PREFIX + "backoff:block:" + key))
        return -(-ttl_ms // 1000) if ttl_ms > 0 else 0  # whole seconds, rounded up

    def record_failure(
        self, key: str, free_failures: int, max_delay_seconds: int, memory_seconds: int
    ) -> int:
        count_key = _PREFIX + "backoff:count:" + key
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(count_key)
        pipe.expire(count_key, memory_seconds)
        failures = int(pipe.execute()[0])
        delay = backoff_delay(failures, free_failures, max_delay_seconds)
        if delay:
            self._redis.set(_PREFIX + "backoff:block:" + key, 1, ex=delay)
        return delay

    def reset(self, key: str) -> None:
        self._redis.delete(
            _PREFIX + "ratelimit:" + key, _PREFIX + "backoff:count:" + key, _PREFIX + "backoff:block:" + key
        )


def backoff_delay(failures: int, free_failures: int, max_delay_seconds: int) -> int:
    """0 for the first `free_failures` failures, then 1, 2, 4 ... seconds, capped."""
    over = failures - free_failures
    if over <= 0:
        return 0
    return min(max_delay_seconds, 2 ** min(over - 1, 30))


class RedisTokenDenylist:
    """Access tokens revoked before their expiry (logout); entries expire with the token."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def revoke(self, jti: str, ttl_seconds: int) -> None:
        self._redis.set(_PREFIX + "revoked-jti:" + jti, 1, ex=max(1, ttl_seconds))

    def is_revoked(self, jti: str) -> bool:
        return bool(self._redis.exists(_PREFIX + "revoked-jti:" + jti))
