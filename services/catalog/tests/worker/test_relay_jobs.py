"""The catalog worker's jobs without nameko: the relay signs each outbox row, publishes it under
its routing key within the service, marks it sent, and keeps it unsent when the broker fails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from catalog import relay, service
from catalog.domain import Money, NewProduct, VariantSpec
from catalog.models import outbox
from catalog.repository import SqlAlchemyUnitOfWork
from omnistock_common.db import make_engine, make_session_factory
from omnistock_common.outbox_relay import Unroutable, count_unsent
from omnistock_common.service_auth import event_signature_valid
from omnistock_devtools.migrated import migrate

SECRET = "catalog-relay-test-secret-0123456789abcdef"


@pytest.fixture
def jobs(database_url: str) -> relay.WorkerJobs:
    migrate("catalog", database_url)
    return relay.WorkerJobs(make_engine(database_url), SECRET)


def create(jobs: relay.WorkerJobs, title: str, sku: str) -> str:
    uow = SqlAlchemyUnitOfWork(make_session_factory(jobs.engine))
    cmd = NewProduct(title, "", None, (VariantSpec(sku, Money(100, "USD")),))
    return service.create_product(uow, "tenant-r", cmd).id


def test_relay_publishes_signed_and_marks_sent(jobs: relay.WorkerJobs) -> None:
    first, second = create(jobs, "A", "A-1"), create(jobs, "B", "B-1")
    published: list[tuple[str, dict[str, Any]]] = []
    assert jobs.relay(lambda key, payload: published.append((key, payload))) == 2
    assert [key for key, _ in published] == ["product_changed", "product_changed"]
    assert [p["product_id"] for _, p in published] == [first, second]
    for _, payload in published:
        assert event_signature_valid(SECRET, "catalog.product_changed", payload)
        assert payload["event_id"] and payload["skus"] in (["A-1"], ["B-1"])
    assert count_unsent(jobs.engine, outbox) == 0
    assert jobs.relay(lambda key, payload: published.append((key, payload))) == 0
    jobs.close()


def test_a_failed_or_unrouted_publish_keeps_the_row(jobs: relay.WorkerJobs) -> None:
    create(jobs, "A", "A-1")

    def broker_down(key: str, payload: dict[str, Any]) -> None:
        raise ConnectionError("broker away")

    with pytest.raises(ConnectionError):
        jobs.relay(broker_down)
    assert count_unsent(jobs.engine, outbox) == 1

    # Mandatory: the channels worker consumes it, so no queue yet means "not delivered".
    def no_queue(key: str, payload: dict[str, Any]) -> None:
        raise Unroutable(key)

    assert jobs.relay(no_queue) == 0 and count_unsent(jobs.engine, outbox) == 1
    assert jobs.relay(lambda key, payload: None) == 1 and count_unsent(jobs.engine, outbox) == 0
    assert jobs.purge_outbox() == 0, "sent rows are kept for OUTBOX_RETENTION"
    jobs.clock = lambda: datetime(2100, 1, 1, tzinfo=UTC)
    assert jobs.purge_outbox() == 1
    jobs.close()
