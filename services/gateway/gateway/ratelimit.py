"""Redis-backed login attempt counters and the access-token denylist.

Fixed windows: the first attempt creates the counter with the window as its TTL, so counters
clean themselves up and every gateway replica shares them.
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

    def reset(self, key: str) -> None:
        self._redis.delete(_PREFIX + "ratelimit:" + key)


class RedisTokenDenylist:
    """Access tokens revoked before their expiry (logout); entries expire with the token."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def revoke(self, jti: str, ttl_seconds: int) -> None:
        self._redis.set(_PREFIX + "revoked-jti:" + jti, 1, ex=max(1, ttl_seconds))

    def is_revoked(self, jti: str) -> bool:
        return bool(self._redis.exists(_PREFIX + "revoked-jti:" + jti))
