"""SQLAlchemy repository and unit of work of the catalog.

Every statement filters on tenant_id. Writes of existing rows are conditional on the version
that was read (`WHERE version = :old`), so two writers racing on PostgreSQL's READ COMMITTED
cannot both win: the loser gets ConcurrentModification instead of a lost update.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from catalog.domain import (
    ConcurrentModification,
    Cursor,
    DuplicateSku,
    ListFilter,
    Money,
    Option,
    Product,
    ProductStatus,
    Variant,
)
from catalog.fields import VARIANT_DB_COLUMNS
from catalog.models import outbox, products, variants
from omnistock_common.outbox import add_event
from omnistock_common.uow import UnitOfWorkBase

# Keeps IN (...) lists well under SQLite's bound-parameter limit.
IN_CHUNK = 500


def _chunks(items: Sequence[str], size: int = IN_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _integrity_error(exc: IntegrityError) -> Exception:
    text = str(exc.orig)
    if "uq_variants_tenant_id_sku" in text or "variants.tenant_id, variants.sku" in text:
        return DuplicateSku("a variant with this SKU already exists")
    # e.g. a variant added to a product that another transaction deleted meanwhile.
    return ConcurrentModification("the catalog changed concurrently; retry")


def _product(row: Row[Any], product_variants: Sequence[Variant] = ()) -> Product:
    return Product(
        id=row.id,
        title=row.title,
        description=row.description,
        status=ProductStatus(row.status),
        image_urls=tuple(row.image_urls or ()),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        variants=tuple(product_variants),
    )


def _variant(row: Row[Any]) -> Variant:
    return Variant(
        id=row.id,
        product_id=row.product_id,
        sku=row.sku,
        price=Money(row.price_minor, row.currency),
        cost=None if row.cost_minor is None else Money(row.cost_minor, row.currency),
        barcode=row.barcode,
        options=tuple(Option(name, value) for name, value in row.options),
        weight_grams=row.weight_grams,
        position=row.position,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _product_values(tenant_id: str, product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "tenant_id": tenant_id,
        "title": product.title,
        "description": product.description,
        "status": product.status.value,
        "image_urls": list(product.image_urls),
        "version": product.version,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def _variant_values(tenant_id: str, variant: Variant) -> dict[str, Any]:
    return {
        "id": variant.id,
        "tenant_id": tenant_id,
        "product_id": variant.product_id,
        "sku": variant.sku,
        "currency": variant.price.currency,
        "price_minor": variant.price.amount_minor,
        "cost_minor": None if variant.cost is None else variant.cost.amount_minor,
        "barcode": variant.barcode,
        "options": [[o.name, o.value] for o in variant.options],
        "weight_grams": variant.weight_grams,
        "position": variant.position,
        "version": variant.version,
        "created_at": variant.created_at,
        "updated_at": variant.updated_at,
    }


_VARIANT_ORDER = (variants.c.product_id, variants.c.position, variants.c.created_at, variants.c.id)


class CatalogRepository:
    """Products and variants of the catalog database, always scoped to one tenant per call."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- reads ---------------------------------------------------------------------------------

    def get_product(self, tenant_id: str, product_id: str, *, with_variants: bool = True) -> Product | None:
        row = self._session.execute(
            select(products).where(products.c.tenant_id == tenant_id, products.c.id == product_id)
        ).first()
        if row is None:
            return None
        loaded = self._variants_of(tenant_id, [row.id]) if with_variants else {}
        return _product(row, loaded.get(row.id, ()))

    def get_variant(self, tenant_id: str, variant_id: str) -> Variant | None:
        row = self._session.execute(
            select(variants).where(variants.c.tenant_id == tenant_id, variants.c.id == variant_id)
        ).first()
        return None if row is None else _variant(row)

    def variants_by_sku(self, tenant_id: str, skus: Sequence[str]) -> dict[str, Variant]:
        found: dict[str, Variant] = {}
        for chunk in _chunks(list(skus)):
            rows = self._session.execute(
                select(variants).where(variants.c.tenant_id == tenant_id, variants.c.sku.in_(chunk))
            )
            found.update((row.sku, _variant(row)) for row in rows)
        return found

    def products_by_id_or_title(
        self, tenant_id: str, ids: Sequence[str], titles: Sequence[str]
    ) -> dict[str, Product]:
        """Product rows (without variants) having one of these ids or one of these titles."""
        found: dict[str, Product] = {}
        for column, values in ((products.c.id, ids), (products.c.title, titles)):
            for chunk in _chunks(list(values)):
                rows = self._session.execute(
                    select(products).where(products.c.tenant_id == tenant_id, column.in_(chunk))
                )
                found.update((row.id, _product(row)) for row in rows)
        return found

    def max_positions(self, tenant_id: str, product_ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(list(product_ids)):
            rows = self._session.execute(
                select(variants.c.product_id, func.max(variants.c.position))
                .where(variants.c.tenant_id == tenant_id, variants.c.product_id.in_(chunk))
                .group_by(variants.c.product_id)
            )
            found.update((product_id, position) for product_id, position in rows)
        return found

    def skus_of(self, tenant_id: str, product_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each product's SKUs in variant order, as this transaction sees them (for its events)."""
        grouped: dict[str, list[str]] = defaultdict(list)
        for chunk in _chunks(list(product_ids)):
            rows = self._session.execute(
                select(variants.c.product_id, variants.c.sku)
                .where(variants.c.tenant_id == tenant_id, variants.c.product_id.in_(chunk))
                .order_by(*_VARIANT_ORDER)
            )
            for product_id, sku in rows:
                grouped[product_id].append(sku)
        return grouped

    def count_variants(self, tenant_id: str, product_id: str) -> int:
        return self._session.execute(
            select(func.count())
            .select_from(variants)
            .where(variants.c.tenant_id == tenant_id, variants.c.product_id == product_id)
        ).scalar_one()

    def list_products(
        self, tenant_id: str, filters: ListFilter, after: Cursor | None, limit: int
    ) -> list[Product]:
        """One page in (created_at, id) order, with all its variants loaded in ONE more query."""
        stmt = self._matching(select(products), tenant_id, filters)
        if after is not None:
            stmt = stmt.where(
                or_(
                    products.c.created_at > after.created_at,
                    and_(products.c.created_at == after.created_at, products.c.id > after.id),
                )
            )
        rows = self._session.execute(stmt.order_by(products.c.created_at, products.c.id).limit(limit)).all()
        loaded = self._variants_of(tenant_id, [row.id for row in rows])
        return [_product(row, loaded.get(row.id, ())) for row in rows]

    def count_products(self, tenant_id: str, filters: ListFilter) -> int:
        """How many products list_products' filters match."""
        stmt = self._matching(select(func.count()).select_from(products), tenant_id, filters)
        return int(self._session.execute(stmt).scalar_one())

    @staticmethod
    def _matching(stmt: Select[Any], tenant_id: str, filters: ListFilter) -> Select[Any]:
        """`stmt` narrowed to the tenant's products that pass `filters`."""
        stmt = stmt.where(products.c.tenant_id == tenant_id)
        if filters.status is not None:
            stmt = stmt.where(products.c.status == filters.status.value)
        if filters.updated_since is not None:
            stmt = stmt.where(products.c.updated_at >= filters.updated_since)
        if filters.query:
            needle = filters.query.lower()
            sku_match = exists().where(
                variants.c.tenant_id == tenant_id,
                variants.c.product_id == products.c.id,
                func.lower(variants.c.sku).contains(needle, autoescape=True),
            )
            stmt = stmt.where(or_(func.lower(products.c.title).contains(needle, autoescape=True), sku_match))
        if filters.sku_prefix:
            # substr keeps the match exact and case-sensitive on both SQLite and PostgreSQL.
            prefix_match = exists().where(
                variants.c.tenant_id == tenant_id,
                variants.c.product_id == products.c.id,
                func.substr(variants.c.sku, 1, len(filters.sku_prefix)) == filters.sku_prefix,
            )
            stmt = stmt.where(prefix_match)
        return stmt

    def _variants_of(self, tenant_id: str, product_ids: Sequence[str]) -> dict[str, list[Variant]]:
        grouped: dict[str, list[Variant]] = defaultdict(list)
        for chunk in _chunks(list(product_ids)):
            rows = self._session.execute(
                select(variants)
                .where(variants.c.tenant_id == tenant_id, variants.c.product_id.in_(chunk))
                .order_by(*_VARIANT_ORDER)
            )
            for row in rows:
                grouped[row.product_id].append(_variant(row))
        return grouped

    # -- writes --------------------------------------------------------------------------------

    def add_products(self, tenant_id: str, new_products: Sequence[Product]) -> None:
        """Insert product rows and the variants they carry."""
        if new_products:
            self._execute(insert(products), [_product_values(tenant_id, p) for p in new_products])
        self.add_variants(tenant_id, [v for p in new_products for v in p.variants])

    def add_variants(self, tenant_id: str, new_variants: Sequence[Variant]) -> None:
        if new_variants:
            self._execute(insert(variants), [_variant_values(tenant_id, v) for v in new_variants])

    def update_products(self, tenant_id: str, changed: Sequence[tuple[Product, int]]) -> None:
        """Write (product, version it was read at) pairs; all or ConcurrentModification."""
        if not changed:
            return
        stmt = (
            update(products)
            .where(
                products.c.tenant_id == bindparam("b_tenant"),
                products.c.id == bindparam("b_id"),
                products.c.version == bindparam("b_old_version"),
            )
            .values(
                {
                    name: bindparam(f"v_{name}")
                    for name in ("title", "description", "status", "image_urls", "version", "updated_at")
                }
            )
        )
        params = [
            {
                "b_tenant": tenant_id,
                "b_id": p.id,
                "b_old_version": old,
                "v_title": p.title,
                "v_description": p.description,
                "v_status": p.status.value,
                "v_image_urls": list(p.image_urls),
                "v_version": p.version,
                "v_updated_at": p.updated_at,
            }
            for p, old in changed
        ]
        self._expect_rows(stmt, params, "product")

    def update_variants(self, tenant_id: str, changed: Sequence[tuple[Variant, int]]) -> None:
        if not changed:
            return
        names = VARIANT_DB_COLUMNS
        stmt = (
            update(variants)
            .where(
                variants.c.tenant_id == bindparam("b_tenant"),
                variants.c.id == bindparam("b_id"),
                variants.c.version == bindparam("b_old_version"),
            )
            .values({name: bindparam(f"v_{name}") for name in (*names, "version", "updated_at")})
        )
        params = []
        for variant, old in changed:
            values = _variant_values(tenant_id, variant)
            params.append(
                {
                    "b_tenant": tenant_id,
                    "b_id": variant.id,
                    "b_old_version": old,
                    "v_version": variant.version,
                    "v_updated_at": variant.updated_at,
                    **{f"v_{name}": values[name] for name in names},
                }
            )
        self._expect_rows(stmt, params, "variant")

    def delete_product(self, tenant_id: str, product_id: str, version: int) -> None:
        # Variants go first: SQLite only cascades when foreign keys are on, so do not rely on it.
        self._session.execute(
            sql_delete(variants).where(variants.c.tenant_id == tenant_id, variants.c.product_id == product_id)
        )
        self._expect_rows(
            sql_delete(products).where(
                products.c.tenant_id == tenant_id, products.c.id == product_id, products.c.version == version
            ),
            None,
            "product",
        )

    def delete_variant(self, tenant_id: str, variant_id: str, version: int) -> None:
        self._expect_rows(
            sql_delete(variants).where(
                variants.c.tenant_id == tenant_id, variants.c.id == variant_id, variants.c.version == version
            ),
            None,
            "variant",
        )

    def add_event(self, tenant_id: str, event_type: str, payload: dict[str, Any]) -> None:
        """An outbox row in this transaction: committed with the change or not at all."""
        add_event(self._session, outbox, tenant_id, event_type, payload)

    def _execute(self, stmt: Any, params: list[dict[str, Any]] | None) -> Any:
        try:
            return self._session.execute(stmt, params) if params is not None else self._session.execute(stmt)
        except IntegrityError as exc:
            raise _integrity_error(exc) from None

    def _expect_rows(self, stmt: Any, params: list[dict[str, Any]] | None, what: str) -> None:
        result = self._execute(stmt, params)
        expected = 1 if params is None else len(params)
        if result.rowcount != expected:
            raise ConcurrentModification(f"the {what} changed concurrently; re-read it and retry")


class SqlAlchemyUnitOfWork(UnitOfWorkBase[CatalogRepository]):
    """Transactions on one session factory, each use case a closure run with retries
    (omnistock_common.uow). No state on self, so one instance serves every call and thread."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    @contextmanager
    def transaction(self) -> Iterator[CatalogRepository]:
        """One session and transaction: committed when the block ends normally, rolled back
        (by closing the session) when it raises. A constraint that only fails at commit is
        reported as the same domain error as one that fails on its statement."""
        with self._session_factory() as session:
            yield CatalogRepository(session)
            try:
                session.commit()
            except IntegrityError as exc:
                raise _integrity_error(exc) from None
