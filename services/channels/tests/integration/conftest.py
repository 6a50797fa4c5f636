"""Fixtures of the channels integration tests: a migrated database (SQLite and PostgreSQL), the
real channels gRPC server on 127.0.0.1:0 built by the composition root against real Redis, and a
FAKE ConnectorService (omnistock_devtools.fake_connector) served over real gRPC for both channel types."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from sqlalchemy import Engine

from channels.config import load_settings
from channels.server import Channels, build
from omnistock.channels.v1 import channels_service_pb2_grpc as pb_grpc
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_devtools.fake_connector import FakeConnector, serve_fake
from omnistock_devtools.migrated import migrate

KEY_1 = base64.b64encode(b"k" * 32).decode()
KEY_2 = base64.b64encode(b"n" * 32).decode()
STATE_SECRET = "test-oauth-state-secret-0123456789abcdef"
Client = Any


@pytest.fixture
def migrated_url(database_url: str) -> str:
    migrate("channels", database_url)
    return database_url


@dataclass
class Fakes:
    shopify: FakeConnector
    woocommerce: FakeConnector
    ports: dict[str, int]


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    """One fake connector per implemented channel type, each on its own port."""
    shopify, woo = FakeConnector(channel_type="shopify"), FakeConnector(channel_type="woocommerce")
    running = {"shopify": serve_fake(shopify), "woocommerce": serve_fake(woo)}
    yield Fakes(shopify, woo, {kind: r.port for kind, r in running.items()})
    for r in running.values():
        r.server.stop(None).wait()


@pytest.fixture
def env(migrated_url: str, redis_url: str, fakes: Fakes) -> dict[str, str]:
    ports = fakes.ports
    return {
        "CHANNELS_DATABASE_URL": migrated_url,
        "CHANNELS_GRPC_PORT": "0",
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "CREDENTIALS_KEYS": f"k1:{KEY_1}",
        "OAUTH_STATE_SECRET": STATE_SECRET,
        "PUBLIC_BASE_URL": "http://gateway.test:8080",
        "SHOPIFY_CONNECTOR_ADDR": f"127.0.0.1:{ports['shopify']}",
        "WOOCOMMERCE_CONNECTOR_ADDR": f"127.0.0.1:{ports['woocommerce']}",
        "CATALOG_ADDR": "127.0.0.1:1",
        # Notification receivers in these tests listen on loopback: the operator's allow-list.
        "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*",
    }


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[Channels]:
    channels = build(load_settings(env))
    yield channels
    channels.stop()


@pytest.fixture
def channel(server: Channels) -> Iterator[grpc.Channel]:
    with make_channel(f"127.0.0.1:{server.port}") as ch:
        yield ch


@pytest.fixture
def client_for(channel: grpc.Channel) -> Callable[..., Client]:
    stub = DeadlineStub(pb_grpc.ChannelsServiceStub(channel), timeout=30.0)

    def make(tenant: str = "tenant-a", user: str = "u1", role: str = "owner") -> Client:
        return stub.call(CallContext(tenant_id=tenant, user_id=user, role=role))

    return make


@pytest.fixture
def client(client_for: Callable[..., Client]) -> Client:
    return client_for("tenant-a")


@pytest.fixture
def raw_stub(channel: grpc.Channel) -> pb_grpc.ChannelsServiceStub:
    """A credential naming no tenant: what the gateway's webhook/OAuth-callback paths send."""
    return DeadlineStub(pb_grpc.ChannelsServiceStub(channel), timeout=30.0).call(CallContext(tenant_id=""))


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    eng = make_engine(migrated_url)
    yield eng
    eng.dispose()
