"""Re-authorising over real gRPC (SQLite + PostgreSQL, real Redis, fake connectors): connecting a
store the tenant already has (API keys again, or OAuth for a disconnected shop) updates that
connection in place and keeps its listing mappings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

from sqlalchemy import Engine, MetaData, select, update

from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock_devtools.fake_connector import GOOD_HMAC, GOOD_KEY, GOOD_SECRET

WOO = {"store_url": "http://woo.test", "api_base_url": "http://127.0.0.1:8702"}
SHOP = {"api_base_url": "http://127.0.0.1:8701", "shop_domain": "demo.myshopify.com"}
BINDING = "b" * 64


def connect_woo(
    client: Any, name: str = "My Woo", hook_secret: str = "hook-1", **settings: str
) -> pb.Connection:
    request = pb.CreateConnectionRequest(
        type="woocommerce",
        name=name,
        settings={**WOO, **settings},
        credentials={"consumer_key": GOOD_KEY, "consumer_secret": GOOD_SECRET, "webhook_secret": hook_secret},
    )
    return client.CreateConnection(request).connection


def connect_shop(client: Any, raw_stub: Any, shop: str = "demo.myshopify.com") -> pb.Connection:
    started = client.StartOAuth(
        pb.StartOAuthRequest(
            type="shopify", name="My Shop", settings={**SHOP, "shop_domain": shop}, session_binding=BINDING
        )
    )
    state = parse_qs(urlparse(started.authorization_url).query)["state"][0]
    callback = {"code": "good-code", "hmac": GOOD_HMAC, "shop": shop, "state": state}
    return raw_stub.CompleteOAuth(
        pb.CompleteOAuthRequest(callback_params=callback, session_binding=BINDING), timeout=10
    ).connection


def rows(engine: Engine) -> list[Any]:
    md = MetaData()
    md.reflect(engine, only=["connections"])
    with engine.connect() as conn:
        return list(conn.execute(select(md.tables["connections"]).order_by("created_at")).all())


def break_connection(engine: Engine, connection_id: str) -> None:
    """What a revoked token leaves behind: disconnected, with errors counted."""
    md = MetaData()
    md.reflect(engine, only=["connections"])
    table = md.tables["connections"]
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.id == connection_id)
            .values(
                status="disconnected",
                status_reason="CREDENTIALS_REVOKED",
                error_count=7,
                last_error="revoked",
            )
        )


def map_sku(client: Any, connection_id: str, sku: str = "MUG") -> None:
    client.PutListing(
        pb.PutListingRequest(connection_id=connection_id, sku=sku, external_ids={"product_id": "12"})
    )


def listed(client: Any, connection_id: str) -> dict[str, dict[str, str]]:
    reply = client.ListListings(pb.ListListingsRequest(connection_id=connection_id))
    return {item.sku: dict(item.external_ids) for item in reply.listings}


def test_new_keys_for_a_connected_store_update_it_in_place(client: Any, engine: Engine) -> None:
    first = connect_woo(client)
    map_sku(client, first.id)
    break_connection(engine, first.id)
    (before,) = rows(engine)

    again = connect_woo(client, name="", hook_secret="hook-2", store_url="HTTP://Woo.test/")
    assert again.id == first.id and again.name == "My Woo"  # no name given: it keeps its own
    assert again.status == pb.CONNECTION_STATUS_CONNECTED and again.status_reason == ""
    assert (again.health.error_count, again.health.last_error) == (0, "")
    assert listed(client, again.id) == {"MUG": {"product_id": "12"}}
    (after,) = rows(engine)
    assert after.credentials_version == before.credentials_version + 1
    assert after.credentials != before.credentials  # the new webhook secret, encrypted
    assert after.created_at == before.created_at
    log = client.ListSyncLog(pb.ListSyncLogRequest(connection_id=first.id, limit=10)).entries
    assert [e.message for e in log][:2] == ["reconnected", "connected"]

    renamed = connect_woo(client, name="Main store")
    assert (renamed.id, renamed.name) == (first.id, "Main store")


def test_another_store_or_another_tenant_is_another_connection(
    client: Any, client_for: Callable[..., Any], engine: Engine
) -> None:
    first = connect_woo(client)
    other_store = connect_woo(client, store_url="http://woo.test/other-shop")
    other_sandbox = connect_woo(client, api_base_url="http://127.0.0.1:8799")
    other_tenant = connect_woo(client_for("tenant-b"))
    ids = {first.id, other_store.id, other_sandbox.id, other_tenant.id}
    assert len(ids) == 4 and len(rows(engine)) == 4


def test_oauth_for_a_disconnected_shop_reauthorises_it(client: Any, raw_stub: Any, engine: Engine) -> None:
    first = connect_shop(client, raw_stub)
    map_sku(client, first.id, "TEE")
    break_connection(engine, first.id)

    again = connect_shop(client, raw_stub)
    assert again.id == first.id and again.status == pb.CONNECTION_STATUS_CONNECTED
    assert again.health.error_count == 0 and again.health.HasField("token_expires_at")
    assert listed(client, first.id) == {"TEE": {"product_id": "12"}}
    assert [r.credentials_version for r in rows(engine)] == [2]

    other = connect_shop(client, raw_stub, shop="other-shop.myshopify.com")
    assert other.id != first.id and len(rows(engine)) == 2
