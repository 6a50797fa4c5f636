"""Live updates and conditional GETs through the real gateway app, its Redis and a real inventory
server: the stream ticket (single use, expiry, one tenant's), the event stream (a notice published
on Redis arrives; heartbeat; the end after its max duration; tenant isolation; the per-process
cap), and weak ETags with 304 on the inventory, alerts and channels lists."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from gateway.live_notices import channel
from inventory.config import load_settings
from inventory.server import build
from omnistock_devtools.migrated import migrate

FAST = {"live_heartbeat_seconds": 0.3, "live_max_seconds": 60.0}


@pytest.fixture
def inventory_port(tmp_path: Path) -> Iterator[int]:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    migrate("inventory", url)
    inventory = build(
        load_settings({"INVENTORY_DATABASE_URL": url, "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"})
    )
    yield inventory.port
    inventory.stop()


@pytest.fixture
def app(app_factory: Any, sqlite_url: str, inventory_port: int) -> Any:
    return app_factory(sqlite_url, inventory_addr=f"127.0.0.1:{inventory_port}", **FAST)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def publisher(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def ticket(client: Any, auth: dict[str, str]) -> str:
    response = client.post("/api/v1/events/ticket", headers=auth)
    assert response.status_code == 201, response.json
    assert response.json["expires_in"] == 30
    return str(response.json["ticket"])


class Stream:
    """An open /events response read chunk by chunk (the generator runs in this thread)."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.chunks = iter(response.response)

    def next(self) -> str:
        return bytes(next(self.chunks)).decode()

    def next_event(self) -> str:
        """The next chunk that is not a heartbeat comment."""
        while True:
            chunk = self.next()
            if not chunk.startswith(":"):
                return chunk

    def close(self) -> None:
        self.response.close()


def open_stream(client: Any, ticket_value: str) -> Stream:
    response = client.get(f"/api/v1/events?ticket={ticket_value}", buffered=False)
    assert response.status_code == 200, response.get_data()
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    stream = Stream(response)
    assert stream.next().startswith("retry: ")
    return stream


def test_a_notice_published_for_the_tenant_arrives_and_the_ticket_opens_one_stream(
    client: Any, helpers: Any, publisher: redis.Redis, app: Any
) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    value = ticket(client, owner.auth)
    stream = open_stream(client, value)
    try:
        publisher.publish(channel(owner.tenant_id), '{"topic":"inventory","skus":["TEE-M"]}')
        assert stream.next_event() == 'event: inventory\ndata: {"topic":"inventory","skus":["TEE-M"]}\n\n'
        publisher.publish(channel(owner.tenant_id), '{"topic":"channels"}')
        assert stream.next_event() == 'event: channels\ndata: {"topic":"channels"}\n\n'
        # Nothing for a while: a heartbeat comment.
        assert stream.next() == ": keep-alive\n\n"
        # The ticket was used: a second stream (an EventSource reconnecting) is refused.
        again = client.get(f"/api/v1/events?ticket={value}")
        assert again.status_code == 401
        assert again.mimetype == "application/problem+json"
        assert "ask for a new one" in again.json["detail"]
    finally:
        stream.close()
    assert app.extensions["omnistock"].live.slots.open == 0


def test_tenant_a_never_receives_tenant_b_notices(client: Any, helpers: Any, publisher: redis.Redis) -> None:
    a = helpers.register(client, "Acme", "owner@acme.test")
    b = helpers.register(client, "Globex", "owner@globex.test")
    stream_a = open_stream(client, ticket(client, a.auth))
    try:
        publisher.publish(channel(b.tenant_id), '{"topic":"inventory","skus":["B-SECRET"]}')
        publisher.publish(channel(a.tenant_id), '{"topic":"alerts","skus":["A-1"]}')
        assert stream_a.next_event() == 'event: alerts\ndata: {"topic":"alerts","skus":["A-1"]}\n\n'
    finally:
        stream_a.close()


def test_a_ticket_is_required_and_expires(
    client: Any, helpers: Any, app_factory: Any, sqlite_url: str
) -> None:
    assert client.post("/api/v1/events/ticket").status_code == 401
    assert client.get("/api/v1/events").status_code == 400
    assert client.get("/api/v1/events?ticket=made-up").status_code == 401
    # A bearer token is not a ticket.
    owner = helpers.register(client, "Acme", "owner@acme.test")
    assert client.get(f"/api/v1/events?ticket={owner.access_token[:64]}").status_code == 401

    short = app_factory(sqlite_url, live_ticket_seconds=1).test_client()
    value = ticket_with(short, owner.auth, expires_in=1)
    time.sleep(1.5)  # Redis expires the ticket (its key has a 1 s TTL)
    assert short.get(f"/api/v1/events?ticket={value}").status_code == 401


def ticket_with(client: Any, auth: dict[str, str], *, expires_in: int) -> str:
    response = client.post("/api/v1/events/ticket", headers=auth)
    assert response.status_code == 201 and response.json["expires_in"] == expires_in
    return str(response.json["ticket"])


def test_the_ticket_is_stored_only_as_a_hash_with_its_expiry(
    client: Any, helpers: Any, publisher: redis.Redis
) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    value = ticket(client, owner.auth)
    keys = [k.decode() for k in publisher.scan_iter("omnistock:gateway:live-ticket:*")]
    assert len(keys) == 1 and value not in keys[0]
    assert 0 < publisher.ttl(keys[0]) <= 30
    assert value.encode() not in (publisher.get(keys[0]) or b"")


def test_the_stream_ends_after_its_max_duration_with_bye(
    app_factory: Any, sqlite_url: str, helpers: Any
) -> None:
    app = app_factory(sqlite_url, live_max_seconds=1.0, live_heartbeat_seconds=0.4)
    client = app.test_client()
    owner = helpers.register(client, "Acme", "owner@acme.test")
    stream = open_stream(client, ticket(client, owner.auth))
    rest = [bytes(chunk).decode() for chunk in stream.chunks]
    stream.close()
    assert rest[-1] == 'event: bye\ndata: {"reason":"max-duration"}\n\n'
    assert set(rest[:-1]) <= {": keep-alive\n\n"} and rest[:-1]
    assert app.extensions["omnistock"].live.slots.open == 0


def test_over_the_cap_a_stream_is_refused_with_503_and_retry_after_and_keeps_its_ticket(
    app_factory: Any, sqlite_url: str, helpers: Any
) -> None:
    client = app_factory(sqlite_url, live_max_streams=1, **FAST).test_client()
    owner = helpers.register(client, "Acme", "owner@acme.test")
    first = open_stream(client, ticket(client, owner.auth))
    waiting = ticket(client, owner.auth)
    try:
        refused = client.get(f"/api/v1/events?ticket={waiting}")
        assert refused.status_code == 503
        assert refused.mimetype == "application/problem+json"
        assert refused.headers["Retry-After"] == "30"
    finally:
        first.close()
    # The slot is free again, and the refused ticket was not spent.
    open_stream(client, waiting).close()


# ------------------------------------------------------------------------------------ ETags
def adjust(client: Any, auth: dict[str, str], sku: str, **change: Any) -> None:
    body = {"sku": sku, "reason": "received", **change}
    response = client.post("/api/v1/inventory/adjustments", json=body, headers=auth)
    assert response.status_code == 200, response.json


@pytest.mark.parametrize(
    "path", ["/api/v1/inventory", "/api/v1/inventory/TEE-M", "/api/v1/alerts?status=open"]
)
def test_inventory_and_alert_reads_answer_304_until_the_data_changes(
    client: Any, helpers: Any, path: str
) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    adjust(client, owner.auth, "TEE-M", set=40)
    first = client.get(path, headers=owner.auth)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    unchanged = client.get(path, headers={**owner.auth, "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert unchanged.headers["ETag"] == etag
    adjust(client, owner.auth, "TEE-M", set=2)  # the figure changes and crosses the threshold: an alert
    changed = client.get(path, headers={**owner.auth, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    # Other tenants' data does not answer to the tag of this one's.
    other = helpers.register(client, "Globex", "owner@globex.test")
    assert (
        client.get(path, headers={**other.auth, "If-None-Match": changed.headers["ETag"]}).status_code != 304
    )


def test_the_channels_list_answers_304_and_errors_carry_no_etag(
    client: Any, helpers: Any, channels: Any
) -> None:
    owner = helpers.register(client, "Acme", "owner@acme.test")
    channels.connections[owner.tenant_id] = {"conn-1"}
    first = client.get("/api/v1/channels", headers=owner.auth)
    assert first.status_code == 200 and [c["id"] for c in first.json["items"]] == ["conn-1"]
    etag = first.headers["ETag"]
    assert client.get("/api/v1/channels", headers={**owner.auth, "If-None-Match": etag}).status_code == 304
    channels.connections[owner.tenant_id] = {"conn-1", "conn-2"}
    assert client.get("/api/v1/channels", headers={**owner.auth, "If-None-Match": etag}).status_code == 200
    # Without a token: the 401 problem, never a 304 or a tag.
    refused = client.get("/api/v1/channels", headers={"If-None-Match": etag})
    assert refused.status_code == 401 and "ETag" not in refused.headers
