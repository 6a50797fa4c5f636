"""The Redis coalescing store of the sync engine, its Lua compares and the event intake.

Intake (`record_stock_changes`, called for every `inventory.stock_changed` event) keeps, per
connection, only the newest (figure, version) of each listed SKU in the Redis hash
`omnistock:pending:<connection_id>` and marks the connection due in the sorted set
`omnistock:sync:due`. Prices (`record_price_change`, for every `pricing.price_changed` event) are
a second kind of item in the same machinery (`ItemKind`): their own hashes
(`omnistock:prices:pending:<connection_id>`, `omnistock:prices:known:<connection_id>`), the same
Lua compare and the same due set, and `listings.last_pushed_price_version` as their floor. The compare is one Lua script per connection, so concurrent consumers and
redelivered events can never put an older version over a newer one, and a version at or below
`listings.last_pushed_version` is dropped. The flusher (flusher.py) empties the store.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from channels.price_domain import PRICE_CHANGED_EVENT, ChannelPrice, PriceChange, parse_price_changed
from channels.repository import Repository, UnitOfWork
from channels.sync import in_flight
from channels.sync.settings import SyncSettings
from omnistock_common import service_auth
from omnistock_common.errors import InvalidArgument

log = logging.getLogger(__name__)

PENDING_PREFIX = "omnistock:pending:"
FIGURES_PREFIX = "omnistock:figures:"
DUE_KEY = "omnistock:sync:due"
HOLD_PREFIX = "omnistock:sync:hold:"
ATTEMPTS_PREFIX = "omnistock:sync:attempts:"
UNKNOWN = -1
# The event this engine consumes, as named in its signature (service_auth.sign_event).
STOCK_CHANGED_EVENT = "inventory.stock_changed"
DEFAULT_SETTINGS = SyncSettings()


@dataclass(frozen=True)
class ItemKind:
    """One kind of item the engine coalesces and pushes: where its pending and last known values
    live in Redis. Every kind shares the due set, the connection's lock, backoff and bucket."""

    name: str
    pending_prefix: str
    known_prefix: str


STOCK = ItemKind("stock", PENDING_PREFIX, FIGURES_PREFIX)
PRICES = ItemKind("prices", "omnistock:prices:pending:", "omnistock:prices:known:")
KINDS = (STOCK, PRICES)

# ---------------------------------------------------------------------------- Lua (atomic compares)
# KEYS: pending hash, figures hash, due zset (of one ItemKind). ARGV: member, due_ms, now_ms, then per
# SKU (sku, figure, version, floor = last pushed version or -1). A figure is any token without '|'
# (a quantity, a price token). Keeps a figure only when its version
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
    if cur then cv = tonumber(string.match(cur, '^[^|]*|(%-?%d+)|')) end
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
# Re-push SKUs whose commitments changed. KEYS/ARGV[1..3] as above, then SKUs. A SKU not pending
# is queued at its last known figure (or UNKNOWN, resolved through inventory at flush time). A SKU
# already pending keeps its figure but gets a new stamp: a flush running now may have computed it
# against the commitments before this change, and the new value makes that flush's
# compare-and-delete miss, so the next flush computes it again (a settled order's unit was once
# left off a channel for good when the settlement landed during the push of its commitment).
_REQUEUE = """
local n = 0
for i = 4, #ARGV do
  local sku = ARGV[i]
  local cur = redis.call('hget', KEYS[1], sku)
  local head = nil
  local stamp = ARGV[3]
  if cur then
    local f, v, t = string.match(cur, '^(-?%d+)|(-?%d+)|(-?%d+)$')
    if f then
      head = f .. '|' .. v
      if tonumber(t) >= tonumber(stamp) then stamp = string.format('%d', tonumber(t) + 1) end
    end
  else
    head = redis.call('hget', KEYS[2], sku) or '-1|-1'
  end
  if head then
    redis.call('hset', KEYS[1], sku, head .. '|' .. stamp)
    n = n + 1
  end
end
local s = redis.call('zscore', KEYS[3], ARGV[1])
if (not s) or tonumber(s) > tonumber(ARGV[2]) then redis.call('zadd', KEYS[3], ARGV[2], ARGV[1]) end
return n
"""
# Re-push SKUs at the figure inventory gives at flush time. KEYS: pending hash, due zset. ARGV: member,
# due_ms, now_ms, then SKUs. Each is queued as UNKNOWN, which the flusher resolves through inventory
# (see requeue_from_inventory); one already pending is replaced, with a stamp newer than its own, so a
# flush that read it before this call cannot drop it (see _REQUEUE).
_REQUEUE_UNKNOWN = """
local n = 0
for i = 4, #ARGV do
  local cur = redis.call('hget', KEYS[1], ARGV[i])
  local stamp = ARGV[3]
  if cur then
    local t = string.match(cur, '|(-?%d+)$')
    if t and tonumber(t) >= tonumber(stamp) then stamp = string.format('%d', tonumber(t) + 1) end
  end
  redis.call('hset', KEYS[1], ARGV[i], '-1|-1|' .. stamp)
  n = n + 1
end
local s = redis.call('zscore', KEYS[2], ARGV[1])
if (not s) or tonumber(s) > tonumber(ARGV[2]) then redis.call('zadd', KEYS[2], ARGV[2], ARGV[1]) end
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
# KEYS: the pending hash of every kind, then due. ARGV: member, next_due_ms. Nothing left of any
# kind: not due; else due at next_due_ms.
_FINISH = """
for i = 1, #KEYS - 1 do
  if redis.call('hlen', KEYS[i]) > 0 then
    redis.call('zadd', KEYS[#KEYS], ARGV[2], ARGV[1])
    return 1
  end
end
redis.call('zrem', KEYS[#KEYS], ARGV[1])
return 0
"""


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


def _utcnow() -> datetime:
    return datetime.now(UTC)


def ms(moment: datetime) -> int:
    """Epoch milliseconds: the unit of the due set's scores."""
    return int(moment.timestamp() * 1000)


def member(tenant_id: str, connection_id: str) -> str:
    # Connection ids are UUIDs (no '|'), so the first '|' always splits the pair.
    return f"{connection_id}|{tenant_id}"


def split_member(member: str) -> tuple[str, str]:
    connection_id, _, tenant_id = member.partition("|")
    return tenant_id, connection_id


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class Pending:
    """One pending figure of a SKU as stored: `raw` is the exact hash value (for compare-and-delete)."""

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
class PendingPrice:
    """One pending price of a SKU as stored (`raw` for compare-and-delete)."""

    sku: str
    raw: str
    price: ChannelPrice
    version: int
    recorded_ms: int

    @classmethod
    def parse(cls, sku: str, raw: str) -> PendingPrice | None:
        parts = raw.split("|")
        if len(parts) != 3:
            return None
        price = ChannelPrice.from_token(parts[0])
        try:
            version, recorded = int(parts[1]), int(parts[2])
        except ValueError:
            return None
        return None if price is None else cls(sku, raw, price, version, recorded)


def _warn_about_foreign_connections(
    repo: Repository, tenant_id: str, entries: Sequence[Mapping[str, Any]], known: set[str]
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
    owned = repo.owned_connection_ids(tenant_id, unknown)
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
    settings: SyncSettings = DEFAULT_SETTINGS,
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
    live = dict(in_flight.live_connections(uow, tenant_id))
    with uow.transaction() as repo:
        listed = repo.listed_versions(tenant_id, skus)
        _warn_about_foreign_connections(repo, tenant_id, entries, known=set(live) | set(listed))
    kept = 0
    now_ms = ms(moment)
    due_ms = now_ms + int(settings.coalesce_delay.total_seconds() * 1000)
    for connection_id, floors in listed.items():
        if connection_id not in live:
            continue
        args: list[Any] = [member(tenant_id, connection_id), due_ms, now_ms]
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


def accept_price_changed(payload: Mapping[str, Any], secret: str) -> PriceChange | None:
    """The checked `pricing.price_changed` event when the pricing worker signed it and it is well
    formed; anything else is logged and must be dropped (never requeued: it would never pass)."""
    if not service_auth.event_signature_valid(secret, PRICE_CHANGED_EVENT, payload):
        log.warning(
            "dropped an unsigned or forged pricing.price_changed event (tenant %r)",
            str(payload.get("tenant_id", ""))[:64],
        )
        return None
    try:
        return parse_price_changed(payload)
    except InvalidArgument as exc:
        log.warning(
            "dropped a malformed pricing.price_changed event (tenant %r): %s",
            str(payload.get("tenant_id", ""))[:64],
            "; ".join(f"{v.field}: {v.message}" for v in exc.violations),
        )
        return None


def record_price_change(
    redis: SyncRedis,
    uow: UnitOfWork,
    change: PriceChange,
    *,
    settings: SyncSettings = DEFAULT_SETTINGS,
    now: datetime | None = None,
) -> int:
    """Record one checked `pricing.price_changed`; 1 if kept as the connection's pending price of
    the SKU, 0 if dropped. Kept only when its version is newer than the pending one and than the
    last pushed one (`listings.last_pushed_price_version`), so a replay or an older version does
    nothing. The connection must be a live one of the event's tenant (else logged and dropped). A
    SKU without a listing is kept too: the flusher reports it in the sync log, in bulk, and drops
    it (it is never retried)."""
    live = dict(in_flight.live_connections(uow, change.tenant_id))
    if change.connection_id not in live:
        log.warning(
            "price_changed for connection %s, not a live connection of tenant %s; ignored",
            change.connection_id[:36],
            change.tenant_id[:64],
        )
        return 0
    with uow.transaction() as repo:
        floor = repo.price_floors(change.tenant_id, change.connection_id, [change.sku]).get(change.sku, -1)
    now_ms = ms(now or _utcnow())
    due_ms = now_ms + int(settings.coalesce_delay.total_seconds() * 1000)
    connection_id = change.connection_id
    return int(
        redis.eval(
            _INTAKE,
            3,
            PRICES.pending_prefix + connection_id,
            PRICES.known_prefix + connection_id,
            DUE_KEY,
            member(change.tenant_id, connection_id),
            due_ms,
            now_ms,
            change.sku,
            change.price.token(),
            change.version,
            floor,
        )
    )


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
    live = dict(in_flight.live_connections(uow, tenant_id))
    with uow.transaction() as repo:
        listed = repo.listed_versions(tenant_id, list(dict.fromkeys(skus)))
    now_ms = ms(now or _utcnow())
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
            member(tenant_id, connection_id),
            now_ms,
            now_ms,
            *sorted(floors),
        )
        marked += 1
    return marked


def requeue_from_inventory(
    redis: SyncRedis, uow: UnitOfWork, tenant_id: str, skus: Sequence[str], *, now: datetime | None = None
) -> int:
    """Make every live connection of the tenant that lists one of `skus` push them again now, at
    the figure inventory reports at flush time rather than the last one an event carried.

    For commitments the orders service just settled: it reserved the order's units in inventory
    before announcing the import, so inventory's figure already counts them, while the last
    `stock_changed` figure may not yet. Returns the connections marked."""
    if not skus:
        return 0
    live = dict(in_flight.live_connections(uow, tenant_id))
    with uow.transaction() as repo:
        listed = repo.listed_versions(tenant_id, list(dict.fromkeys(skus)))
    now_ms = ms(now or _utcnow())
    marked = 0
    for connection_id, floors in listed.items():
        if connection_id not in live:
            continue
        requeue_unknown(redis, tenant_id, connection_id, sorted(floors), now_ms)
        marked += 1
    return marked


def requeue_unknown(
    redis: SyncRedis, tenant_id: str, connection_id: str, skus: Sequence[str], now_ms: int
) -> int:
    """Queue `skus` of one connection as UNKNOWN, due now (pending ones too, restamped: see
    _REQUEUE_UNKNOWN); returns how many were queued."""
    queued = 0
    for start in range(0, len(skus), 1000):
        chunk = skus[start : start + 1000]
        queued += int(
            redis.eval(
                _REQUEUE_UNKNOWN,
                2,
                PENDING_PREFIX + connection_id,
                DUE_KEY,
                member(tenant_id, connection_id),
                now_ms,
                now_ms,
                *chunk,
            )
        )
    return queued


def cas_delete(
    redis: SyncRedis, connection_id: str, pairs: Sequence[tuple[str, str]], kind: ItemKind = STOCK
) -> int:
    """Drop pending entries only if each is still the value read (a newer figure stays)."""
    if not pairs:
        return 0
    args = [x for pair in pairs for x in pair]
    return int(redis.eval(_CAS_DELETE, 1, kind.pending_prefix + connection_id, *args))


def finish(redis: SyncRedis, connection_id: str, member_: str, next_due_ms: int) -> None:
    """After a flush: not due when nothing of any kind is pending, else due at `next_due_ms`."""
    keys = [kind.pending_prefix + connection_id for kind in KINDS]
    redis.eval(_FINISH, len(keys) + 1, *keys, DUE_KEY, member_, next_due_ms)


def pending_entries(redis: SyncRedis, connection_id: str, kind: ItemKind = STOCK) -> dict[str, str]:
    """sku -> raw pending value ("figure|version|recorded_ms") of the connection."""
    return {text(k): text(v) for k, v in (redis.hgetall(kind.pending_prefix + connection_id) or {}).items()}


def pending_prices(redis: SyncRedis, connection_id: str) -> dict[str, tuple[str, int]]:
    """sku -> (price token, version) still waiting for the channel (tests, the dashboard)."""
    found = {}
    for sku, raw in pending_entries(redis, connection_id, PRICES).items():
        parsed = PendingPrice.parse(sku, raw)
        if parsed is not None:
            found[sku] = (parsed.price.token(), parsed.version)
    return found


def pending_snapshot(redis: SyncRedis, connection_id: str) -> dict[str, tuple[int, int]]:
    """sku -> (figure, version) still waiting for the channel (for tests and the dashboard)."""
    found = {}
    for key, value in (redis.hgetall(PENDING_PREFIX + connection_id) or {}).items():
        parsed = Pending.parse(text(key), text(value))
        if parsed is not None:
            found[parsed.sku] = (parsed.figure, parsed.version)
    return found


__all__ = [
    "ATTEMPTS_PREFIX",
    "DUE_KEY",
    "FIGURES_PREFIX",
    "HOLD_PREFIX",
    "KINDS",
    "PENDING_PREFIX",
    "PRICES",
    "STOCK",
    "STOCK_CHANGED_EVENT",
    "UNKNOWN",
    "ItemKind",
    "Pending",
    "PendingPrice",
    "SyncRedis",
    "accept_price_changed",
    "accept_stock_changed",
    "cas_delete",
    "finish",
    "pending_entries",
    "pending_prices",
    "pending_snapshot",
    "record_price_change",
    "record_stock_changes",
    "requeue_from_inventory",
    "requeue_skus",
    "requeue_unknown",
]
