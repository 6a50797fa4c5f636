"""Scheduled price sync: at each connection's cron time (in its time zone) every price of the
connection is announced again (a new version, no history entry: nothing changed), so a channel
that drifted or missed an event is brought back. One replica wins each run by a compare-and-set
on `next_push_at` in the transaction that writes the events."""

from __future__ import annotations

from dataclasses import replace

from omnistock_common.context import CallContext
from omnistock_common.errors import InvalidArgument
from pricing.domain.model import ConnectionSettings
from pricing.domain.schedule import next_run, parse_cron, parse_timezone
from pricing.repository import Repository
from pricing.service.effective import base_prices, resolve, snapshot
from pricing.service.ports import PricingDeps
from pricing.service.publishing import announce

SYNC_REASON = "scheduled price sync"


def _repush(deps: PricingDeps, tenant: str, settings: ConnectionSettings, planned_next) -> int:  # type: ignore[no-untyped-def]
    ctx = CallContext(tenant)
    connection_id = settings.connection_id
    skus = set(deps.listings.listed_skus(ctx, connection_id))
    skus.update(sku for _, sku in deps.uow.run(lambda repo: repo.prices(tenant, connection_id=connection_id)))
    pairs = [(connection_id, sku) for sku in sorted(skus)]
    bases = base_prices(deps, ctx, skus)
    now = deps.clock()

    def work(repo: Repository) -> int:
        if not repo.move_schedule(tenant, connection_id, settings.next_push_at, planned_next):
            return 0  # another replica ran this one
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
                actor="system:price-schedule",
                reason=SYNC_REASON,
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
        if settings.next_push_at is None:
            deps.uow.run(
                lambda repo, t=tenant, s=settings, p=planned: repo.move_schedule(t, s.connection_id, None, p)
            )
            continue
        pushed += _repush(deps, tenant, replace(settings), planned)
    return pushed
