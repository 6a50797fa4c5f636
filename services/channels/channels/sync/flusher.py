"""The flusher: pushes each due connection's pending figures in as few bulk calls as it may.

`flush_connection` takes one connection under a per-connection Redis lock (SET NX PX,
token-checked release: one replica pushes a connection at a time), turns the pending figures into
quantities (`figure - pending commitments`, see in_flight.py) and pushes them in as few bulk
PushInventory calls as the connector's `max_inventory_batch` allows, through
`ConnectionCaller.with_connection` (token refresh, sync_log, health): DECREASES FIRST, at once;
then the increases, if the increase gate (increase_hold.py) lets them go, else they stay pending
and the connection looks again shortly. Per item: APPLIED is removed from pending only if the
pending entry is still the one pushed (compare-and-delete) and recorded in `listings.last_pushed_*`;
RETRY and call-level failures stay pending and the connection is due again after exponential
backoff with jitter (RetryInfo honoured, at most `backoff_cap`; the first successful call to the
channel ends it, schedule.channel_answered); REJECTED is logged and dropped.

Prices are a second kind of item in the same flush (store.PRICES, `PushKind`): after the stock
(whose decreases never wait behind anything), the connection's pending prices go out through
PushPrices in chunks of the connector's `max_price_batch`, under the same lock, bucket, backoff,
sync log and health; a SKU with no listing is reported once in the sync log and dropped, a
version at or below `listings.last_pushed_price_version` is dropped, and an applied price is
recorded there.

Each connection's flush is independent of every other's: the worker runs them on a bounded pool of
threads (dispatch.py), one connection per thread, nothing shared but Redis and the database.
`flush_due` is the same work done one connection after another on the caller's thread (tests,
tools).

Plain Python over the channels UnitOfWork, a redis-py client and gRPC stubs: nothing here knows
nameko or eventlet (channels.worker is that edge).
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import grpc
from google.rpc import error_details_pb2

from channels import mapping
from channels.domain import ConnectionStatus
from channels.sync import in_flight, increase_hold, schedule, store
from channels.sync.engine import SyncEngine
from channels.sync.inventory_source import SkuFigure
from channels.sync.push_kinds import (
    PRICE_PUSH,
    STOCK_PUSH,
    Planned,
    PlannedPrice,
    PushKind,
    describe_push,
    grouped_by_product,
    mark_prices_pushed,
    mark_pushed,
)
from channels.sync.repository import ListingPushState
from omnistock_common.errors import DomainError, FailedPrecondition, NotFound

log = logging.getLogger(__name__)

LOCK_PREFIX = "omnistock:sync:lock:"
# Pending figures of a connection this deployment does not know expire after a day.
ORPHAN_TTL_SECONDS = 86400
ORPHAN_RECHECK_MS = 1000
_RELEASE_LOCK = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
)


@dataclass
class ConnectionFlush:
    """What one flush of one connection did (for tests, logs and the benchmark)."""

    connection_id: str
    pushed: int = 0
    applied: int = 0
    retry: int = 0
    rejected: int = 0
    unchanged: int = 0
    stale: int = 0
    unmapped: int = 0
    waiting: int = 0
    calls: int = 0
    failed: str = ""
    # What the same flush did with the connection's pending prices, when it had any.
    prices: ConnectionFlush | None = None


@dataclass
class FlushReport:
    connections: list[ConnectionFlush] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return sum(c.applied for c in self.connections)


def _plan(
    entries: Sequence[store.Pending], listings: Mapping[str, ListingPushState], commitments: Mapping[str, int]
) -> list[Planned]:
    plan = []
    for entry in entries:
        listing = listings[entry.sku]
        quantity = 0 if listing.off_sale else max(0, entry.figure - commitments.get(entry.sku, 0))
        last = listing.last_pushed_quantity
        plan.append(Planned(entry.sku, entry.raw, quantity, entry.version, last is None or quantity > last))
    return plan


def due_connections(engine: SyncEngine, now_ms: int) -> list[tuple[str, str]]:
    """(tenant, connection) due now; one still backing off is moved to the end of its wait."""
    members = engine.redis.zrangebyscore(
        store.DUE_KEY, "-inf", now_ms, start=0, num=engine.settings.flush_limit
    )
    due = []
    for raw_member in members:
        member = store.text(raw_member)
        tenant_id, connection_id = store.split_member(member)
        hold = int(engine.redis.pttl(store.HOLD_PREFIX + connection_id) or -2)
        if hold > 0:
            engine.redis.zadd(store.DUE_KEY, {member: now_ms + hold})
            continue
        due.append((tenant_id, connection_id))
    return due


def flush_due(engine: SyncEngine, *, now: datetime | None = None) -> FlushReport:
    """On the caller's thread: run the order polls asked for, then flush every due connection
    (skipping those another replica holds). The worker does the same on a pool (dispatch.py)."""
    moment = now or engine.clock()
    now_ms = store.ms(moment)
    report = FlushReport()
    for tenant_id, connection_id in schedule.due_polls(engine.redis, now_ms, engine.settings.flush_limit):
        if schedule.claim_poll(engine.redis, tenant_id, connection_id):
            run_poll(engine, tenant_id, connection_id)
    for tenant_id, connection_id in due_connections(engine, now_ms):
        try:
            result = flush_connection(engine, tenant_id, connection_id)
        except Exception:  # logged by flush_connection; the other connections still get their turn
            continue
        if result is not None:
            report.connections.append(result)
    return report


def run_poll(engine: SyncEngine, tenant_id: str, connection_id: str) -> bool:
    """One order poll the increase gate asked for, single-flight across replicas (the poll gate is
    held for the whole poll, then kept `polls.min_interval` so a failing feed is not hammered).
    When it succeeds, the tenant's connections waiting for it are due at once. True if it ran OK."""
    gate = in_flight.POLL_GATE_PREFIX + connection_id
    busy_ms = int(engine.settings.lock_ttl.total_seconds() * 1000)
    if not engine.redis.set(gate, "polling", nx=True, px=busy_ms):
        return False
    ok = False
    try:
        engine.poll_orders(tenant_id, connection_id)
        ok = True
    except DomainError as exc:  # already in the sync log and health of that connection
        log.warning("order poll of connection %s failed: %s", connection_id, exc, extra={"tenant": tenant_id})
    except Exception:
        log.exception("order poll of connection %s failed", connection_id, extra={"tenant": tenant_id})
    finally:
        engine.redis.set(gate, "1", px=max(1, int(engine.settings.polls.min_interval.total_seconds() * 1000)))
    if ok:
        live = [cid for cid, _kind in in_flight.live_connections(engine.uow, tenant_id)]
        schedule.wake(engine.redis, tenant_id, live, store.ms(engine.clock()))
    return ok


class ConnectionLock:
    """The per-connection push lock (SET NX PX + token-checked release), shared with reconcile."""

    def __init__(self, redis: store.SyncRedis, connection_id: str, ttl: timedelta) -> None:
        self.redis = redis
        self.key = LOCK_PREFIX + connection_id
        self.ttl_ms = int(ttl.total_seconds() * 1000)
        self.token = secrets.token_hex(16)

    def acquire(self, wait: float = 0.0) -> bool:
        give_up = time.monotonic() + wait
        while True:
            if self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms):
                return True
            if time.monotonic() >= give_up:
                return False
            time.sleep(0.05)

    def release(self) -> None:
        self.redis.eval(_RELEASE_LOCK, 1, self.key, self.token)


def flush_connection(engine: SyncEngine, tenant_id: str, connection_id: str) -> ConnectionFlush | None:
    """Push the connection's pending set under its lock; None when another replica holds it."""
    lock = ConnectionLock(engine.redis, connection_id, engine.settings.lock_ttl)
    if not lock.acquire():
        return None
    member = store.member(tenant_id, connection_id)
    # Claimed: if this process dies mid-flush, the connection is due again once the lock expired.
    engine.redis.zadd(store.DUE_KEY, {member: store.ms(engine.clock()) + lock.ttl_ms})
    result = ConnectionFlush(connection_id)
    next_due = store.ms(engine.clock())
    try:
        next_due = _flush_locked(engine, tenant_id, connection_id, result)
    except Exception:
        log.exception("flush of connection %s failed", connection_id, extra={"tenant": tenant_id})
        next_due = store.ms(engine.clock()) + _backoff(engine, connection_id, None)
        raise
    finally:
        store.finish(engine.redis, connection_id, member, next_due)
        lock.release()
    return result


def _flush_locked(engine: SyncEngine, tenant_id: str, connection_id: str, result: ConnectionFlush) -> int:
    """Returns when the connection is due next (ms) if anything is still pending."""
    raw = store.pending_entries(engine.redis, connection_id)
    raw_prices = store.pending_entries(engine.redis, connection_id, store.PRICES)
    now_ms = store.ms(engine.clock())
    if not raw and not raw_prices:
        return now_ms
    try:
        stored = engine.caller.load(tenant_id, connection_id)
    except NotFound:
        # Deleted connection (or one of another deployment sharing this Redis, which must keep its
        # figures): never delete them here, let them expire; until then look again now and then.
        log.warning("connection %s not found; its pending figures expire in a day", connection_id)
        for kind in store.KINDS:
            for prefix in (kind.pending_prefix, kind.known_prefix):
                engine.redis.expire(prefix + connection_id, ORPHAN_TTL_SECONDS)
        return now_ms + ORPHAN_RECHECK_MS
    conn = stored.connection
    if conn.status is ConnectionStatus.DISCONNECTED:
        return now_ms + _hold(engine, connection_id, engine.settings.disconnected_retry.total_seconds())
    due = now_ms
    if raw:
        due = _flush_stock(engine, tenant_id, connection_id, conn.type, raw, result)
        if result.failed or result.retry:
            return due  # the channel is failing: the prices wait out the same backoff
    if raw_prices:
        prices = result.prices = ConnectionFlush(connection_id)
        retry_after = _flush_prices(engine, tenant_id, connection_id, conn.type, raw_prices, prices)
        if retry_after is not None or prices.retry:
            return store.ms(engine.clock()) + _backoff(engine, connection_id, retry_after)
        engine.redis.delete(store.ATTEMPTS_PREFIX + connection_id)
    return due


def _flush_stock(
    engine: SyncEngine,
    tenant_id: str,
    connection_id: str,
    channel_type: str,
    raw: Mapping[str, str],
    result: ConnectionFlush,
) -> int:
    """The stock part of a flush; returns when the connection is due next (ms)."""
    now_ms = store.ms(engine.clock())
    entries = [p for p in (store.Pending.parse(sku, value) for sku, value in raw.items()) if p is not None]
    store.cas_delete(
        engine.redis, connection_id, [(s, v) for s, v in raw.items() if store.Pending.parse(s, v) is None]
    )
    with engine.uow.transaction() as repo:
        listings = repo.listing_push_states(tenant_id, connection_id, [e.sku for e in entries])
    unmapped = [e for e in entries if e.sku not in listings or not listings[e.sku].external_ids]
    if unmapped:
        engine.log_sync(
            "push_inventory", tenant_id, connection_id, [e.sku for e in unmapped], "error", "unmapped sku"
        )
        store.cas_delete(engine.redis, connection_id, [(e.sku, e.raw) for e in unmapped])
        result.unmapped = len(unmapped)
    entries = [e for e in entries if e not in unmapped]
    entries = _resolve_unknown(engine, tenant_id, connection_id, entries, listings)
    stale = [
        e
        for e in entries
        if listings[e.sku].last_pushed_version is not None
        and e.version < int(listings[e.sku].last_pushed_version or 0)
    ]
    if stale:
        store.cas_delete(engine.redis, connection_id, [(e.sku, e.raw) for e in stale])
        result.stale = len(stale)
    entries = [e for e in entries if e not in stale]
    if not entries:
        return now_ms
    plan = _plan(entries, listings, _commitments(engine, tenant_id, entries))
    # Decreases first and at once: nothing (no order feed, no other channel) ever holds them.
    retry_after = _push_changed(
        engine, tenant_id, connection_id, channel_type, [p for p in plan if not p.increase], listings, result
    )
    if retry_after is not None or result.retry:
        return store.ms(engine.clock()) + _backoff(engine, connection_id, retry_after)
    recheck_ms = 0
    increasing = {p.sku for p in plan if p.increase}
    increases = [e for e in entries if e.sku in increasing]
    if increases:
        gate = increase_hold.gate_increases(engine, tenant_id, connection_id, increases)
        result.waiting = len([e for e in increases if e.sku not in gate.push])
        recheck_ms = gate.recheck_ms
        increases = [e for e in increases if e.sku in gate.push]
    if increases:
        # The polls may have found new orders: recompute against the commitments now (and
        # against what the selling channel shows after its own sale, see protection).
        with engine.uow.transaction() as repo:
            listings = repo.listing_push_states(tenant_id, connection_id, [e.sku for e in increases])
        increases = [e for e in increases if e.sku in listings]
        later = _plan(increases, listings, _commitments(engine, tenant_id, increases))
        retry_after = _push_changed(engine, tenant_id, connection_id, channel_type, later, listings, result)
        if retry_after is not None or result.retry:
            return store.ms(engine.clock()) + _backoff(engine, connection_id, retry_after)
    engine.redis.delete(store.ATTEMPTS_PREFIX + connection_id)
    return store.ms(engine.clock()) + recheck_ms


def _flush_prices(
    engine: SyncEngine,
    tenant_id: str,
    connection_id: str,
    channel_type: str,
    raw: Mapping[str, str],
    result: ConnectionFlush,
) -> float | None:
    """The price part of a flush; the retry delay (s) when a push failed, else None."""
    kind = store.PRICES
    entries = [
        p for p in (store.PendingPrice.parse(sku, value) for sku, value in raw.items()) if p is not None
    ]
    store.cas_delete(
        engine.redis,
        connection_id,
        [(s, v) for s, v in raw.items() if store.PendingPrice.parse(s, v) is None],
        kind,
    )
    with engine.uow.transaction() as repo:
        listings = repo.listing_push_states(tenant_id, connection_id, [e.sku for e in entries])
    unmapped = [e for e in entries if e.sku not in listings or not listings[e.sku].external_ids]
    if unmapped:
        engine.log_sync(
            PRICE_PUSH.operation,
            tenant_id,
            connection_id,
            [e.sku for e in unmapped],
            "error",
            "unmapped sku: no listing on this connection, price not pushed",
        )
        store.cas_delete(engine.redis, connection_id, [(e.sku, e.raw) for e in unmapped], kind)
        result.unmapped = len(unmapped)
    entries = [e for e in entries if e not in unmapped]
    stale = [e for e in entries if e.version <= (listings[e.sku].last_pushed_price_version or -1)]
    if stale:
        store.cas_delete(engine.redis, connection_id, [(e.sku, e.raw) for e in stale], kind)
        result.stale = len(stale)
    plan = [PlannedPrice(e.sku, e.raw, e.price, e.version) for e in entries if e not in stale]
    unchanged = [p for p in plan if p.price.token() == listings[p.sku].last_pushed_price]
    if unchanged:
        mark_prices_pushed(engine, tenant_id, connection_id, unchanged)
        result.unchanged = len(unchanged)
    to_push = [p for p in plan if p not in unchanged]
    return push_planned(engine, tenant_id, connection_id, channel_type, to_push, listings, result, PRICE_PUSH)


def _push_changed(
    engine: SyncEngine,
    tenant_id: str,
    connection_id: str,
    channel_type: str,
    plan: Sequence[Planned],
    listings: Mapping[str, ListingPushState],
    result: ConnectionFlush,
) -> float | None:
    """Record the unchanged quantities as pushed, push the others; the retry delay on failure."""
    unchanged = [p for p in plan if p.quantity == listings[p.sku].last_pushed_quantity]
    if unchanged:
        mark_pushed(engine, tenant_id, connection_id, unchanged)
        result.unchanged += len(unchanged)
    to_push = [p for p in plan if p not in unchanged]
    return push_planned(engine, tenant_id, connection_id, channel_type, to_push, listings, result)


def _commitments(engine: SyncEngine, tenant_id: str, entries: Sequence[store.Pending]) -> dict[str, int]:
    with engine.uow.transaction() as repo:
        return repo.pending_commitments(tenant_id, [e.sku for e in entries])


def _resolve_unknown(
    engine: SyncEngine,
    tenant_id: str,
    connection_id: str,
    entries: list[store.Pending],
    listings: Mapping[str, ListingPushState],
) -> list[store.Pending]:
    """Requeued SKUs whose figure Redis no longer had: ask inventory; without it, leave the SKU to
    reconciliation (and say so)."""
    unknown = [e for e in entries if e.figure == store.UNKNOWN]
    if not unknown:
        return entries
    figures: dict[str, SkuFigure] = {}
    if engine.inventory is not None:
        try:
            figures = engine.inventory.figures(tenant_id, [e.sku for e in unknown])
        except grpc.RpcError as err:
            log.warning("inventory lookup for a requeue failed: %s", err)
            return [e for e in entries if e.figure != store.UNKNOWN]
    resolved = []
    dropped = []
    for e in entries:
        if e.figure != store.UNKNOWN:
            resolved.append(e)
        elif e.sku in figures:
            version = listings[e.sku].last_pushed_version or 0
            resolved.append(
                store.Pending(
                    e.sku, e.raw, figures[e.sku].for_connection(connection_id), version, e.recorded_ms
                )
            )
        else:
            dropped.append(e)
    if dropped:
        log.warning(
            "no figure for %d requeued SKUs of connection %s; reconciliation will correct them",
            len(dropped),
            connection_id,
        )
        store.cas_delete(engine.redis, connection_id, [(e.sku, e.raw) for e in dropped])
    return resolved


def push_planned(
    engine: SyncEngine,
    tenant_id: str,
    connection_id: str,
    channel_type: str,
    plan: Sequence[Any],
    listings: Mapping[str, ListingPushState],
    result: ConnectionFlush,
    kind: PushKind | None = None,
) -> float | None:
    """Bulk-push `plan` (Planned for stock, PlannedPrice for PRICE_PUSH) in chunks of the
    connector's limit for that kind; returns the retry delay (s) when a call failed, else None."""
    if not plan:
        return None
    push = kind or STOCK_PUSH
    limit = engine.batch_limit(tenant_id, channel_type, push.batch_field)
    plan = grouped_by_product(plan, listings)  # a chunk carries whole products: fewer vendor calls
    for start in range(0, len(plan), limit):
        chunk = plan[start : start + limit]
        try:
            reply = engine.caller.with_connection(
                tenant_id,
                connection_id,
                push.operation,
                lambda stub, conn, chunk=chunk: push.call(stub, conn, chunk, listings),
                skus=[p.sku for p in chunk],
                describe=describe_push,
            )
        except FailedPrecondition as exc:
            result.failed = str(exc)
            if exc.reason == "CONNECTION_DISCONNECTED" or "disconnected" in str(exc):
                return engine.settings.disconnected_retry.total_seconds()
            return 0.0
        except DomainError as exc:
            result.failed = str(exc)
            return retry_info(exc) or 0.0
        result.pushed += len(chunk)
        result.calls += int(reply.calls or 1)
        by_sku = {p.sku: p for p in chunk}
        applied: list[Any] = []
        dropped: list[Any] = []
        rejected_messages: list[str] = []
        answered = set()
        for item in reply.results:
            planned = by_sku.get(item.sku)
            if planned is None:
                continue
            answered.add(item.sku)
            outcome = mapping.item_outcome(item.outcome)
            if outcome == "applied":
                applied.append(planned)
            elif outcome == "rejected":
                dropped.append(planned)
                rejected_messages.append(f"{item.sku}: {item.message}")
            else:
                result.retry += 1
        result.retry += len([p for p in chunk if p.sku not in answered])
        if applied:
            push.mark_pushed(engine, tenant_id, connection_id, applied)
            result.applied += len(applied)
        if dropped:
            engine.log_sync(
                push.operation,
                tenant_id,
                connection_id,
                [p.sku for p in dropped],
                "error",
                "rejected by the channel: " + "; ".join(rejected_messages),
            )
            store.cas_delete(engine.redis, connection_id, [(p.sku, p.raw) for p in dropped], push.item)
            result.rejected += len(dropped)
    return None


def retry_info(exc: DomainError) -> float | None:
    for detail in exc.details:
        if isinstance(detail, error_details_pb2.RetryInfo):
            return detail.retry_delay.seconds + detail.retry_delay.nanos / 1e9
    return None


def _backoff(engine: SyncEngine, connection_id: str, retry_after: float | None) -> int:
    """Exponential backoff with jitter per connection (ms); a RetryInfo delay is a floor. Also
    holds the connection so new intake does not bring the next attempt forward."""
    key = store.ATTEMPTS_PREFIX + connection_id
    attempts = int(engine.redis.incr(key))
    engine.redis.expire(key, 86400)
    base = engine.settings.backoff_base.total_seconds()
    delay = min(engine.settings.backoff_cap.total_seconds(), base * 2 ** min(attempts - 1, 20))
    delay = delay * random.uniform(0.5, 1.0)
    if retry_after:
        delay = max(delay, retry_after)
    return _hold(engine, connection_id, delay)


def _hold(engine: SyncEngine, connection_id: str, seconds: float) -> int:
    ms = max(1, int(seconds * 1000))
    engine.redis.set(store.HOLD_PREFIX + connection_id, "1", px=ms)
    return ms


__all__ = [
    "PRICE_PUSH",
    "STOCK_PUSH",
    "ConnectionFlush",
    "ConnectionLock",
    "FlushReport",
    "Planned",
    "PlannedPrice",
    "PushKind",
    "due_connections",
    "flush_connection",
    "flush_due",
    "push_planned",
    "run_poll",
]
