"""The real TikTok connector gRPC server against the real TikTok sandbox (both on 127.0.0.1:0).

The connector's rate-limit buckets live in the test Redis, as in production.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import grpc
import httpx
import pytest
import redis
from flask import Flask, Response, request
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from channel_sandboxes.tiktok import TikTokConfig, create_app, serve
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2_grpc as pb_grpc
from omnistock_common.service_auth import internal_metadata
from omnistock_connector_kit.channel_http import RedisTokenBucket
from tiktok_connector.config import load_settings
from tiktok_connector.server import build, with_port

TENANT = "tenant-1"
CALLBACK = "http://omnistock.test/api/v1/channels/oauth/callback"


@dataclass
class Env:
    stub: pb_grpc.ConnectorServiceStub
    sandbox: httpx.Client
    base_url: str
    config: dict[str, Any]
    # Backoff delays the connector asked for; recorded instead of slept so no test waits.
    sleeps: list[float] = field(default_factory=list)

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, metadata=internal_metadata(TENANT), timeout=60)

    def connection(self, credentials: pb.Credentials | None = None, **settings: str) -> pb.ConnectionContext:
        return pb.ConnectionContext(
            connection_id="conn-tiktok-1",
            tenant_id=TENANT,
            channel_type="tiktok",
            settings={"api_base_url": self.base_url, **settings},
            credentials=credentials or pb.Credentials(),
        )

    def connect(self, **settings: str) -> tuple[pb.Credentials, dict[str, str]]:
        """The OAuth dance: consent URL → sandbox redirect (code + state) → ExchangeCode."""
        url = self.call(
            "BuildAuthorizationUrl",
            pb.BuildAuthorizationUrlRequest(
                connection=self.connection(**settings), state="signed-state-1", redirect_uri=CALLBACK
            ),
        ).authorization_url
        assert url.startswith(self.base_url + "/open/authorize?")
        # TikTok sends the seller to the service's registered URL; the sandbox takes it as a parameter.
        redirect = httpx.get(f"{url}&{urlencode({'redirect_uri': CALLBACK})}", follow_redirects=False)
        assert redirect.status_code == 302
        params = dict(parse_qsl(urlsplit(redirect.headers["location"]).query))
        assert params["state"] == "signed-state-1"
        answer = self.call(
            "ExchangeCode",
            pb.ExchangeCodeRequest(
                connection=self.connection(**settings), callback_params=params, redirect_uri=CALLBACK
            ),
        )
        return answer.credentials, dict(answer.settings)

    def connected(self) -> pb.ConnectionContext:
        credentials, settings = self.connect()
        return self.connection(credentials, **settings)

    def seed(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = self.sandbox.post("/_sandbox/products", json={"items": items})
        assert response.status_code == 201, response.text
        return response.json()["items"]


def error_reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


def remote(seeded: dict[str, Any]) -> pb.RemoteIds:
    return pb.RemoteIds(ids={"product_id": seeded["product_id"], "sku_id": seeded["sku_id"]})


@pytest.fixture
def env(redis_url: str) -> Iterator[Env]:
    app = create_app(TikTokConfig())
    http_server, _thread = serve(app)
    base_url = f"http://127.0.0.1:{http_server.server_port}"
    sandbox = httpx.Client(base_url=base_url, timeout=30)
    config = sandbox.get("/_sandbox/config").json()
    settings = with_port(
        load_settings({"REDIS_URL": redis_url, "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*"}), "127.0.0.1", 0
    )
    assert settings.app_key == config["app_key"], "connector defaults must match the sandbox's app"
    redis_client = redis.Redis.from_url(redis_url)
    redis_client.delete("connector:tiktok:conn-tiktok-1")
    sleeps: list[float] = []
    running = build(
        settings,
        limiter=RedisTokenBucket(redis_client, capacity=1000, refill_per_second=100_000),
        sleep=sleeps.append,
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield Env(pb_grpc.ConnectorServiceStub(channel), sandbox, base_url, config, sleeps)
    finally:
        channel.close()
        running.stop()
        sandbox.close()
        http_server.shutdown()
        redis_client.close()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    calls: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.calls)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook endpoint that records the raw bytes and headers of every delivery."""
    app = Flask("receiver")
    box: list[Receiver] = []

    @app.post("/hooks")
    def hook() -> Response:
        with box[0].lock:
            box[0].calls.append(Received(dict(request.headers), request.get_data()))
        return Response("ok", 200)

    server, _thread = serve(app)
    box.append(Receiver(f"http://127.0.0.1:{server.server_port}/hooks"))
    yield box[0]
    server.shutdown()


pytestmark = pytest.mark.redis


def test_describe_names_what_is_built(env: Env) -> None:
    described = env.call("Describe", pb.DescribeRequest())
    assert described.channel_type == "tiktok" and described.api_version == "202309"
    assert described.auth_kind == pb.AUTH_KIND_OAUTH
    assert described.max_product_batch == 20
    assert set(described.capabilities) == {
        pb.CAPABILITY_INVENTORY,
        pb.CAPABILITY_PRICES,
        pb.CAPABILITY_ORDERS,
        pb.CAPABILITY_FULFILLMENT,
        pb.CAPABILITY_WEBHOOKS,
        pb.CAPABILITY_CATALOG,
    }


def test_oauth_exchange_learns_the_shop_and_absolute_expiries(env: Env) -> None:
    credentials, settings = env.connect()
    assert settings == {
        "store_id": env.config["shop_id"],
        "store_name": env.config["shop_name"],
        "shop_cipher": env.config["shop_cipher"],
        "region": "US",
    }
    assert credentials.secrets["access_token"] and credentials.secrets["refresh_token"]
    in_a_week = datetime.now(UTC) + timedelta(days=7)
    expires = credentials.access_token_expires_at.ToDatetime(tzinfo=UTC)
    assert abs((expires - in_a_week).total_seconds()) < 60  # epoch *_expire_in read as a time


def test_several_shops_need_a_store_id(env: Env) -> None:
    env.sandbox.post("/_sandbox/shops", json={"id": "7000000000000000042", "name": "Second shop"})
    with pytest.raises(grpc.RpcError) as caught:
        env.connect()
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "Second shop" in caught.value.details() and env.config["shop_id"] in caught.value.details()
    _, settings = env.connect(store_id="7000000000000000042")
    assert settings["store_id"] == "7000000000000000042" and settings["store_name"] == "Second shop"


def test_a_spent_code_is_refused(env: Env) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        env.call(
            "ExchangeCode",
            pb.ExchangeCodeRequest(
                connection=env.connection(), callback_params={"code": "code_never_issued"}
            ),
        )
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(caught.value) == "AUTHORIZATION_CODE_REJECTED"


def test_refresh_rotates_and_the_old_refresh_token_is_dead(env: Env) -> None:
    credentials, settings = env.connect()
    connection = env.connection(credentials, **settings)
    fresh = env.call("RefreshCredentials", pb.RefreshCredentialsRequest(connection=connection)).credentials
    assert fresh.secrets["refresh_token"] != credentials.secrets["refresh_token"]
    assert fresh.secrets["access_token"] != credentials.secrets["access_token"]
    with pytest.raises(grpc.RpcError) as caught:
        env.call("RefreshCredentials", pb.RefreshCredentialsRequest(connection=connection))
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(caught.value) == "CREDENTIALS_REVOKED"


def test_expired_token_is_access_token_expired_and_a_refresh_fixes_it(env: Env) -> None:
    seeded = env.seed([{"sku": "A", "quantity": 5, "price": "9.99"}])[0]
    connection = env.connected()
    env.sandbox.post("/_sandbox/expire-tokens")
    item = pb.InventoryItem(sku="A", quantity=3, remote=remote(seeded))
    with pytest.raises(grpc.RpcError) as caught:
        env.call("PushInventory", pb.PushInventoryRequest(connection=connection, items=[item]))
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(caught.value) == "ACCESS_TOKEN_EXPIRED"
    fresh = env.call("RefreshCredentials", pb.RefreshCredentialsRequest(connection=connection)).credentials
    connection.credentials.CopyFrom(fresh)
    pushed = env.call("PushInventory", pb.PushInventoryRequest(connection=connection, items=[item]))
    assert [r.outcome for r in pushed.results] == [pb.ITEM_OUTCOME_APPLIED]
    assert env.sandbox.get("/_sandbox/inventory").json() == {"A": 3}


def test_auto_map_then_push_inventory_grouped_by_product(env: Env) -> None:
    env.seed(
        [
            {"sku": "TEE-S", "quantity": 1, "price": "19.00", "product": "tee"},
            {"sku": "TEE-M", "quantity": 2, "price": "19.00", "product": "tee"},
            {"sku": "MUG", "quantity": 3, "price": "9.95"},
        ]
    )
    connection = env.connected()
    # page_size counts products; each page gives one RemoteProduct per SKU.
    listed = env.call("ListRemoteProducts", pb.ListRemoteProductsRequest(connection=connection, limit=1))
    products = list(listed.products)
    assert listed.next_cursor and [p.sku for p in products] == ["TEE-S", "TEE-M"]
    more = env.call(
        "ListRemoteProducts",
        pb.ListRemoteProductsRequest(connection=connection, cursor=listed.next_cursor, limit=1),
    )
    products += list(more.products)
    assert not more.next_cursor
    by_sku = {p.sku: p for p in products}
    assert set(by_sku) == {"TEE-S", "TEE-M", "MUG"}
    assert set(by_sku["MUG"].remote.ids) == {"product_id", "sku_id", "warehouse_id"}
    assert by_sku["TEE-S"].remote.ids["product_id"] == by_sku["TEE-M"].remote.ids["product_id"]
    env.sandbox.post("/_sandbox/calls/reset")
    items = [
        pb.InventoryItem(sku=s, quantity=q, remote=by_sku[s].remote)
        for s, q in (("TEE-S", 10), ("TEE-M", -4), ("MUG", 200_000))
    ]
    items.append(pb.InventoryItem(sku="GHOST", quantity=1))
    pushed = env.call("PushInventory", pb.PushInventoryRequest(connection=connection, items=items))
    assert [r.outcome for r in pushed.results] == [pb.ITEM_OUTCOME_APPLIED] * 3 + [pb.ITEM_OUTCOME_REJECTED]
    assert pushed.calls == 2  # one call per product
    assert env.sandbox.get("/_sandbox/calls").json()["by_operation"] == {"update_inventory": 2}
    assert env.sandbox.get("/_sandbox/inventory").json() == {"TEE-S": 10, "TEE-M": 0, "MUG": 99_998}
    read = env.call("ReadInventory", pb.ReadInventoryRequest(connection=connection, items=items))
    assert [(q.quantity, q.found) for q in read.quantities] == [
        (10, True),
        (0, True),
        (99_998, True),
        (0, False),
    ]


def test_a_sku_of_another_product_is_rejected_with_tiktoks_words(env: Env) -> None:
    a, b = env.seed([{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}])
    connection = env.connected()
    wrong = pb.RemoteIds(ids={"product_id": a["product_id"], "sku_id": b["sku_id"]})
    pushed = env.call(
        "PushInventory",
        pb.PushInventoryRequest(
            connection=connection,
            items=[
                pb.InventoryItem(sku="A", quantity=4, remote=remote(a)),
                pb.InventoryItem(sku="B", quantity=4, remote=wrong),
            ],
        ),
    )
    assert [r.outcome for r in pushed.results] == [pb.ITEM_OUTCOME_APPLIED, pb.ITEM_OUTCOME_REJECTED]
    assert "does not belong" in pushed.results[1].message
    assert env.sandbox.get("/_sandbox/inventory").json() == {"A": 4, "B": 1}


def test_prices_push_and_read_back(env: Env) -> None:
    seeded = env.seed([{"sku": "A", "quantity": 1, "price": "9.99"}])[0]
    credentials, settings = env.connect()
    connection = env.connection(credentials, **settings, currency="USD")

    def item(minor: int, currency: str = "USD") -> pb.PriceItem:
        return pb.PriceItem(
            sku="A", price={"amount_minor": minor, "currency": currency}, remote=remote(seeded)
        )

    pushed = env.call(
        "PushPrices", pb.PushPricesRequest(connection=connection, items=[item(1250), item(100, "EUR")])
    )
    assert [r.outcome for r in pushed.results] == [pb.ITEM_OUTCOME_APPLIED, pb.ITEM_OUTCOME_REJECTED]
    assert env.sandbox.get("/_sandbox/prices").json()["A"]["price"] == "12.50"
    read = env.call("ReadPrices", pb.ReadPricesRequest(connection=connection, items=[item(0)]))
    assert read.prices[0].found and read.prices[0].price.amount_minor == 1250


def test_rate_limit_code_is_retried_then_resource_exhausted(env: Env) -> None:
    seeded = env.seed([{"sku": "A", "quantity": 1}])[0]
    connection = env.connected()
    item = pb.InventoryItem(sku="A", quantity=2, remote=remote(seeded))
    env.sandbox.post("/_sandbox/throttle", json={"count": 2})
    pushed = env.call("PushInventory", pb.PushInventoryRequest(connection=connection, items=[item]))
    assert [r.outcome for r in pushed.results] == [pb.ITEM_OUTCOME_APPLIED]
    assert list(pushed.retried) == ["throttled", "throttled"] and pushed.calls == 3
    env.sandbox.post("/_sandbox/throttle", json={"count": 50, "http_status": 429})
    with pytest.raises(grpc.RpcError) as caught:
        env.call("PushInventory", pb.PushInventoryRequest(connection=connection, items=[item]))
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    env.sandbox.post("/_sandbox/throttle", json={"count": 50})
    with pytest.raises(grpc.RpcError) as caught:
        env.call("PushInventory", pb.PushInventoryRequest(connection=connection, items=[item]))
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(caught.value) == "RATE_LIMITED"


def _since(seconds_ago: int) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromSeconds(int(time.time()) - seconds_ago)
    return stamp


def test_orders_aggregate_units_and_page(env: Env) -> None:
    env.seed([{"sku": "A", "quantity": 10, "price": "5.00"}, {"sku": "B", "quantity": 10, "price": "2.50"}])
    connection = env.connected()
    first = env.sandbox.post(
        "/_sandbox/orders",
        json={"lines": [{"sku": "A", "quantity": 3}, {"sku": "B", "quantity": 1}], "email": "x@example.test"},
    )
    assert first.status_code == 201 and len(first.json()["order"]["line_items"]) == 4
    env.sandbox.post("/_sandbox/orders", json={"lines": [{"sku": "B", "quantity": 2}]})
    assert env.sandbox.get("/_sandbox/inventory").json() == {"A": 7, "B": 7}
    page = env.call(
        "FetchOrders", pb.FetchOrdersRequest(connection=connection, updated_since=_since(60), limit=1)
    )
    assert len(page.orders) == 1 and page.next_cursor
    order = page.orders[0]
    assert order.external_id == first.json()["id"] and order.status == pb.ORDER_STATUS_PAID
    assert order.raw_status == "AWAITING_SHIPMENT" and order.customer_email == "x@example.test"
    assert sorted((line.sku, line.quantity, line.unit_price.amount_minor) for line in order.lines) == [
        ("A", 3, 500),
        ("B", 1, 250),
    ]
    assert order.total.amount_minor == 1750 and order.total.currency == "USD"
    assert order.shipping_address.city == "San Francisco" and order.shipping_address.country_code == "US"
    assert json.loads(order.raw_json)["id"] == order.external_id
    rest = env.call(
        "FetchOrders",
        pb.FetchOrdersRequest(
            connection=connection, updated_since=_since(60), cursor=page.next_cursor, limit=1
        ),
    )
    assert len(rest.orders) == 1 and not rest.next_cursor
    later = env.call("FetchOrders", pb.FetchOrdersRequest(connection=connection, updated_since=_since(-60)))
    assert list(later.orders) == []


def test_fulfillment_ships_the_units_and_records_carrier_and_tracking(env: Env) -> None:
    env.seed([{"sku": "A", "quantity": 10}, {"sku": "B", "quantity": 10}])
    credentials, settings = env.connect()
    connection = env.connection(credentials, **settings, shipping_providers="UPS=7117859084333745966")
    order_id = env.sandbox.post(
        "/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}]}
    ).json()["id"]
    part = env.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=connection,
            external_order_id=order_id,
            carrier="ups",
            tracking_number="1Z001",
            lines=[pb.FulfillmentLine(sku="A", quantity=2)],
        ),
    )
    view = env.sandbox.get(f"/_sandbox/orders/{order_id}").json()
    assert view["status"] == "PARTIALLY_SHIPPING"
    assert [(s["carrier"], s["tracking_number"], len(s["line_item_ids"])) for s in view["shipments"]] == [
        ("UPS", "1Z001", 2)
    ]
    assert part.external_fulfillment_id == view["shipments"][0]["id"]
    again = env.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=connection, external_order_id=order_id, carrier="ups", tracking_number="1Z001"
        ),
    )
    assert again.external_fulfillment_id == part.external_fulfillment_id  # a lost answer is not repeated
    env.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=connection,
            external_order_id=order_id,
            carrier="7117858858072016686",
            tracking_number="9400",
        ),
    )
    view = env.sandbox.get(f"/_sandbox/orders/{order_id}").json()
    assert view["status"] == "AWAITING_COLLECTION" and view["shipments"][1]["carrier"] == "USPS"
    fetched = env.call("FetchOrders", pb.FetchOrdersRequest(connection=connection, updated_since=_since(60)))
    assert fetched.orders[0].status == pb.ORDER_STATUS_SHIPPED
    assert {line.sku: line.quantity_fulfilled for line in fetched.orders[0].lines} == {"A": 2, "B": 1}
    with pytest.raises(grpc.RpcError) as caught:
        env.call(
            "CreateFulfillment",
            pb.CreateFulfillmentRequest(
                connection=connection, external_order_id=order_id, carrier="DHL", tracking_number="X"
            ),
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_a_carrier_name_is_looked_up_among_the_orders_shipping_providers(env: Env) -> None:
    env.seed([{"sku": "A", "quantity": 10}])
    connection = env.connected()
    with_option = env.sandbox.post("/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 1}]}).json()
    without = env.sandbox.post(
        "/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 1}], "delivery_option_id": ""}
    ).json()
    assert with_option["order"]["delivery_option_id"] and "delivery_option_id" not in without["order"]

    def ship(order_id: str, carrier: str, tracking: str) -> pb.CreateFulfillmentResponse:
        return env.call(
            "CreateFulfillment",
            pb.CreateFulfillmentRequest(
                connection=connection, external_order_id=order_id, carrier=carrier, tracking_number=tracking
            ),
        )

    with pytest.raises(grpc.RpcError) as caught:
        ship(with_option["id"], "DHL", "X1")
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(caught.value) == "UNKNOWN_CARRIER"
    assert "available: FedEx, UPS, USPS" in caught.value.details()
    ship(with_option["id"], "usps", "9400-1")
    # No delivery option on the order: the default warehouse's options are asked instead.
    ship(without["id"], "Fed Ex", "7777")
    shipped = [
        env.sandbox.get(f"/_sandbox/orders/{o['id']}").json()["shipments"] for o in (with_option, without)
    ]
    assert [(s[0]["carrier"], s[0]["tracking_number"]) for s in shipped] == [
        ("USPS", "9400-1"),
        ("FedEx", "7777"),
    ]
    calls = env.sandbox.get("/_sandbox/calls").json()["by_operation"]
    assert (calls["get_shipping_providers"], calls["get_delivery_options"], calls["get_warehouse_list"]) == (
        3,
        1,
        1,
    )


def test_cancel_order(env: Env) -> None:
    env.seed([{"sku": "A", "quantity": 10}])
    connection = env.connected()
    order_id = env.sandbox.post("/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 1}]}).json()[
        "id"
    ]
    answer = env.call(
        "CancelOrder", pb.CancelOrderRequest(connection=connection, external_order_id=order_id, reason="r")
    )
    view = env.sandbox.get(f"/_sandbox/orders/{order_id}").json()
    assert view["cancelled"] and view["cancellation"]["cancel_id"] == answer.external_id
    assert view["cancellation"]["reason"] == "seller_cancel"
    again = env.call("CancelOrder", pb.CancelOrderRequest(connection=connection, external_order_id=order_id))
    assert again.external_id == order_id  # already cancelled: nothing sent


def test_signed_webhook_is_parsed_with_the_order_and_tampering_is_refused(
    env: Env, receiver: Receiver
) -> None:
    env.seed([{"sku": "A", "quantity": 10, "price": "3.00"}])
    connection = env.connected()
    env.sandbox.post("/_sandbox/webhooks", json={"address": receiver.url})
    order_id = env.sandbox.post("/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 2}]}).json()[
        "id"
    ]
    (delivery,) = receiver.received()
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    parsed = env.call(
        "ParseWebhook", pb.ParseWebhookRequest(connection=connection, headers=headers, raw_body=delivery.body)
    )
    assert parsed.kind == pb.WEBHOOK_KIND_ORDER and parsed.topic == "ORDER_STATUS_CHANGE"
    assert parsed.delivery_id == json.loads(delivery.body)["tts_notification_id"]
    assert [(o.external_id, o.lines[0].quantity) for o in parsed.orders] == [(order_id, 2)]
    for body, hdrs, conn in (
        (delivery.body + b" ", headers, connection),
        (delivery.body, {**headers, "authorization": "0" * 64}, connection),
        (delivery.body, headers, env.connection(connection.credentials, store_id="1")),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            env.call("ParseWebhook", pb.ParseWebhookRequest(connection=conn, headers=hdrs, raw_body=body))
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert error_reason(caught.value) == "WEBHOOK_SIGNATURE_INVALID"


def test_sandbox_refuses_a_bad_signature_on_http_200(env: Env) -> None:
    tokens = env.sandbox.post("/_sandbox/tokens", json={}).json()
    query = {
        "app_key": env.config["app_key"],
        "timestamp": str(int(time.time())),
        "shop_cipher": tokens["shop_cipher"],
    }
    path = "/product/202309/products/search"
    query["sign"] = hmac.new(b"wrong", b"x", hashlib.sha256).hexdigest()
    answer = env.sandbox.post(
        path,
        params={**query, "page_size": "10"},
        content=b"{}",
        headers={"x-tts-access-token": tokens["access_token"]},
    )
    assert answer.status_code == 200 and answer.json()["code"] == 106001
