"""The eBay connector's gRPC server (127.0.0.1:0, Redis buckets and revision ledger in the test
Redis) against the eBay sandbox (127.0.0.1:0), end to end, plus a receiver for notifications."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import grpc
import pytest
from flask import Flask, Response, request
from google.protobuf import timestamp_pb2

from channel_sandboxes.ebay import serve
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb

if TYPE_CHECKING:
    from conftest import Env

pytestmark = pytest.mark.redis


@dataclass
class Receiver:
    """The public webhook endpoint as the channels service would run it: GET → the connector's
    AnswerWebhookChallenge; POST → recorded (headers and raw bytes) for ParseWebhook."""

    url: str
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver(env: Env) -> Iterator[Receiver]:
    app = Flask("ebay-webhook-receiver")
    box: list[Receiver] = []

    @app.route("/webhooks/ebay/conn", methods=["GET", "POST"])
    def endpoint() -> Response:
        if request.method == "GET":
            try:
                answer = env.call(
                    "AnswerWebhookChallenge",
                    pb.AnswerWebhookChallengeRequest(
                        connection=env.connection(), query=dict(request.args), endpoint_url=box[0].url
                    ),
                )
            except grpc.RpcError:
                return Response(status=403)
            return Response(answer.body, mimetype=answer.content_type)
        with box[0].lock:
            box[0].posts.append((dict(request.headers), request.get_data()))
        return Response(status=204)

    server, _thread = serve(app)
    box.append(Receiver(f"http://127.0.0.1:{server.server_port}/webhooks/ebay/conn"))
    yield box[0]
    server.shutdown()


def _connected(env: Env) -> pb.ConnectionContext:
    exchanged = env.authorize()
    return env.connection(exchanged.credentials, **dict(exchanged.settings))


def _seed(env: Env, *items: dict) -> None:
    assert env.sandbox.post("/_sandbox/products", json={"items": list(items)}).status_code == 201


def _remote_ids(env: Env, connection: pb.ConnectionContext) -> dict[str, dict[str, str]]:
    listed = env.call("ListRemoteProducts", pb.ListRemoteProductsRequest(connection=connection, limit=100))
    return {p.sku: dict(p.remote.ids) for p in listed.products}


def test_oauth_with_a_runame_learns_the_seller(env: Env) -> None:
    exchanged = env.authorize()
    assert dict(exchanged.settings) == {
        "store_id": "sandboxSeller01",
        "store_name": "sandbox_seller",
        "marketplace_id": "EBAY_US",
        "currency": "USD",
    }
    credentials = exchanged.credentials
    assert set(credentials.secrets) == {"access_token", "refresh_token"}
    assert credentials.refresh_token_expires_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC) + timedelta(
        days=500
    )
    validated = env.call(
        "ValidateCredentials", pb.ValidateCredentialsRequest(connection=env.connection(credentials))
    )
    assert validated.account_name == "sandbox_seller"


def test_describe(env: Env) -> None:
    described = env.call("Describe", pb.DescribeRequest())
    assert described.channel_type == "ebay" and described.max_inventory_batch == 25
    assert pb.CAPABILITY_CATALOG in described.capabilities and described.max_product_batch == 10


def test_auto_map_push_and_read_back(env: Env) -> None:
    _seed(
        env, {"sku": "MUG", "quantity": 10, "price": "9.95"}, {"sku": "CAP", "quantity": 4, "price": "15.50"}
    )
    connection = _connected(env)
    ids = _remote_ids(env, connection)
    assert set(ids) == {"MUG", "CAP"} and set(ids["MUG"]) == {"sku", "offer_id", "listing_id"}
    pushed = env.call(
        "PushInventory",
        pb.PushInventoryRequest(
            connection=connection,
            items=[
                pb.InventoryItem(sku=s, quantity=q, remote=pb.RemoteIds(ids=ids[s]))
                for s, q in (("MUG", 7), ("CAP", 9))
            ],
        ),
    )
    assert [r.outcome for r in pushed.results] == [pb.ITEM_OUTCOME_APPLIED] * 2 and pushed.calls == 1
    assert pushed.limits["revisions_left_lowest"] == "249"
    assert pushed.limits["listings_at_reserve"] == "0"
    assert int(pushed.limits["refresh_token_days_left"]) > 500
    assert env.sandbox.get("/_sandbox/inventory").json() == {"MUG": 7, "CAP": 9}
    priced = env.call(
        "PushPrices",
        pb.PushPricesRequest(
            connection=connection,
            items=[
                pb.PriceItem(
                    sku="MUG",
                    price=common_pb2.Money(amount_minor=1250, currency="USD"),
                    remote=pb.RemoteIds(ids=ids["MUG"]),
                )
            ],
        ),
    )
    assert [r.outcome for r in priced.results] == [pb.ITEM_OUTCOME_APPLIED]
    assert env.sandbox.get("/_sandbox/prices").json()["MUG"]["price"] == "12.50"
    read = env.call(
        "ReadInventory",
        pb.ReadInventoryRequest(
            connection=connection, items=[pb.InventoryItem(sku="MUG"), pb.InventoryItem(sku="NOPE")]
        ),
    )
    assert [(q.sku, q.quantity, q.found) for q in read.quantities] == [("MUG", 7, True), ("NOPE", 0, False)]
    prices = env.call(
        "ReadPrices", pb.ReadPricesRequest(connection=connection, items=[pb.PriceItem(sku="MUG")])
    )
    assert prices.prices[0].found and prices.prices[0].price.amount_minor == 1250


def test_a_day_of_changes_never_overshows_and_never_passes_the_cap(env: Env) -> None:
    """300 changes to one listing, pushed one by one as the sync engine would: the sandbox counts
    the revisions eBay would count and what the listing showed."""
    _seed(env, {"sku": "TEE", "quantity": 60})
    connection = _connected(env)
    ids = _remote_ids(env, connection)["TEE"]
    rng = random.Random(3)
    omnistock = 60
    deferred = 0
    for _ in range(300):
        omnistock = max(0, omnistock + rng.choice([-2, -1, -1, 1, 2]))
        response = env.call(
            "PushInventory",
            pb.PushInventoryRequest(
                connection=connection,
                items=[pb.InventoryItem(sku="TEE", quantity=omnistock, remote=pb.RemoteIds(ids=ids))],
            ),
        )
        (result,) = response.results
        if result.outcome == pb.ITEM_OUTCOME_RETRY:
            deferred += 1
            assert "revision" in result.message and response.calls == 0
        assert env.sandbox.get("/_sandbox/inventory").json()["TEE"] <= omnistock
    revisions = env.sandbox.get("/_sandbox/revisions").json()
    assert 200 <= revisions["by_sku"]["TEE"] <= 250
    assert deferred == 300 - revisions["by_sku"]["TEE"]
    assert response.limits["listings_at_reserve"] == "1"
    assert int(response.limits["revisions_left_lowest"]) == 250 - revisions["by_sku"]["TEE"]


def test_expired_tokens_are_refreshed_in_the_call_and_a_revoked_app_is_unauthenticated(env: Env) -> None:
    _seed(env, {"sku": "MUG", "quantity": 10})
    connection = _connected(env)
    env.sandbox.post("/_sandbox/expire-tokens")
    pushed = env.call(
        "PushInventory",
        pb.PushInventoryRequest(connection=connection, items=[pb.InventoryItem(sku="MUG", quantity=3)]),
    )
    assert [r.outcome for r in pushed.results] == [pb.ITEM_OUTCOME_APPLIED]
    refreshed = pushed.refreshed_credentials
    assert refreshed.secrets["refresh_token"] == connection.credentials.secrets["refresh_token"]
    assert refreshed.secrets["access_token"] != connection.credentials.secrets["access_token"]
    assert refreshed.refresh_token_expires_at == connection.credentials.refresh_token_expires_at
    again = env.call("RefreshCredentials", pb.RefreshCredentialsRequest(connection=connection)).credentials
    assert again.secrets["refresh_token"] == connection.credentials.secrets["refresh_token"]
    env.sandbox.post("/_sandbox/revoke-refresh-tokens")
    with pytest.raises(grpc.RpcError) as caught:
        env.call("RefreshCredentials", pb.RefreshCredentialsRequest(connection=connection))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED and "invalid" in caught.value.details()


def test_orders_page_by_offset_and_ship_by_sku(env: Env) -> None:
    _seed(env, {"sku": "MUG", "quantity": 10, "price": "9.95"})
    connection = _connected(env)
    ids = [
        env.sandbox.post(
            "/_sandbox/orders", json={"lines": [{"sku": "MUG", "quantity": 2}], "email": "b@example.test"}
        ).json()["id"]
        for _ in range(3)
    ]
    since = timestamp_pb2.Timestamp()
    since.FromDatetime(datetime.now(UTC) - timedelta(hours=1))
    seen, cursor = [], ""
    while True:
        page = env.call(
            "FetchOrders",
            pb.FetchOrdersRequest(connection=connection, updated_since=since, cursor=cursor, limit=2),
        )
        seen.extend(page.orders)
        cursor = page.next_cursor
        if not cursor:
            break
    assert [o.external_id for o in seen] == ids
    order = seen[0]
    assert order.status == pb.ORDER_STATUS_PAID and order.customer_email == "b@example.test"
    assert order.total.amount_minor == 1990 and order.lines[0].sku == "MUG" and order.lines[0].quantity == 2
    assert order.shipping_address.country_code == "US"
    shipped = env.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=connection,
            external_order_id=ids[0],
            carrier="USPS",
            tracking_number="9400111",
            lines=[pb.FulfillmentLine(sku="MUG", quantity=2)],
        ),
    )
    view = env.sandbox.get(f"/_sandbox/orders/{ids[0]}").json()
    assert view["status"] == "FULFILLED"
    assert view["fulfillments"][0]["id"] == shipped.external_fulfillment_id
    assert view["fulfillments"][0]["tracking_number"] == "9400111"
    with pytest.raises(grpc.RpcError) as caught:  # shipped: eBay cancels unshipped orders only
        env.call("CancelOrder", pb.CancelOrderRequest(connection=connection, external_order_id=ids[0]))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "shipped" in caught.value.details()
    cancelled = env.call(
        "CancelOrder",
        pb.CancelOrderRequest(connection=connection, external_order_id=ids[1], reason="inventory"),
    )
    [record] = env.sandbox.get("/_sandbox/cancellations").json()["cancellations"]
    assert record == {
        "cancelId": cancelled.external_id,
        "legacyOrderId": ids[1],
        "cancelReason": "OUT_OF_STOCK_OR_CANNOT_FULFILL",
        "marketplaceId": "EBAY_US",
    }
    assert env.sandbox.get(f"/_sandbox/orders/{ids[1]}").json()["cancelled"] is True
    again = env.call("CancelOrder", pb.CancelOrderRequest(connection=connection, external_order_id=ids[1]))
    assert again.external_id == ids[1]  # already cancelled: nothing sent, the order id answers
    assert len(env.sandbox.get("/_sandbox/cancellations").json()["cancellations"]) == 1


def test_throttling_is_retried_then_resource_exhausted(env: Env) -> None:
    _seed(env, {"sku": "MUG", "quantity": 10})
    connection = _connected(env)
    env.sandbox.post("/_sandbox/throttle", json={"count": 1})
    read = env.call(
        "ReadInventory", pb.ReadInventoryRequest(connection=connection, items=[pb.InventoryItem(sku="MUG")])
    )
    assert read.quantities[0].quantity == 10
    env.sandbox.post("/_sandbox/throttle", json={"count": 10})
    with pytest.raises(grpc.RpcError) as caught:
        env.call(
            "ReadInventory",
            pb.ReadInventoryRequest(connection=connection, items=[pb.InventoryItem(sku="MUG")]),
        )
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_account_deletion_notifications_verify_and_a_tampered_one_is_refused(
    env: Env, receiver: Receiver
) -> None:
    challenge = env.sandbox.post(
        "/_sandbox/challenge",
        json={
            "address": receiver.url,
            "verification_token": "sandbox-ebay-verification-token-0123456789",
            "endpoint": receiver.url,
        },
    ).json()
    assert challenge["ok"] is True, challenge
    delivered = env.sandbox.post("/_sandbox/account-deletion", json={"address": receiver.url}).json()
    assert delivered["delivered"] is True
    ((headers, body),) = receiver.posts
    parsed = env.call(
        "ParseWebhook", pb.ParseWebhookRequest(connection=env.connection(), headers=headers, raw_body=body)
    )
    assert parsed.delivery_id == delivered["delivery_id"]
    assert parsed.topic == "MARKETPLACE_ACCOUNT_DELETION" and parsed.kind == pb.WEBHOOK_KIND_OTHER
    tampered = body.replace(b"sandbox_seller", b"someone_else")
    for bad_headers, bad_body in ((headers, tampered), ({}, body)):
        with pytest.raises(grpc.RpcError) as caught:
            env.call(
                "ParseWebhook",
                pb.ParseWebhookRequest(connection=env.connection(), headers=bad_headers, raw_body=bad_body),
            )
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
