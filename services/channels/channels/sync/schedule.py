"""When connections are due: order polls on request, and recovery the moment a channel answers.

Two Redis structures next to the flusher's due set (store.DUE_KEY):

- `omnistock:sync:poll-due` (sorted set, member `connection|tenant`, score = due ms): order polls
  the increase gate (increase_hold.py) asked for. Any worker replica's dispatcher claims one
  (ZREM: exactly one claimant) and runs it on its own thread, so a slow or hung order feed is never
  polled inside another connection's flush.
- recovery: after a failed push the connection waits (store.HOLD_PREFIX, flusher._backoff); the
  first successful call to that channel, whatever it was, ends the wait and makes its pending
  figures due at once (`channel_answered`), so a recovered channel gets them on the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from channels.sync import store

log = logging.getLogger(__name__)

POLL_DUE_KEY = "omnistock:sync:poll-due"

# KEYS: poll-due zset. ARGV: due_ms, members... Adds each member unless it is already due earlier.
_REQUEST_POLLS = """
local n = 0
for i = 2, #ARGV do
  local s = redis.call('zscore', KEYS[1], ARGV[i])
  if (not s) or tonumber(s) > tonumber(ARGV[1]) then
    redis.call('zadd', KEYS[1], ARGV[1], ARGV[i])
    n = n + 1
  end
end
return n
"""
# KEYS: hold, attempts, due, then the pending hash of every item kind. ARGV: member, now_ms. The
# channel answered: no more backoff; anything pending (stock or prices) is due now (never later
# than it already was).
_CHANNEL_ANSWERED = """
redis.call('del', KEYS[1], KEYS[2])
local pending = 0
for i = 4, #KEYS do pending = pending + redis.call('hlen', KEYS[i]) end
if pending == 0 then return 0 end
local s = redis.call('zscore', KEYS[3], ARGV[1])
if (not s) or tonumber(s) > tonumber(ARGV[2]) then redis.call('zadd', KEYS[3], ARGV[2], ARGV[1]) end
return 1
"""
# KEYS: due. ARGV: now_ms, then (member, pending key) pairs: due now if anything is pending.
_WAKE = """
local n = 0
for i = 2, #ARGV, 2 do
  if redis.call('hlen', ARGV[i + 1]) > 0 then
    local s = redis.call('zscore', KEYS[1], ARGV[i])
    if (not s) or tonumber(s) > tonumber(ARGV[1]) then
      redis.call('zadd', KEYS[1], ARGV[1], ARGV[i])
      n = n + 1
    end
  end
end
return n
"""
# KEYS: poll-due. ARGV: member. 1 when this caller took the request (ZREM is the claim).
_CLAIM = "return redis.call('zrem', KEYS[1], ARGV[1])"


def request_polls(redis: store.SyncRedis, tenant_id: str, connection_ids: Sequence[str], due_ms: int) -> int:
    """Ask for an order poll of each connection (run by a dispatcher on its own thread)."""
    if not connection_ids:
        return 0
    members = [store.member(tenant_id, c) for c in connection_ids]
    return int(redis.eval(_REQUEST_POLLS, 1, POLL_DUE_KEY, due_ms, *members))


def due_polls(redis: store.SyncRedis, now_ms: int, limit: int) -> list[tuple[str, str]]:
    """(tenant, connection) of polls due now, oldest first, not yet claimed."""
    members = redis.zrangebyscore(POLL_DUE_KEY, "-inf", now_ms, start=0, num=limit)
    return [store.split_member(store.text(m)) for m in members]


def claim_poll(redis: store.SyncRedis, tenant_id: str, connection_id: str) -> bool:
    """Take a due poll request; False when another replica took it first."""
    return bool(redis.eval(_CLAIM, 1, POLL_DUE_KEY, store.member(tenant_id, connection_id)))


def channel_answered(redis: store.SyncRedis, tenant_id: str, connection_id: str, now_ms: int) -> bool:
    """A call to the channel succeeded: drop its backoff and make its pending figures due now.
    Returns whether anything was pending."""
    pending = [kind.pending_prefix + connection_id for kind in store.KINDS]
    return bool(
        redis.eval(
            _CHANNEL_ANSWERED,
            3 + len(pending),
            store.HOLD_PREFIX + connection_id,
            store.ATTEMPTS_PREFIX + connection_id,
            store.DUE_KEY,
            *pending,
            store.member(tenant_id, connection_id),
            now_ms,
        )
    )


def wake(redis: store.SyncRedis, tenant_id: str, connection_ids: Sequence[str], now_ms: int) -> int:
    """Make each connection with pending figures due now (a poll they waited for has finished)."""
    if not connection_ids:
        return 0
    args: list[str | int] = [now_ms]
    for connection_id in connection_ids:
        args += [store.member(tenant_id, connection_id), store.PENDING_PREFIX + connection_id]
    return int(redis.eval(_WAKE, 1, store.DUE_KEY, *args))


__all__ = [
    "POLL_DUE_KEY",
    "channel_answered",
    "claim_poll",
    "due_polls",
    "request_polls",
    "wake",
]
