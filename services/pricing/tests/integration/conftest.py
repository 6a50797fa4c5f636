"""Fixtures of the pricing integration tests: the real pricing gRPC server (127.0.0.1:0, built by
its composition root) on a migrated database (SQLite, and PostgreSQL for the `postgres` run of
`database_url`), with in-memory fakes of its catalog and listings ports and a hand-moved clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omnistock.pricing.v1 import pricing_service_pb2_grpc as pb_grpc
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.context import CallContext
from omnistock_devtools.migrated import migrate
from pricing.config import load_settings
from pricing.domain.model import BasePrice
from pricing.server import Pricing, build
from pricing.service import PricingDeps, UpstreamUnavailable

TENANT = "tenant-a"
Client = Any  # a bound stub: DeadlineStub.call(ctx)


@dataclass
class FakeCatalog:
    prices: dict[str, BasePrice] = field(default_factory=dict)
    calls: int = 0

    statuses: dict[str, str] = field(default_factory=dict)
    down: bool = False

    def base_prices(self, ctx: CallContext, skus: Sequence[str]) -> dict[str, BasePrice]:
        self.calls += 1
        if self.down:
            raise UpstreamUnavailable("catalog GetVariantsBySku: UNAVAILABLE")
        return {s: self.prices[s] for s in skus if s in self.prices}

    def skus_with_status(self, ctx: CallContext, status: str) -> set[str]:
        return {s for s in self.prices if self.statuses.get(s, "active") == status}


@dataclass
class FakeListings:
    skus: dict[str, list[str]] = field(default_factory=dict)

    def listed_skus(self, ctx: CallContext, connection_id: str) -> list[str]:
        return list(self.skus.get(connection_id, []))


@dataclass
class Clock:
    now: datetime = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def pricing_url(database_url: str) -> str:
    migrate("pricing", database_url)
    return database_url


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def listings() -> FakeListings:
    return FakeListings()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pricing_server(
    pricing_url: str, catalog: FakeCatalog, listings: FakeListings, clock: Clock
) -> Iterator[Pricing]:
    settings = load_settings(
        {"PRICING_DATABASE_URL": pricing_url, "PRICING_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"}
    )
    server = build(settings, catalog=catalog, listings=listings, clock=clock)
    yield server
    server.stop()


@pytest.fixture
def deps(pricing_server: Pricing) -> PricingDeps:
    """The server's use-case collaborators (the worker's path to the same database)."""
    return pricing_server.parts


@pytest.fixture
def client_for(pricing_server: Pricing) -> Iterator[Callable[..., Client]]:
    """client_for("tenant-b", role="viewer") -> a pricing stub acting for that caller."""
    with make_channel(f"127.0.0.1:{pricing_server.port}") as channel:
        stub = DeadlineStub(pb_grpc.PricingServiceStub(channel), timeout=30.0)

        def make(tenant: str = TENANT, role: str = "staff") -> Client:
            return stub.call(CallContext(tenant_id=tenant, user_id="u1", role=role))

        yield make


@pytest.fixture
def client(client_for: Callable[..., Client]) -> Client:
    return client_for()
