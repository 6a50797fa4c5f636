"""What a connector's integration tests stand on: its channel's sandbox served in-process on
127.0.0.1, the connector's gRPC server next to it, and the settings that let the one reach the
other quickly. Each connector's tests build their own server (its `build` and seams); these
helpers only serve, connect and tear down, the same way for all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import httpx
from flask import Flask

from channel_sandboxes.common import serve
from omnistock.connector.v1 import connector_service_pb2_grpc as pb_grpc


def connector_env(prefix: str, redis_url: str, **extra: str) -> dict[str, str]:
    """A connector's environment for tests: its Redis, the loopback sandbox allowed (production's
    allow-list is empty), and a generous bucket (these tests check behaviour, not the rate)."""
    return {
        "REDIS_URL": redis_url,
        "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*",
        f"{prefix}_BUCKET_CAPACITY": "1000",
        f"{prefix}_BUCKET_REFILL_PER_SECOND": "1000",
        **extra,
    }


@contextmanager
def served_sandbox(app: Flask) -> Iterator[httpx.Client]:
    """The sandbox `app` on a free loopback port, and a client of it (`base_url` its address)."""
    server, _thread = serve(app)
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=30)
    try:
        yield client
    finally:
        client.close()
        server.shutdown()


@contextmanager
def connector_stub(running: Any) -> Iterator[pb_grpc.ConnectorServiceStub]:
    """A ConnectorService stub of the started server `running` (a BuiltServer); both are closed
    at the end."""
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield pb_grpc.ConnectorServiceStub(channel)
    finally:
        channel.close()
        running.stop()


def sandbox_url(sandbox: httpx.Client) -> str:
    """The sandbox's address as connection settings name it (no trailing slash)."""
    return str(sandbox.base_url).rstrip("/")
