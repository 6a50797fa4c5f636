"""The Meta connector's gRPC server against the Meta sandbox: login, tokens, stock and price
pushes through items_batch, reads, auto-mapping, orders (acknowledge, ship, cancel), webhooks,
rate limits."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import grpc
import httpx
import pytest
from flask import Flask, Response, request
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from channel_sandboxes.meta import MetaConfig, create_app, serve
from meta_connector.config import load_settings
from meta_connector.server import build, with_port
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2_grpc as pb_grpc
from omnistock_common.service_auth import internal_metadata

pytestmark = pytest.mark.redis

TENANT = "tenant-1"
REDIRECT_URI = "https://omnistock.test/api/v1/channels/oauth/callback"


@dataclass
class Env:
    stub: pb_grpc.ConnectorServiceStub
    sandbox: httpx.Client
    base_url: str
    config: dict[str, Any]
    sleeps: list[float] = field(default_factory=list)

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, metadata=internal_metadata(TENANT), timeout=30)

    def connection(
        self, channel_type: str = "facebook", credentials: pb.Credentials | None = None, **settings: str
    ) -> pb.ConnectionContext:
        return pb.ConnectionContext(
            connection_id="conn-meta-1",
            tenant_id=TENANT,
            channel_type=channel_type,
            settings={"api_base_url": self.base_url, **settings},
            credentials=credentials or pb.Credentials(),
        )

    def connect(self, channel_type: str = "facebook", **settings: str) -> pb.ExchangeCodeResponse:
        """The one-click login: consent URL → the sandbox's auto-approving dialog → ExchangeCode."""
        url = self.call(
            "BuildAuthorizationUrl",
            pb.BuildAuthorizationUrlRequest(
                connection=self.connection(channel_type, **settings),
                state="state-1",
                redirect_uri=REDIRECT_URI,
            ),
        ).authorization_url
        redirect = httpx.get(url, follow_redirects=False)
        assert redirect.status_code == 302, redirect.text
        params = dict(parse_qsl(urlsplit(redirect.headers["location"]).query))
        assert params["state"] == "state-1"
        return self.call(
            "ExchangeCode",
            pb.ExchangeCodeRequest(
                connection=self.connection(channel_type, **settings),
                callback_params=params,
                redirect_uri=REDIRECT_URI,
            ),
        )

    def connected(self, channel_type: str = "facebook") -> pb.ConnectionContext:
        answer = self.connect(channel_type)
        return self.connection(channel_type, answer.credentials, **dict(answer.settings))


@pytest.fixture
def env(redis_url: str) -> Iterator[Env]:
    app = create_app(MetaConfig())
    http_server, _thread = serve(app)
    base_url = f"http://127.0.0.1:{http_server.server_port}"
    sandbox = httpx.Client(base_url=base_url, timeout=30)
    config = sandbox.get("/_sandbox/config").json()
    settings = with_port(
        load_settings(
            {
                "REDIS_URL": redis_url,
                "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*",
                "META_CONNECTOR_BUCKET_CAPACITY": "1000",
                "META_CONNECTOR_BUCKET_REFILL_PER_SECOND": "1000",
            }
        ),
        "127.0.0.1",
        0,
    )
    assert settings.app_id == config["app_id"], "connector defaults must match the sandbox's app"
    assert settings.webhook_verify_token == config["verify_token"]
    sleeps: list[float] = []
    running = build(settings, sleep=sleeps.append)
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield Env(pb_grpc.ConnectorServiceStub(channel), sandbox, base_url, config, sleeps)
    finally:
        channel.close()
        running.stop()
        sandbox.close()
        http_server.shutdown()


def error_reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


def retry_delay(error: grpc.RpcError) -> float | None:
    status = rpc_status.from_call(error)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None


CATALOG = "300000000000001"


def seed(env: Env, *items: dict) -> None:
    assert env.sandbox.post("/_sandbox/products", json={"items": list(items)}).status_code == 201


def test_describe(env: Env) -> None:
    described = env.call("Describe", pb.DescribeRequest())
    assert described.channel_type == "facebook" and described.api_version == "v25.0"
    assert described.max_inventory_batch == 5000 and pb.CAPABILITY_CATALOG in described.capabilities
    assert described.max_product_batch == 50
    assert set(described.capabilities) >= {
        pb.CAPABILITY_INVENTORY,
        pb.CAPABILITY_ORDERS,
        pb.CAPABILITY_WEBHOOKS,
    }


def test_one_click_login_for_facebook_and_instagram(env: Env) -> None:
    url = env.call(
        "BuildAuthorizationUrl",
        pb.BuildAuthorizationUrlRequest(
            connection=env.connection("instagram"), state="s", redirect_uri="https://x.test/cb"
        ),
    ).authorization_url
    assert url.startswith(f"{env.base_url}/v25.0/dialog/oauth?")
    assert "instagram_shopping_tag_products" in url and "catalog_management" in url
    facebook = env.connect("facebook")
    assert dict(facebook.settings) == {
        "store_id": CATALOG,
        "store_name": "Sandbox Shop Catalog",
        "business_id": "200000000000001",
        "page_id": "400000000000001",
        "cms_id": "500000000000001",
        "orders": "supported",
    }
    secrets = facebook.credentials.secrets
    assert secrets["access_token"] and secrets["page_access_token"]
    days = (facebook.credentials.access_token_expires_at.seconds - time.time()) / 86400
    assert 59 < days <= 60
    instagram = env.connect("instagram")
    assert instagram.settings["instagram_account_id"] == "178414000000001"


def test_catalog_choice_and_no_checkout(env: Env) -> None:
    env.sandbox.post("/_sandbox/settings", json={"extra_catalogs": ["Second"], "onsite_checkout": False})
    with pytest.raises(grpc.RpcError) as several:
        env.connect()
    assert several.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert CATALOG in several.value.details() and "Second" in several.value.details()
    chosen = env.connect(store_id="300000000000002")
    assert chosen.settings["store_id"] == "300000000000002" and chosen.settings["orders"] == "unavailable"
    assert "cms_id" not in chosen.settings
    connection = env.connection("facebook", chosen.credentials, **dict(chosen.settings))
    assert list(env.call("FetchOrders", pb.FetchOrdersRequest(connection=connection)).orders) == []
    with pytest.raises(grpc.RpcError) as ship:
        env.call(
            "CreateFulfillment", pb.CreateFulfillmentRequest(connection=connection, external_order_id="123")
        )
    assert ship.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "no checkout" in ship.value.details()


def test_instagram_needs_an_instagram_business_account(env: Env) -> None:
    env.sandbox.post("/_sandbox/settings", json={"instagram_account": False})
    with pytest.raises(grpc.RpcError) as missing:
        env.connect("instagram")
    assert missing.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_refresh_renews_and_an_expired_token_disconnects(env: Env) -> None:
    env.sandbox.post("/_sandbox/tokens", json={"user_token_lifetime_seconds": 600})
    connection = env.connected()
    assert connection.credentials.access_token_expires_at.seconds - time.time() < 700
    env.sandbox.post("/_sandbox/tokens", json={"user_token_lifetime_seconds": 5184000})
    renewed = env.call("RefreshCredentials", pb.RefreshCredentialsRequest(connection=connection)).credentials
    assert renewed.secrets["access_token"] != connection.credentials.secrets["access_token"]
    assert renewed.secrets["page_access_token"] == connection.credentials.secrets["page_access_token"]
    assert renewed.access_token_expires_at.seconds - time.time() > 59 * 86400
    env.sandbox.post("/_sandbox/expire-tokens")
    with pytest.raises(grpc.RpcError) as expired:
        env.call("RefreshCredentials", pb.RefreshCredentialsRequest(connection=connection))
    assert expired.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(expired.value) == "CREDENTIALS_REVOKED" and "expired" in expired.value.details()
    with pytest.raises(grpc.RpcError) as push:
        env.call(
            "PushInventory",
            pb.PushInventoryRequest(connection=connection, items=[pb.InventoryItem(sku="A", quantity=1)]),
        )
    assert push.value.code() == grpc.StatusCode.UNAUTHENTICATED and "463" in push.value.details()


def test_push_inventory_and_prices_with_per_item_errors(env: Env) -> None:
    seed(env, {"sku": "A", "quantity": 5, "price": "9.99"}, {"sku": "B", "quantity": 2})
    connection = env.connected()
    pushed = env.call(
        "PushInventory",
        pb.PushInventoryRequest(
            connection=connection,
            items=[
                pb.InventoryItem(sku="A", quantity=0),
                pb.InventoryItem(sku="GHOST", quantity=3),
                pb.InventoryItem(sku="B", quantity=7),
            ],
        ),
    )
    outcomes = {r.sku: (r.outcome, r.message) for r in pushed.results}
    assert outcomes["A"][0] == pb.ITEM_OUTCOME_APPLIED and outcomes["B"][0] == pb.ITEM_OUTCOME_APPLIED
    assert outcomes["GHOST"][0] == pb.ITEM_OUTCOME_REJECTED and "not found" in outcomes["GHOST"][1]
    assert env.sandbox.get("/_sandbox/inventory").json() == {"A": 0, "B": 7}
    assert env.sleeps, "the batch status was polled again after an in-progress answer"
    usd = lambda minor: common_pb2.Money(amount_minor=minor, currency="USD")  # noqa: E731
    prices = env.call(
        "PushPrices",
        pb.PushPricesRequest(
            connection=connection,
            items=[
                pb.PriceItem(sku="A", price=usd(799), compare_at_price=usd(1299)),
                pb.PriceItem(sku="B", price=usd(1500)),
            ],
        ),
    )
    assert [r.outcome for r in prices.results] == [pb.ITEM_OUTCOME_APPLIED] * 2
    assert env.sandbox.get("/_sandbox/prices").json() == {
        "A": {"price": "7.99", "compare_at_price": "12.99"},
        "B": {"price": "15.00", "compare_at_price": None},
    }
    read = env.call(
        "ReadPrices",
        pb.ReadPricesRequest(connection=connection, items=[pb.PriceItem(sku="A"), pb.PriceItem(sku="NOPE")]),
    ).prices
    assert (
        read[0].found and read[0].price.amount_minor == 799 and read[0].compare_at_price.amount_minor == 1299
    )
    assert not read[1].found
    quantities = env.call(
        "ReadInventory",
        pb.ReadInventoryRequest(
            connection=connection, items=[pb.InventoryItem(sku="B"), pb.InventoryItem(sku="X")]
        ),
    ).quantities
    assert [(q.sku, q.quantity, q.found) for q in quantities] == [("B", 7, True), ("X", 0, False)]


def test_an_unfinished_batch_is_retry(env: Env) -> None:
    seed(env, {"sku": "A", "quantity": 5})
    env.sandbox.post("/_sandbox/settings", json={"batch_polls_to_finish": 1000})
    pushed = env.call(
        "PushInventory",
        pb.PushInventoryRequest(connection=env.connected(), items=[pb.InventoryItem(sku="A", quantity=1)]),
    )
    assert pushed.results[0].outcome == pb.ITEM_OUTCOME_RETRY and "not finished" in pushed.results[0].message


def test_rate_limit_is_resource_exhausted_with_retry_after(env: Env) -> None:
    seed(env, {"sku": "A", "quantity": 5})
    connection = env.connected()
    env.sandbox.post(
        "/_sandbox/throttle", json={"count": 10, "estimated_time_to_regain_access": 5, "code": 80014}
    )
    with pytest.raises(grpc.RpcError) as limited:
        env.call(
            "PushInventory",
            pb.PushInventoryRequest(connection=connection, items=[pb.InventoryItem(sku="A", quantity=1)]),
        )
    assert limited.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert retry_delay(limited.value) == 300
    env.sandbox.post("/_sandbox/throttle", json={"count": 1, "estimated_time_to_regain_access": 0})
    pushed = env.call(
        "PushInventory",
        pb.PushInventoryRequest(connection=connection, items=[pb.InventoryItem(sku="A", quantity=2)]),
    )
    assert pushed.results[0].outcome == pb.ITEM_OUTCOME_APPLIED and pushed.retried == ["throttled"]


def test_list_remote_products_pages_by_cursor(env: Env) -> None:
    env.sandbox.post("/_sandbox/catalog", json={"generate": {"products": 3, "variants_per_product": 2}})
    connection = env.connected()
    first = env.call("ListRemoteProducts", pb.ListRemoteProductsRequest(connection=connection, limit=4))
    assert len(first.products) == 4 and first.next_cursor
    rest = env.call(
        "ListRemoteProducts",
        pb.ListRemoteProductsRequest(connection=connection, limit=4, cursor=first.next_cursor),
    )
    skus = [p.sku for p in [*first.products, *rest.products]]
    assert len(skus) == 6 and "GEN-2-M" in skus and not rest.next_cursor
    assert set(first.products[0].remote.ids) == {"product_item_id", "retailer_id"}
    whole = env.call(
        "ListRemoteProducts",
        pb.ListRemoteProductsRequest(connection=connection, include_catalog=True, limit=6),
    )
    assert [len(product.variants) for product in whole.catalog] == [2, 2, 2] and not whole.next_cursor


def test_orders_are_acknowledged_then_shipped_and_cancelled(env: Env) -> None:
    seed(env, {"sku": "A", "quantity": 5, "price": "9.99"}, {"sku": "B", "quantity": 5, "price": "2.50"})
    connection = env.connected()
    placed = env.sandbox.post(
        "/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}]}
    ).json()
    other = env.sandbox.post("/_sandbox/orders", json={"lines": [{"sku": "B", "quantity": 1}]}).json()
    since = timestamp_pb2.Timestamp(seconds=int(time.time()) - 60)
    fetched = env.call(
        "FetchOrders", pb.FetchOrdersRequest(connection=connection, updated_since=since)
    ).orders
    assert {o.external_id for o in fetched} == {placed["id"], other["id"]}
    order = next(o for o in fetched if o.external_id == placed["id"])
    assert order.status == pb.ORDER_STATUS_PAID and order.raw_status == "IN_PROGRESS"
    assert order.total.amount_minor == 2248 and [(ln.sku, ln.quantity) for ln in order.lines] == [
        ("A", 2),
        ("B", 1),
    ]
    assert order.shipping_address.country_code == "US"
    assert env.sandbox.get(f"/_sandbox/orders/{placed['id']}").json()["acknowledged"] is True
    shipped = env.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=connection,
            external_order_id=placed["id"],
            carrier="UPS",
            tracking_number="1Z999",
            lines=[pb.FulfillmentLine(sku="A", quantity=2), pb.FulfillmentLine(sku="B", quantity=1)],
        ),
    )
    assert shipped.external_fulfillment_id
    view = env.sandbox.get(f"/_sandbox/orders/{placed['id']}").json()
    assert (
        view["state"] == "COMPLETED" and view["shipments"][0]["tracking_info"]["tracking_number"] == "1Z999"
    )
    env.call(
        "CancelOrder",
        pb.CancelOrderRequest(connection=connection, external_order_id=other["id"], reason="out of stock"),
    )
    assert env.sandbox.get(f"/_sandbox/orders/{other['id']}").json()["cancellations"]
    again = env.call("FetchOrders", pb.FetchOrdersRequest(connection=connection, updated_since=since)).orders
    statuses = {o.external_id: o.status for o in again}
    assert statuses == {placed["id"]: pb.ORDER_STATUS_SHIPPED, other["id"]: pb.ORDER_STATUS_CANCELLED}


def test_webhooks_signature_and_subscription_challenge(env: Env) -> None:
    connection = env.connection()
    body = b'{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"feed","value":{}}]}]}'
    signature = "sha256=" + hmac.new(env.config["app_secret"].encode(), body, hashlib.sha256).hexdigest()
    parsed = env.call(
        "ParseWebhook",
        pb.ParseWebhookRequest(
            connection=connection, headers={"X-Hub-Signature-256": signature}, raw_body=body
        ),
    )
    assert parsed.kind == pb.WEBHOOK_KIND_OTHER and parsed.topic == "page/feed"
    assert parsed.delivery_id == hashlib.sha256(body).hexdigest()
    with pytest.raises(grpc.RpcError) as forged:
        env.call(
            "ParseWebhook",
            pb.ParseWebhookRequest(
                connection=connection, headers={"X-Hub-Signature-256": signature}, raw_body=body + b" "
            ),
        )
    assert forged.value.code() == grpc.StatusCode.UNAUTHENTICATED
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": env.config["verify_token"],
        "hub.challenge": "8675309",
    }
    answer = env.call(
        "AnswerWebhookChallenge", pb.AnswerWebhookChallengeRequest(connection=connection, query=query)
    )
    assert (answer.content_type, answer.body) == ("text/plain", b"8675309")
    with pytest.raises(grpc.RpcError) as wrong:
        env.call(
            "AnswerWebhookChallenge",
            pb.AnswerWebhookChallengeRequest(connection=connection, query={**query, "hub.verify_token": "x"}),
        )
    assert wrong.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_sandbox_subscription_check_and_deliveries_pass_through_the_connector(env: Env) -> None:
    """A receiver like the gateway's: GET answers with AnswerWebhookChallenge, POST is checked by
    ParseWebhook with the raw bytes and headers as they arrived."""
    app = Flask("receiver")
    parsed: list[pb.ParseWebhookResponse] = []

    @app.get("/hooks/meta")
    def challenge() -> Response:
        try:
            answer = env.call(
                "AnswerWebhookChallenge",
                pb.AnswerWebhookChallengeRequest(connection=env.connection(), query=dict(request.args)),
            )
        except grpc.RpcError:
            return Response("refused", 403)
        return Response(answer.body, 200, content_type=answer.content_type)

    @app.post("/hooks/meta")
    def deliver() -> Response:
        parsed.append(
            env.call(
                "ParseWebhook",
                pb.ParseWebhookRequest(
                    connection=env.connection(), headers=dict(request.headers), raw_body=request.get_data()
                ),
            )
        )
        return Response("ok", 200)

    server, _thread = serve(app)
    try:
        address = f"http://127.0.0.1:{server.server_port}/hooks/meta"
        assert (
            env.sandbox.post("/_sandbox/webhooks/verify", json={"address": address}).json()["verified"]
            is True
        )
        wrong = env.sandbox.post(
            "/_sandbox/webhooks/verify", json={"address": address, "verify_token": "nope"}
        )
        assert wrong.json()["verified"] is False and wrong.json()["status"] == 403
        env.sandbox.post("/_sandbox/webhooks", json={"address": address})
        sent = env.sandbox.post(
            "/_sandbox/webhooks/send", json={"field": "feed", "value": {"verb": "add"}}
        ).json()
        assert sent["deliveries"][0]["delivered"] is True
        assert [(p.kind, p.topic) for p in parsed] == [(pb.WEBHOOK_KIND_OTHER, "page/feed")]
    finally:
        server.shutdown()
