"""Where each listing's revisions of the eBay day are counted: Redis (shared by every replica;
the REDIS_URL the rate limiter already uses), or memory in tests. The decisions are pure
(protocol/budget.py); this module only counts.

Keys: `ebay:revisions:<connection>:<eBay day>:<listing>` (spent today, expires after two days) and
`ebay:last-quantity:<connection>:<listing>` (the quantity last applied, 30 days): a quantity above
it is an increase, below it (or unknown) a decrease.
"""

from __future__ import annotations

import threading
from typing import Protocol

import redis

from ebay_connector.protocol.budget import DAILY_REVISIONS

REVISIONS_TTL_SECONDS = 2 * 86400
LAST_QUANTITY_TTL_SECONDS = 30 * 86400


class RevisionLedger(Protocol):
    def spent(self, connection: str, day: str, listing: str) -> int: ...

    def take(self, connection: str, day: str, listing: str) -> int | None:
        """Count one revision; its new total, or None (nothing counted) at the daily cap."""
        ...

    def give_back(self, connection: str, day: str, listing: str) -> None:
        """A counted revision that did not happen (the call failed, eBay refused the item)."""
        ...

    def last_quantity(self, connection: str, listing: str) -> int | None: ...

    def set_last_quantity(self, connection: str, listing: str, quantity: int) -> None: ...


def _rev_key(connection: str, day: str, listing: str) -> str:
    return f"ebay:revisions:{connection}:{day}:{listing}"


def _qty_key(connection: str, listing: str) -> str:
    return f"ebay:last-quantity:{connection}:{listing}"


# INCR unless at the cap, atomically (no replica can push a listing past 250).
_TAKE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return -1 end
n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return n
"""


class RedisRevisionLedger:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._take = client.register_script(_TAKE)

    @classmethod
    def from_url(cls, url: str) -> RedisRevisionLedger:
        return cls(redis.Redis.from_url(url, socket_timeout=5, health_check_interval=30))

    def spent(self, connection: str, day: str, listing: str) -> int:
        return int(self._redis.get(_rev_key(connection, day, listing)) or 0)

    def take(self, connection: str, day: str, listing: str) -> int | None:
        result = int(
            self._take(
                keys=[_rev_key(connection, day, listing)], args=[DAILY_REVISIONS, REVISIONS_TTL_SECONDS]
            )
        )
        return None if result < 0 else result

    def give_back(self, connection: str, day: str, listing: str) -> None:
        key = _rev_key(connection, day, listing)
        if int(self._redis.decr(key)) < 0:
            self._redis.set(key, 0, ex=REVISIONS_TTL_SECONDS)

    def last_quantity(self, connection: str, listing: str) -> int | None:
        value = self._redis.get(_qty_key(connection, listing))
        return None if value is None else int(value)

    def set_last_quantity(self, connection: str, listing: str, quantity: int) -> None:
        self._redis.set(_qty_key(connection, listing), quantity, ex=LAST_QUANTITY_TTL_SECONDS)


class MemoryRevisionLedger:
    """The same counting in memory (unit tests, one process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent: dict[str, int] = {}
        self._last: dict[str, int] = {}

    def spent(self, connection: str, day: str, listing: str) -> int:
        return self._spent.get(_rev_key(connection, day, listing), 0)

    def take(self, connection: str, day: str, listing: str) -> int | None:
        key = _rev_key(connection, day, listing)
        with self._lock:
            if self._spent.get(key, 0) >= DAILY_REVISIONS:
                return None
            self._spent[key] = self._spent.get(key, 0) + 1
            return self._spent[key]

    def give_back(self, connection: str, day: str, listing: str) -> None:
        key = _rev_key(connection, day, listing)
        with self._lock:
            self._spent[key] = max(0, self._spent.get(key, 0) - 1)

    def last_quantity(self, connection: str, listing: str) -> int | None:
        return self._last.get(_qty_key(connection, listing))

    def set_last_quantity(self, connection: str, listing: str, quantity: int) -> None:
        self._last[_qty_key(connection, listing)] = quantity
