"""The real Amazon connector gRPC server against the real Amazon sandbox (both on 127.0.0.1:0):
OAuth, stock and prices, orders (fixtures in conftest.py; publishing in test_publishing_sandbox.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from channel_sandboxes.amazon import AmazonConfig
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb

if TYPE_CHECKING:
    from conftest import Env

pytestmark = pytest.mark.redis

REDIRECT = "http://omnistock.test/callback"


def error_reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


# ------------------------------------------------------------------------------ tests


def test_describe_lists_what_the_connector_does(env: Env) -> None:
    described = env.call("Describe", pb.DescribeRequest())
    assert described.channel_type == "amazon" and described.auth_kind == pb.AUTH_KIND_OAUTH
    assert list(described.capabilities) == [
        pb.CAPABILITY_INVENTORY,
        pb.CAPABILITY_PRICES,
        pb.CAPABILITY_ORDERS,
        pb.CAPABILITY_FULFILLMENT,
        pb.CAPABILITY_CATALOG,
    ]
    assert described.max_inventory_batch == described.max_price_batch == 1_000
    assert described.max_product_batch == 50
    assert "listings/2021-08-01" in described.api_version


def test_consent_and_code_exchange_give_lwa_credentials_and_seller_settings(env: Env) -> None:
    before = datetime.now(UTC)
    params = env.consent()
    assert set(params) == {"state", "selling_partner_id", "spapi_oauth_code"}
    exchanged = env.call(
        "ExchangeCode",
        pb.ExchangeCodeRequest(connection=env.connection(), callback_params=params, redirect_uri=REDIRECT),
    )
    credentials, settings = exchanged.credentials, dict(exchanged.settings)
    assert credentials.secrets["access_token"].startswith("Atza|")
    assert credentials.secrets["refresh_token"].startswith("Atzr|")
    expires = credentials.access_token_expires_at.ToDatetime(tzinfo=UTC)
    assert before + timedelta(seconds=3500) < expires < before + timedelta(seconds=3700)
    assert settings == {
        "store_id": env.config["seller_id"],
        "seller_id": env.config["seller_id"],
        "marketplace_id": "ATVPDKIKX0DER",
        "region": "na",
        "currency": "USD",
    }
    # the code is single-use
    with pytest.raises(grpc.RpcError) as replayed:
        env.call(
            "ExchangeCode",
            pb.ExchangeCodeRequest(
                connection=env.connection(), callback_params=params, redirect_uri=REDIRECT
            ),
        )
    assert replayed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # a callback without the selling partner is refused before any call
    with pytest.raises(grpc.RpcError) as forged:
        env.call(
            "ExchangeCode",
            pb.ExchangeCodeRequest(
                connection=env.connection(), callback_params={"spapi_oauth_code": "x"}, redirect_uri=REDIRECT
            ),
        )
    assert forged.value.code() == grpc.StatusCode.UNAUTHENTICATED
    validated = env.call(
        "ValidateCredentials",
        pb.ValidateCredentialsRequest(connection=env.connection(credentials, **settings)),
    )
    assert "Amazon.com" in validated.account_name


def test_a_seller_in_several_marketplaces_must_choose_one(make_env: Callable[..., Env]) -> None:
    env = make_env(AmazonConfig(marketplaces="ATVPDKIKX0DER,A2EUQ1WTGCTBG2"))
    with pytest.raises(grpc.RpcError) as unchosen:
        env.connect()
    assert unchosen.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        "ATVPDKIKX0DER (US)" in unchosen.value.details() and "A2EUQ1WTGCTBG2 (CA)" in unchosen.value.details()
    )
    _, settings = env.connect(marketplace_id="A2EUQ1WTGCTBG2")
    assert (settings["marketplace_id"], settings["currency"]) == ("A2EUQ1WTGCTBG2", "CAD")


def test_list_remote_products_pages_by_page_token(env: Env) -> None:
    ctx = env.connected()
    env.seed(45)
    products: dict[str, pb.RemoteProduct] = {}
    cursor, pages = "", 0
    while True:
        page = env.call(
            "ListRemoteProducts", pb.ListRemoteProductsRequest(connection=ctx, cursor=cursor, limit=100)
        )
        pages += 1
        products.update({p.sku: p for p in page.products})
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(products) == 45 and pages == 3
    ids = dict(products["SKU-0007"].remote.ids)
    assert set(ids) == {"seller_id", "sku", "asin", "product_type"}
    assert ids["seller_id"] == env.config["seller_id"] and ids["sku"] == "SKU-0007"


def _inventory(skus: dict[str, int]) -> list[pb.InventoryItem]:
    return [
        pb.InventoryItem(sku=sku, quantity=q, remote=pb.RemoteIds(ids={"sku": sku}))
        for sku, q in skus.items()
    ]


def test_a_small_push_patches_each_listing(env: Env) -> None:
    ctx = env.connected()
    env.seed(3)
    env.sandbox.post("/_sandbox/calls/reset")
    pushed = env.call(
        "PushInventory",
        pb.PushInventoryRequest(connection=ctx, items=_inventory({"SKU-0000": 5, "SKU-0002": -3, "NOPE": 4})),
    )
    assert [(r.sku, r.outcome) for r in pushed.results] == [
        ("SKU-0000", pb.ITEM_OUTCOME_APPLIED),
        ("SKU-0002", pb.ITEM_OUTCOME_APPLIED),
        ("NOPE", pb.ITEM_OUTCOME_REJECTED),
    ]
    assert "does not exist" in pushed.results[2].message
    assert pushed.calls == 3 and env.calls() == {"patchListingsItem": 3}
    assert env.sandbox.get("/_sandbox/inventory").json() == {"SKU-0000": 5, "SKU-0001": 1, "SKU-0002": 0}


def test_2000_quantities_go_as_one_feed_with_per_item_errors(env: Env) -> None:
    ctx = env.connected()
    skus = env.seed(2000)
    wanted = {sku: i % 37 for i, sku in enumerate(skus)}
    env.sandbox.post("/_sandbox/calls/reset")
    pushed = env.call(
        "PushInventory", pb.PushInventoryRequest(connection=ctx, items=_inventory({**wanted, "GHOST-1": 3}))
    )
    outcomes = {r.sku: (r.outcome, r.message) for r in pushed.results}
    assert len(pushed.results) == 2001
    assert outcomes["GHOST-1"][0] == pb.ITEM_OUTCOME_REJECTED and "GHOST-1" in outcomes["GHOST-1"][1]
    assert {o for sku, (o, _) in outcomes.items() if sku != "GHOST-1"} == {pb.ITEM_OUTCOME_APPLIED}
    calls = env.calls()
    assert calls["createFeedDocument"] == calls["createFeed"] == calls["getFeedDocument"] == 1
    assert calls["getFeed"] == 2 and "patchListingsItem" not in calls
    assert pushed.calls == sum(calls.values())  # the upload and the report download included
    assert env.sandbox.get("/_sandbox/inventory").json() == wanted
    feeds = env.sandbox.get("/_sandbox/feeds").json()["feeds"]
    assert [f["processingStatus"] for f in feeds] == ["DONE"]


def test_a_feed_still_processing_at_the_deadline_counts_as_accepted_not_resent(
    make_env: Callable[..., Env],
) -> None:
    """Like an ACCEPTED patch: Amazon has it; sending it again at every flush would spend
    createFeed's small budget on duplicates (reconciliation reads back what the report refused)."""
    env = make_env(
        AmazonConfig(feed_polls=1000), AMAZON_FEED_WAIT_SECONDS="0.3", AMAZON_FEED_POLL_SECONDS="0.1"
    )
    ctx = env.connected()
    skus = env.seed(12)
    pushed = env.call(
        "PushInventory", pb.PushInventoryRequest(connection=ctx, items=_inventory(dict.fromkeys(skus, 9)))
    )
    assert {r.outcome for r in pushed.results} == {pb.ITEM_OUTCOME_APPLIED}
    assert "IN_PROGRESS" in pushed.results[0].message
    assert env.calls()["createFeed"] == 1


def _prices(prices: dict[str, tuple[int, str]]) -> list[pb.PriceItem]:
    return [
        pb.PriceItem(
            sku=sku, price=common_pb2.Money(amount_minor=a, currency=c), remote=pb.RemoteIds(ids={"sku": sku})
        )
        for sku, (a, c) in prices.items()
    ]


def test_prices_are_patched_or_fed_and_read_back(env: Env) -> None:
    ctx = env.connected()
    skus = env.seed(15)
    small = env.call(
        "PushPrices",
        pb.PushPricesRequest(
            connection=ctx, items=_prices({"SKU-0000": (1999, "USD"), "SKU-0001": (500, "EUR")})
        ),
    )
    assert [r.outcome for r in small.results] == [pb.ITEM_OUTCOME_APPLIED, pb.ITEM_OUTCOME_REJECTED]
    assert "EUR" in small.results[1].message and small.calls == 1
    big = env.call(
        "PushPrices",
        pb.PushPricesRequest(connection=ctx, items=_prices({s: (1234, "USD") for s in skus[2:]})),
    )
    assert {r.outcome for r in big.results} == {pb.ITEM_OUTCOME_APPLIED}
    assert env.calls()["createFeed"] == 1
    prices = env.sandbox.get("/_sandbox/prices").json()
    assert prices["SKU-0000"]["price"] == "19.99" and prices["SKU-0005"]["price"] == "12.34"
    read = env.call(
        "ReadPrices",
        pb.ReadPricesRequest(connection=ctx, items=_prices({"SKU-0000": (0, "USD"), "NOPE": (0, "USD")})),
    )
    assert [(r.sku, r.found, r.price.amount_minor) for r in read.prices] == [
        ("SKU-0000", True, 1999),
        ("NOPE", False, 0),
    ]
    env.sandbox.post("/_sandbox/inventory", json={"sku": "SKU-0003", "quantity": 42})
    quantities = env.call(
        "ReadInventory", pb.ReadInventoryRequest(connection=ctx, items=_inventory({"SKU-0003": 0, "NOPE": 0}))
    )
    assert [(q.sku, q.quantity, q.found) for q in quantities.quantities] == [
        ("SKU-0003", 42, True),
        ("NOPE", 0, False),
    ]


def test_an_expired_token_is_refreshed_once_and_returned(env: Env) -> None:
    ctx = env.connected()
    env.seed(1)
    old = dict(ctx.credentials.secrets)
    env.sandbox.post("/_sandbox/expire-tokens")
    pushed = env.call(
        "PushInventory", pb.PushInventoryRequest(connection=ctx, items=_inventory({"SKU-0000": 7}))
    )
    assert [r.outcome for r in pushed.results] == [pb.ITEM_OUTCOME_APPLIED]
    fresh = pushed.refreshed_credentials.secrets
    assert fresh["access_token"] != old["access_token"] and fresh["refresh_token"] == old["refresh_token"]
    assert pushed.refreshed_credentials.HasField("access_token_expires_at")
    assert env.sandbox.get("/_sandbox/calls").json()["unauthorized"] == 1

    refreshed = env.call("RefreshCredentials", pb.RefreshCredentialsRequest(connection=ctx))
    assert refreshed.credentials.secrets["refresh_token"] == old["refresh_token"]
    revoked = env.connection(
        pb.Credentials(secrets={"access_token": "Atza|gone", "refresh_token": "Atzr|unknown"}),
        **dict(ctx.settings),
    )
    for method, request in (
        ("RefreshCredentials", pb.RefreshCredentialsRequest(connection=revoked)),
        ("PushInventory", pb.PushInventoryRequest(connection=revoked, items=_inventory({"SKU-0000": 1}))),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            env.call(method, request)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert error_reason(refused.value) == "CREDENTIALS_REVOKED"


def test_throttling_is_retried_then_resource_exhausted(env: Env) -> None:
    ctx = env.connected()
    env.seed(1)
    env.sandbox.post("/_sandbox/throttle", json={"count": 1})
    pushed = env.call(
        "PushInventory", pb.PushInventoryRequest(connection=ctx, items=_inventory({"SKU-0000": 2}))
    )
    assert [r.outcome for r in pushed.results] == [pb.ITEM_OUTCOME_APPLIED]
    assert list(pushed.retried) == ["HTTP 429"]
    env.sandbox.post("/_sandbox/throttle", json={"count": 50})
    with pytest.raises(grpc.RpcError) as exhausted:
        env.call("PushInventory", pb.PushInventoryRequest(connection=ctx, items=_inventory({"SKU-0000": 3})))
    assert exhausted.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(exhausted.value) == "RATE_LIMITED"


def test_orders_page_with_items_and_ship_in_two_packages(make_env: Callable[..., Env]) -> None:
    env = make_env(AmazonConfig(order_items_page=2))
    ctx = env.connected()
    env.seed(5, price="4.50")
    since = datetime.now(UTC) - timedelta(minutes=1)
    placed = [
        env.sandbox.post(
            "/_sandbox/orders",
            json={
                "lines": [{"sku": f"SKU-000{i}", "quantity": 1, "price": "3.25"} for i in range(n)],
                "email": "b@x.test",
                "allow_oversell": True,
            },
        ).json()
        for n in (5, 1, 2)
    ]
    assert all(p.count("-") == 2 for p in (o["id"] for o in placed))
    since_ts = timestamp_pb2.Timestamp()
    since_ts.FromDatetime(since)
    orders: list[pb.ChannelOrder] = []
    cursor = ""
    for _ in range(5):
        page = env.call(
            "FetchOrders",
            pb.FetchOrdersRequest(connection=ctx, updated_since=since_ts, cursor=cursor, limit=2),
        )
        orders.extend(page.orders)
        cursor = page.next_cursor
        if not cursor:
            break
    assert [o.external_id for o in orders] == [o["id"] for o in placed]
    big = orders[0]
    assert big.status == pb.ORDER_STATUS_PAID and big.raw_status == "Unshipped"
    assert len(big.lines) == 5  # three getOrderItems pages of 2
    assert big.total.amount_minor == 1625 and big.total.currency == "USD"
    assert big.lines[0].unit_price.amount_minor == 325 and big.lines[0].sku == "SKU-0000"
    assert big.shipping_address.country_code == "US" and big.customer_email == "b@x.test"
    assert '"AmazonOrderId"' in big.raw_json

    order_id = big.external_id
    first = env.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=ctx,
            external_order_id=order_id,
            carrier="UPS",
            tracking_number="1Z999",
            lines=[pb.FulfillmentLine(sku="SKU-0001", quantity=1)],
        ),
    )
    view = env.sandbox.get(f"/_sandbox/orders/{order_id}").json()
    assert view["status"] == "PartiallyShipped"
    assert view["shipments"][0]["carrierCode"] == "UPS" and view["shipments"][0]["trackingNumber"] == "1Z999"
    rest = env.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=ctx, external_order_id=order_id, carrier="Hermes", tracking_number="H-77"
        ),
    )
    view = env.sandbox.get(f"/_sandbox/orders/{order_id}").json()
    assert view["status"] == "Shipped" and view["shipments"][1]["carrierName"] == "Hermes"
    assert first.external_fulfillment_id != rest.external_fulfillment_id
    again = env.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=ctx, external_order_id=order_id, carrier="Hermes", tracking_number="H-77"
        ),
    )
    assert again.external_fulfillment_id == rest.external_fulfillment_id
    assert len(env.sandbox.get(f"/_sandbox/orders/{order_id}").json()["shipments"]) == 2

    with pytest.raises(grpc.RpcError) as cancel:
        env.call("CancelOrder", pb.CancelOrderRequest(connection=ctx, external_order_id=order_id))
    assert cancel.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as hook:
        env.call("ParseWebhook", pb.ParseWebhookRequest(connection=ctx, raw_body=b"{}"))
    assert hook.value.code() == grpc.StatusCode.UNAUTHENTICATED
