"""Re-announcing every price of a connection (a new version each, no history entry: nothing
changed), so a channel that drifted or missed an event is brought back:
- at each connection's cron time in its time zone (`run_due_schedules`); one replica wins each run
  by a compare-and-set on `next_push_at` in the transaction that writes the events;
- when the channels service asks (`channels.price_sync_requested`: a price sync job, a Redis that
  lost its data), `repush_connection`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from omnistock_common.context import CallContext
from omnistock_common.errors import InvalidArgument
from pricing.domain.schedule import next_run, parse_cron, parse_timezone
from pricing.repository import Repository
from pricing.service.effective import base_prices, resolve, snapshot
from pricing.service.ports import PricingDeps
from pricing.service.publishing import announce

SYNC_REASON = "scheduled price sync"
REQUESTED_REASON = "price sync requested"

# Runs first in the re-push transaction; False: another replica did this run, announce nothing.
Claim = Callable[[Repository], bool]


def repush_connection(
    deps: PricingDeps,
    tenant: str,
    connection_id: str,
    reason: str = REQUESTED_REASON,
    claim: Claim | None = None,
) -> int:
    """Announce the effective price of every SKU on the connection again; returns how many."""
    ctx = CallContext(tenant)
    skus = set(deps.listings.listed_skus(ctx, connection_id))
    skus.update(sku for _, sku in deps.uow.run(lambda repo: repo.prices(tenant, connection_id=connection_id)))
    pairs = [(connection_id, sku) for sku in sorted(skus)]
    bases = base_prices(deps, ctx, skus)
    now = deps.clock()
    actor = "system:price-schedule" if reason == SYNC_REASON else "system:price-sync"

    def work(repo: Repository) -> int:
        if claim is not None and not claim(repo):
            return 0
        snap = snapshot(repo, tenant, pairs, lock=True)
        pushed = 0
        for pair in pairs:
            try:
                price = resolve(pair, snap, bases.get(pair[1]))
            except InvalidArgument:  # e.g. a missing FX rate: that SKU is skipped, the rest go out
                continue
            if price is None:
                continue
            stored = snap.stored.get(pair)
            announce(
                repo,
                tenant,
                now,
                stored,
                price,
                set_minor=stored.amount_minor if stored else None,
                compare_at_minor=stored.compare_at_minor if stored else None,
                before_minor=None,
                actor=actor,
                reason=reason,
                history=False,
            )
            pushed += 1
        return pushed

    return deps.uow.run(work)


def run_due_schedules(deps: PricingDeps, limit: int = 50) -> int:
    """Re-push every connection whose schedule is due; plan the first run of new ones. Returns
    the prices announced by this caller."""
    now = deps.clock()
    pushed = 0
    for tenant, settings in deps.uow.run(lambda repo: repo.due_schedules(now, limit)):
        planned = next_run(
            parse_cron(settings.schedule_cron), parse_timezone(settings.schedule_timezone), now
        )
        seen: datetime | None = settings.next_push_at

        def claim(
            repo: Repository,
            t: str = tenant,
            c: str = settings.connection_id,
            s: datetime | None = seen,
            p: datetime = planned,
        ) -> bool:
            return repo.move_schedule(t, c, s, p)

        if seen is None:
            deps.uow.run(claim)
            continue
        pushed += repush_connection(deps, tenant, settings.connection_id, SYNC_REASON, claim)
    return pushed
