"""A small real stack for the security regression tests (issue 12).

The gateway runs behind a real HTTP server (werkzeug, 127.0.0.1:0) in front of a real channels
gRPC server (SQLite, the test Redis) whose connectors are the gRPC fakes of omnistock_devtools.
Clients are httpx.Client instances: one per "browser", each with its own cookie jar.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, make_server

from channels import models
from channels.config import load_settings
from channels.server import Channels, build
from gateway.app import create_app
from gateway.config import Settings
from omnistock_common.logging import setup_logging
from omnistock_devtools.fake_connector import FakeConnector, serve_fake
from omnistock_devtools.migrated import migrate

JWT_SECRET = "security-suite-jwt-secret-" + "j" * 24
STATE_SECRET = "security-suite-state-secret-" + "s" * 24
PASSWORD = "correct-horse-battery"


@dataclass
class Stack:
    channels: Channels
    shopify: FakeConnector
    woocommerce: FakeConnector
    gateway_db: str
    redis_url: str
    servers: list[tuple[BaseWSGIServer, threading.Thread, Flask]] = field(default_factory=list)

    def gateway(self, **overrides: Any) -> str:
        """Start one more gateway replica (same database and Redis); returns its base URL."""
        values: dict[str, Any] = {
            "database_url": self.gateway_db,
            "redis_url": self.redis_url,
            "jwt_secret": JWT_SECRET,
            "channels_addr": f"127.0.0.1:{self.channels.port}",
            "backends": {"channels": f"127.0.0.1:{self.channels.port}"},
            "argon2_time_cost": 1,
            "argon2_memory_kib": 1024,
            "argon2_parallelism": 1,
            **overrides,
        }
        app = create_app(Settings(**values))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.servers.append((server, thread, app))
        return f"http://127.0.0.1:{server.server_port}"

    def connections(self) -> int:
        with self.channels.parts.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(models.connections)).scalar_one())

    def close(self) -> None:
        for server, thread, app in self.servers:
            server.shutdown()
            thread.join(5)
            app.extensions["omnistock"].close()


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[Stack]:
    channels_db = f"sqlite:///{tmp_path / 'channels.db'}"
    gateway_db = f"sqlite:///{tmp_path / 'gateway.db'}"
    migrate("channels", channels_db)
    migrate("gateway", gateway_db)
    shopify, woo = FakeConnector(channel_type="shopify"), FakeConnector(channel_type="woocommerce")
    fakes = [serve_fake(shopify), serve_fake(woo)]
    channels = build(
        load_settings(
            {
                "CHANNELS_DATABASE_URL": channels_db,
                "CHANNELS_GRPC_PORT": "0",
                "REDIS_URL": redis_url,
                "OAUTH_STATE_SECRET": STATE_SECRET,
                "PUBLIC_BASE_URL": "http://gateway.test",
                "SHOPIFY_CONNECTOR_ADDR": f"127.0.0.1:{fakes[0].port}",
                "WOOCOMMERCE_CONNECTOR_ADDR": f"127.0.0.1:{fakes[1].port}",
            }
        )
    )
    built = Stack(channels, shopify, woo, gateway_db, redis_url)
    yield built
    built.close()
    channels.stop()
    for running in fakes:
        running.server.stop(None).wait()


@pytest.fixture
def browser() -> Iterator[Callable[[str], httpx.Client]]:
    """browser(base_url): a fresh client with its own cookie jar (one user's browser)."""
    clients: list[httpx.Client] = []

    def make(base_url: str) -> httpx.Client:
        client = httpx.Client(base_url=base_url, timeout=30.0, follow_redirects=False)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def register(client: httpx.Client, tenant: str, email: str, **kwargs: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/auth/register", json={"tenant_name": tenant, "email": email, "password": PASSWORD}, **kwargs
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def captured_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Everything the process would write to stderr with setup_logging at DEBUG (every logger,
    SQLAlchemy's statements and parameters included)."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    monkeypatch.setattr(sys, "stderr", stream)
    setup_logging("security-suite", "DEBUG", "text")
    noisy = [logging.getLogger(name) for name in ("sqlalchemy.engine", "sqlalchemy.pool", "werkzeug")]
    # The test's own HTTP client stands in for the users' browsers: what it logs (httpcore
    # prints response headers, Set-Cookie included) is the browser's, not a server's, log.
    browsers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    levels = [logger.level for logger in noisy + browsers]
    for logger in noisy:
        logger.setLevel(logging.DEBUG)
    for logger in browsers:
        logger.setLevel(logging.WARNING)
    try:
        yield stream
    finally:
        for logger, level in zip(noisy + browsers, levels, strict=True):
            logger.setLevel(level)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


@pytest.fixture
def helpers() -> Any:
    """The module-level helpers, for test files (importlib mode cannot import conftest)."""

    class Helpers:
        register = staticmethod(register)
        bearer = staticmethod(bearer)
        password = PASSWORD
        jwt_secret = JWT_SECRET
        state_secret = STATE_SECRET

    return Helpers
