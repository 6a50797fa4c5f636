"""A whole channel path for the security tests: gateway (Flask test client) -> channels gRPC server
-> the REAL Shopify and WooCommerce connectors -> the sandboxes, every socket on 127.0.0.1.

`make_stack(allowed)` builds it with CHANNEL_ALLOWED_HOSTS = `allowed` (callables get the sandbox
URLs), and the connectors resolve names with `RESOLVER`, a stub: names that "resolve" to loopback,
private or link-local addresses are refused by the egress guard before any connection, and every
other name fails like an unknown one. No test here can send a packet off the machine, even with a
broken guard: the only real addresses ever dialled are 127.0.0.x.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from channel_sandboxes.common import serve
from channel_sandboxes.shopify.app import ShopifyConfig
from channel_sandboxes.shopify.app import create_app as shopify_sandbox
from channel_sandboxes.woocommerce.app import WooConfig
from channel_sandboxes.woocommerce.app import create_app as woo_sandbox
from channels import models
from channels.config import load_settings
from channels.server import Channels, build
from gateway.app import create_app
from gateway.config import Settings as GatewaySettings
from omnistock_devtools.migrated import migrate
from shopify_connector import config as shopify_config
from shopify_connector import server as shopify_server
from woocommerce_connector import config as woo_config
from woocommerce_connector import server as woo_server

pytestmark = pytest.mark.redis

# What the stub DNS says. Anything else "does not resolve".
STUB_DNS: dict[str, list[str]] = {
    "evil-loopback.test": ["127.0.0.1"],
    "evil-v6-loopback.test": ["::1"],
    "evil-private.test": ["10.0.0.5"],
    "evil-metadata.test": ["169.254.169.254"],
    "evil-mapped.test": ["::ffff:169.254.169.254"],
    "evil-mixed.test": ["23.227.38.65", "192.168.0.10"],
}


_real_getaddrinfo = socket.getaddrinfo


def _loopback_only_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    """The process's own resolver, restricted to loopback: a safety net so that even a broken
    guard cannot send a DNS query (or a connection) off the machine from these tests."""
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    try:
        loopback = ipaddress.ip_address(name.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        loopback = name.lower() == "localhost"
    if not loopback:
        raise socket.gaierror(socket.EAI_NONAME, "tests/security resolve loopback only")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only_getaddrinfo)


class StubResolver:
    def __init__(self) -> None:
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in STUB_DNS:
            raise OSError("Name or service not known")
        return STUB_DNS[host]


@dataclass
class Stack:
    gateway: Any  # Flask test client
    channels: Channels
    shopify_url: str
    woo_url: str
    shop: ShopifyConfig
    woo: WooConfig
    resolver: StubResolver
    auth: dict[str, str] = field(default_factory=dict)

    def connections(self) -> int:
        with self.channels.parts.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(models.connections)).scalar_one())

    def sandbox_calls(self, url: str) -> int:
        """Requests a sandbox received (its control API is not counted)."""
        calls = httpx.get(f"{url}/_sandbox/calls").json()
        return int(calls.get("total", sum(v for v in calls.values() if isinstance(v, int))))


def problem(response: Any) -> tuple[int, str, str, str, str]:
    """What a refusal tells the caller, minus per-request ids."""
    body = response.json
    return (
        response.status_code,
        response.headers.get("Content-Type", "").split(";")[0],
        body.get("title", ""),
        body.get("detail", ""),
        json.dumps(body.get("errors"), sort_keys=True),
    )


@pytest.fixture
def make_stack(tmp_path: Path, redis_url: str) -> Iterator[Callable[..., Stack]]:
    cleanups: list[Callable[[], None]] = []

    def make(allowed: str | Callable[[str, str], str] = "") -> Stack:
        shop, woo = ShopifyConfig(), WooConfig()
        shop_http, _ = serve(shopify_sandbox(shop))
        woo_http, _ = serve(woo_sandbox(woo))
        cleanups.extend([shop_http.shutdown, woo_http.shutdown])
        shop_url = f"http://127.0.0.1:{shop_http.server_port}"
        woo_url = f"http://127.0.0.1:{woo_http.server_port}"
        hosts = allowed(shop_url, woo_url) if callable(allowed) else allowed
        env = {"REDIS_URL": redis_url, "LOG_LEVEL": "WARNING", "CHANNEL_ALLOWED_HOSTS": hosts}
        resolver = StubResolver()
        shop_connector = shopify_server.build(
            shopify_server.with_port(shopify_config.load_settings(env), "127.0.0.1", 0), resolver=resolver
        )
        woo_connector = woo_server.build(
            woo_server.with_port(woo_config.load_settings(env), "127.0.0.1", 0), resolver=resolver
        )
        cleanups.extend([shop_connector.stop, woo_connector.stop])
        index = len(cleanups)
        channels_url = f"sqlite:///{tmp_path / f'channels-{index}.db'}"
        migrate("channels", channels_url)
        channels = build(
            load_settings(
                {
                    **env,
                    "CHANNELS_DATABASE_URL": channels_url,
                    "CHANNELS_GRPC_PORT": "0",
                    "PUBLIC_BASE_URL": "http://gateway.test",
                    "OAUTH_STATE_SECRET": "security-oauth-state-secret-0123456789abcdef",
                    "SHOPIFY_CONNECTOR_ADDR": f"127.0.0.1:{shop_connector.port}",
                    "WOOCOMMERCE_CONNECTOR_ADDR": f"127.0.0.1:{woo_connector.port}",
                    "CATALOG_ADDR": "127.0.0.1:1",
                }
            )
        )
        cleanups.append(channels.stop)
        gateway_url = f"sqlite:///{tmp_path / f'gateway-{index}.db'}"
        migrate("gateway", gateway_url)
        app = create_app(
            GatewaySettings(
                database_url=gateway_url,
                redis_url=redis_url,
                jwt_secret="security-secret-" + "x" * 40,
                channels_addr=f"127.0.0.1:{channels.port}",
                backends={},
                argon2_time_cost=1,
                argon2_memory_kib=1024,
                argon2_parallelism=1,
                grpc_timeout_seconds=30.0,
            )
        )
        app.config["TESTING"] = True
        cleanups.append(app.extensions["omnistock"].close)
        stack = Stack(app.test_client(), channels, shop_url, woo_url, shop, woo, resolver)
        registered = stack.gateway.post(
            "/api/v1/auth/register",
            json={"tenant_name": "Acme", "email": f"owner{index}@acme.test", "password": "correct-horse"},
        )
        assert registered.status_code == 201, registered.json
        stack.auth = {"Authorization": f"Bearer {registered.json['access_token']}"}
        return stack

    yield make
    for cleanup in reversed(cleanups):
        cleanup()
