"""Fixtures of the sync engine tests: the REAL Shopify and WooCommerce sandboxes and connector
services, the real channels gRPC server (its composition root) with a tenant connected to both
channels (Shopify by OAuth against the sandbox, WooCommerce by keys), listings auto-mapped from
the sandboxes' catalogues, and a SyncEngine over the server's own UnitOfWork and ConnectionCaller.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlparse, urlsplit, urlunparse, urlunsplit

import httpx
import pytest
import redis as redis_lib
from flask import Flask, Response, request

from channel_sandboxes.common import serve
from channel_sandboxes.shopify.app import ShopifyConfig
from channel_sandboxes.shopify.app import create_app as shopify_sandbox
from channel_sandboxes.woocommerce.app import WooConfig
from channel_sandboxes.woocommerce.app import create_app as woo_sandbox
from channels import connection_setup, listing_mapping, service, webhook_intake
from channels.config import load_settings
from channels.server import Channels, build
from channels.sync import flusher, inventory_source, store
from channels.sync.engine import SyncEngine
from channels.sync.settings import OrderPollSettings, SyncSettings
from inventory import models as inventory_models
from inventory.config import load_settings as inventory_settings
from inventory.server import build as build_inventory
from omnistock.inventory.v1 import inventory_service_pb2 as inv_pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.context import CallContext
from omnistock_common.db import make_engine
from omnistock_common.outbox_relay import relay_pending
from omnistock_devtools.migrated import migrate
from omnistock_devtools.testing import SYNC_REDIS_DB
from omnistock_devtools.worker_process import RunningWorker, running_worker
from shopify_connector import config as shopify_config
from shopify_connector import server as shopify_server
from woocommerce_connector import config as woo_config
from woocommerce_connector import server as woo_server

TENANT = "tenant-sync"
STATE_SECRET = "sync-tests-oauth-state-secret-0123456789"


@dataclass
class Sandbox:
    """One sandbox over HTTP: its control API and the vendor's inventory view."""

    url: str
    http: httpx.Client

    def inventory(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.http.get("/_sandbox/inventory").json().items()}

    def calls(self) -> dict[str, Any]:
        return dict(self.http.get("/_sandbox/calls").json())

    def reset_calls(self) -> None:
        self.http.post("/_sandbox/calls/reset")

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(path, json=body or {})


@dataclass
class Stack:
    channels: Channels
    redis: redis_lib.Redis
    engine: SyncEngine
    shopify: Sandbox
    woo: Sandbox
    shopify_id: str = ""
    woo_id: str = ""
    env: dict[str, str] = field(default_factory=dict)
    database_url: str = ""

    @property
    def ctx(self) -> CallContext:
        return CallContext(tenant_id=TENANT, user_id="tester")

    def seed(self, skus: dict[str, int]) -> None:
        """Create the SKUs in both sandboxes with these quantities and map them on both connections."""
        items = [{"sku": s, "title": s, "quantity": q, "price": "10.00"} for s, q in skus.items()]
        for box in (self.shopify, self.woo):
            for start in range(0, len(items), 250):
                reply = box.post("/_sandbox/products", {"items": items[start : start + 250]})
                assert reply.status_code == 201, reply.text
        for connection_id in (self.shopify_id, self.woo_id):
            result = listing_mapping.auto_map(self.channels.parts.deps, self.ctx, connection_id, list(skus))
            assert not result.unmapped_skus, result.unmapped_skus

    def event(
        self, changes: dict[str, tuple[int, int]], channels: dict[str, dict[str, int]] | None = None
    ) -> dict[str, Any]:
        """An inventory.stock_changed payload: sku -> (available, version)."""
        return {
            "tenant_id": TENANT,
            "skus": [
                {
                    "sku": sku,
                    "available": available,
                    "on_hand": available,
                    "reserved": 0,
                    "version": version,
                    "channels": [
                        {"connection_id": cid, "channel": "x", "available_to_sell": ats}
                        for cid, ats in (channels or {}).get(sku, {}).items()
                    ],
                }
                for sku, (available, version) in changes.items()
            ],
        }

    def record(self, payload: dict[str, Any]) -> int:
        return store.record_stock_changes(
            self.redis, self.channels.parts.deps.uow, payload, settings=self.engine.settings
        )

    def flush_until(self, done: Callable[[], bool], deadline: float = 60.0) -> None:
        """Run the flusher (as the worker's timer would) until `done()` or the deadline."""
        give_up = time.monotonic() + deadline
        while not done():
            assert time.monotonic() < give_up, (
                "condition not reached before the deadline",
                {"shopify": self.shopify.inventory(), "woo": self.woo.inventory()},
                {c: store.pending_snapshot(self.redis, c) for c in (self.shopify_id, self.woo_id)},
                self.redis.zrange(store.DUE_KEY, 0, -1, withscores=True),
                [(e.operation, e.outcome, e.message) for e in self.sync_log(self.woo_id, 5)],
            )
            flusher.flush_due(self.engine)
            time.sleep(0.02)

    def worker_env(self, amqp_url: str, **extra: str) -> dict[str, str]:
        """The channels worker's environment on this stack; inventory is unreachable (the events
        carry the figures)."""
        return {
            **os.environ,
            **self.env,
            "AMQP_URL": amqp_url,
            "EVENTLET_THREADPOOL_SIZE": "16",
            "INVENTORY_ADDR": "127.0.0.1:1",
            "LOG_LEVEL": "INFO",
            **extra,
        }

    def worker(
        self, env: dict[str, str], log_path: Path, deadline: float, **options: Any
    ) -> AbstractContextManager[RunningWorker]:
        """`nameko run ... channels.worker` with `env` (running_worker's other options pass through)."""
        return running_worker(
            "services/channels/worker.yaml",
            "channels.worker",
            env=env,
            log_path=log_path,
            deadline=deadline,
            **options,
        )

    def sync_log(self, connection_id: str, limit: int = 200) -> list[Any]:
        with self.channels.parts.deps.uow.transaction() as repo:
            return repo.list_sync_log(TENANT, connection_id, limit)

    def connection(self, connection_id: str) -> Any:
        return service.get_connection(self.channels.parts.deps, self.ctx, connection_id)

    def listing(self, connection_id: str, sku: str) -> Any:
        with self.channels.parts.deps.uow.transaction() as repo:
            return repo.get_listing(TENANT, connection_id, sku)


def fast_settings() -> SyncSettings:
    """Short delays so failure/recovery tests run in seconds (the logic is the production one)."""
    return SyncSettings(
        coalesce_delay=timedelta(0),
        backoff_base=timedelta(milliseconds=100),
        backoff_cap=timedelta(seconds=1),
        polls=OrderPollSettings(min_interval=timedelta(milliseconds=200)),
        order_action_backoff_base=timedelta(milliseconds=50),
        order_action_backoff_cap=timedelta(milliseconds=200),
    )


def connect_shopify(channels: Channels, sandbox_url: str, shop: ShopifyConfig) -> str:
    ctx = CallContext(tenant_id=TENANT, user_id="tester")
    redirect = "http://gateway.test/api/v1/channels/oauth/callback"
    binding = "b" * 64  # the gateway's cookie nonce, hashed
    url, _ = connection_setup.start_oauth(
        channels.parts.deps,
        ctx,
        "shopify",
        "Shop",
        {"api_base_url": sandbox_url, "shop_domain": shop.shop_domain},
        redirect,
        binding,
    )
    consent = httpx.get(url, follow_redirects=False)
    assert consent.status_code == 302, consent.text
    params = dict(parse_qsl(urlsplit(consent.headers["location"]).query))
    return connection_setup.complete_oauth(channels.parts.deps, params, redirect, binding).id


def connect_woo(channels: Channels, sandbox_url: str, woo: WooConfig) -> str:
    ctx = CallContext(tenant_id=TENANT, user_id="tester")
    return connection_setup.create_connection(
        channels.parts.deps,
        ctx,
        "woocommerce",
        "Woo",
        {"api_base_url": f"{sandbox_url}/wp-json/wc/v3"},
        {"consumer_key": woo.consumer_key, "consumer_secret": woo.consumer_secret},
    ).id


@pytest.fixture
def webhook_url(stack: Stack) -> Iterator[str]:
    """Stands in for the gateway's raw-body webhook route: `<url>/<channel type>/<connection id>`
    hands each delivery to the channels service exactly as received."""
    app = Flask("webhooks")

    @app.post("/webhooks/<channel_type>/<connection_id>")
    def hook(channel_type: str, connection_id: str) -> Response:
        webhook_intake.ingest_webhook(
            stack.channels.parts.deps, channel_type, connection_id, dict(request.headers), request.get_data()
        )
        return Response("", 200)

    server, _ = serve(app)
    try:
        yield f"http://127.0.0.1:{server.server_port}/webhooks"
    finally:
        server.shutdown()


def _rabbitmqctl(*args: str) -> bool:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return False
    try:
        return subprocess.run([ctl, *args], capture_output=True, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture
def vhost_url(amqp_url: str) -> Iterator[str]:
    """A RabbitMQ virtual host of its own when rabbitmqctl can make one: nameko's queue names are
    fixed by the service names, so another channels worker on the shared vhost would take part of
    the events. Else the shared one (`amqp_url`), loudly."""
    parsed = urlparse(amqp_url)
    vhost = f"channels-sync-test-{uuid.uuid4().hex[:10]}"
    user = parsed.username or "guest"
    if not (
        _rabbitmqctl("add_vhost", vhost)
        and _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    ):
        print(
            "!!! channels worker test: no private RabbitMQ vhost; using the shared one !!!", file=sys.stderr
        )
        yield amqp_url
        return
    try:
        yield urlunparse(parsed._replace(path="/" + quote(vhost, safe="")))
    finally:
        _rabbitmqctl("delete_vhost", vhost)


# TEST_SYNC_REDIS_DB: another database for runs that must not share 13 (parallel checkouts);
# the xdist workers' own databases skip it (omnistock_devtools.testing.worker_database).


@pytest.fixture
def sync_redis_url(redis_url: str) -> Iterator[str]:
    """The real Redis of `redis_url`, on another database that nobody flushes.

    Other suites running at the same time on this machine flush `redis_url`'s database at their
    start and end; a flush in the middle of a sync test wipes pending figures and looks exactly
    like a lost update. Runs of these tests may overlap too (several checkouts, `make test`), so
    nothing here flushes: every key of the engine is per connection (fresh UUIDs each test), the
    due set is shared and harmless to share (a flusher leaves other deployments' entries alone),
    and the stack deletes its own keys at the end.
    """
    parts = urlsplit(redis_url)
    yield urlunsplit((parts.scheme, parts.netloc, f"/{SYNC_REDIS_DB}", parts.query, parts.fragment))


@pytest.fixture
def stack(database_url: str, sync_redis_url: str) -> Iterator[Stack]:
    with build_stack(database_url, sync_redis_url) as built:
        yield built


@pytest.fixture
def own_redis_stack(database_url: str, redis_url: str) -> Iterator[Stack]:
    """The stack on the test's own Redis database (`redis_url`, flushed before and after), for
    tests that wipe it: FLUSHDB of that database only, never FLUSHALL."""
    with build_stack(database_url, redis_url) as built:
        yield built


@contextmanager
def build_stack(database_url: str, redis_url: str) -> Iterator[Stack]:
    # The WooCommerce store sells in EUR (the price tests push EUR there; the connector learns the
    # store's currency when it connects and refuses prices in another one).
    shop, woo = ShopifyConfig(), WooConfig(currency="EUR")
    shop_http, _ = serve(shopify_sandbox(shop))
    woo_http, _ = serve(woo_sandbox(woo))
    shop_url = f"http://127.0.0.1:{shop_http.server_port}"
    woo_url = f"http://127.0.0.1:{woo_http.server_port}"
    # The sandboxes listen on loopback: the operator's allow-list admits them (production: empty).
    base_env = {"REDIS_URL": redis_url, "LOG_LEVEL": "WARNING", "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*"}
    shop_connector = shopify_server.build(
        shopify_server.with_port(shopify_config.load_settings(base_env), "127.0.0.1", 0)
    )
    woo_connector = woo_server.build(woo_server.with_port(woo_config.load_settings(base_env), "127.0.0.1", 0))
    migrate("channels", database_url)
    env = {
        **base_env,
        "CHANNELS_DATABASE_URL": database_url,
        "CHANNELS_GRPC_PORT": "0",
        "PUBLIC_BASE_URL": "http://gateway.test",
        "OAUTH_STATE_SECRET": STATE_SECRET,
        "SHOPIFY_CONNECTOR_ADDR": f"127.0.0.1:{shop_connector.port}",
        "WOOCOMMERCE_CONNECTOR_ADDR": f"127.0.0.1:{woo_connector.port}",
        "CATALOG_ADDR": "127.0.0.1:1",
    }
    channels = build(load_settings(env))
    client = redis_lib.Redis.from_url(redis_url)
    engine = SyncEngine(channels.parts.deps.uow, client, channels.parts.deps.caller, settings=fast_settings())
    stack = Stack(
        channels,
        client,
        engine,
        Sandbox(shop_url, httpx.Client(base_url=shop_url, timeout=30)),
        Sandbox(woo_url, httpx.Client(base_url=woo_url, timeout=30)),
        env=env,
        database_url=database_url,
    )
    try:
        stack.shopify_id = connect_shopify(channels, shop_url, shop)
        stack.woo_id = connect_woo(channels, woo_url, woo)
        yield stack
    finally:
        for connection_id in filter(None, (stack.shopify_id, stack.woo_id)):
            keys = list(client.scan_iter(match=f"omnistock:*{connection_id}*"))
            client.zrem(store.DUE_KEY, f"{connection_id}|{TENANT}")
            if keys:
                client.delete(*keys)
        stack.shopify.http.close()
        stack.woo.http.close()
        client.close()
        channels.stop()
        shop_connector.stop()
        woo_connector.stop()
        shop_http.shutdown()
        woo_http.shutdown()


class InventorySide:
    """The real inventory server on its own PostgreSQL database (the truth), its outbox, and the
    sync engine's port to it (GetSkuStock)."""

    def __init__(self, url: str) -> None:
        self.url = url
        migrate("inventory", url)
        self.server = build_inventory(
            inventory_settings(
                {"INVENTORY_DATABASE_URL": url, "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"}
            )
        )
        self.address = f"127.0.0.1:{self.server.port}"
        self.sql = make_engine(url)
        self.channel = make_channel(self.address)
        self.stub = DeadlineStub(inv_grpc.InventoryServiceStub(self.channel), 10.0).call(
            CallContext(tenant_id=TENANT, user_id="t")
        )
        self.port = inventory_source.GrpcInventory(self.address, 10.0)

    def change(self, sku: str, delta: int) -> None:
        line = inv_pb.AdjustmentLine(sku=sku, delta=delta, reason=inv_pb.ADJUSTMENT_REASON_CORRECTION)
        self.stub.Adjust(inv_pb.AdjustRequest(line=line, idempotency_key=str(uuid.uuid4())))

    def relay(self, intake: Callable[[dict[str, Any]], Any]) -> int:
        return relay_pending(self.sql, inventory_models.outbox, lambda _type, payload: intake(payload))

    def truth(self, skus: list[str]) -> dict[str, int]:
        """What OmniStock says of `skus` now (GetSkuStock): the figures every channel must show."""
        return {sku: figure.available for sku, figure in self.port.figures(TENANT, skus).items()}

    def close(self) -> None:
        self.port.close()
        self.channel.close()
        self.sql.dispose()
        self.server.stop()


@pytest.fixture
def inventory_side(make_postgres_database: Callable[[], str]) -> Iterator[InventorySide]:
    side = InventorySide(make_postgres_database())
    try:
        yield side
    finally:
        side.close()
