"""Fixtures of the Amazon connector's integration tests: the real connector gRPC server against
the real Amazon sandbox (both on 127.0.0.1:0).

The connector's (connection, operation) buckets live in the real Redis (`redis_url`), sized by
the usage plans as in production; each test gets its own key prefix.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import grpc
import httpx
import pytest
import redis

from amazon_connector.config import load_settings
from amazon_connector.server import build, with_port
from amazon_connector.throttling import OperationLimiter
from channel_sandboxes.amazon import AmazonConfig, create_app, serve
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2_grpc
from omnistock_common.service_auth import internal_metadata
from omnistock_connector_kit.rate_limit import RedisTokenBucket

TENANT = "tenant-1"
REDIRECT = "http://omnistock.test/callback"


@dataclass
class Env:
    stub: connector_service_pb2_grpc.ConnectorServiceStub
    sandbox: httpx.Client
    base_url: str
    config: dict[str, Any]

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, metadata=internal_metadata(TENANT), timeout=60)

    def connection(self, credentials: pb.Credentials | None = None, **settings: str) -> pb.ConnectionContext:
        return pb.ConnectionContext(
            connection_id="conn-amazon-1",
            tenant_id=TENANT,
            channel_type="amazon",
            settings={"region": "na", "api_base_url": self.base_url, **settings},
            credentials=credentials or pb.Credentials(),
        )

    def connect(self, **settings: str) -> tuple[pb.Credentials, dict[str, str]]:
        """The website authorization workflow: consent URL → sandbox 302 → ExchangeCode."""
        params = self.consent(**settings)
        exchanged = self.call(
            "ExchangeCode",
            pb.ExchangeCodeRequest(
                connection=self.connection(**settings), callback_params=params, redirect_uri=REDIRECT
            ),
        )
        return exchanged.credentials, dict(exchanged.settings)

    def consent(self, **settings: str) -> dict[str, str]:
        url = self.call(
            "BuildAuthorizationUrl",
            pb.BuildAuthorizationUrlRequest(
                connection=self.connection(**settings), state="signed-state-1", redirect_uri=REDIRECT
            ),
        ).authorization_url
        assert url.startswith(self.base_url + "/apps/authorize/consent?")
        redirect = httpx.get(url, follow_redirects=False)
        assert redirect.status_code == 302, redirect.text
        location = urlsplit(redirect.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
        return dict(parse_qsl(location.query))

    def connected(self) -> pb.ConnectionContext:
        credentials, settings = self.connect()
        return self.connection(credentials, **settings)

    def seed(self, count: int, prefix: str = "SKU", price: str = "10.00") -> list[str]:
        items = [
            {"sku": f"{prefix}-{i:04d}", "title": f"Item {i}", "quantity": 1, "price": price}
            for i in range(count)
        ]
        assert self.sandbox.post("/_sandbox/products", json={"items": items}).status_code == 201
        return [i["sku"] for i in items]

    def calls(self) -> dict[str, int]:
        return self.sandbox.get("/_sandbox/calls").json()["by_operation"]


@pytest.fixture
def make_env(redis_url: str) -> Iterator[Callable[..., Env]]:
    stops: list[Callable[[], None]] = []

    def make(config: AmazonConfig | None = None, **env: str) -> Env:
        http_server, _thread = serve(create_app(config or AmazonConfig()))
        base_url = f"http://127.0.0.1:{http_server.server_port}"
        sandbox = httpx.Client(base_url=base_url, timeout=30)
        described = sandbox.get("/_sandbox/config").json()
        settings = with_port(
            load_settings(
                {
                    "REDIS_URL": redis_url,
                    "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*",
                    "AMAZON_FEED_POLL_SECONDS": "0",
                    **env,
                }
            ),
            "127.0.0.1",
            0,
        )
        assert settings.lwa_client_id == described["client_id"], (
            "connector defaults must match the sandbox's app"
        )
        assert settings.app_id == described["app_id"]
        client = redis.Redis.from_url(redis_url)
        prefix = f"test:amazon:{uuid.uuid4().hex}:"
        limiter = OperationLimiter(
            lambda capacity, rate: RedisTokenBucket(client, capacity, rate, prefix=prefix)
        )
        running = build(settings, limiter=limiter)
        channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")

        def stop() -> None:
            channel.close()
            running.stop()
            sandbox.close()
            http_server.shutdown()
            client.close()

        stops.append(stop)
        return Env(connector_service_pb2_grpc.ConnectorServiceStub(channel), sandbox, base_url, described)

    yield make
    for stop in stops:
        stop()


@pytest.fixture
def env(make_env: Callable[..., Env]) -> Env:
    return make_env()
