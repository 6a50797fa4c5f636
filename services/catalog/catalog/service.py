"""Catalog use cases: plain functions over a unit of work (and the stock port for imports).

Each function is one transaction unless it says otherwise; the servicer only translates.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from catalog import csv_io
from catalog.domain import (
    ConcurrentModification,
    Cursor,
    DuplicateSku,
    ImportCounts,
    ListFilter,
    NewProduct,
    Outcome,
    Page,
    Product,
    ProductPatch,
    ProductStatus,
    RowError,
    UpsertItem,
    UpsertResult,
    Variant,
    VariantPatch,
    VariantSpec,
    apply_variant_changes,
    bump_product,
    check_version,
    decode_cursor,
    encode_cursor,
    merged_violations,
    new_variant,
    page_size,
    product_changes,
    product_not_found,
    raise_if_problems,
    utcnow,
    validate_new_product,
    validate_product_patch,
    validate_variant,
    validate_variant_patch,
    variant_changes,
    variant_not_found,
)
from catalog.events import Change, ProductChange
from catalog.publishing import announce
from catalog.upsert import upsert_items
from omnistock_common.context import CallContext
from omnistock_common.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument

if TYPE_CHECKING:
    from catalog.repository import CatalogRepository

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_IMPORT_BATCH = 500
# BatchAdjust takes at most 10,000 lines, and one batch is one call.
MAX_IMPORT_BATCH = 10_000
MAX_SKUS_PER_LOOKUP = 1_000
MAX_BULK_ITEMS = 1_000
EXPORT_PAGE = 200


class UnitOfWork(Protocol):
    """The shape of omnistock_common.uow.UnitOfWorkBase: `run(work)` calls work(repository) in
    one transaction, commits when it returns, rolls back when it raises, and re-runs it whole
    on a transient database conflict (so work must not act outside the transaction)."""

    def run(self, work: Callable[[CatalogRepository], T]) -> T: ...


@dataclass(frozen=True)
class StockLine:
    """Absolute on-hand quantity of a SKU at a location ('' = the tenant's default location)."""

    sku: str
    location: str
    quantity: int


class StockUnavailable(Exception):
    """The inventory service could not be asked at all (down, deadline, refused the batch)."""


class StockPort(Protocol):
    """Where imported initial stock goes (the inventory service, a fake in tests)."""

    def set_stock(self, ctx: CallContext, lines: Sequence[StockLine]) -> dict[int, str]:
        """Apply the lines; return {line index: why it was refused} for refused lines."""
        ...


# -- products --------------------------------------------------------------------------------------


def create_product(uow: UnitOfWork, tenant_id: str, cmd: NewProduct) -> Product:
    validate_new_product(cmd)
    now = utcnow()
    product_id = str(uuid.uuid4())
    product = Product(
        id=product_id,
        title=cmd.title,
        description=cmd.description,
        status=cmd.status or ProductStatus.ACTIVE,
        image_urls=cmd.image_urls,
        version=1,
        created_at=now,
        updated_at=now,
        variants=tuple(
            new_variant(spec, id=str(uuid.uuid4()), product_id=product_id, position=i, now=now)
            for i, spec in enumerate(cmd.variants)
        ),
    )

    def work(repo: CatalogRepository) -> Product:
        _refuse_taken_skus(repo, tenant_id, [spec.sku for spec in cmd.variants])
        repo.add_products(tenant_id, [product])
        announce(repo, tenant_id, [ProductChange(product.id, product.version, Change.CREATED)], now)
        return product

    return uow.run(work)


def get_product(uow: UnitOfWork, tenant_id: str, product_id: str) -> Product:
    product = uow.run(lambda repo: repo.get_product(tenant_id, product_id))
    if product is None:
        raise product_not_found()
    return product


def update_product(
    uow: UnitOfWork, tenant_id: str, product_id: str, patch: ProductPatch, expected_version: int
) -> Product:
    validate_product_patch(patch)

    def work(repo: CatalogRepository) -> Product:
        product = _product_at(repo, tenant_id, product_id, expected_version)
        changes = product_changes(product, patch)
        if not changes:
            return product
        updated = bump_product(product, utcnow(), **changes)
        repo.update_products(tenant_id, [(updated, product.version)])
        announce(
            repo, tenant_id, [ProductChange(product.id, updated.version, Change.UPDATED)], updated.updated_at
        )
        return updated

    return uow.run(work)


def delete_product(uow: UnitOfWork, tenant_id: str, product_id: str, expected_version: int) -> None:

    def work(repo: CatalogRepository) -> None:
        product = _product_at(repo, tenant_id, product_id, expected_version)
        repo.delete_product(tenant_id, product_id, product.version)
        # Announced as the version after the last one, so it supersedes every earlier event.
        gone = ProductChange(
            product_id, product.version + 1, Change.DELETED, tuple(v.sku for v in product.variants)
        )
        announce(repo, tenant_id, [gone], utcnow())

    uow.run(work)


def _product_at(
    repo: CatalogRepository,
    tenant_id: str,
    product_id: str,
    expected_version: int,
    *,
    with_variants: bool = True,
) -> Product:
    """The product about to change, at the version the caller read (NotFound / Aborted otherwise)."""
    product = repo.get_product(tenant_id, product_id, with_variants=with_variants)
    if product is None:
        raise product_not_found()
    check_version(expected_version, product.version, "the product")
    return product


def list_products(uow: UnitOfWork, tenant_id: str, filters: ListFilter, limit: int, cursor: str) -> Page:
    """Keyset page in (created_at, id) order: rows inserted meanwhile never shift a page."""
    size = page_size(limit)
    after = decode_cursor(cursor)
    if len(filters.query) > 255 or len(filters.sku_prefix) > 64:
        raise InvalidArgument(
            "filter too long", violations=[FieldViolation("query", "at most 255 characters (sku_prefix: 64)")]
        )
    rows = uow.run(lambda repo: repo.list_products(tenant_id, filters, after, size + 1))
    page, more = rows[:size], len(rows) > size
    next_cursor = encode_cursor(Cursor(page[-1].created_at, page[-1].id)) if more else ""
    return Page(page, next_cursor)


def count_products(uow: UnitOfWork, tenant_id: str, filters: ListFilter) -> int:
    """How many products the list's filters match (the same checks as list_products)."""
    if len(filters.query) > 255 or len(filters.sku_prefix) > 64:
        raise InvalidArgument(
            "filter too long", violations=[FieldViolation("query", "at most 255 characters (sku_prefix: 64)")]
        )
    return uow.run(lambda repo: repo.count_products(tenant_id, filters))


# -- variants --------------------------------------------------------------------------------------


def add_variant(uow: UnitOfWork, tenant_id: str, product_id: str, spec: VariantSpec) -> Variant:
    raise_if_problems(validate_variant(spec, "variant"))

    def work(repo: CatalogRepository) -> Variant:
        product = repo.get_product(tenant_id, product_id)
        if product is None:
            raise product_not_found()
        _refuse_taken_skus(repo, tenant_id, [spec.sku])
        now = utcnow()
        position = max((v.position for v in product.variants), default=-1) + 1
        variant = new_variant(spec, id=str(uuid.uuid4()), product_id=product_id, position=position, now=now)
        repo.add_variants(tenant_id, [variant])
        bumped = bump_product(product, now)
        repo.update_products(tenant_id, [(bumped, product.version)])
        announce(repo, tenant_id, [ProductChange(product.id, bumped.version, Change.UPDATED)], now)
        return variant

    return uow.run(work)


def update_variant(
    uow: UnitOfWork, tenant_id: str, variant_id: str, patch: VariantPatch, expected_version: int
) -> Variant:
    validate_variant_patch(patch)

    def work(repo: CatalogRepository) -> Variant:
        variant = _variant_at(repo, tenant_id, variant_id, expected_version)
        changes = variant_changes(variant, patch.spec, patch.paths)
        if not changes:
            return variant
        if "sku" in changes:
            _refuse_taken_skus(repo, tenant_id, [patch.spec.sku])
        now = utcnow()
        updated = apply_variant_changes(variant, changes, now)
        raise_if_problems(merged_violations(updated, "variant"))
        product = _product_of(repo, tenant_id, variant)
        repo.update_variants(tenant_id, [(updated, variant.version)])
        bumped = bump_product(product, now)
        repo.update_products(tenant_id, [(bumped, product.version)])
        removed = (variant.sku,) if "sku" in changes else ()
        announce(repo, tenant_id, [ProductChange(product.id, bumped.version, Change.UPDATED, removed)], now)
        return updated

    return uow.run(work)


def _variant_at(repo: CatalogRepository, tenant_id: str, variant_id: str, expected_version: int) -> Variant:
    """The variant about to change, at the version the caller read (NotFound / Aborted otherwise)."""
    variant = repo.get_variant(tenant_id, variant_id)
    if variant is None:
        raise variant_not_found()
    check_version(expected_version, variant.version, "the variant")
    return variant


def _product_of(repo: CatalogRepository, tenant_id: str, variant: Variant) -> Product:
    """The product a variant belongs to (its version is bumped with every variant change)."""
    product = repo.get_product(tenant_id, variant.product_id, with_variants=False)
    assert product is not None, "a variant always belongs to a product of its tenant"
    return product


def delete_variant(uow: UnitOfWork, tenant_id: str, variant_id: str, expected_version: int) -> None:
    def work(repo: CatalogRepository) -> None:
        variant = _variant_at(repo, tenant_id, variant_id, expected_version)
        if repo.count_variants(tenant_id, variant.product_id) <= 1:
            raise FailedPrecondition(
                "a product keeps at least one variant; delete the product instead",
                reason="LAST_VARIANT",
            )
        product = _product_of(repo, tenant_id, variant)
        repo.delete_variant(tenant_id, variant_id, variant.version)
        bumped = bump_product(product, utcnow())
        repo.update_products(tenant_id, [(bumped, product.version)])
        change = ProductChange(product.id, bumped.version, Change.UPDATED, (variant.sku,))
        announce(repo, tenant_id, [change], bumped.updated_at)

    uow.run(work)


def get_variants_by_sku(
    uow: UnitOfWork, tenant_id: str, skus: Sequence[str]
) -> tuple[list[Variant], list[str]]:
    """Found variants in the order asked (each SKU once) and the SKUs that do not exist."""
    unique = list(dict.fromkeys(skus))
    if len(unique) > MAX_SKUS_PER_LOOKUP:
        raise InvalidArgument(
            "too many SKUs", violations=[FieldViolation("skus", f"at most {MAX_SKUS_PER_LOOKUP} per call")]
        )
    found = uow.run(lambda repo: repo.variants_by_sku(tenant_id, unique))
    return [found[s] for s in unique if s in found], [s for s in unique if s not in found]


def bulk_upsert_variants(uow: UnitOfWork, tenant_id: str, items: Sequence[UpsertItem]) -> list[UpsertResult]:
    """One transaction for the valid items; invalid ones come back FAILED with field + message."""
    if len(items) > MAX_BULK_ITEMS:
        raise InvalidArgument(
            "too many items", violations=[FieldViolation("items", f"at most {MAX_BULK_ITEMS} per call")]
        )
    return upsert_items(uow, tenant_id, items)


def _refuse_taken_skus(repo: CatalogRepository, tenant_id: str, skus: Sequence[str]) -> None:
    taken = sorted(repo.variants_by_sku(tenant_id, skus))
    if taken:
        raise AlreadyExists(f"SKU {', '.join(repr(s) for s in taken)} already exists", reason="SKU_TAKEN")


# -- CSV -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOptions:
    default_currency: str = ""
    batch_size: int = 0


def import_products(
    uow: UnitOfWork, stock: StockPort, ctx: CallContext, options: ImportOptions, chunks: Iterable[bytes]
) -> ImportCounts:
    """Stream-parse the CSV and upsert it in batches (one transaction each).

    Every data row ends up counted as created/updated/unchanged or reported in `errors`
    (a row whose product data was saved but whose stock was refused is both).
    """
    batch_size = options.batch_size or DEFAULT_IMPORT_BATCH
    if not 1 <= batch_size <= MAX_IMPORT_BATCH:
        raise InvalidArgument(
            "invalid batch size",
            violations=[FieldViolation("options.batch_size", f"must be between 1 and {MAX_IMPORT_BATCH}")],
        )
    parsed = csv_io.CsvImport(chunks, options.default_currency)
    counts = ImportCounts(errors=csv_io.CappedErrors())
    batch: list[csv_io.ImportRow] = []
    for result in parsed:
        if isinstance(result, list):
            counts.errors.extend(result)
            continue
        batch.append(result)
        if len(batch) >= batch_size:
            _import_batch(uow, stock, ctx, batch, counts)
            batch = []
    if batch:
        _import_batch(uow, stock, ctx, batch, counts)
    counts.rows = parsed.rows
    counts.errors.sort(key=lambda e: e.row)
    return counts


def _import_batch(
    uow: UnitOfWork, stock: StockPort, ctx: CallContext, batch: list[csv_io.ImportRow], counts: ImportCounts
) -> None:
    try:
        results = upsert_items(uow, ctx.tenant_id, [row.item for row in batch], validated=True)
    except (DuplicateSku, ConcurrentModification) as exc:
        # Lost the race several times in a row: report the rows rather than abort the import.
        counts.errors.extend(RowError(row.row, "", f"not imported, retry: {exc}") for row in batch)
        return
    stocked: list[tuple[csv_io.ImportRow, StockLine]] = []
    for row, result in zip(batch, results, strict=True):
        if result.outcome is Outcome.FAILED:
            counts.errors.append(RowError(row.row, _csv_column(result.field), result.message))
            continue
        if result.outcome is Outcome.CREATED:
            counts.created += 1
        elif result.outcome is Outcome.UPDATED:
            counts.updated += 1
        else:
            counts.unchanged += 1
        if row.quantity is not None:
            stocked.append((row, StockLine(row.item.spec.sku, row.location, row.quantity)))
    if not stocked:
        return
    try:
        refused = stock.set_stock(ctx, [line for _, line in stocked])
    except StockUnavailable as exc:
        log.warning("initial stock of an import batch was not applied: %s", exc)
        refused = dict.fromkeys(range(len(stocked)), f"stock not set: {exc}")
    for index, message in sorted(refused.items()):
        counts.errors.append(RowError(stocked[index][0].row, "quantity", message))


def _csv_column(field_path: str) -> str:
    """An upsert field path (`variant.price.currency`) as the CSV column it came from."""
    name = field_path.removeprefix("variant.")
    if name.endswith(".currency"):
        return "currency"
    head = name.split(".", 1)[0].split("[", 1)[0]
    return "option1_name" if head == "options" else head


def export_products(uow: UnitOfWork, tenant_id: str, status: ProductStatus | None) -> Iterator[bytes]:
    """CSV chunks of the tenant's catalog, read page by page (one short transaction each)."""
    return csv_io.export_chunks(_all_products(uow, tenant_id, ListFilter(status=status)))


def _all_products(uow: UnitOfWork, tenant_id: str, filters: ListFilter) -> Iterator[Product]:
    after: Cursor | None = None
    while True:
        page = uow.run(lambda repo, after=after: repo.list_products(tenant_id, filters, after, EXPORT_PAGE))
        yield from page
        if len(page) < EXPORT_PAGE:
            return
        after = Cursor(page[-1].created_at, page[-1].id)
