"""The tenant's FX table: read it, replace it as a whole (audited), and re-announce the derived
prices the new rates move by at least the threshold (default 1%) from what was last announced."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from omnistock_common.context import CallContext
from omnistock_common.errors import FieldViolation, InvalidArgument
from pricing.domain.fx import FxTable, parse_rates_csv, significant_change, validate_table
from pricing.domain.model import FxRateRow
from pricing.repository import Repository
from pricing.service.effective import Pair, base_prices, resolve, snapshot
from pricing.service.ports import PricingDeps
from pricing.service.publishing import announce

FX_REASON = "fx rates changed"


@dataclass(frozen=True)
class FxView:
    base: str
    rates: tuple[FxRateRow, ...]
    # The tenant's threshold in percent, or the service default's.
    threshold_percent: str
    repriced: int = 0


def _default_percent(deps: PricingDeps) -> str:
    return str((deps.fx_threshold * 100).normalize())


def parse_threshold(value: str) -> str | None:
    """A percent from 0 to 100 as a decimal string; "" is None (keep the current one)."""
    value = value.strip()
    if not value:
        return None
    try:
        percent = Decimal(value)
    except InvalidOperation:
        percent = Decimal("NaN")
    if not percent.is_finite() or not 0 <= percent <= 100:
        raise InvalidArgument(
            f"{value!r} is not a percent from 0 to 100",
            violations=[FieldViolation("threshold_percent", 'a decimal string from 0 to 100, e.g. "1"')],
        )
    return str(percent.normalize())


def get_fx_rates(deps: PricingDeps, ctx: CallContext) -> FxView:
    def read(repo: Repository) -> FxView:
        found = repo.fx_table(ctx.tenant_id)
        own = repo.fx_threshold(ctx.tenant_id)
        percent = own or _default_percent(deps)
        return FxView("", (), percent) if found is None else FxView(found[0].base, tuple(found[1]), percent)

    return deps.uow.run(read)


def _derived_pairs(deps: PricingDeps, ctx: CallContext) -> list[Pair]:
    """Every pair whose price may be derived: the SKUs listed on each configured connection and
    every stored pair without a set price."""
    tenant = ctx.tenant_id

    def read(repo: Repository) -> tuple[list[str], list[Pair]]:
        derived = [k for k, p in repo.prices(tenant).items() if p.amount_minor is None]
        return sorted(repo.connections(tenant)), derived

    connections, derived = deps.uow.run(read)
    pairs = set(derived)
    for connection_id in connections:
        pairs.update((connection_id, sku) for sku in deps.listings.listed_skus(ctx, connection_id))
    return sorted(pairs)


def set_fx_rates(
    deps: PricingDeps, ctx: CallContext, base: str, rates: Mapping[str, str], threshold_percent: str = ""
) -> FxView:
    """Validate the whole table (nothing changes on any error), store it, re-announce the derived
    prices that moved by at least the tenant's threshold (`threshold_percent`, "" keeps it)."""
    base = base.strip().upper()
    parsed = validate_table(base, {c.strip().upper(): v for c, v in rates.items()})
    wanted = parse_threshold(threshold_percent)
    pairs = _derived_pairs(deps, ctx)
    bases = base_prices(deps, ctx, {s for _, s in pairs})
    now = deps.clock()
    tenant = ctx.tenant_id

    def work(repo: Repository) -> FxView:
        old = repo.fx_table(tenant, lock=True)
        own = wanted if wanted is not None else repo.fx_threshold(tenant)
        threshold = Decimal(own) / 100 if own is not None else deps.fx_threshold
        snap = snapshot(repo, tenant, pairs, lock=True)
        repo.replace_fx_table(
            tenant, base, parsed, old[0] if old else None, old[1] if old else [], ctx.actor, now, own
        )
        table = FxTable(base, parsed, now)
        repriced = 0
        for pair in pairs:
            stored = snap.stored.get(pair)
            if stored is not None and stored.amount_minor is not None:
                continue
            try:
                after = resolve(pair, snap, bases.get(pair[1]), fx=table)
            except InvalidArgument:  # a currency the new table has no rate for: nothing to derive
                continue
            try:
                previous = resolve(pair, snap, bases.get(pair[1]))
            except InvalidArgument:  # the old table could not price it: it was never shown
                previous = None
            if after is None or after.on_sale:
                continue
            announced = stored.announced_minor if stored is not None else None
            if announced is None and previous is not None:
                announced = previous.amount_minor
            if announced == after.amount_minor:
                continue
            if announced is not None and not significant_change(
                Decimal(announced), Decimal(after.amount_minor), threshold
            ):
                continue
            announce(
                repo,
                tenant,
                now,
                stored,
                after,
                set_minor=None,
                compare_at_minor=None,
                before_minor=announced,
                actor=ctx.actor,
                reason=FX_REASON,
            )
            repriced += 1
        _, rows = repo.fx_table(tenant) or (None, [])
        return FxView(base, tuple(rows), own or _default_percent(deps), repriced)

    return deps.uow.run(work)


MAX_CSV_BYTES = 1024 * 1024


def import_fx_rates(
    deps: PricingDeps, ctx: CallContext, base: str, csv_bytes: bytes, threshold_percent: str = ""
) -> FxView:
    """Rates from a CSV merged over the current table, then stored as `set_fx_rates` does."""
    if len(csv_bytes) > MAX_CSV_BYTES:
        raise InvalidArgument("the CSV is too large", violations=[FieldViolation("csv", "at most 1 MiB")])
    try:
        text = csv_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidArgument(
            "the CSV is not UTF-8", violations=[FieldViolation("csv", "UTF-8 text")]
        ) from None
    rates, errors = parse_rates_csv(text)
    if errors:
        raise InvalidArgument("the CSV has invalid lines; nothing was changed", violations=errors)
    if not rates:
        raise InvalidArgument("the CSV has no rates", violations=[FieldViolation("csv", "at least one rate")])
    current = deps.uow.run(lambda repo: repo.fx_table(ctx.tenant_id))
    base = base.strip().upper() or (current[0].base if current else "")
    if not base:
        raise InvalidArgument("no base currency yet", violations=[FieldViolation("base", "required")])
    merged = (
        {} if current is None or current[0].base != base else {c: str(r) for c, r in current[0].rates.items()}
    )
    merged.update({c: str(r) for c, r in rates.items()})
    return set_fx_rates(deps, ctx, base, merged, threshold_percent)
