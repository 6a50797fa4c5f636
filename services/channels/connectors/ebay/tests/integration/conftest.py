"""The eBay connector's gRPC server beside the eBay sandbox, for the integration tests of this
folder (omnistock_devtools.connector_testing serves, connects and tears down)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis

from channel_sandboxes.ebay import EbayConfig, create_app
from ebay_connector.config import load_settings
from ebay_connector.server import build, with_port
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2_grpc
from omnistock_common.service_auth import internal_metadata
from omnistock_connector_kit.channel_http import RedisTokenBucket
from omnistock_devtools.connector_testing import connector_stub, sandbox_url, served_sandbox

TENANT = "tenant-1"
ACCEPT_URL = "http://127.0.0.1:9/omnistock/oauth/callback"


@dataclass
class Env:
    stub: connector_service_pb2_grpc.ConnectorServiceStub
    sandbox: httpx.Client
    base_url: str
    connection_id: str = field(default_factory=lambda: f"conn-{uuid.uuid4().hex[:8]}")

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, metadata=internal_metadata(TENANT), timeout=60)

    def connection(self, credentials: pb.Credentials | None = None, **settings: str) -> pb.ConnectionContext:
        return pb.ConnectionContext(
            connection_id=self.connection_id,
            tenant_id=TENANT,
            channel_type="ebay",
            settings={"api_base_url": self.base_url, **settings},
            credentials=credentials or pb.Credentials(),
        )

    def authorize(self) -> pb.ExchangeCodeResponse:
        """The whole consent flow: authorization URL → sandbox consent → callback → ExchangeCode."""
        url = self.call(
            "BuildAuthorizationUrl",
            pb.BuildAuthorizationUrlRequest(
                connection=self.connection(), state="st-1", redirect_uri=ACCEPT_URL
            ),
        ).authorization_url
        consent = httpx.get(url, follow_redirects=False, timeout=10)
        assert consent.status_code == 302, consent.text
        location = consent.headers["location"]
        assert location.startswith(ACCEPT_URL)
        # As the callback arrived: the code still URL-encoded (the connector decodes it once).
        raw = dict(pair.split("=", 1) for pair in urlsplit(location).query.split("&"))
        assert parse_qs(urlsplit(location).query)["state"] == ["st-1"]
        return self.call(
            "ExchangeCode",
            pb.ExchangeCodeRequest(
                connection=self.connection(), callback_params={"code": raw["code"], "state": "st-1"}
            ),
        )


@pytest.fixture
def env(redis_url: str) -> Iterator[Env]:
    environ = {"REDIS_URL": redis_url, "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*", "EBAY_MAX_ATTEMPTS": "3"}
    settings = with_port(load_settings(environ), "127.0.0.1", 0)
    client = redis.Redis.from_url(redis_url)
    limiter = RedisTokenBucket(client, capacity=1000, refill_per_second=100_000)
    with served_sandbox(create_app(EbayConfig(accept_url=ACCEPT_URL))) as sandbox:
        assert settings.client_id == sandbox.get("/_sandbox/config").json()["client_id"]
        with connector_stub(build(settings, limiter=limiter)) as stub:
            yield Env(stub, sandbox, sandbox_url(sandbox))
    client.close()
