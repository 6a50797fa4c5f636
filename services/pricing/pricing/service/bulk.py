"""Bulk price changes: a preview stored as shown, then an atomic apply of exactly that preview,
refused (Aborted, HTTP 409) when any of its prices changed since."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from omnistock_common.context import CallContext
from omnistock_common.errors import Aborted, FieldViolation, InvalidArgument, NotFound
from pricing.domain.changes import Change, PreviewItem, PriceRow, fingerprint, preview
from pricing.domain.rounding import Rounding, parse_rounding
from pricing.domain.validation import clean_reason, raise_if
from pricing.repository import Repository
from pricing.service.effective import Pair, Snapshot, base_prices, resolve, snapshot
from pricing.service.ports import PricingDeps
from pricing.service.publishing import announce

# Items a preview answer carries (the stored preview keeps all of them).
SHOWN_ITEMS = 100
PRODUCT_STATUSES = ("", "active", "draft", "archived")


@dataclass(frozen=True)
class PriceFilter:
    connection_id: str = ""
    sku_prefix: str = ""
    product_status: str = ""
    tag: str = ""


@dataclass(frozen=True)
class PreviewResult:
    preview_id: str
    count: int
    items: tuple[PreviewItem, ...]


def _rows(pairs: Sequence[Pair], snap: Snapshot, bases: dict) -> list[PriceRow]:  # type: ignore[type-arg]
    """The regular (not sale) price of every pair something prices, as a bulk change sees it."""
    rows = []
    for pair in pairs:
        price = resolve(pair, snap, bases.get(pair[1]))
        if price is not None:
            rows.append(PriceRow(pair[1], pair[0], price.regular_minor, price.currency, price.floor_minor))
    return rows


def _connections(deps: PricingDeps, ctx: CallContext, wanted: str) -> list[str]:
    if wanted:
        return [wanted]
    known = sorted(deps.uow.run(lambda repo: repo.connections(ctx.tenant_id)))
    if not known:
        raise InvalidArgument(
            "no connection has pricing settings; name one",
            violations=[FieldViolation("filter.connection_id", "required")],
        )
    return known


def preview_change(
    deps: PricingDeps,
    ctx: CallContext,
    price_filter: PriceFilter,
    change: Change,
    rounding: str | None,
    reason: str = "",
) -> PreviewResult:
    """Before/after of every matching price, stored under a new preview id; changes no price."""
    problems = []
    if price_filter.tag:
        problems.append(FieldViolation("filter.tag", "not supported: the catalog keeps no tags"))
    if price_filter.product_status not in PRODUCT_STATUSES:
        problems.append(FieldViolation("filter.product_status", "one of: active, draft, archived"))
    raise_if(problems)
    rule = None if not rounding else parse_rounding(rounding)
    reason = clean_reason(reason, "bulk change")
    tenant = ctx.tenant_id
    pairs: list[Pair] = []
    for connection_id in _connections(deps, ctx, price_filter.connection_id):
        skus = set(deps.listings.listed_skus(ctx, connection_id))
        skus.update(deps.uow.run(lambda repo, c=connection_id: repo.set_pairs(tenant, c)))
        pairs += [(connection_id, s) for s in sorted(skus) if s.startswith(price_filter.sku_prefix)]
    if price_filter.product_status:
        allowed = deps.catalog.skus_with_status(ctx, price_filter.product_status)
        pairs = [p for p in pairs if p[1] in allowed]
    bases = base_prices(deps, ctx, {s for _, s in pairs})
    now = deps.clock()

    def work(repo: Repository) -> PreviewResult:
        snap = snapshot(repo, tenant, pairs)
        rows = _rows(pairs, snap, bases)
        items: list[PreviewItem] = []
        for connection_id in sorted({r.connection_id for r in rows}):
            settings = snap.connections.get(connection_id)
            own = Rounding(settings.rounding) if settings else Rounding.NONE
            items += preview([r for r in rows if r.connection_id == connection_id], change, rule or own).items
        preview_id = str(uuid.uuid4())
        stored = [
            {
                "sku": i.sku,
                "connection_id": i.connection_id,
                "currency": i.currency,
                "before": i.before_minor,
                "after": i.after_minor,
            }
            for i in items
        ]
        repo.add_preview(tenant, preview_id, fingerprint(rows), stored, reason, now)
        return PreviewResult(preview_id, len(items), tuple(items[:SHOWN_ITEMS]))

    return deps.uow.run(work)


def apply_change(deps: PricingDeps, ctx: CallContext, preview_id: str) -> int:
    """Apply every item of the preview at once; Aborted when a price is no longer what the
    preview showed (or the preview was applied already). Returns how many prices changed."""
    tenant = ctx.tenant_id
    if not preview_id.strip():
        raise InvalidArgument("preview_id is required", violations=[FieldViolation("preview_id", "required")])
    found = deps.uow.run(lambda repo: repo.preview(tenant, preview_id))
    if found is None:
        raise NotFound("no such preview")
    _, items, _, _ = found
    pairs = [(i["connection_id"], i["sku"]) for i in items]
    bases = base_prices(deps, ctx, {s for _, s in pairs})
    now = deps.clock()

    def work(repo: Repository) -> int:
        shown, items, reason, applied_at = repo.preview(tenant, preview_id) or found
        if applied_at is not None or not repo.claim_preview(tenant, preview_id, now):
            raise Aborted(
                "this preview was applied already; preview the change again", reason="PREVIEW_APPLIED"
            )
        snap = snapshot(repo, tenant, pairs, lock=True)
        if fingerprint(_rows(pairs, snap, bases)) != shown:
            raise Aborted(
                "prices changed since the preview; nothing was applied, preview the change again",
                reason="PREVIEW_STALE",
            )
        changed = 0
        for item in items:
            pair = (item["connection_id"], item["sku"])
            if item["after"] == item["before"]:
                continue
            before = resolve(pair, snap, bases.get(pair[1]))
            assert before is not None
            stored = snap.stored.get(pair)
            after_regular = item["after"]
            on_sale = before.on_sale
            after = type(before)(
                pair[0],
                pair[1],
                before.amount_minor if on_sale else after_regular,
                before.currency,
                after_regular
                if on_sale
                else (stored.compare_at_minor if stored and stored.amount_minor is not None else None),
                False,
                after_regular,
                before.floor_minor,
                on_sale,
            )
            announce(
                repo,
                tenant,
                now,
                stored,
                after,
                set_minor=after_regular,
                compare_at_minor=stored.compare_at_minor
                if stored and stored.amount_minor is not None
                else None,
                before_minor=before.regular_minor,
                actor=ctx.actor,
                reason=reason,
            )
            changed += 1
        return changed

    return deps.uow.run(work)
