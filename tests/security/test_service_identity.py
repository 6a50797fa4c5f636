"""Service-to-service identity (issue 12, item 4): every gRPC service refuses calls without a valid
internal credential, checks the role of mutating RPCs itself, and the channels sync consumer takes
its connections from its own rows and accepts only events an OmniStock process signed.

Each service is started by its own composition root (`build`) on 127.0.0.1:0; every case would
pass on the old main only if identity were still taken from plain metadata.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
import redis as redis_lib
from google.protobuf.message import Message
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from sqlalchemy import insert

from omnistock.catalog.v1 import catalog_service_pb2 as cat_pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from omnistock.channels.v1 import channels_service_pb2 as ch_pb
from omnistock.channels.v1 import channels_service_pb2_grpc as ch_grpc
from omnistock.connector.v1 import connector_service_pb2 as con_pb
from omnistock.connector.v1 import connector_service_pb2_grpc as con_grpc
from omnistock.inventory.v1 import inventory_service_pb2 as inv_pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from omnistock_common.config import load_internal_auth_settings
from omnistock_common.db import make_engine
from omnistock_common.grpc_server import build_server
from omnistock_common.service_auth import TokenSigner, internal_metadata, sign_event
from omnistock_devtools.migrated import migrate

pytestmark = pytest.mark.redis

Metadata = tuple[tuple[str, str], ...]
SECRET = load_internal_auth_settings().token_secret


@dataclass(frozen=True)
class Case:
    """One service: how to start it, a read-only RPC and a mutating RPC (as stub method + request)."""

    name: str
    stub: Callable[[grpc.Channel], Any]
    read: tuple[str, Message]
    write: tuple[str, Message]


CASES = [
    Case(
        "catalog",
        cat_grpc.CatalogServiceStub,
        ("ListProducts", cat_pb.ListProductsRequest()),
        ("CreateProduct", cat_pb.CreateProductRequest(title="Tee")),
    ),
    Case(
        "inventory",
        inv_grpc.InventoryServiceStub,
        ("ListLocations", inv_pb.ListLocationsRequest()),
        ("CreateLocation", inv_pb.CreateLocationRequest(code="WH9", name="Nine")),
    ),
    Case(
        "channels",
        ch_grpc.ChannelsServiceStub,
        ("ListConnections", ch_pb.ListConnectionsRequest()),
        ("DeleteConnection", ch_pb.DeleteConnectionRequest(connection_id=str(uuid.uuid4()))),
    ),
    Case(
        "shopify_connector",
        con_grpc.ConnectorServiceStub,
        ("Describe", con_pb.DescribeRequest()),
        ("RefreshCredentials", con_pb.RefreshCredentialsRequest()),
    ),
    Case(
        "woocommerce_connector",
        con_grpc.ConnectorServiceStub,
        ("Describe", con_pb.DescribeRequest()),
        ("PushInventory", con_pb.PushInventoryRequest()),
    ),
    Case(
        "meta_connector",
        con_grpc.ConnectorServiceStub,
        ("Describe", con_pb.DescribeRequest()),
        ("PushPrices", con_pb.PushPricesRequest()),
    ),
]


def _start(name: str, tmp_path: Path, redis_url: str) -> tuple[int, Callable[[], None]]:
    """Start one service through its composition root; returns (port, stop)."""
    if name == "catalog":
        from catalog.config import load_settings
        from catalog.server import build, with_port

        url = f"sqlite:///{tmp_path / 'catalog.db'}"
        migrate("catalog", url)
        engine = make_engine(url)
        running = build(
            with_port(load_settings({"CATALOG_DATABASE_URL": url}), "127.0.0.1", 0), engine=engine
        )
        return running.port, lambda: (running.stop(), engine.dispose())
    if name == "inventory":
        from inventory.config import load_settings as inv_settings
        from inventory.server import build as inv_build

        url = f"sqlite:///{tmp_path / 'inventory.db'}"
        migrate("inventory", url)
        inventory = inv_build(inv_settings({"INVENTORY_DATABASE_URL": url, "INVENTORY_GRPC_PORT": "0"}))
        return inventory.port, inventory.stop
    if name == "channels":
        from channels.config import load_settings as ch_settings
        from channels.server import build as ch_build

        url = f"sqlite:///{tmp_path / 'channels.db'}"
        migrate("channels", url)
        channels = ch_build(
            ch_settings(
                {
                    "CHANNELS_DATABASE_URL": url,
                    "CHANNELS_GRPC_PORT": "0",
                    "REDIS_URL": redis_url,
                    "CREDENTIALS_KEYS": "k1:" + base64.b64encode(b"k" * 32).decode(),
                    "OAUTH_STATE_SECRET": "security-test-oauth-state-secret-0123456789",
                    # Never called in these tests (the refusals come first).
                    "SHOPIFY_CONNECTOR_ADDR": "127.0.0.1:1",
                    "WOOCOMMERCE_CONNECTOR_ADDR": "127.0.0.1:1",
                    "CATALOG_ADDR": "127.0.0.1:1",
                }
            )
        )
        return channels.port, channels.stop
    if name == "shopify_connector":
        from shopify_connector import config as shopify_config
        from shopify_connector import server as shopify_server

        settings = shopify_config.load_settings({"REDIS_URL": redis_url})
        running = shopify_server.build(shopify_server.with_port(settings, "127.0.0.1", 0))
        return running.port, running.stop
    if name == "meta_connector":
        from meta_connector import config as meta_config
        from meta_connector import server as meta_server

        settings = meta_config.load_settings({"REDIS_URL": redis_url})
        running = meta_server.build(meta_server.with_port(settings, "127.0.0.1", 0))
        return running.port, running.stop
    from woocommerce_connector import config as woo_config
    from woocommerce_connector import server as woo_server

    settings = woo_config.load_settings({"REDIS_URL": redis_url})
    running = woo_server.build(woo_server.with_port(settings, "127.0.0.1", 0))
    return running.port, running.stop


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def service(
    request: pytest.FixtureRequest, tmp_path: Path, redis_url: str
) -> Iterator[tuple[Case, Any, grpc.Channel]]:
    case: Case = request.param
    port, stop = _start(case.name, tmp_path, redis_url)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield case, case.stub(channel), channel
    finally:
        channel.close()
        stop()


def _answer(stub: Any, rpc: tuple[str, Message], metadata: Metadata | None) -> tuple[grpc.StatusCode, str]:
    method, message = rpc
    try:
        getattr(stub, method)(message, metadata=metadata, timeout=10)
    except grpc.RpcError as err:
        return err.code(), err.details() or ""  # type: ignore[attr-defined]
    return grpc.StatusCode.OK, ""


def _code(stub: Any, rpc: tuple[str, Message], metadata: Metadata | None) -> grpc.StatusCode:
    return _answer(stub, rpc, metadata)[0]


def _plain_identity(tenant: str = "tenant-a", role: str = "owner") -> Metadata:
    """What every caller used to send: tenant, user and role as plain metadata."""
    return (("x-tenant-id", tenant), ("x-user-id", "u1"), ("x-user-role", role))


def test_a_call_without_the_internal_credential_is_unauthenticated(service: Any) -> None:
    case, stub, _ = service
    assert _code(stub, case.read, None) is grpc.StatusCode.UNAUTHENTICATED
    # Plain tenant/user/role metadata, as before, is no credential at all.
    assert _code(stub, case.read, _plain_identity()) is grpc.StatusCode.UNAUTHENTICATED
    assert _code(stub, case.write, _plain_identity()) is grpc.StatusCode.UNAUTHENTICATED


def test_a_forged_or_expired_credential_is_unauthenticated(service: Any) -> None:
    case, stub, _ = service
    forged = internal_metadata(
        "tenant-a", "u1", "owner", signer=TokenSigner("not-the-secret-" + "x" * 32, "attacker")
    )
    assert _code(stub, case.read, forged) is grpc.StatusCode.UNAUTHENTICATED
    assert _code(stub, case.write, forged) is grpc.StatusCode.UNAUTHENTICATED
    expired = internal_metadata(
        "tenant-a",
        "u1",
        "owner",
        signer=TokenSigner(SECRET, "old", ttl_seconds=60, clock=lambda: time.time() - 600),
    )
    assert _code(stub, case.read, expired) is grpc.StatusCode.UNAUTHENTICATED


def test_a_viewer_may_read_but_not_mutate(service: Any) -> None:
    case, stub, _ = service
    viewer = internal_metadata("tenant-a", "u-viewer", "viewer")
    assert _code(stub, case.read, viewer) is grpc.StatusCode.OK
    assert _code(stub, case.write, viewer) is grpc.StatusCode.PERMISSION_DENIED
    # A writing role gets past the identity and role checks (to whatever the service answers
    # next, e.g. NOT_FOUND, or a connector's own UNAUTHENTICATED for a request without credentials).
    code, details = _answer(stub, case.write, internal_metadata("tenant-a", "u-owner", "owner"))
    assert code is not grpc.StatusCode.PERMISSION_DENIED
    assert "internal credential" not in details


def test_health_checks_need_no_credential(service: Any) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    _, _, channel = service
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_channel_accounts_are_managed_by_owners_and_admins_only(tmp_path: Path, redis_url: str) -> None:
    port, stop = _start("channels", tmp_path, redis_url)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = ch_grpc.ChannelsServiceStub(channel)
            delete = ("DeleteConnection", ch_pb.DeleteConnectionRequest(connection_id=str(uuid.uuid4())))
            listing = (
                "PutListing",
                ch_pb.PutListingRequest(
                    connection_id=str(uuid.uuid4()), sku="A", external_ids={"product_id": "7"}
                ),
            )
            staff = internal_metadata("tenant-a", "u-staff", "staff")
            assert _code(stub, delete, staff) is grpc.StatusCode.PERMISSION_DENIED
            assert _code(stub, listing, staff) is grpc.StatusCode.NOT_FOUND  # day-to-day work is allowed
            assert (
                _code(stub, delete, internal_metadata("tenant-a", "u-admin", "admin"))
                is grpc.StatusCode.NOT_FOUND
            )
    finally:
        stop()


def _reflection_services(port: int) -> list[str] | grpc.StatusCode:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        try:
            replies = list(
                stub.ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
                )
            )
        except grpc.RpcError as err:
            return err.code()  # type: ignore[attr-defined,no-any-return]
    return [s.name for s in replies[0].list_services_response.service]


def test_reflection_follows_grpc_reflection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRPC_REFLECTION", raising=False)
    on = build_server([], ["omnistock.test.v1.TestService"], "127.0.0.1:0")
    monkeypatch.setenv("GRPC_REFLECTION", "false")
    off = build_server([], ["omnistock.test.v1.TestService"], "127.0.0.1:0")
    try:
        assert "omnistock.test.v1.TestService" in _reflection_services(on.port)  # type: ignore[operator]
        assert _reflection_services(off.port) is grpc.StatusCode.UNIMPLEMENTED
    finally:
        on.shutdown(0)
        off.shutdown(0)


# ---------------------------------------------------------------------------- event consumers
@dataclass
class SyncWorld:
    uow: Any
    redis: redis_lib.Redis
    victim_connection: str
    own_connection: str


@pytest.fixture
def sync_world(tmp_path: Path, redis_url: str) -> Iterator[SyncWorld]:
    """channels' database with tenant A's and tenant B's connections, both listing SKU "CUP"."""
    from channels import models
    from channels.repository import UnitOfWork

    url = f"sqlite:///{tmp_path / 'channels.db'}"
    migrate("channels", url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    own, victim = str(uuid.uuid4()), str(uuid.uuid4())
    with engine.begin() as conn:
        for tenant, connection_id in (("tenant-a", own), ("tenant-b", victim)):
            conn.execute(
                insert(models.connections).values(
                    id=connection_id,
                    tenant_id=tenant,
                    type="shopify",
                    name=tenant,
                    status="connected",
                    status_reason="",
                    settings="{}",
                    credentials=b"x",
                    credentials_version=1,
                    error_count=0,
                    last_error="",
                    created_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                insert(models.listings).values(
                    tenant_id=tenant,
                    connection_id=connection_id,
                    sku="CUP",
                    external_ids=json.dumps({"inventory_item_id": "1"}),
                    created_at=now,
                    updated_at=now,
                )
            )
    client = redis_lib.Redis.from_url(redis_url)
    try:
        yield SyncWorld(UnitOfWork(engine), client, victim, own)
    finally:
        client.close()
        engine.dispose()


def _event(tenant: str, connection_figures: dict[str, int], available: int = 5) -> dict[str, Any]:
    channels = [{"connection_id": c, "available_to_sell": q} for c, q in connection_figures.items()]
    return {
        "tenant_id": tenant,
        "skus": [{"sku": "CUP", "available": available, "version": 3, "channels": channels}],
    }


def _due(world: SyncWorld) -> set[str]:
    from channels.sync import store

    return {m.decode().partition("|")[0] for m in world.redis.zrange(store.DUE_KEY, 0, -1)}


def test_a_figure_for_another_tenants_connection_pushes_nothing_there(
    sync_world: SyncWorld, caplog: pytest.LogCaptureFixture
) -> None:
    from channels.sync import store

    payload = sign_event(
        SECRET, "inventory.stock_changed", _event("tenant-a", {sync_world.victim_connection: 999})
    )
    assert store.accept_stock_changed(payload, SECRET)
    with caplog.at_level(logging.WARNING, logger="channels.sync.store"):
        store.record_stock_changes(sync_world.redis, sync_world.uow, payload)
    assert store.pending_snapshot(sync_world.redis, sync_world.victim_connection) == {}
    assert sync_world.victim_connection not in _due(sync_world)
    assert any(
        "does not own" in r.getMessage() and sync_world.victim_connection in r.getMessage()
        for r in caplog.records
    )
    # The tenant's own connection gets the tenant's own figure (the entry was not lost).
    assert store.pending_snapshot(sync_world.redis, sync_world.own_connection) == {"CUP": (5, 3)}


def test_an_unsigned_or_tampered_stock_changed_is_refused(
    sync_world: SyncWorld, caplog: pytest.LogCaptureFixture
) -> None:
    from channels.sync import store

    forged = _event("tenant-b", {sync_world.victim_connection: 999})
    tampered = {
        **sign_event(SECRET, "inventory.stock_changed", _event("tenant-b", {})),
        "skus": forged["skus"],
    }
    other_key = sign_event("someone-elses-secret-" + "y" * 32, "inventory.stock_changed", forged)
    with caplog.at_level(logging.WARNING, logger="channels.sync.store"):
        for payload in (forged, tampered, other_key):
            assert not store.accept_stock_changed(payload, SECRET)
    assert sum("dropped an unsigned or forged" in r.getMessage() for r in caplog.records) == 3


@pytest.mark.filterwarnings(r"ignore:(?s).*Eventlet is deprecated:Warning")
def test_the_worker_drops_unsigned_events_before_touching_anything(sync_world: SyncWorld) -> None:
    """channels.worker's handler itself (nameko's worker_factory, no broker): an unsigned event
    reaches neither Redis nor the database."""
    from nameko.testing.services import worker_factory

    from channels.sync import store
    from channels.worker import ChannelsSyncWorker

    class Runtime:
        event_secret = SECRET

        @property
        def engine(self) -> Any:
            raise AssertionError("an unsigned event must not reach the sync engine")

    worker = worker_factory(ChannelsSyncWorker, runtime=Runtime())
    worker.on_stock_changed(_event("tenant-b", {sync_world.victim_connection: 999}))
    assert store.pending_snapshot(sync_world.redis, sync_world.victim_connection) == {}
