"""The catalog's unit of work has the shared shape (omnistock_common.uow): `run(work)` commits
what work did when it returns, keeps nothing when it raises, re-runs it whole on a transient
conflict, and reports a constraint that fails at commit as the catalog's domain error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from catalog import service
from catalog.domain import DuplicateSku, Money, NewProduct, ProductPatch, VariantSpec
from catalog.models import metadata
from catalog.repository import CatalogRepository, SqlAlchemyUnitOfWork
from omnistock_common.errors import Aborted, NotFound
from omnistock_common.uow import UnitOfWorkBase

TENANT = "tenant-a"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def uow(engine: Engine) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(sessionmaker(bind=engine, expire_on_commit=False))


def _new(sku: str = "SKU-1") -> NewProduct:
    return NewProduct("Shirt", "", None, (VariantSpec(sku, Money(1000, "EUR")),))


def test_is_the_shared_unit_of_work_shape(uow: SqlAlchemyUnitOfWork) -> None:
    assert isinstance(uow, UnitOfWorkBase)


def test_run_commits_what_the_work_did(uow: SqlAlchemyUnitOfWork) -> None:
    created = service.create_product(uow, TENANT, _new())
    assert service.get_product(uow, TENANT, created.id).variants[0].sku == "SKU-1"


def test_work_that_raises_keeps_nothing(uow: SqlAlchemyUnitOfWork) -> None:
    created = service.create_product(uow, TENANT, _new())

    def work(repo: CatalogRepository) -> None:
        repo.delete_product(TENANT, created.id, created.version)
        raise RuntimeError("refused after writing")

    with pytest.raises(RuntimeError):
        uow.run(work)
    assert service.get_product(uow, TENANT, created.id).id == created.id


def test_optimistic_version_mismatch_changes_nothing(uow: SqlAlchemyUnitOfWork) -> None:
    created = service.create_product(uow, TENANT, _new())
    service.update_product(uow, TENANT, created.id, ProductPatch(frozenset({"title"}), title="New"), 1)
    with pytest.raises(Aborted, match="at version 2, not 1"):
        service.update_product(uow, TENANT, created.id, ProductPatch(frozenset({"title"}), title="Lost"), 1)
    assert service.get_product(uow, TENANT, created.id).title == "New"


def test_transient_conflict_reruns_the_whole_work(uow: SqlAlchemyUnitOfWork) -> None:
    calls: list[int] = []

    def work(repo: CatalogRepository) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE products", {}, Exception("database is locked"))
        return len(calls)

    assert uow.run(work) == 2


def test_integrity_error_at_commit_is_the_domain_error(engine: Engine) -> None:
    class FailingCommit(Session):
        def commit(self) -> None:
            raise IntegrityError(
                "INSERT INTO variants",
                {},
                Exception("UNIQUE constraint failed: variants.tenant_id, variants.sku"),
            )

    uow = SqlAlchemyUnitOfWork(sessionmaker(bind=engine, class_=FailingCommit))
    with pytest.raises(DuplicateSku):
        service.create_product(uow, TENANT, _new())
    plain = SqlAlchemyUnitOfWork(sessionmaker(bind=engine))
    with pytest.raises(NotFound):
        service.get_product(plain, TENANT, "missing")
    assert service.get_variants_by_sku(plain, TENANT, ["SKU-1"]) == ([], ["SKU-1"])


class CountingUnitOfWork:
    """A fake with the use cases' interface (`run`), over a real one, counting transactions."""

    def __init__(self, inner: SqlAlchemyUnitOfWork) -> None:
        self.inner = inner
        self.runs = 0

    def run(self, work: Any) -> Any:
        self.runs += 1
        return self.inner.run(work)


def test_each_use_case_is_one_transaction(uow: SqlAlchemyUnitOfWork) -> None:
    fake = CountingUnitOfWork(uow)
    created = service.create_product(fake, TENANT, _new())
    service.update_product(fake, TENANT, created.id, ProductPatch(frozenset({"title"}), title="New"), 1)
    assert fake.runs == 2
