"""Recovery of the coalescing store after Redis lost its data, or missed events while it was down.

The store (store.py) is the only place a recorded-but-not-yet-pushed figure lives: the event that
carried it was acknowledged on intake. If Redis restarts without persistence (or is flushed, or
fails over to an empty replica), those figures are gone, and nothing would correct the channels
before the hourly reconciliation. Likewise an event whose intake failed because Redis was
unreachable was acknowledged and dropped (the handler must not spin on redelivery).

Detection: the store carries a sentinel key, `omnistock:sync:epoch`, written once by the first
worker that finds it missing. Every worker checks it each EPOCH_CHECK_INTERVAL (channels.worker);
a missing sentinel means "this Redis does not hold what the engine recorded". So does an intake
that failed on a Redis error (`record_or_flag`): it flags the process, and the next check runs the
same recovery once Redis answers.

Recovery: every mapped listing of every live connection is queued again as UNKNOWN (the requeue
the engine already uses when it knows a SKU changed but not its figure): the flusher asks
inventory for each SKU's figure NOW, skips what the channel already holds (no call when the
quantity equals `listings.last_pushed_quantity`) and pushes the rest, decreases first and
increases through the increase gate, like any change. A SKU already pending is left alone (its
figure is newer than anything lost). Single-flight across replicas (a lock with a TTL); the
sentinel is written only after the re-push was queued, so a worker that dies halfway leaves the
sentinel missing and another one starts again. A fresh Redis (first deployment) looks exactly
like a lost one: the first worker re-pushes once, which costs inventory lookups but no channel
call for what is already right.

Prices lost with the store cannot be asked of inventory: the recovery asks the pricing service to
announce every price of every live connection again (`channels.price_sync_requested` through the
outbox, one per connection, as a merchant's "sync prices" does); the replies are
`pricing.price_changed` events, whose versions make the prices already pushed a no-op. An intake of
a price that failed on a Redis error flags the process the same way (`record_price_or_flag`).

Limit: this needs the inventory service (engine.inventory); without it the flusher leaves unknown
figures to reconciliation. Redis for the sync engine must not evict keys (maxmemory-policy
noeviction): an evicted pending hash with the sentinel still present is not detected.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

import redis as redis_lib

from channels.price_domain import PRICE_SYNC_REQUESTED_EVENT, PriceChange
from channels.sync import store
from channels.sync.engine import SyncEngine

log = logging.getLogger(__name__)

EPOCH_KEY = "omnistock:sync:epoch"
RECOVERY_LOCK_KEY = "omnistock:sync:epoch:recovering"
# A recovery that has not finished after this long is taken over by another worker.
RECOVERY_LOCK_MS = 120_000
# Listings read per query while queueing a connection again.
LISTING_PAGE = 1000


class EpochWatch:
    """Checks the sentinel and runs the recovery; `intake_failed` is set by a failed intake."""

    def __init__(self) -> None:
        self.intake_failed = False
        self.recoveries = 0  # how many recoveries this process ran (tests, health)

    def record_or_flag(self, engine: SyncEngine, payload: dict[str, object]) -> int:
        """store.record_stock_changes; on a Redis error the event is lost for the store, so the
        process is flagged for a full re-push once Redis answers (and the error re-raised)."""
        try:
            return store.record_stock_changes(engine.redis, engine.uow, payload, settings=engine.settings)
        except redis_lib.RedisError:
            self.intake_failed = True
            raise

    def record_price_or_flag(self, engine: SyncEngine, change: PriceChange) -> int:
        """store.record_price_change, flagging the process on a Redis error like stock intake."""
        try:
            return store.record_price_change(engine.redis, engine.uow, change, settings=engine.settings)
        except redis_lib.RedisError:
            self.intake_failed = True
            raise

    def check(self, engine: SyncEngine, *, now: datetime | None = None) -> bool:
        """Run the recovery if the sentinel is missing or an intake failed; True if it ran here."""
        if engine.redis.get(EPOCH_KEY) is not None and not self.intake_failed:
            return False
        token = secrets.token_hex(8)
        if not engine.redis.set(RECOVERY_LOCK_KEY, token, nx=True, px=RECOVERY_LOCK_MS):
            return False  # another worker is recovering; its sentinel will cover this one too
        try:
            reason = "an intake failed on a Redis error" if self.intake_failed else "its sentinel is missing"
            self.intake_failed = False
            log.warning("the sync store lost data (%s): re-pushing every connection from inventory", reason)
            queued = requeue_everything(engine, now=now)
            request_price_resync(engine)
            engine.redis.set(EPOCH_KEY, token)
            self.recoveries += 1
            log.warning("sync store recovery queued %d listings again", queued)
            return True
        except Exception:
            self.intake_failed = True  # try again at the next check
            raise
        finally:
            engine.redis.eval(_RELEASE, 1, RECOVERY_LOCK_KEY, token)


_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def requeue_everything(engine: SyncEngine, *, now: datetime | None = None) -> int:
    """Queue every mapped listing of every live connection as UNKNOWN (resolved through inventory
    at flush time); returns how many listings were queued."""
    now_ms = store.ms(now or engine.clock())
    with engine.uow.transaction() as repo:
        connections = repo.live_connections_any_tenant()
    queued = 0
    for tenant_id, connection_id in connections:
        after: str | None = None
        while True:
            with engine.uow.transaction() as repo:
                page = repo.list_listings(tenant_id, connection_id, after, LISTING_PAGE)
            skus = [listing.sku for listing in page if listing.external_ids]
            queued += store.requeue_unknown(engine.redis, tenant_id, connection_id, skus, now_ms)
            if len(page) < LISTING_PAGE:
                break
            after = page[-1].sku
    return queued


def request_price_resync(engine: SyncEngine) -> int:
    """Ask pricing (through the outbox) to announce every price of every live connection again;
    returns how many connections were asked for."""
    with engine.uow.transaction() as repo:
        connections = repo.live_connections_any_tenant()
    for tenant_id, connection_id in connections:
        payload = {"tenant_id": tenant_id, "connection_id": connection_id, "job_id": ""}
        engine.uow.run(lambda repo, t=tenant_id, p=payload: repo.add_event(t, PRICE_SYNC_REQUESTED_EVENT, p))
    return len(connections)


__all__ = ["EPOCH_KEY", "EpochWatch", "request_price_resync", "requeue_everything"]
