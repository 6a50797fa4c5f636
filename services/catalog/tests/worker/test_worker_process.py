"""The real worker: `nameko run --config services/catalog/worker.yaml catalog.worker` as a child
process on a real RabbitMQ (the vhost of TEST_AMQP_URL) and PostgreSQL relays the
`catalog.product_changed` event of a product created through the use case, signed, on
`catalog.events` with routing key `product_changed`."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import kombu
import pytest

from catalog import service
from catalog.domain import Money, NewProduct, VariantSpec
from catalog.repository import SqlAlchemyUnitOfWork
from omnistock_common.config import load_internal_auth_settings
from omnistock_common.db import make_engine, make_session_factory
from omnistock_common.service_auth import event_signature_valid
from omnistock_devtools.migrated import migrate

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[4]
NAMEKO = str(Path(sys.executable).parent / "nameko")
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
    connection = kombu.Connection(amqp_url)
    exchange = kombu.Exchange("catalog.events", type="topic", durable=True)
    queue = kombu.Queue(f"test-catalog-{uuid.uuid4().hex[:8]}", exchange, routing_key="#", exclusive=True)
    received: list[tuple[str, dict[str, Any]]] = []

    def on_message(body: dict[str, Any], message: kombu.Message) -> None:
        received.append((message.delivery_info["routing_key"], body))
        message.ack()

    consumer = kombu.Consumer(
        connection.default_channel, queues=[queue], callbacks=[on_message], accept=["json"]
    )
    consumer.consume()
    env = {
        **os.environ,
        "CATALOG_DATABASE_URL": postgres_url,
        "AMQP_URL": amqp_url,
        "LOG_LEVEL": "INFO",
        "PYTHONWARNINGS": "ignore",
    }
    secret = load_internal_auth_settings(env).token_secret
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [NAMEKO, "run", "--config", "services/catalog/worker.yaml", "catalog.worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            give_up = time.monotonic() + DEADLINE
            while not [body for _key, body in received if body.get("tenant_id") == tenant]:
                assert process.poll() is None, log_path.read_text()[-5000:]
                assert time.monotonic() < give_up, log_path.read_text()[-5000:]
                with contextlib.suppress(TimeoutError):
                    connection.drain_events(timeout=0.2)
            settle = time.monotonic() + 1.0  # a second copy would come within the relay's ticks
            while time.monotonic() < settle:
                with contextlib.suppress(TimeoutError):
                    connection.drain_events(timeout=0.2)
        finally:
            process.terminate()
            process.wait(timeout=20)
            consumer.cancel()
            connection.release()
            engine.dispose()
    mine = [(key, body) for key, body in received if body.get("tenant_id") == tenant]
    assert len(mine) == 1, received
    [(key, payload)] = mine
    assert key == "product_changed" and set(payload) == KEYS | {"_signature"}
    assert event_signature_valid(secret, "catalog.product_changed", payload)
    assert (payload["product_id"], payload["version"], payload["change"]) == (product.id, 1, "created")
    assert (payload["skus"], payload["removed_skus"]) == (["TEE-1"], [])
