"""The increase gate: how long a connection's stock increases wait for every connection's orders.

Why (in_flight.py rule 2): an increase pushed before the other channels' recent orders are known
can relist a unit one of them already sold. So an increase goes out once every live connection of
the tenant completed an order poll that started after the increase was recorded. But a channel
whose order feed is down (failing, throttled, hung) must not freeze restocks everywhere else:

- the gate never polls inside the flush: it asks for the polls it needs (schedule.request_polls),
  which a dispatcher runs on their own threads, and looks again a moment later;
- while not every feed is current the increases are HELD; a hold lasts at most the tenant's
  `SYNC_MAX_INCREASE_HOLD_S` (default 30 s; `0` = never hold, `strict` = until fresh), then the
  increases are RELEASED and pushed anyway, and the oversell risk is accepted for that window
  (docs/architecture.md, "Channel sync engine");
- decreases never come here: the flusher pushes them first, whatever the gate says.

Every hold and release is a sync_log row (operation `increase_hold`) of the holding connection
and sets or clears its health's `increases_held_since` / `increases_held_reason`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from channels.domain import CHANNEL_TYPES
from channels.sync import schedule, store
from channels.sync.engine import SyncEngine
from channels.sync.repository import PollState
from omnistock_common.errors import NotFound

log = logging.getLogger(__name__)

# Since when (epoch ms) the connection holds its increases; absent when it holds none.
INCREASE_HOLD_PREFIX = "omnistock:sync:increase-hold:"
HOLD_OPERATION = "increase_hold"
# While increases wait, the flusher looks again this often (the polls it asked for usually take less).
RECHECK_MS = 200
# Waiting longer than this (a normal poll round: the 1 s poll interval plus the poll) is a hold.
HOLD_AFTER_S = 2.0
# An increase pushed now is covered only by order polls that started at most this long ago. A poll
# younger than the increase but older than this misses the orders placed since it started: seen in
# the order bench, where an increase held 13 s for one channel's polls was then pushed to the other
# channel over a unit it had sold after its own (older) poll.
FRESH_FOR_MS = 5000
# A hold key outlives any sensible hold (strict included) and is then forgotten.
HOLD_KEY_TTL_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class IncreaseGate:
    """The gate's answer: which increases (SKUs) go out now; look again in `recheck_ms` if any wait."""

    push: frozenset[str]
    recheck_ms: int = 0


def _known_until(state: PollState | None, channel_type: str) -> datetime | None:
    """Up to when a connection's orders count as known: its last completed poll's start, plus the
    lag its channel cannot avoid (ChannelType.order_feed_lag: Amazon's one read a minute)."""
    if state is None or state.current_as_of is None:
        return None
    kind = CHANNEL_TYPES.get(channel_type)
    return state.current_as_of + (kind.order_feed_lag if kind else timedelta(0))


def _current(known_until: datetime | None, as_of: datetime) -> bool:
    return known_until is not None and known_until >= as_of


def _as_of(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def gate_increases(
    engine: SyncEngine, tenant_id: str, connection_id: str, increases: Sequence[store.Pending]
) -> IncreaseGate:
    """Which of `connection_id`'s increases may go out now: those recorded before the moment up to
    which every live connection's orders are known (a channel's unavoidable order_feed_lag counted
    as known), when that moment is at most FRESH_FOR_MS ago.
    Asks for the order polls the others need;
    a wait longer than a normal poll round is a HOLD (logged, shown in health), released after the
    tenant's limit."""
    with engine.uow.transaction() as repo:
        states = repo.poll_states(tenant_id)
        live_kinds = dict(repo.live_connections(tenant_id))
    live = list(live_kinds)
    known_by = {c: _known_until(states.get(c), live_kinds[c]) for c in live}
    known = [known_by[c] for c in live]
    fresh_until = None if any(k is None for k in known) else min(k for k in known if k is not None)
    now = engine.clock()
    now_ms = store.ms(now)
    horizon = _as_of(now_ms - FRESH_FOR_MS)
    recent = fresh_until is not None and fresh_until >= horizon
    ready = frozenset(
        e.sku
        for e in increases
        if recent and fresh_until is not None and _as_of(e.recorded_ms) <= fresh_until
    )
    waiting = [e for e in increases if e.sku not in ready]
    if not waiting:
        release(engine, tenant_id, connection_id, "the orders of every connection are current")
        return IncreaseGate(ready)
    newest = max(_as_of(max(e.recorded_ms for e in waiting)), horizon)
    stale = [cid for cid in live if not _current(known_by[cid], newest)]
    schedule.request_polls(engine.redis, tenant_id, stale, now_ms)
    limit = engine.settings.max_hold_for(tenant_id)
    everything = frozenset(e.sku for e in increases)
    if limit == 0:
        return IncreaseGate(everything)
    waited_s = (now_ms - min(e.recorded_ms for e in waiting)) / 1000
    holding = engine.redis.get(INCREASE_HOLD_PREFIX + connection_id) is not None
    if waited_s < HOLD_AFTER_S and not holding:
        return IncreaseGate(ready, RECHECK_MS)  # a normal poll round, not a hold
    since_ms = _hold(engine, tenant_id, connection_id, stale, now, now_ms)
    held_s = max(waited_s, (now_ms - since_ms) / 1000)
    if limit is None or held_s < limit:
        left_ms = RECHECK_MS if limit is None else int((limit - held_s) * 1000) + 1
        return IncreaseGate(ready, max(1, min(RECHECK_MS, left_ms)))
    release(
        engine,
        tenant_id,
        connection_id,
        f"released after {held_s:.1f}s without current orders from {_describe(engine, tenant_id, stale)}"
        f" (SYNC_MAX_INCREASE_HOLD_S={limit:g}); increases pushed anyway",
    )
    return IncreaseGate(everything)


def _hold(
    engine: SyncEngine, tenant_id: str, connection_id: str, stale: Sequence[str], now: datetime, now_ms: int
) -> int:
    """Start the hold if none is on (logged, health set); returns since when it is on (ms)."""
    key = INCREASE_HOLD_PREFIX + connection_id
    if engine.redis.set(key, str(now_ms), nx=True, px=HOLD_KEY_TTL_MS):
        reason = f"waiting for current orders from {_describe(engine, tenant_id, stale)}"
        limit = engine.settings.max_hold_for(tenant_id)
        bound = "until they are current (strict)" if limit is None else f"for at most {limit:g}s"
        engine.log_sync(
            HOLD_OPERATION, tenant_id, connection_id, (), "held", f"increases held {bound}: {reason}"
        )
        engine.uow.run(lambda repo: repo.set_increase_hold(tenant_id, connection_id, now, reason))
        log.info("connection %s holds its increases: %s", connection_id, reason, extra={"tenant": tenant_id})
        return now_ms
    raw = engine.redis.get(key)
    try:
        return int(store.text(raw)) if raw is not None else now_ms
    except ValueError:
        return now_ms


def release(engine: SyncEngine, tenant_id: str, connection_id: str, why: str) -> bool:
    """End the connection's hold if one is on (logged, health cleared); False when none was."""
    if not engine.redis.delete(INCREASE_HOLD_PREFIX + connection_id):
        return False
    engine.log_sync(HOLD_OPERATION, tenant_id, connection_id, (), "released", f"increases released: {why}")
    engine.uow.run(lambda repo: repo.set_increase_hold(tenant_id, connection_id, None, ""))
    log.info("connection %s released its increases: %s", connection_id, why, extra={"tenant": tenant_id})
    return True


def _describe(engine: SyncEngine, tenant_id: str, connection_ids: Sequence[str]) -> str:
    """The connections by channel and name, e.g. "Shopify 'Shop'" (for the sync log and health)."""
    names = []
    for connection_id in connection_ids:
        try:
            conn = engine.caller.load(tenant_id, connection_id).connection
        except NotFound:
            continue
        found = CHANNEL_TYPES.get(conn.type)
        names.append(f"{found.display_name if found else conn.type} {conn.name!r}")
    return ", ".join(names) or "a connection that no longer exists"


__all__ = ["HOLD_OPERATION", "INCREASE_HOLD_PREFIX", "IncreaseGate", "gate_increases", "release"]
