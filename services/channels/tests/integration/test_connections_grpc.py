"""Connections over real gRPC (SQLite + PostgreSQL, real Redis, fake connectors): API-key and
OAuth connects, refusals that store nothing, tenancy, and no secret anywhere in the database or
the logs."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlparse

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import Engine, MetaData, select

from channels import domain
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock.channels.v1 import channels_service_pb2_grpc as pb_grpc
from omnistock_devtools.fake_connector import GOOD_HMAC, GOOD_KEY, GOOD_SECRET, WEBHOOK_SECRET

WOO_SETTINGS = {"api_base_url": "http://127.0.0.1:8702", "store_url": "http://woo.test"}
SHOP_SETTINGS = {"api_base_url": "http://127.0.0.1:8701", "shop_domain": "demo.myshopify.com"}


def woo_request(**overrides: Any) -> pb.CreateConnectionRequest:
    values: dict[str, Any] = {
        "type": "woocommerce",
        "name": "My Woo",
        "settings": WOO_SETTINGS,
        "credentials": {
            "consumer_key": GOOD_KEY,
            "consumer_secret": GOOD_SECRET,
            "webhook_secret": WEBHOOK_SECRET,
        },
    }
    values.update(overrides)
    return pb.CreateConnectionRequest(**values)


# SHA-256 hex of the browser nonce the gateway keeps in its OAuth cookie (any 64 hex digits here).
BINDING = "b" * 64


def connect_shopify(client: Any, raw_stub: Any, **params: str) -> pb.Connection:
    started = client.StartOAuth(
        pb.StartOAuthRequest(type="shopify", name="My Shop", settings=SHOP_SETTINGS, session_binding=BINDING)
    )
    state = parse_qs(urlparse(started.authorization_url).query)["state"][0]
    callback = {
        "code": "good-code",
        "hmac": GOOD_HMAC,
        "shop": "demo.myshopify.com",
        "state": state,
        **params,
    }
    return raw_stub.CompleteOAuth(
        pb.CompleteOAuthRequest(callback_params=callback, session_binding=BINDING), timeout=10
    ).connection


def count_rows(engine: Engine, table: str) -> int:
    md = MetaData()
    md.reflect(engine, only=[table])
    with engine.connect() as conn:
        return len(conn.execute(select(md.tables[table])).all())


def reason_of(err: grpc.RpcError) -> str:
    status = rpc_status.from_call(err)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


def test_api_key_connection_is_validated_before_it_is_stored(client: Any, engine: Engine, fakes: Any) -> None:
    with pytest.raises(grpc.RpcError) as bad:
        client.CreateConnection(
            woo_request(credentials={"consumer_key": "ck_wrong", "consumer_secret": "cs_wrong"})
        )
    assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "rejected these credentials" in bad.value.details() and "nothing was saved" in bad.value.details()
    assert reason_of(bad.value) == "CREDENTIALS_REJECTED"
    assert count_rows(engine, "connections") == 0

    created = client.CreateConnection(woo_request()).connection
    assert created.status == pb.CONNECTION_STATUS_CONNECTED and created.type == "woocommerce"
    assert created.name == "My Woo"
    assert dict(created.settings) == {**WOO_SETTINGS, "currency": "USD"}
    assert created.health.error_count == 0 and created.health.HasField("last_success_at")
    assert fakes.woocommerce.calls["ValidateCredentials"] == 2

    fetched = client.GetConnection(pb.GetConnectionRequest(connection_id=created.id)).connection
    assert fetched == created
    assert [c.id for c in client.ListConnections(pb.ListConnectionsRequest()).connections] == [created.id]


def test_missing_keys_and_bad_base_url_are_field_errors(client: Any, fakes: Any) -> None:
    with pytest.raises(grpc.RpcError) as missing:
        client.CreateConnection(woo_request(credentials={"consumer_key": GOOD_KEY}))
    assert missing.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as bad_url:
        client.CreateConnection(woo_request(settings={"api_base_url": "ftp://nope"}))
    assert bad_url.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as secret_in_settings:
        client.CreateConnection(woo_request(settings={"consumer_secret": "cs_oops"}))
    assert secret_in_settings.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert fakes.woocommerce.calls["ValidateCredentials"] == 0


def test_unbuilt_types_and_wrong_flows_are_refused_not_faked(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    types = {t.type: t for t in client.ListChannelTypes(pb.ListChannelTypesRequest()).types}
    assert set(types) == {"shopify", "woocommerce", "facebook", "instagram", "tiktok", "amazon", "ebay"}
    assert (types["shopify"].auth, types["woocommerce"].auth) == ("oauth", "api_key")
    assert "inventory" in types["ebay"].capabilities
    # A type listed without a connector in this release (every type has one now: play one).
    monkeypatch.setitem(domain.CHANNEL_TYPES, "ebay", replace(domain.CHANNEL_TYPES["ebay"], available=False))
    with pytest.raises(grpc.RpcError) as unbuilt:
        client.StartOAuth(pb.StartOAuthRequest(type="ebay", settings={}))
    assert unbuilt.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "not available yet" in unbuilt.value.details()
    with pytest.raises(grpc.RpcError) as shopify_keys:
        client.CreateConnection(woo_request(type="shopify"))
    assert shopify_keys.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(shopify_keys.value) == "WRONG_AUTH_FLOW"


def test_oauth_start_and_complete_with_state_checks(
    client: Any, client_for: Any, raw_stub: Any, engine: Engine, fakes: Any
) -> None:
    with pytest.raises(grpc.RpcError) as unbound:
        client.StartOAuth(pb.StartOAuthRequest(type="shopify", name="My Shop", settings=SHOP_SETTINGS))
    assert unbound.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    started = client.StartOAuth(
        pb.StartOAuthRequest(type="shopify", name="My Shop", settings=SHOP_SETTINGS, session_binding=BINDING)
    )
    url = urlparse(started.authorization_url)
    query = parse_qs(url.query)
    assert url.netloc == "127.0.0.1:8701" and url.path == "/admin/oauth/authorize"
    assert query["redirect_uri"] == ["http://gateway.test:8080/api/v1/channels/oauth/callback"]
    state = query["state"][0]
    assert started.HasField("state_expires_at")

    def complete(binding: str = BINDING, **params: str) -> pb.Connection:
        callback = {
            "code": "good-code",
            "hmac": GOOD_HMAC,
            "shop": "demo.myshopify.com",
            "state": state,
            **params,
        }
        return raw_stub.CompleteOAuth(
            pb.CompleteOAuthRequest(callback_params=callback, session_binding=binding), timeout=10
        ).connection

    with pytest.raises(grpc.RpcError) as forged:
        complete(state=state[:-2] + ("AA" if not state.endswith("AA") else "BB"))
    assert forged.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(forged.value) == "OAUTH_STATE_INVALID"
    assert fakes.shopify.calls["ExchangeCode"] == 0
    # Another browser (another user's session, or none) cannot complete this user's flow, and
    # trying does not spend the state.
    for other in ("c" * 64, ""):
        with pytest.raises(grpc.RpcError) as foreign:
            complete(binding=other)
        assert foreign.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert reason_of(foreign.value) == "OAUTH_SESSION_MISMATCH"
    assert fakes.shopify.calls["ExchangeCode"] == 0 and count_rows(engine, "connections") == 0

    connection = complete()
    assert connection.status == pb.CONNECTION_STATUS_CONNECTED and connection.name == "My Shop"
    assert connection.settings["location_id"] == "gid://shopify/Location/1"
    assert connection.settings["shop_domain"] == "demo.myshopify.com"
    assert connection.health.HasField("token_expires_at")

    with pytest.raises(grpc.RpcError) as reused:
        complete()
    assert reused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(reused.value) == "OAUTH_STATE_REUSED"

    # The state bound the flow to tenant-a: tenant-b cannot see the connection.
    assert (
        client.GetConnection(pb.GetConnectionRequest(connection_id=connection.id)).connection.id
        == connection.id
    )
    with pytest.raises(grpc.RpcError) as other_tenant:
        client_for("tenant-b").GetConnection(pb.GetConnectionRequest(connection_id=connection.id))
    assert other_tenant.value.code() is grpc.StatusCode.NOT_FOUND


def test_oauth_callback_with_a_bad_hmac_stores_nothing(client: Any, raw_stub: Any, engine: Engine) -> None:
    with pytest.raises(grpc.RpcError) as bad:
        connect_shopify(client, raw_stub, hmac="forged")
    assert bad.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert count_rows(engine, "connections") == 0


def test_tenant_is_required_except_for_channel_callbacks(raw_stub: Any, channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as no_tenant:
        raw_stub.ListConnections(pb.ListConnectionsRequest(), timeout=10)
    assert no_tenant.value.code() is grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as no_state:
        raw_stub.CompleteOAuth(pb.CompleteOAuthRequest(callback_params={"code": "x"}), timeout=10)
    assert no_state.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    # A tenantless RPC still needs the internal credential.
    with pytest.raises(grpc.RpcError) as anonymous:
        pb_grpc.ChannelsServiceStub(channel).CompleteOAuth(
            pb.CompleteOAuthRequest(callback_params={"code": "x"}), timeout=10
        )
    assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED


def test_delete_connection_and_its_listings(client: Any, client_for: Any, engine: Engine) -> None:
    conn = client.CreateConnection(woo_request()).connection
    client.PutListing(
        pb.PutListingRequest(connection_id=conn.id, sku="TEE", external_ids={"product_id": "7"})
    )
    with pytest.raises(grpc.RpcError) as foreign:
        client_for("tenant-b").DeleteConnection(pb.DeleteConnectionRequest(connection_id=conn.id))
    assert foreign.value.code() is grpc.StatusCode.NOT_FOUND
    client.DeleteConnection(pb.DeleteConnectionRequest(connection_id=conn.id))
    assert count_rows(engine, "connections") == 0 and count_rows(engine, "listings") == 0
    with pytest.raises(grpc.RpcError) as gone:
        client.GetConnection(pb.GetConnectionRequest(connection_id=conn.id))
    assert gone.value.code() is grpc.StatusCode.NOT_FOUND


def test_database_dump_and_logs_contain_no_plaintext_secret(
    client: Any, raw_stub: Any, server: Any, engine: Engine, fakes: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    woo = client.CreateConnection(woo_request()).connection
    shop = connect_shopify(client, raw_stub)
    fakes.shopify.expire_access_token()
    server.parts.deps.caller.with_connection(
        "tenant-a", shop.id, "push_inventory", lambda stub, conn: stub.PushInventory(_push(conn, "TEE"))
    )
    assert fakes.shopify.calls["RefreshCredentials"] == 1
    secrets = [GOOD_KEY, GOOD_SECRET, WEBHOOK_SECRET, "at-1", "rt-1", "at-2", "rt-2"]

    md = MetaData()
    md.reflect(engine)
    dump = bytearray()
    with engine.connect() as conn:
        for table in md.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    dump += value if isinstance(value, bytes | memoryview) else str(value).encode()
                    dump += b"\n"
    assert woo.id.encode() in dump and shop.id.encode() in dump  # the dump really has the rows
    for secret in secrets:
        assert secret.encode() not in bytes(dump), f"{secret} stored in plaintext"
    logged = "\n".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    for secret in secrets:
        assert secret not in logged, f"{secret} appeared in the logs"


def _push(conn: Any, *skus: str) -> Any:
    from omnistock.connector.v1 import connector_service_pb2 as cpb

    return cpb.PushInventoryRequest(
        connection=conn, items=[cpb.InventoryItem(sku=s, quantity=1) for s in skus]
    )
