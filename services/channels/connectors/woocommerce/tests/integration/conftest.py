"""The real WooCommerce connector gRPC server on 127.0.0.1:0, with buckets in the test Redis."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import pytest

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2_grpc as pb_grpc
from omnistock_common.service_auth import internal_metadata
from woocommerce_connector.config import load_settings
from woocommerce_connector.server import build, with_port

TENANT = "tenant-a"


@dataclass
class Connector:
    stub: pb_grpc.ConnectorServiceStub
    # Backoff delays the connector asked for; recorded instead of slept so no test waits.
    sleeps: list[float] = field(default_factory=list)

    def call(self, method: str, request: object) -> object:
        return getattr(self.stub, method)(request, metadata=internal_metadata(TENANT), timeout=30)


@pytest.fixture
def connector(redis_url: str) -> Iterator[Connector]:
    # A generous bucket: these tests check behaviour, not the production rate (config.py).
    env = {
        "REDIS_URL": redis_url,
        "WOOCOMMERCE_CONNECTOR_BUCKET_CAPACITY": "1000",
        "WOOCOMMERCE_CONNECTOR_BUCKET_REFILL_PER_SECOND": "1000",
        "WOOCOMMERCE_CONNECTOR_HTTP_MAX_ATTEMPTS": "4",
        # The sandbox is on loopback: the operator's allow-list admits it (production: empty).
        "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*",
    }
    settings = with_port(load_settings(env), "127.0.0.1", 0)
    sleeps: list[float] = []
    running = build(settings, sleep=sleeps.append)
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield Connector(pb_grpc.ConnectorServiceStub(channel), sleeps)
    finally:
        channel.close()
        running.stop()


def _connection(
    store_url: str,
    *,
    consumer_key: str = "ck_test",
    consumer_secret: str = "cs_test",
    webhook_secret: str = "",
    **settings: str,
) -> pb.ConnectionContext:
    secrets = {"consumer_key": consumer_key, "consumer_secret": consumer_secret}
    if webhook_secret:
        secrets["webhook_secret"] = webhook_secret
    return pb.ConnectionContext(
        connection_id="conn-woo-1",
        tenant_id="tenant-a",
        channel_type="woocommerce",
        settings={"store_url": store_url, **settings},
        credentials=pb.Credentials(secrets=secrets),
    )


@pytest.fixture
def make_connection() -> object:
    """Factory of ConnectionContexts: make_connection(store_url, consumer_key=..., api_base_url=...)."""
    return _connection
