"""with_connection against fake connectors: single-flight token refresh under concurrency,
revoked credentials, health transitions + notifications, sync log, and key rotation."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import grpc
import pytest
from sqlalchemy import Engine, update

from channels import models
from channels.crypto import KeyRing
from channels.domain import ChannelRateLimited, ChannelUnavailable
from channels.key_rotation import rotate_credentials
from channels.repository import UnitOfWork
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock_common.errors import FailedPrecondition
from omnistock_devtools.fake_connector import GOOD_HMAC, GOOD_KEY, GOOD_SECRET

SHOP_SETTINGS = {"api_base_url": "http://127.0.0.1:8701", "shop_domain": "demo.myshopify.com"}


def connect_shopify(client: Any, raw_stub: Any) -> pb.Connection:
    binding = "b" * 64  # the gateway's cookie nonce, hashed
    started = client.StartOAuth(
        pb.StartOAuthRequest(type="shopify", name="Shop", settings=SHOP_SETTINGS, session_binding=binding)
    )
    state = parse_qs(urlparse(started.authorization_url).query)["state"][0]
    params = {"code": "good-code", "hmac": GOOD_HMAC, "shop": "demo.myshopify.com", "state": state}
    return raw_stub.CompleteOAuth(
        pb.CompleteOAuthRequest(callback_params=params, session_binding=binding), timeout=10
    ).connection


def connect_woo(client: Any) -> pb.Connection:
    return client.CreateConnection(
        pb.CreateConnectionRequest(
            type="woocommerce",
            name="Woo",
            settings={"api_base_url": "http://127.0.0.1:8702"},
            credentials={"consumer_key": GOOD_KEY, "consumer_secret": GOOD_SECRET},
        )
    ).connection


def push(server: Any, connection_id: str, *skus: str) -> cpb.PushInventoryResponse:
    items = [cpb.InventoryItem(sku=s, quantity=3) for s in skus]
    return server.parts.deps.caller.with_connection(
        "tenant-a",
        connection_id,
        "push_inventory",
        lambda stub, conn: stub.PushInventory(cpb.PushInventoryRequest(connection=conn, items=items)),
        skus=skus,
    )


def stored_secrets(server: Any, connection_id: str) -> dict[str, str]:
    stored = server.parts.deps.caller.load("tenant-a", connection_id)
    return dict(server.parts.deps.caller.decrypt(stored).secrets)


def test_concurrent_callers_on_an_expired_token_cause_exactly_one_refresh(
    client: Any, raw_stub: Any, server: Any, fakes: Any
) -> None:
    shop = connect_shopify(client, raw_stub)
    fakes.shopify.expire_access_token()
    callers = 8
    barrier = threading.Barrier(callers)

    def one(index: int) -> int:
        barrier.wait()
        return len(push(server, shop.id, f"SKU-{index}").results)

    with ThreadPoolExecutor(callers) as pool:
        results = list(pool.map(one, range(callers)))
    assert results == [1] * callers
    assert fakes.shopify.calls["RefreshCredentials"] == 1
    # The rotated pair was saved atomically and is what every later call uses.
    assert stored_secrets(server, shop.id) == {"access_token": "at-2", "refresh_token": "rt-2"}
    assert fakes.shopify.tokens_seen[-1] == "at-2"
    log = client.ListSyncLog(pb.ListSyncLogRequest(connection_id=shop.id, limit=100)).entries
    assert [e.operation for e in log].count("refresh_token") == 1
    assert sum(1 for e in log if e.operation == "push_inventory" and e.outcome == "ok") == callers


def test_token_close_to_expiry_is_refreshed_before_the_call(
    client: Any, raw_stub: Any, server: Any, fakes: Any, engine: Engine
) -> None:
    shop = connect_shopify(client, raw_stub)
    soon = datetime.now(UTC) + timedelta(minutes=2)
    with engine.begin() as conn:
        conn.execute(update(models.connections).values(token_expires_at=soon))
    push(server, shop.id, "A")
    assert fakes.shopify.calls["RefreshCredentials"] == 1
    assert fakes.shopify.tokens_seen == ["at-2"]  # the stale token was never sent
    health = client.GetConnection(pb.GetConnectionRequest(connection_id=shop.id)).connection.health
    assert health.token_expires_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC) + timedelta(minutes=30)


def test_revoked_credentials_disconnect_the_connection(
    client: Any, raw_stub: Any, server: Any, fakes: Any
) -> None:
    shop = connect_shopify(client, raw_stub)
    fakes.shopify.revoked = True
    with pytest.raises(FailedPrecondition) as revoked:
        push(server, shop.id, "A")
    assert "reconnect" in revoked.value.message
    conn = client.GetConnection(pb.GetConnectionRequest(connection_id=shop.id)).connection
    assert conn.status == pb.CONNECTION_STATUS_DISCONNECTED
    assert "revoked" in conn.status_reason
    calls_before = fakes.shopify.calls["PushInventory"]
    with pytest.raises(FailedPrecondition) as refused:
        push(server, shop.id, "A")
    assert refused.value.reason == "CONNECTION_DISCONNECTED"
    assert fakes.shopify.calls["PushInventory"] == calls_before  # not even attempted


def test_a_failing_refresh_disconnects_with_a_clear_reason(
    client: Any, raw_stub: Any, server: Any, fakes: Any
) -> None:
    shop = connect_shopify(client, raw_stub)
    fakes.shopify.expire_access_token()
    fakes.shopify.refresh_fails = True
    with pytest.raises(FailedPrecondition):
        push(server, shop.id, "A")
    conn = client.GetConnection(pb.GetConnectionRequest(connection_id=shop.id)).connection
    assert conn.status == pb.CONNECTION_STATUS_DISCONNECTED
    assert "refused to refresh the access token" in conn.status_reason
    assert fakes.shopify.calls["RefreshCredentials"] == 1


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    arrived = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        type(self).arrived.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def test_health_degrades_then_errors_then_recovers_and_notifies(client: Any, server: Any, fakes: Any) -> None:
    receiver = HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    _Receiver.arrived = threading.Event()
    threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks/omnistock"
        assert (
            client.SetNotificationSettings(pb.SetNotificationSettingsRequest(webhook_url=url)).webhook_url
            == url
        )
        woo = connect_woo(client)
        fakes.woocommerce.push_failures = [grpc.StatusCode.UNAVAILABLE] * 5 + [
            grpc.StatusCode.RESOURCE_EXHAUSTED
        ]

        def status() -> pb.Connection:
            return client.GetConnection(pb.GetConnectionRequest(connection_id=woo.id)).connection

        with pytest.raises(ChannelUnavailable):
            push(server, woo.id, "A")
        first = status()
        assert (first.status, first.health.error_count) == (pb.CONNECTION_STATUS_DEGRADED, 1)
        assert "UNAVAILABLE" in first.health.last_error
        assert _Receiver.arrived.wait(10), "no notification was posted"
        alert = _Receiver.received[0]
        assert (alert["event"], alert["connection_id"], alert["status"]) == (
            "channels.sync_failed",
            woo.id,
            "degraded",
        )
        assert GOOD_SECRET not in json.dumps(alert)

        for _ in range(4):
            with pytest.raises(ChannelUnavailable):
                push(server, woo.id, "A")
        fifth = status()
        assert (fifth.status, fifth.health.error_count) == (pb.CONNECTION_STATUS_ERROR, 5)
        with pytest.raises(ChannelRateLimited):
            push(server, woo.id, "A")
        assert status().health.error_count == 6

        push(server, woo.id, "A", "B")
        healed = status()
        assert healed.status == pb.CONNECTION_STATUS_CONNECTED
        assert (healed.health.error_count, healed.health.last_error) == (0, "")
        assert healed.health.last_success_at == healed.health.last_sync_at
        log = client.ListSyncLog(pb.ListSyncLogRequest(connection_id=woo.id, limit=3)).entries
        assert [(e.operation, e.outcome) for e in log] == [
            ("push_inventory", "ok"),
            ("push_inventory", "error"),
            ("push_inventory", "error"),
        ]
        assert list(log[0].skus) == ["A", "B"] and log[0].calls == 1
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_a_change_of_status_and_only_that_writes_a_health_changed_event(
    client: Any, server: Any, fakes: Any, engine: Engine
) -> None:
    woo = connect_woo(client)
    fakes.woocommerce.push_failures = [grpc.StatusCode.UNAVAILABLE] * 5
    for _ in range(5):
        with pytest.raises(ChannelUnavailable):
            push(server, woo.id, "A")
    push(server, woo.id, "A")
    push(server, woo.id, "B")  # still connected: no event
    with engine.connect() as conn:
        rows = conn.execute(
            models.outbox.select()
            .where(models.outbox.c.event_type == "channels.connection_health_changed")
            .order_by(models.outbox.c.id)
        ).all()
    payloads = [json.loads(row.payload) for row in rows]
    # connected -> degraded (1st failure) -> error (5th) -> connected (the first success).
    assert [(p["previous_status"], p["status"]) for p in payloads] == [
        ("connected", "degraded"),
        ("degraded", "error"),
        ("error", "connected"),
    ]
    assert {row.tenant_id for row in rows} == {"tenant-a"}
    assert all(p["connection_id"] == woo.id and p["channel_type"] == "woocommerce" for p in payloads)
    # No error text leaves with the event (the connection's health is read through the API).
    assert all(set(p) == {"connection_id", "channel_type", "status", "previous_status"} for p in payloads)


def test_request_sync_records_a_job_and_an_outbox_event(client: Any, engine: Engine) -> None:
    woo = connect_woo(client)
    job_id = client.RequestSync(
        pb.RequestSyncRequest(connection_id=woo.id, scope=pb.SYNC_SCOPE_INVENTORY)
    ).job_id
    with engine.connect() as conn:
        job = conn.execute(models.sync_jobs.select()).one()
        events = conn.execute(models.outbox.select().order_by(models.outbox.c.id)).all()
    assert (job.id, job.connection_id, job.scope, job.status) == (job_id, woo.id, "inventory", "requested")
    payload = json.loads(events[-1].payload)
    assert events[-1].event_type == "channels.sync_requested" and payload["job_id"] == job_id


def test_rotation_reencrypts_with_the_new_key_and_old_ciphertexts_still_decrypt(
    client: Any, server: Any, engine: Engine
) -> None:
    woo = connect_woo(client)
    old = KeyRing([("k1", b"k" * 32)])
    rotated_ring = KeyRing([("k2", b"n" * 32), ("k1", b"k" * 32)])
    report = rotate_credentials(UnitOfWork(engine), rotated_ring)
    assert (report.rotated, report.already_current) == (1, 0)
    with engine.connect() as conn:
        blob = bytes(conn.execute(models.connections.select()).one().credentials)
    assert rotated_ring.key_id_of(blob) == "k2"
    plain = json.loads(KeyRing([("k2", b"n" * 32)]).decrypt(blob, tenant_id="tenant-a", connection_id=woo.id))
    assert plain["secrets"]["consumer_key"] == GOOD_KEY
    with pytest.raises(Exception, match="not in CREDENTIALS_KEYS"):
        old.decrypt(blob, tenant_id="tenant-a", connection_id=woo.id)
    assert rotate_credentials(UnitOfWork(engine), rotated_ring).already_current == 1


def test_quotas_a_push_reports_show_on_the_connection_health(client: Any, server: Any, fakes: Any) -> None:
    """eBay reports its revision budget with each push (connector.v1 `limits`): the connection's
    health shows the latest figures; a push that reports none leaves them; remote text is cleaned."""
    conn = connect_woo(client)
    assert (
        dict(client.GetConnection(pb.GetConnectionRequest(connection_id=conn.id)).connection.health.limits)
        == {}
    )

    fakes.woocommerce.push_limits = {
        "revisions_left_lowest": "12",
        "bad key!": "x",
        "listings_at_reserve": "1\x00",
    }
    push(server, conn.id, "SKU-1")
    health = client.GetConnection(pb.GetConnectionRequest(connection_id=conn.id)).connection.health
    assert dict(health.limits) == {"revisions_left_lowest": "12", "listings_at_reserve": "1"}
    assert health.HasField("limits_at")

    fakes.woocommerce.push_limits = {}
    push(server, conn.id, "SKU-1")
    health = client.GetConnection(pb.GetConnectionRequest(connection_id=conn.id)).connection.health
    assert dict(health.limits) == {"revisions_left_lowest": "12", "listings_at_reserve": "1"}
