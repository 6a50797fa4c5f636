"""Upsert of variants keyed by SKU, applied in one transaction per batch.

Shared by BulkUpsertVariants and the CSV import. The batch is planned in memory from three
set-based reads (variants by SKU, products by id or title, max positions) and written with a
handful of executemany statements, so a 500-row batch costs a constant number of round trips.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from catalog.domain import (
    ConcurrentModification,
    DuplicateSku,
    Outcome,
    Product,
    ProductStatus,
    UpsertItem,
    UpsertResult,
    Variant,
    apply_variant_changes,
    bump_product,
    merged_violations,
    new_variant,
    utcnow,
    validate_upsert_item,
    variant_changes,
)
from catalog.events import Change, ProductChange
from catalog.publishing import announce

if TYPE_CHECKING:
    from catalog.repository import CatalogRepository
    from catalog.service import UnitOfWork

# A batch that lost a race (SKU inserted or row changed by someone else) is re-planned.
ATTEMPTS = 3


@dataclass
class _ProductState:
    """A product as the batch will leave it, and the version it was read at (0 = new)."""

    product: Product
    read_version: int
    changed: bool = False
    new_variants: list[Variant] = field(default_factory=list)


@dataclass
class _Plan:
    results: list[UpsertResult]
    products: dict[str, _ProductState]
    changed_variants: list[tuple[Variant, int]]
    now: datetime


def upsert_items(
    uow: UnitOfWork, tenant_id: str, items: Sequence[UpsertItem], *, validated: bool = False
) -> list[UpsertResult]:
    """Validate (unless the caller did), then apply the valid items in one transaction.

    One result per item, in order; the CSV importer validates per row itself, with columns.
    """
    failed: dict[int, UpsertResult] = {}
    first_index: dict[str, int] = {}
    for index, item in enumerate(items):
        problems = [] if validated else validate_upsert_item(item)
        if not problems and item.spec.sku in first_index:
            failed[index] = UpsertResult(
                index,
                item.spec.sku,
                Outcome.FAILED,
                field="variant.sku",
                message=f"SKU {item.spec.sku!r} repeats item {first_index[item.spec.sku]}",
            )
            continue
        if problems:
            failed[index] = UpsertResult(
                index, item.spec.sku, Outcome.FAILED, field=problems[0].field, message=problems[0].message
            )
        else:
            first_index[item.spec.sku] = index
    valid = [(index, item) for index, item in enumerate(items) if index not in failed]
    applied = _apply_with_retry(uow, tenant_id, valid) if valid else {}
    return [failed.get(index) or applied[index] for index in range(len(items))]


def _apply_with_retry(
    uow: UnitOfWork, tenant_id: str, items: list[tuple[int, UpsertItem]]
) -> dict[int, UpsertResult]:
    def work(repo: CatalogRepository) -> _Plan:
        plan = _plan(repo, tenant_id, items, utcnow())
        _write(repo, tenant_id, plan)
        return plan

    # Each attempt is one uow.run(): a fresh transaction, planned again from what it reads.
    for attempt in range(1, ATTEMPTS + 1):
        try:
            plan = uow.run(work)
            return {result.index: result for result in plan.results}
        except (DuplicateSku, ConcurrentModification):
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _plan(
    repo: CatalogRepository, tenant_id: str, items: list[tuple[int, UpsertItem]], now: datetime
) -> _Plan:
    existing = repo.variants_by_sku(tenant_id, [item.spec.sku for _, item in items])
    loaded = repo.products_by_id_or_title(
        tenant_id,
        sorted({v.product_id for v in existing.values()}),
        sorted({item.product_title for _, item in items}),
    )
    positions = repo.max_positions(tenant_id, sorted(loaded))
    states = {pid: _ProductState(p, p.version) for pid, p in loaded.items()}
    titles: dict[str, set[str]] = {}
    for pid, p in loaded.items():
        titles.setdefault(p.title, set()).add(pid)
    variants_changed: dict[str, tuple[Variant, int]] = {}
    results: list[UpsertResult] = []

    def by_title(title: str) -> _ProductState | None:
        # The oldest product carrying that title now (renames earlier in the batch count).
        matches = [states[pid] for pid in titles.get(title, ())]
        return min(matches, key=lambda s: (s.product.created_at, s.product.id), default=None)

    def touch(state: _ProductState, title: str, status: ProductStatus | None) -> bool:
        changes: dict[str, object] = {}
        if state.product.title != title:
            changes["title"] = title
        if status is not None and state.product.status != status:
            changes["status"] = status
        if changes:
            titles[state.product.title].discard(state.product.id)
            titles.setdefault(title, set()).add(state.product.id)
            state.product = replace(state.product, **changes)  # type: ignore[arg-type]
            state.changed = True
        return bool(changes)

    for index, item in items:
        sku = item.spec.sku
        current = existing.get(sku)  # SKUs are unique among the valid items
        if current is not None:
            state = states[current.product_id]
            changes = variant_changes(current, item.spec, item.fields)
            updated = apply_variant_changes(current, changes, now)
            problems = merged_violations(updated, "variant")
            if problems:
                results.append(
                    UpsertResult(
                        index, sku, Outcome.FAILED, field=problems[0].field, message=problems[0].message
                    )
                )
                continue
            product_changed = touch(state, item.product_title, item.product_status)
            if changes:
                variants_changed[sku] = (updated, current.version)
                state.changed = True
            outcome = Outcome.UPDATED if changes or product_changed else Outcome.UNCHANGED
            results.append(UpsertResult(index, sku, outcome, state.product.id, current.id))
            continue
        state = by_title(item.product_title)
        if state is None:
            product = Product(
                id=str(uuid.uuid4()),
                title=item.product_title,
                description="",
                status=item.product_status or ProductStatus.ACTIVE,
                version=1,
                created_at=now,
                updated_at=now,
            )
            state = states[product.id] = _ProductState(product, read_version=0)
            titles.setdefault(product.title, set()).add(product.id)
            positions[product.id] = -1
        else:
            touch(state, item.product_title, item.product_status)
            state.changed = True
        positions[state.product.id] = positions.get(state.product.id, -1) + 1
        variant = new_variant(
            item.spec,
            id=str(uuid.uuid4()),
            product_id=state.product.id,
            position=positions[state.product.id],
            now=now,
        )
        state.new_variants.append(variant)
        results.append(UpsertResult(index, sku, Outcome.CREATED, state.product.id, variant.id))
    return _Plan(results, states, list(variants_changed.values()), now)


def _write(repo: CatalogRepository, tenant_id: str, plan: _Plan) -> None:
    created = [
        replace(s.product, variants=tuple(s.new_variants))
        for s in plan.products.values()
        if s.read_version == 0
    ]
    bumped = [
        (bump_product(s.product, plan.now), s.read_version)
        for s in plan.products.values()
        if s.read_version > 0 and s.changed
    ]
    repo.add_products(tenant_id, created)
    repo.update_products(tenant_id, bumped)
    repo.update_variants(tenant_id, plan.changed_variants)
    repo.add_variants(
        tenant_id, [v for s in plan.products.values() if s.read_version > 0 for v in s.new_variants]
    )
    # One event per product the batch created or changed (not per item), after every write.
    changes = [ProductChange(p.id, p.version, Change.CREATED) for p in created]
    changes += [ProductChange(p.id, p.version, Change.UPDATED) for p, _ in bumped]
    announce(repo, tenant_id, changes, plan.now)
