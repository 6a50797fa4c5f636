"""Channel prices: list the effective ones, set or clear one, read the history."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from omnistock_common.context import CallContext
from omnistock_common.errors import Aborted, FieldViolation, InvalidArgument, NotFound
from omnistock_common.paging import encode_cursor, page_limit, read_cursor
from pricing.domain.model import HistoryEntry, StoredPrice
from pricing.domain.validation import clean_reason, key_problems, money_problems, raise_if
from pricing.repository import Repository
from pricing.service.effective import Effective, Pair, base_prices, resolve, snapshot
from pricing.service.ports import PricingDeps
from pricing.service.publishing import announce


@dataclass(frozen=True)
class Listed:
    price: Effective
    updated_at: datetime | None


def _pairs(deps: PricingDeps, ctx: CallContext, sku: str, connection_id: str) -> list[Pair]:
    tenant = ctx.tenant_id
    if sku and connection_id:
        return [(connection_id, sku)]
    if connection_id:
        listed = set(deps.listings.listed_skus(ctx, connection_id))
        stored = deps.uow.run(lambda repo: repo.prices(tenant, connection_id=connection_id))
        listed.update(s for _, s in stored)
        return [(connection_id, s) for s in sorted(listed)]

    def connections(repo: Repository) -> set[str]:
        return set(repo.connections(tenant)) | set(repo.connections_with_prices(tenant, sku))

    return [(c, sku) for c in sorted(deps.uow.run(connections))]


def list_prices(
    deps: PricingDeps, ctx: CallContext, sku: str, connection_id: str, limit: int, cursor: str
) -> tuple[list[Listed], str]:
    """One page of effective prices by (connection, SKU); a SKU nothing prices is left out."""
    if not sku and not connection_id:
        raise InvalidArgument(
            "name a SKU, a connection or both",
            violations=[FieldViolation("sku", "sku or connection_id is required")],
        )
    size = page_limit(limit)
    after = read_cursor(cursor, str, str)
    pairs = [p for p in _pairs(deps, ctx, sku, connection_id) if after is None or p > (after[0], after[1])]
    page, more = pairs[:size], len(pairs) > size
    bases = base_prices(deps, ctx, {s for _, s in page})

    def read(repo: Repository) -> list[Listed]:
        snap = snapshot(repo, ctx.tenant_id, page)
        out = []
        for pair in page:
            price = resolve(pair, snap, bases.get(pair[1]))
            if price is not None:
                stored = snap.stored.get(pair)
                out.append(Listed(price, stored.updated_at if stored else None))
        return out

    listed = deps.uow.run(read)
    return listed, encode_cursor(list(page[-1])) if more and page else ""


def set_price(
    deps: PricingDeps,
    ctx: CallContext,
    sku: str,
    connection_id: str,
    price: tuple[int, str] | None,
    compare_at: tuple[int, str] | None,
    reason: str,
) -> Listed:
    """Set (or, with no price, clear back to derived) one price; the same price again changes
    nothing and announces nothing, so a retried request is harmless."""
    problems = key_problems(sku, connection_id)
    if price is not None:
        problems += money_problems(*price, "price")
    if compare_at is not None:
        problems += money_problems(*compare_at, "compare_at_price")
        if price is None:
            problems.append(FieldViolation("compare_at_price", "needs a price"))
        elif compare_at[1] != price[1]:
            problems.append(FieldViolation("compare_at_price.currency", "must be the price's currency"))
    raise_if(problems)
    reason = clean_reason(reason, "set by hand" if price is not None else "cleared: derived again")
    pair = (connection_id, sku)
    # The base price matters only when the price is derived before or after: setting a price over
    # a set one does not depend on the catalog being up.
    current = deps.uow.run(lambda repo: repo.prices(ctx.tenant_id, keys=[pair]).get(pair))
    derives = price is None or current is None or current.amount_minor is None
    bases = base_prices(deps, ctx, [sku]) if derives else {}
    now = deps.clock()

    def work(repo: Repository) -> Listed:
        snap = snapshot(repo, ctx.tenant_id, [pair], lock=True)
        settings = snap.connections.get(connection_id)
        if price is not None and settings is not None and settings.currency and price[1] != settings.currency:
            raise InvalidArgument(
                f"connection {connection_id} prices in {settings.currency}",
                violations=[FieldViolation("price.currency", f"use {settings.currency}")],
            )
        if price is None and sku not in bases:
            raise NotFound(f"SKU {sku} is not in the catalog: there is no base price to derive from")
        stored = snap.stored.get(pair)
        if (stored is None or stored.amount_minor is None) and not derives:
            raise Aborted("the price changed while it was being set; try again")
        before = resolve(pair, snap, bases.get(sku))
        new_set = None if price is None else price[0]
        new_compare = None if compare_at is None else compare_at[0]
        if stored is not None and stored.amount_minor == new_set and stored.compare_at_minor == new_compare:
            assert before is not None
            return Listed(before, stored.updated_at)
        draft = StoredPrice(sku, connection_id, new_set, price[1] if price else "", new_compare, None, 0, now)
        after = resolve(pair, replace(snap, stored={pair: draft}), bases.get(sku))
        assert after is not None
        row = announce(
            repo,
            ctx.tenant_id,
            now,
            stored,
            after,
            set_minor=new_set,
            compare_at_minor=new_compare,
            before_minor=before.amount_minor if before else None,
            actor=ctx.actor,
            reason=reason,
        )
        return Listed(after, row.updated_at)

    return deps.uow.run(work)


def price_history(
    deps: PricingDeps, ctx: CallContext, sku: str, limit: int, cursor: str
) -> tuple[list[HistoryEntry], str]:
    """Every change of the SKU's prices on every connection, newest first."""
    raise_if([v for v in key_problems(sku, "-") if v.field == "sku"])
    size = page_limit(limit)
    after = read_cursor(cursor, int)
    entries = deps.uow.run(
        lambda repo: repo.history(ctx.tenant_id, sku, None if after is None else after[0], size + 1)
    )
    more = len(entries) > size
    entries = entries[:size]
    return entries, encode_cursor([entries[-1].id]) if more else ""
