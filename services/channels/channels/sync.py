"""The channel sync engine: coalescing intake of stock changes and the per-connection flusher.

Intake (`record_stock_changes`, called for every `inventory.stock_changed` event) keeps, per
connection, only the newest (figure, version) of each listed SKU in the Redis hash
`omnistock:pending:<connection_id>` and marks the connection due in the sorted set
`omnistock:sync:due`. The compare is one Lua script per connection, so concurrent consumers and
redelivered events can never put an older version over a newer one, and a version at or below
`listings.last_pushed_version` is dropped.

The flusher (`flush_due`, on a short timer) takes every due connection under a per-connection
Redis lock (SET NX PX, token-checked release: one replica pushes a connection at a time), turns
the pending figures into quantities (`figure - pending commitments`, see protection.py), holds
back increases until the tenant's orders are known current, and pushes everything in as few
bulk PushInventory calls as the connector's `max_inventory_batch` allows, through
`ConnectionCaller.with_connection` (token refresh, sync_log, health). Per item: APPLIED is removed
from pending only if the pending entry is still the one pushed (compare-and-delete) and recorded
in `listings.last_pushed_*`; RETRY and call-level failures stay pending and the connection is due
again after exponential backoff with jitter (RetryInfo honoured); REJECTED is logged and dropped.

Everything here is plain Python over the channels UnitOfWork, a redis-py client and gRPC stubs:
nothing knows nameko or eventlet (worker.py is that edge).
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import grpc
import redis as redis_lib
from google.rpc import error_details_pb2
from sqlalchemy import Engine, select, update
from sqlalchemy.engine import Connection as SqlConnection

from channels import models, protection
from channels.calls import CallRecord, ConnectionCaller
from channels.config import Settings
from channels.connectors import ConnectorRegistry, ConnectorStub
from channels.crypto import KeyRing
from channels.domain import ConnectionStatus
from channels.notify import Notifier
from channels.repository import UnitOfWork
from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock.inventory.v1 import inventory_service_pb2 as inv_pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from omnistock_common import service_auth
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.config import EnvReader, load_internal_auth_settings, service_addr
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_common.errors import DomainError, FailedPrecondition, NotFound
from omnistock_connector_kit.egress import EgressPolicy

log = logging.getLogger(__name__)

PENDING_PREFIX = "omnistock:pending:"
FIGURES_PREFIX = "omnistock:figures:"
DUE_KEY = "omnistock:sync:due"
LOCK_PREFIX = "omnistock:sync:lock:"
HOLD_PREFIX = "omnistock:sync:hold:"
ATTEMPTS_PREFIX = "omnistock:sync:attempts:"
UNKNOWN = -1
# The event this engine consumes, as named in its signature (service_auth.sign_event).
STOCK_CHANGED_EVENT = "inventory.stock_changed"
DEFAULT_BATCH = 100
# Pending figures of a connection this deployment does not know expire after a day.
ORPHAN_TTL_SECONDS = 86400
ORPHAN_RECHECK_MS = 1000

# ---------------------------------------------------------------------------- Lua (atomic compares)
# KEYS: pending hash, figures hash, due zset. ARGV: member, due_ms, now_ms, then per SKU
# (sku, figure, version, floor = last_pushed_version or -1). Keeps a figure only when its version
# is newer than the pending one and than the floor; the due time only ever moves earlier.
_INTAKE = """
local n = 0
for i = 4, #ARGV, 4 do
  local sku, fig, ver, floor = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local known = redis.call('hget', KEYS[2], sku)
  local kv = -1
  if known then kv = tonumber(string.match(known, '|(%-?%d+)$')) end
  if ver > kv then redis.call('hset', KEYS[2], sku, fig .. '|' .. ver) end
  if ver > floor then
    local cur = redis.call('hget', KEYS[1], sku)
    local cv = -1
    if cur then cv = tonumber(string.match(cur, '^%-?%d+|(%-?%d+)|')) end
    if ver > cv then
      redis.call('hset', KEYS[1], sku, fig .. '|' .. ver .. '|' .. ARGV[3])
      n = n + 1
    end
  end
end
if n > 0 then
  local s = redis.call('zscore', KEYS[3], ARGV[1])
  if (not s) or tonumber(s) > tonumber(ARGV[2]) then redis.call('zadd', KEYS[3], ARGV[2], ARGV[1]) end
end
return n
"""
# Re-push SKUs whose commitments changed. KEYS/ARGV[1..3] as above, then SKUs. A SKU already pending
# is left alone (the flush recomputes it against the new commitments); otherwise its last known
# figure is queued again (or UNKNOWN, resolved through inventory at flush time).
_REQUEUE = """
local n = 0
for i = 4, #ARGV do
  local sku = ARGV[i]
  if redis.call('hexists', KEYS[1], sku) == 0 then
    local f = redis.call('hget', KEYS[2], sku)
    if not f then f = '-1|-1' end
    redis.call('hset', KEYS[1], sku, f .. '|' .. ARGV[3])
    n = n + 1
  end
end
local s = redis.call('zscore', KEYS[3], ARGV[1])
if (not s) or tonumber(s) > tonumber(ARGV[2]) then redis.call('zadd', KEYS[3], ARGV[2], ARGV[1]) end
return n
"""
# KEYS: pending. ARGV: sku, expected value pairs. Deletes an entry only if it is still the one the
# flusher read (a newer figure recorded meanwhile stays pending).
_CAS_DELETE = """
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('hget', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('hdel', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n
"""
# KEYS: pending, due. ARGV: member, next_due_ms. Nothing left: not due; else due at next_due_ms.
_FINISH = """
if redis.call('hlen', KEYS[1]) == 0 then
  redis.call('zrem', KEYS[2], ARGV[1])
  return 0
end
redis.call('zadd', KEYS[2], ARGV[2], ARGV[1])
return 1
"""
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class SyncRedis(Protocol):
    def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any: ...
    def set(self, name: str, value: str, *, nx: bool = ..., px: int | None = ...) -> Any: ...
    def get(self, name: str) -> Any: ...
    def hgetall(self, name: str) -> Any: ...
    def delete(self, *names: str) -> Any: ...
    def zadd(self, name: str, mapping: Mapping[str, float]) -> Any: ...
    def zrangebyscore(
        self, name: str, min: Any, max: Any, start: int | None = ..., num: int | None = ...
    ) -> Any: ...
    def pttl(self, name: str) -> Any: ...
    def incr(self, name: str) -> Any: ...
    def expire(self, name: str, time: int) -> Any: ...


# ---------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class SyncSettings:
    """Knobs of the engine; `load_sync_settings` reads them from the environment."""

    # A burst is gathered this long before the first flush of a connection (latency vs calls).
    coalesce_delay: timedelta = timedelta(milliseconds=50)
    # Longer than the slowest flush of one connection (connector deadline x a few chunks).
    lock_ttl: timedelta = timedelta(seconds=120)
    backoff_base: timedelta = timedelta(seconds=1)
    backoff_cap: timedelta = timedelta(minutes=5)
    # A disconnected connection keeps its pending set and is looked at again this often.
    disconnected_retry: timedelta = timedelta(minutes=5)
    batch_limit_ttl: timedelta = timedelta(minutes=10)
    flush_limit: int = 200
    polls: protection.OrderPollSettings = field(default_factory=protection.OrderPollSettings)
    reconcile_interval: timedelta = timedelta(minutes=15)
    order_poll_interval: timedelta = timedelta(hours=1)
    inventory_addr: str = "127.0.0.1:50052"
    inventory_timeout: timedelta = timedelta(seconds=10)


def load_sync_settings(environ: Mapping[str, str] | None = None) -> SyncSettings:
    """The sync engine's own variables (the service's are read by channels.config)."""
    env = EnvReader(environ)
    settings = SyncSettings(
        reconcile_interval=timedelta(
            seconds=env.float("CHANNELS_RECONCILE_INTERVAL_SECONDS", 900.0, minimum=1.0)
        ),
        order_poll_interval=timedelta(
            seconds=env.float("CHANNELS_ORDER_POLL_INTERVAL_SECONDS", 3600.0, minimum=1.0)
        ),
        coalesce_delay=timedelta(
            milliseconds=env.int("CHANNELS_SYNC_COALESCE_MS", 50, minimum=0, maximum=60000)
        ),
        polls=protection.OrderPollSettings(
            first_lookback=timedelta(hours=env.float("CHANNELS_ORDER_LOOKBACK_HOURS", 24.0, minimum=0.0)),
            overlap=timedelta(seconds=env.float("CHANNELS_ORDER_POLL_OVERLAP_SECONDS", 300.0, minimum=0.0)),
        ),
        inventory_addr=service_addr(env, "inventory"),
    )
    env.raise_if_invalid()
    return settings


# ---------------------------------------------------------------------------- inventory (figures)
@dataclass(frozen=True)
class SkuFigure:
    """What OmniStock says of one SKU now: `available`, and per connection with an allocation rule."""

    available: int
    per_connection: Mapping[str, int]

    def for_connection(self, connection_id: str) -> int:
        return max(0, int(self.per_connection.get(connection_id, self.available)))


class InventoryPort(Protocol):
    def figures(self, tenant_id: str, skus: Sequence[str]) -> dict[str, SkuFigure]: ...


class GrpcInventory:
    """inventory.GetSkuStock per SKU with the tenant's CallContext. One channel + stub per OS
    thread (`local_factory`), because the worker calls it from eventlet's tpool threads where a
    shared channel deadlocks (DESIGN, Events)."""

    def __init__(
        self, address: str, timeout: float, local_factory: Callable[[], Any] = threading.local
    ) -> None:
        self.address = address
        self.timeout = timeout
        self._local = local_factory()
        self._lock = threading.Lock()
        self._channels: list[grpc.Channel] = []

    def _stub(self) -> DeadlineStub[inv_grpc.InventoryServiceStub]:
        stub = getattr(self._local, "stub", None)
        if stub is None:
            channel = make_channel(self.address)
            with self._lock:
                self._channels.append(channel)
            stub = DeadlineStub(inv_grpc.InventoryServiceStub(channel), self.timeout)
            self._local.stub = stub
        return stub

    def figures(self, tenant_id: str, skus: Sequence[str]) -> dict[str, SkuFigure]:
        """SKUs inventory does not know are left out (a lookup miss must never zero a channel)."""
        ctx = CallContext(tenant_id=tenant_id)
        found: dict[str, SkuFigure] = {}
        for sku in dict.fromkeys(skus):
            try:
                reply = self._stub().call(ctx).GetSkuStock(inv_pb.GetSkuStockRequest(sku=sku))
            except grpc.RpcError as err:
                if isinstance(err, grpc.Call) and err.code() is grpc.StatusCode.NOT_FOUND:
                    continue
                raise
            found[sku] = SkuFigure(
                int(reply.available), {c.connection_id: int(c.available_to_sell) for c in reply.channels}
            )
        return found

    def close(self) -> None:
        with self._lock:
            for channel in self._channels:
                channel.close()
            self._channels.clear()


# ---------------------------------------------------------------------------- the engine
def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SyncEngine:
    """Collaborators of the flusher and reconciliation; safe to share between threads."""

    uow: UnitOfWork
    redis: SyncRedis
    caller: ConnectionCaller
    settings: SyncSettings = field(default_factory=SyncSettings)
    inventory: InventoryPort | None = None
    clock: Callable[[], datetime] = _utcnow
    _batch_limits: dict[str, tuple[int, float]] = field(default_factory=dict)

    def batch_limit(self, tenant_id: str, channel_type: str) -> int:
        """Describe.max_inventory_batch of the connector, cached (it is a constant of the channel)."""
        cached = self._batch_limits.get(channel_type)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        try:
            reply = (
                self.caller.connectors.get(channel_type)
                .call(CallContext(tenant_id=tenant_id))
                .Describe(cpb.DescribeRequest())
            )
            limit = int(reply.max_inventory_batch) or DEFAULT_BATCH
        except grpc.RpcError as err:
            log.warning(
                "Describe of the %s connector failed (%s); using %d", channel_type, err, DEFAULT_BATCH
            )
            return DEFAULT_BATCH
        self._batch_limits[channel_type] = (
            limit,
            time.monotonic() + self.settings.batch_limit_ttl.total_seconds(),
        )
        return limit

    def requeue(self, tenant_id: str, seen_on: str, skus: Sequence[str]) -> None:
        """protection's callback: a commitment changed, re-push the SKUs to the OTHER connections."""
        requeue_skus(self.redis, self.uow, tenant_id, skus, exclude_connection_id=seen_on)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _member(tenant_id: str, connection_id: str) -> str:
    # Connection ids are UUIDs (no '|'), so the first '|' always splits the pair.
    return f"{connection_id}|{tenant_id}"


def _split_member(member: str) -> tuple[str, str]:
    connection_id, _, tenant_id = member.partition("|")
    return tenant_id, connection_id


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------------------- intake
def _listed(conn: SqlConnection, tenant_id: str, skus: Sequence[str]) -> dict[str, dict[str, int]]:
    """connection id -> {sku: last_pushed_version or -1} for the SKUs listed on it."""
    t = models.listings
    found: dict[str, dict[str, int]] = {}
    for start in range(0, len(skus), 500):
        chunk = skus[start : start + 500]
        rows = conn.execute(
            select(t.c.connection_id, t.c.sku, t.c.last_pushed_version).where(
                t.c.tenant_id == tenant_id, t.c.sku.in_(chunk)
            )
        )
        for r in rows:
            lpv = r.last_pushed_version
            found.setdefault(r.connection_id, {})[r.sku] = int(lpv) if lpv is not None else -1
    return found


def _warn_about_foreign_connections(
    conn: SqlConnection, tenant_id: str, entries: Sequence[Mapping[str, Any]], known: set[str]
) -> None:
    """Log per-connection figures that name a connection the tenant does not own (they are never
    used: figures are only looked up for the tenant's own connections)."""
    named = {
        str(channel.get("connection_id"))
        for entry in entries
        for channel in entry.get("channels") or ()
        if isinstance(channel, Mapping)
    }
    unknown = sorted(named - known)
    if not unknown:
        return
    t = models.connections
    owned = {
        r.id
        for r in conn.execute(select(t.c.id).where(t.c.tenant_id == tenant_id, t.c.id.in_(unknown[:500])))
    }
    foreign = [c for c in unknown if c not in owned]
    if foreign:
        log.warning(
            "stock_changed for tenant %s names %d connection(s) it does not own; ignored: %s",
            tenant_id,
            len(foreign),
            ", ".join(foreign[:10]),
        )


def accept_stock_changed(payload: Mapping[str, Any], secret: str) -> bool:
    """True when an `inventory.stock_changed` payload was signed by an OmniStock process (the
    inventory worker signs every event with INTERNAL_TOKEN_SECRET); anything else is logged and
    must be dropped, whoever could publish it to the broker."""
    if service_auth.event_signature_valid(secret, STOCK_CHANGED_EVENT, payload):
        return True
    log.warning(
        "dropped an unsigned or forged inventory.stock_changed event (tenant %r)",
        str(payload.get("tenant_id", ""))[:64],
    )
    return False


def record_stock_changes(
    redis: SyncRedis,
    uow: UnitOfWork,
    payload: Mapping[str, Any],
    *,
    settings: SyncSettings = SyncSettings(),
    now: datetime | None = None,
) -> int:
    """Record an `inventory.stock_changed` payload; returns how many (connection, SKU) figures were
    kept. Each live connection of the tenant that lists a SKU gets that connection's
    `available_to_sell` when the payload has one, else `available`. Idempotent under redelivery.

    The connections come from channels' own rows of the payload's tenant, never from the payload:
    a per-connection figure naming a connection of another tenant (or none at all) is ignored
    and logged. (worker.py only hands over payloads signed by an OmniStock process.)"""
    tenant_id = str(payload.get("tenant_id") or "")
    entries = [e for e in payload.get("skus") or () if isinstance(e, Mapping) and e.get("sku")]
    if not tenant_id or not entries:
        return 0
    moment = now or _utcnow()
    skus = list(dict.fromkeys(str(e["sku"]) for e in entries))
    live = dict(protection.live_connections(uow, tenant_id))
    with uow.transaction() as repo:
        listed = _listed(repo.conn, tenant_id, skus)
        _warn_about_foreign_connections(repo.conn, tenant_id, entries, known=set(live) | set(listed))
    kept = 0
    now_ms = _ms(moment)
    due_ms = now_ms + int(settings.coalesce_delay.total_seconds() * 1000)
    for connection_id, floors in listed.items():
        if connection_id not in live:
            continue
        args: list[Any] = [_member(tenant_id, connection_id), due_ms, now_ms]
        for entry in entries:
            sku = str(entry["sku"])
            if sku not in floors:
                continue
            figure = int(entry.get("available", 0))
            for channel in entry.get("channels") or ():
                if isinstance(channel, Mapping) and channel.get("connection_id") == connection_id:
                    figure = int(channel.get("available_to_sell", figure))
            args += [sku, max(0, figure), int(entry.get("version", 0)), floors[sku]]
        if len(args) > 3:
            kept += int(
                redis.eval(
                    _INTAKE, 3, PENDING_PREFIX + connection_id, FIGURES_PREFIX + connection_id, DUE_KEY, *args
                )
            )
    return kept


def requeue_skus(
    redis: SyncRedis,
    uow: UnitOfWork,
    tenant_id: str,
    skus: Sequence[str],
    *,
    exclude_connection_id: str | None = None,
    now: datetime | None = None,
) -> int:
    """Make every live connection of the tenant that lists one of `skus` (except the excluded one)
    push them again now, against the current commitments. Returns the connections marked."""
    if not skus:
        return 0
    live = dict(protection.live_connections(uow, tenant_id))
    with uow.transaction() as repo:
        listed = _listed(repo.conn, tenant_id, list(dict.fromkeys(skus)))
    now_ms = _ms(now or _utcnow())
    marked = 0
    for connection_id, floors in listed.items():
        if connection_id == exclude_connection_id or connection_id not in live:
            continue
        redis.eval(
            _REQUEUE,
            3,
            PENDING_PREFIX + connection_id,
            FIGURES_PREFIX + connection_id,
            DUE_KEY,
            _member(tenant_id, connection_id),
            now_ms,
            now_ms,
            *sorted(floors),
        )
        marked += 1
    return marked


# ---------------------------------------------------------------------------- flusher
@dataclass(frozen=True)
class Pending:
    sku: str
    raw: str
    figure: int
    version: int
    recorded_ms: int

    @classmethod
    def parse(cls, sku: str, raw: str) -> Pending | None:
        parts = raw.split("|")
        if len(parts) != 3:
            return None
        try:
            return cls(sku, raw, int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            return None


@dataclass(frozen=True)
class ListingRow:
    external_ids: dict[str, str]
    last_pushed_quantity: int | None
    last_pushed_version: int | None


@dataclass(frozen=True)
class Planned:
    sku: str
    raw: str
    quantity: int
    version: int
    increase: bool


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


@dataclass
class FlushReport:
    connections: list[ConnectionFlush] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return sum(c.applied for c in self.connections)


def _listing_rows(
    conn: SqlConnection, tenant_id: str, connection_id: str, skus: Sequence[str]
) -> dict[str, ListingRow]:
    t = models.listings
    found: dict[str, ListingRow] = {}
    for start in range(0, len(skus), 500):
        chunk = skus[start : start + 500]
        rows = conn.execute(
            select(t.c.sku, t.c.external_ids, t.c.last_pushed_quantity, t.c.last_pushed_version).where(
                t.c.tenant_id == tenant_id, t.c.connection_id == connection_id, t.c.sku.in_(chunk)
            )
        )
        for r in rows:
            found[r.sku] = ListingRow(
                {str(k): str(v) for k, v in json.loads(r.external_ids).items()},
                None if r.last_pushed_quantity is None else int(r.last_pushed_quantity),
                None if r.last_pushed_version is None else int(r.last_pushed_version),
            )
    return found


def _plan(
    entries: Sequence[Pending], listings: Mapping[str, ListingRow], commitments: Mapping[str, int]
) -> list[Planned]:
    plan = []
    for entry in entries:
        listing = listings[entry.sku]
        quantity = max(0, entry.figure - commitments.get(entry.sku, 0))
        last = listing.last_pushed_quantity
        plan.append(Planned(entry.sku, entry.raw, quantity, entry.version, last is None or quantity > last))
    return plan


def flush_due(engine: SyncEngine, *, now: datetime | None = None) -> FlushReport:
    """Flush every connection whose due time has come (skipping those another replica holds)."""
    moment = now or engine.clock()
    now_ms = _ms(moment)
    report = FlushReport()
    members = engine.redis.zrangebyscore(DUE_KEY, "-inf", now_ms, start=0, num=engine.settings.flush_limit)
    for raw_member in members:
        member = _text(raw_member)
        tenant_id, connection_id = _split_member(member)
        hold = int(engine.redis.pttl(HOLD_PREFIX + connection_id) or -2)
        if hold > 0:
            engine.redis.zadd(DUE_KEY, {member: now_ms + hold})
            continue
        try:
            result = flush_connection(engine, tenant_id, connection_id)
        except Exception:  # logged by flush_connection; the other connections still get their turn
            continue
        if result is not None:
            report.connections.append(result)
    return report


class ConnectionLock:
    """The per-connection push lock (SET NX PX + token-checked release), shared with reconcile."""

    def __init__(self, redis: SyncRedis, connection_id: str, ttl: timedelta) -> None:
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
        self.redis.eval(_RELEASE, 1, self.key, self.token)


def flush_connection(engine: SyncEngine, tenant_id: str, connection_id: str) -> ConnectionFlush | None:
    """Push the connection's pending set under its lock; None when another replica holds it."""
    lock = ConnectionLock(engine.redis, connection_id, engine.settings.lock_ttl)
    if not lock.acquire():
        return None
    member = _member(tenant_id, connection_id)
    # Claimed: if this process dies mid-flush, the connection is due again once the lock expired.
    engine.redis.zadd(DUE_KEY, {member: _ms(engine.clock()) + lock.ttl_ms})
    result = ConnectionFlush(connection_id)
    next_due = _ms(engine.clock())
    try:
        next_due = _flush_locked(engine, tenant_id, connection_id, result)
    except Exception:
        log.exception("flush of connection %s failed", connection_id, extra={"tenant": tenant_id})
        next_due = _ms(engine.clock()) + _backoff(engine, connection_id, None)
        raise
    finally:
        engine.redis.eval(_FINISH, 2, PENDING_PREFIX + connection_id, DUE_KEY, member, next_due)
        lock.release()
    return result


def _flush_locked(engine: SyncEngine, tenant_id: str, connection_id: str, result: ConnectionFlush) -> int:
    """Returns when the connection is due next (ms) if anything is still pending."""
    pkey = PENDING_PREFIX + connection_id
    raw = {_text(k): _text(v) for k, v in (engine.redis.hgetall(pkey) or {}).items()}
    now_ms = _ms(engine.clock())
    if not raw:
        return now_ms
    try:
        stored = engine.caller.load(tenant_id, connection_id)
    except NotFound:
        # Deleted connection (or one of another deployment sharing this Redis, which must keep its
        # figures): never delete them here, let them expire; until then look again now and then.
        log.warning("connection %s not found; its pending figures expire in a day", connection_id)
        for key in (pkey, FIGURES_PREFIX + connection_id):
            engine.redis.expire(key, ORPHAN_TTL_SECONDS)
        return now_ms + ORPHAN_RECHECK_MS
    conn = stored.connection
    if conn.status is ConnectionStatus.DISCONNECTED:
        return now_ms + _hold(engine, connection_id, engine.settings.disconnected_retry.total_seconds())
    entries = [p for p in (Pending.parse(sku, value) for sku, value in raw.items()) if p is not None]
    _cas_delete(engine, connection_id, [(s, v) for s, v in raw.items() if Pending.parse(s, v) is None])
    with engine.uow.transaction() as repo:
        listings = _listing_rows(repo.conn, tenant_id, connection_id, [e.sku for e in entries])
    unmapped = [e for e in entries if e.sku not in listings or not listings[e.sku].external_ids]
    if unmapped:
        _log(engine, tenant_id, connection_id, [e.sku for e in unmapped], "error", "unmapped sku")
        _cas_delete(engine, connection_id, [(e.sku, e.raw) for e in unmapped])
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
        _cas_delete(engine, connection_id, [(e.sku, e.raw) for e in stale])
        result.stale = len(stale)
    entries = [e for e in entries if e not in stale]
    if not entries:
        return now_ms
    plan = _plan(entries, listings, _commitments(engine, tenant_id, entries))
    waiting: list[Planned] = []
    if any(p.increase for p in plan):
        as_of = datetime.fromtimestamp(max(e.recorded_ms for e in entries) / 1000, UTC)
        if protection.ensure_orders_current(
            engine.caller,
            engine.uow,
            engine.redis,
            tenant_id,
            as_of,
            settings=engine.settings.polls,
            on_changed=engine.requeue,
            clock=engine.clock,
        ):
            # The polls may have found new orders: recompute against the commitments now (and
            # against what the selling channel shows after its own sale, see protection).
            with engine.uow.transaction() as repo:
                listings = _listing_rows(repo.conn, tenant_id, connection_id, [e.sku for e in entries])
            entries = [e for e in entries if e.sku in listings]
            plan = _plan(entries, listings, _commitments(engine, tenant_id, entries))
        else:
            waiting = [p for p in plan if p.increase]
            plan = [p for p in plan if not p.increase]
    unchanged = [p for p in plan if p.quantity == listings[p.sku].last_pushed_quantity]
    if unchanged:
        _mark_pushed(engine, tenant_id, connection_id, unchanged)
        result.unchanged = len(unchanged)
    to_push = [p for p in plan if p not in unchanged]
    retry_after = push_planned(engine, tenant_id, connection_id, conn.type, to_push, listings, result)
    result.waiting = len(waiting)
    if retry_after is not None:
        return _ms(engine.clock()) + _backoff(engine, connection_id, retry_after)
    if result.retry:
        return _ms(engine.clock()) + _backoff(engine, connection_id, None)
    engine.redis.delete(ATTEMPTS_PREFIX + connection_id)
    if waiting:
        return _ms(engine.clock()) + int(engine.settings.polls.min_interval.total_seconds() * 1000)
    return _ms(engine.clock())


def _commitments(engine: SyncEngine, tenant_id: str, entries: Sequence[Pending]) -> dict[str, int]:
    with engine.uow.transaction() as repo:
        return protection.pending_commitments(repo.conn, tenant_id, [e.sku for e in entries])


def _resolve_unknown(
    engine: SyncEngine,
    tenant_id: str,
    connection_id: str,
    entries: list[Pending],
    listings: Mapping[str, ListingRow],
) -> list[Pending]:
    """Requeued SKUs whose figure Redis no longer had: ask inventory; without it, leave the SKU to
    reconciliation (and say so)."""
    unknown = [e for e in entries if e.figure == UNKNOWN]
    if not unknown:
        return entries
    figures: dict[str, SkuFigure] = {}
    if engine.inventory is not None:
        try:
            figures = engine.inventory.figures(tenant_id, [e.sku for e in unknown])
        except grpc.RpcError as err:
            log.warning("inventory lookup for a requeue failed: %s", err)
            return [e for e in entries if e.figure != UNKNOWN]
    resolved = []
    dropped = []
    for e in entries:
        if e.figure != UNKNOWN:
            resolved.append(e)
        elif e.sku in figures:
            version = listings[e.sku].last_pushed_version or 0
            resolved.append(
                Pending(e.sku, e.raw, figures[e.sku].for_connection(connection_id), version, e.recorded_ms)
            )
        else:
            dropped.append(e)
    if dropped:
        log.warning(
            "no figure for %d requeued SKUs of connection %s; reconciliation will correct them",
            len(dropped),
            connection_id,
        )
        _cas_delete(engine, connection_id, [(e.sku, e.raw) for e in dropped])
    return resolved


def push_planned(
    engine: SyncEngine,
    tenant_id: str,
    connection_id: str,
    channel_type: str,
    plan: Sequence[Planned],
    listings: Mapping[str, ListingRow],
    result: ConnectionFlush,
) -> float | None:
    """Bulk-push `plan` in chunks; returns the retry delay (s) when a call failed, else None."""
    if not plan:
        return None
    limit = engine.batch_limit(tenant_id, channel_type)
    for start in range(0, len(plan), limit):
        chunk = plan[start : start + limit]
        items = [
            cpb.InventoryItem(
                sku=p.sku, quantity=p.quantity, remote=cpb.RemoteIds(ids=listings[p.sku].external_ids)
            )
            for p in chunk
        ]
        try:
            reply = engine.caller.with_connection(
                tenant_id,
                connection_id,
                "push_inventory",
                lambda stub, conn, items=items: stub.PushInventory(
                    cpb.PushInventoryRequest(connection=conn, items=items)
                ),
                skus=[p.sku for p in chunk],
                describe=_describe_push,
            )
        except FailedPrecondition as exc:
            result.failed = str(exc)
            if exc.reason == "CONNECTION_DISCONNECTED" or "disconnected" in str(exc):
                return engine.settings.disconnected_retry.total_seconds()
            return 0.0
        except DomainError as exc:
            result.failed = str(exc)
            return _retry_info(exc) or 0.0
        result.pushed += len(chunk)
        result.calls += int(reply.calls or 1)
        by_sku = {p.sku: p for p in chunk}
        applied: list[Planned] = []
        dropped: list[Planned] = []
        rejected_messages: list[str] = []
        answered = set()
        for item in reply.results:
            planned = by_sku.get(item.sku)
            if planned is None:
                continue
            answered.add(item.sku)
            if item.outcome == cpb.ITEM_OUTCOME_APPLIED:
                applied.append(planned)
            elif item.outcome == cpb.ITEM_OUTCOME_REJECTED:
                dropped.append(planned)
                rejected_messages.append(f"{item.sku}: {item.message}")
            else:
                result.retry += 1
        result.retry += len([p for p in chunk if p.sku not in answered])
        if applied:
            _mark_pushed(engine, tenant_id, connection_id, applied)
            result.applied += len(applied)
        if dropped:
            _log(
                engine,
                tenant_id,
                connection_id,
                [p.sku for p in dropped],
                "error",
                "rejected by the channel: " + "; ".join(rejected_messages),
            )
            _cas_delete(engine, connection_id, [(p.sku, p.raw) for p in dropped])
            result.rejected += len(dropped)
    return None


def _describe_push(reply: cpb.PushInventoryResponse) -> CallRecord:
    counts = {cpb.ITEM_OUTCOME_APPLIED: 0, cpb.ITEM_OUTCOME_RETRY: 0, cpb.ITEM_OUTCOME_REJECTED: 0}
    for item in reply.results:
        counts[item.outcome] = counts.get(item.outcome, 0) + 1
    applied, retry, rejected = (
        counts[cpb.ITEM_OUTCOME_APPLIED],
        counts[cpb.ITEM_OUTCOME_RETRY],
        counts[cpb.ITEM_OUTCOME_REJECTED],
    )
    outcome = "ok" if not retry and not rejected else ("retry" if retry else "error")
    return CallRecord(
        outcome=outcome,
        message=f"{applied} applied, {retry} to retry, {rejected} rejected",
        calls=int(reply.calls) if reply.calls > 0 else None,
    )


def _retry_info(exc: DomainError) -> float | None:
    for detail in exc.details:
        if isinstance(detail, error_details_pb2.RetryInfo):
            return detail.retry_delay.seconds + detail.retry_delay.nanos / 1e9
    return None


def _backoff(engine: SyncEngine, connection_id: str, retry_after: float | None) -> int:
    """Exponential backoff with jitter per connection (ms); a RetryInfo delay is a floor. Also
    holds the connection so new intake does not bring the next attempt forward."""
    key = ATTEMPTS_PREFIX + connection_id
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
    engine.redis.set(HOLD_PREFIX + connection_id, "1", px=ms)
    return ms


def _cas_delete(engine: SyncEngine, connection_id: str, pairs: Sequence[tuple[str, str]]) -> int:
    if not pairs:
        return 0
    args = [x for pair in pairs for x in pair]
    return int(engine.redis.eval(_CAS_DELETE, 1, PENDING_PREFIX + connection_id, *args))


def _mark_pushed(engine: SyncEngine, tenant_id: str, connection_id: str, planned: Sequence[Planned]) -> None:
    """The channel holds these quantities now: record them (never over a newer version), then drop
    the pending entries that are still the ones pushed."""
    now = engine.clock()
    t = models.listings

    def work(repo: Any) -> None:
        for p in planned:
            repo.conn.execute(
                update(t)
                .where(
                    t.c.tenant_id == tenant_id,
                    t.c.connection_id == connection_id,
                    t.c.sku == p.sku,
                    (t.c.last_pushed_version.is_(None)) | (t.c.last_pushed_version <= p.version),
                )
                .values(last_pushed_quantity=p.quantity, last_pushed_version=p.version, last_pushed_at=now)
            )

    engine.uow.run(work)
    _cas_delete(engine, connection_id, [(p.sku, p.raw) for p in planned])


def _log(
    engine: SyncEngine, tenant_id: str, connection_id: str, skus: Sequence[str], outcome: str, message: str
) -> None:
    now = engine.clock()
    engine.uow.run(
        lambda repo: repo.add_sync_log(
            tenant_id,
            connection_id,
            at=now,
            operation="push_inventory",
            skus=list(skus)[:1000],
            outcome=outcome,
            message=message,
            latency_ms=0,
            calls=0,
        )
    )


class PerThreadConnectors:
    """A ConnectorRegistry per OS thread (`local_factory`): the worker runs connector calls in
    eventlet tpool threads, where one gRPC channel shared between threads deadlocks (DESIGN)."""

    def __init__(
        self, addresses: Mapping[str, str], timeout: float, local_factory: Callable[[], Any] = threading.local
    ) -> None:
        self.addresses = dict(addresses)
        self.timeout = timeout
        self._local = local_factory()
        self._lock = threading.Lock()
        self._registries: list[ConnectorRegistry] = []

    def _registry(self) -> ConnectorRegistry:
        registry = getattr(self._local, "registry", None)
        if registry is None:
            registry = ConnectorRegistry.from_addresses(self.addresses, self.timeout)
            with self._lock:
                self._registries.append(registry)
            self._local.registry = registry
        return registry

    def get(self, channel_type: str) -> DeadlineStub[ConnectorStub]:
        return self._registry().get(channel_type)

    def close(self) -> None:
        with self._lock:
            for registry in self._registries:
                registry.close()
            self._registries.clear()


class PerThreadRedis:
    """One redis-py client per OS thread, for the same reason as PerThreadConnectors."""

    def __init__(self, url: str, local_factory: Callable[[], Any] = threading.local) -> None:
        self.url = url
        self._local = local_factory()
        self._lock = threading.Lock()
        self._clients: list[redis_lib.Redis] = []

    def _client(self) -> redis_lib.Redis:
        client = getattr(self._local, "client", None)
        if client is None:
            client = redis_lib.Redis.from_url(self.url, socket_timeout=10.0, socket_connect_timeout=2.0)
            with self._lock:
                self._clients.append(client)
            self._local.client = client
        return client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client(), name)

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()


@dataclass
class Runtime:
    """Everything the worker's jobs share, and how to close it."""

    engine: SyncEngine
    sql: Engine
    settings: Settings
    closers: list[Callable[[], None]] = field(default_factory=list)
    # Verifies the signature of consumed events (INTERNAL_TOKEN_SECRET).
    event_secret: str = field(default="", repr=False)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.closers.clear()


def build_runtime(
    settings: Settings,
    sync_settings: SyncSettings,
    *,
    local_factory: Callable[[], Any] = threading.local,
    db_pool_size: int = 8,
) -> Runtime:
    """Composition root of the sync worker (also usable by benchmarks and tests without nameko)."""
    sql = make_engine(settings.database_url, pool_size=db_pool_size)
    uow = UnitOfWork(sql)
    closers: list[Callable[[], None]] = [sql.dispose]
    redis = PerThreadRedis(settings.server.redis_url, local_factory)
    closers.append(redis.close)
    connectors = PerThreadConnectors(
        settings.connector_addrs, settings.connector_timeout_seconds, local_factory
    )
    closers.append(connectors.close)

    def notification_url(tenant_id: str) -> str:
        with uow.transaction() as repo:
            return repo.get_notification_url(tenant_id)

    notifier = Notifier(
        notification_url,
        timeout=settings.notify_timeout_seconds,
        egress=EgressPolicy(allowed=settings.allowed_hosts),
    )
    closers.append(notifier.close)
    caller = ConnectionCaller(
        uow,
        KeyRing(settings.credentials_keys),
        connectors,  # type: ignore[arg-type]  # duck-typed ConnectorRegistry (get)
        redis,
        notifier,
        refresh_skew=timedelta(seconds=settings.refresh_skew_seconds),
    )
    inventory = GrpcInventory(
        sync_settings.inventory_addr, sync_settings.inventory_timeout.total_seconds(), local_factory
    )
    closers.append(inventory.close)
    engine = SyncEngine(uow, redis, caller, settings=sync_settings, inventory=inventory)
    return Runtime(engine, sql, settings, closers, event_secret=load_internal_auth_settings().token_secret)


def pending_snapshot(redis: SyncRedis, connection_id: str) -> dict[str, tuple[int, int]]:
    """sku -> (figure, version) still waiting for the channel (for tests and the dashboard)."""
    found = {}
    for key, value in (redis.hgetall(PENDING_PREFIX + connection_id) or {}).items():
        parsed = Pending.parse(_text(key), _text(value))
        if parsed is not None:
            found[parsed.sku] = (parsed.figure, parsed.version)
    return found


__all__ = [
    "DUE_KEY",
    "PENDING_PREFIX",
    "ConnectionFlush",
    "ConnectionLock",
    "FlushReport",
    "GrpcInventory",
    "InventoryPort",
    "PerThreadConnectors",
    "PerThreadRedis",
    "Runtime",
    "SkuFigure",
    "SyncEngine",
    "SyncSettings",
    "accept_stock_changed",
    "build_runtime",
    "flush_connection",
    "flush_due",
    "load_sync_settings",
    "pending_snapshot",
    "record_stock_changes",
    "requeue_skus",
]
