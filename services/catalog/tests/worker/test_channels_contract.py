"""The contract with the consumer: what the catalog worker relays for real product changes is
accepted by the channels worker's intake (channels.publishing.product_changed) as the same
product, version and deletion, and a tampered copy is dropped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from catalog import relay, service
from catalog.domain import Money, NewProduct, ProductPatch, VariantSpec
from catalog.repository import SqlAlchemyUnitOfWork
from channels import publishing
from omnistock_common.db import make_engine, make_session_factory
from omnistock_devtools.migrated import migrate

SECRET = "c" * 40
NOW = datetime(2026, 12, 6, tzinfo=UTC)


class Marks:
    """The channels repository's `product_changed`, recorded (what the intake decided)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int, bool]] = []

    def product_changed(
        self, tenant_id: str, product_id: str, version: int, removed: bool, now: datetime
    ) -> int:
        self.calls.append((tenant_id, product_id, version, removed))
        return 1

    def run(self, work: Callable[[Any], int]) -> int:
        return work(self)


def test_the_channels_intake_accepts_what_the_relay_publishes(sqlite_url: str) -> None:
    migrate("catalog", sqlite_url)
    engine = make_engine(sqlite_url)
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    cmd = NewProduct("Tee", "", None, (VariantSpec("TEE-1", Money(100, "USD")),))
    product = service.create_product(uow, "tenant-a", cmd)
    service.update_product(uow, "tenant-a", product.id, ProductPatch(frozenset({"title"}), title="Tee 2"), 1)
    service.delete_product(uow, "tenant-a", product.id, 2)
    sent: list[tuple[str, dict[str, Any]]] = []
    relay.WorkerJobs(engine, SECRET).relay(lambda key, payload: sent.append((key, payload)))
    engine.dispose()

    marks = Marks()
    deps: Any = SimpleNamespace(uow=marks, clock=lambda: NOW)
    assert {key for key, _ in sent} == {"product_changed"}
    assert f"catalog.{sent[0][0]}" == publishing.PRODUCT_CHANGED_EVENT
    for _, payload in sent:
        assert publishing.product_changed(deps, payload, SECRET) == 1
    assert marks.calls == [
        ("tenant-a", product.id, 1, False),
        ("tenant-a", product.id, 2, False),
        ("tenant-a", product.id, 3, True),
    ]
    tampered = {**sent[1][1], "version": 9}
    assert publishing.product_changed(deps, tampered, SECRET) == 0


@pytest.mark.parametrize("secret", ["", "another-secret-" + "x" * 30])
def test_an_event_signed_with_another_secret_is_dropped(sqlite_url: str, secret: str) -> None:
    migrate("catalog", sqlite_url)
    engine = make_engine(sqlite_url)
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    service.create_product(
        uow, "tenant-a", NewProduct("Mug", "", None, (VariantSpec("MUG-1", Money(5, "USD")),))
    )
    sent: list[dict[str, Any]] = []
    relay.WorkerJobs(engine, SECRET).relay(lambda key, payload: sent.append(payload))
    engine.dispose()
    marks = Marks()
    assert publishing.product_changed(SimpleNamespace(uow=marks, clock=lambda: NOW), sent[0], secret) == 0
    assert marks.calls == []
