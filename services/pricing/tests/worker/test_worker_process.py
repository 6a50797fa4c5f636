"""The real worker: `nameko run --config services/pricing/worker.yaml pricing.worker` as a child
process on a real RabbitMQ (the vhost of TEST_AMQP_URL) and PostgreSQL starts a due timed sale
(base price read from a catalog gRPC server over its tpool clients) and relays the
`pricing.price_changed` event signed, with exactly the agreed keys, on `pricing.events`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from omnistock.catalog.v1 import catalog_service_pb2 as cat
from omnistock.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from omnistock.channels.v1 import channels_service_pb2 as ch
from omnistock.channels.v1 import channels_service_pb2_grpc as ch_grpc
from omnistock.common.v1 import common_pb2
from omnistock_common.config import load_internal_auth_settings
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_common.grpc_server import RunningServer, build_server
from omnistock_common.service_auth import event_signature_valid
from omnistock_devtools.migrated import migrate
from omnistock_devtools.worker_process import relayed_events
from pricing import service
from pricing.domain.model import BasePrice
from pricing.repository import UnitOfWork
from pricing.service import PricingDeps

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

TENANT = "worker-tenant"
DEADLINE = 60.0
KEYS = {"tenant_id", "connection_id", "sku", "price", "compare_at_price", "version", "changed_at", "reason"}


class Catalog(cat_grpc.CatalogServiceServicer):
    def GetVariantsBySku(self, request: cat.GetVariantsBySkuRequest, context: grpc.ServicerContext) -> Any:
        variants = [
            cat.Variant(sku=sku, price=common_pb2.Money(amount_minor=2500, currency="USD"))
            for sku in request.skus
        ]
        return cat.GetVariantsBySkuResponse(variants=variants)


class Channels(ch_grpc.ChannelsServiceServicer):
    def ListListings(self, request: ch.ListListingsRequest, context: grpc.ServicerContext) -> Any:
        return ch.ListListingsResponse(listings=[ch.Listing(sku="TEE-1")])

    def GetConnection(self, request: ch.GetConnectionRequest, context: grpc.ServicerContext) -> Any:
        return ch.GetConnectionResponse(connection=ch.Connection(id=request.connection_id))


class Ports:
    def base_prices(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, BasePrice]:
        return {sku: BasePrice(2500, "USD") for sku in skus}

    def listed_skus(self, ctx: CallContext, connection_id: str) -> list[str]:
        return ["TEE-1"]

    def store_currency(self, ctx: CallContext, connection_id: str) -> str:
        return ""


@pytest.fixture
def upstream() -> Iterator[tuple[RunningServer, RunningServer]]:
    catalog = build_server(
        [lambda server: cat_grpc.add_CatalogServiceServicer_to_server(Catalog(), server)],
        [cat.DESCRIPTOR.services_by_name["CatalogService"].full_name],
        "127.0.0.1:0",
        max_workers=2,
    )
    channels = build_server(
        [lambda server: ch_grpc.add_ChannelsServiceServicer_to_server(Channels(), server)],
        [ch.DESCRIPTOR.services_by_name["ChannelsService"].full_name],
        "127.0.0.1:0",
        max_workers=2,
    )
    yield catalog, channels
    catalog.server.stop(None).wait()
    channels.server.stop(None).wait()


def test_the_worker_starts_a_due_sale_and_relays_it_signed(
    postgres_url: str, amqp_url: str, upstream: tuple[RunningServer, RunningServer], tmp_path: Path
) -> None:
    migrate("pricing", postgres_url)
    engine = make_engine(postgres_url)
    # The database is shared with other tests, whose outbox rows this worker relays too: this
    # test's own tenant tells its event apart.
    tenant = f"{TENANT}-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    deps = PricingDeps(UnitOfWork(engine), Ports(), Ports(), lambda: now)
    sale = service.create_sale(
        deps,
        CallContext(tenant, "u1", "staff"),
        "TEE-1",
        "shop",
        (1999, "USD"),
        now - timedelta(seconds=1),
        now + timedelta(hours=1),
        "",
    )
    env = {
        **os.environ,
        "PRICING_DATABASE_URL": postgres_url,
        "CATALOG_ADDR": f"127.0.0.1:{upstream[0].port}",
        "CHANNELS_ADDR": f"127.0.0.1:{upstream[1].port}",
        "AMQP_URL": amqp_url,
        "EVENTLET_THREADPOOL_SIZE": "8",
        "LOG_LEVEL": "INFO",
        "PYTHONWARNINGS": "ignore",
    }
    secret = load_internal_auth_settings(env).token_secret
    mine = relayed_events(
        "services/pricing/worker.yaml",
        "pricing.worker",
        "pricing.events",
        amqp_url=amqp_url,
        env=env,
        log_path=tmp_path / "worker.log",
        deadline=DEADLINE,
        match=lambda body: body.get("tenant_id") == tenant,
    )
    assert len(mine) == 1, mine  # one copy: relayed once, not again on a later tick
    [(key, payload)] = mine
    assert key == "price_changed" and set(payload) == KEYS | {"_signature"}
    assert event_signature_valid(secret, "pricing.price_changed", payload)
    assert payload["price"] == {"amount_minor": 1999, "currency": "USD"}
    assert payload["compare_at_price"] == {"amount_minor": 2500, "currency": "USD"}
    [listed], _ = service.list_sales(deps, CallContext(tenant), "TEE-1", "shop", 10, "")
    assert listed.id == sale.id and listed.state.value == "active"
    engine.dispose()
