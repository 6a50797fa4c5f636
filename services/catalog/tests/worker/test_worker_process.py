"""The real worker: `nameko run --config services/catalog/worker.yaml catalog.worker` as a child
process on a real RabbitMQ (the vhost of TEST_AMQP_URL) and PostgreSQL relays the
`catalog.product_changed` event of a product created through the use case, signed, on
`catalog.events` with routing key `product_changed`."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from catalog import service
from catalog.domain import Money, NewProduct, VariantSpec
from catalog.repository import SqlAlchemyUnitOfWork
from omnistock_common.config import load_internal_auth_settings
from omnistock_common.db import make_engine, make_session_factory
from omnistock_common.service_auth import event_signature_valid
from omnistock_devtools.migrated import migrate
from omnistock_devtools.worker_process import relayed_events

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

DEADLINE = 60.0
KEYS = {"tenant_id", "product_id", "version", "change", "skus", "removed_skus", "changed_at", "event_id"}


def test_the_worker_relays_product_changed_signed(postgres_url: str, amqp_url: str, tmp_path: Path) -> None:
    migrate("catalog", postgres_url)
    engine = make_engine(postgres_url)
    # The tenant tells this test's event apart from any other row of a shared database.
    tenant = f"worker-tenant-{uuid.uuid4().hex[:8]}"
    uow = SqlAlchemyUnitOfWork(make_session_factory(engine))
    product = service.create_product(
        uow, tenant, NewProduct("Tee", "", None, (VariantSpec("TEE-1", Money(2500, "USD")),))
    )
    env = {
        **os.environ,
        "CATALOG_DATABASE_URL": postgres_url,
        "AMQP_URL": amqp_url,
        "LOG_LEVEL": "INFO",
        "PYTHONWARNINGS": "ignore",
    }
    secret = load_internal_auth_settings(env).token_secret
    try:
        mine = relayed_events(
            "services/catalog/worker.yaml",
            "catalog.worker",
            "catalog.events",
            amqp_url=amqp_url,
            env=env,
            log_path=tmp_path / "worker.log",
            deadline=DEADLINE,
            match=lambda body: body.get("tenant_id") == tenant,
        )
    finally:
        engine.dispose()
    assert len(mine) == 1, mine  # one copy: relayed once, not again on a later tick
    [(key, payload)] = mine
    assert key == "product_changed" and set(payload) == KEYS | {"_signature"}
    assert event_signature_valid(secret, "catalog.product_changed", payload)
    assert (payload["product_id"], payload["version"], payload["change"]) == (product.id, 1, "created")
    assert (payload["skus"], payload["removed_skus"]) == (["TEE-1"], [])
