"""The real Shopify connector gRPC server against the real Shopify sandbox (both on 127.0.0.1:0).

The connector's rate-limit buckets live in the real Redis (`redis_url`), as in production.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import grpc
import httpx
import pytest
import redis
from flask import Flask, Response, request
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from channel_sandboxes.shopify import ShopifyConfig, create_app, serve
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2_grpc
from omnistock_common.service_auth import internal_metadata
from omnistock_connector_kit.channel_http import RedisTokenBucket
from shopify_connector.config import load_settings
from shopify_connector.server import build, with_port

pytestmark = pytest.mark.redis

TENANT = "tenant-1"


@dataclass
class Env:
    stub: connector_service_pb2_grpc.ConnectorServiceStub
    sandbox: httpx.Client
    base_url: str
    config: dict[str, Any]

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, metadata=internal_metadata(TENANT), timeout=60)

    def connection(self, credentials: pb.Credentials | None = None, **settings: str) -> pb.ConnectionContext:
        return pb.ConnectionContext(
            connection_id="conn-1",
            tenant_id="tenant-1",
            channel_type="shopify",
            # The shop names the store; api_base_url only moves its scheme, host and port.
            settings={"shop_domain": self.config["shop_domain"], "api_base_url": self.base_url, **settings},
            credentials=credentials or pb.Credentials(),
        )


@pytest.fixture
def env(redis_url: str) -> Iterator[Env]:
    # Fast cost restore on both sides: these tests are about behaviour, not about waiting out
    # Shopify's budget (test_throttled_responses_are_waited_out covers THROTTLED).
    app = create_app(ShopifyConfig(restore_rate=100_000))
    http_server, _thread = serve(app)
    base_url = f"http://127.0.0.1:{http_server.server_port}"
    sandbox = httpx.Client(base_url=base_url, timeout=30)
    config = sandbox.get("/_sandbox/config").json()
    settings = with_port(
        load_settings({"REDIS_URL": redis_url, "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*"}), "127.0.0.1", 0
    )
    assert settings.client_id == config["client_id"], "connector defaults must match the sandbox's app"
    redis_client = redis.Redis.from_url(redis_url)
    running = build(
        settings, limiter=RedisTokenBucket(redis_client, capacity=1000, refill_per_second=100_000)
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield Env(connector_service_pb2_grpc.ConnectorServiceStub(channel), sandbox, base_url, config)
    finally:
        channel.close()
        running.stop()
        sandbox.close()
        http_server.shutdown()
        redis_client.close()


def error_reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


def connect(env: Env) -> tuple[pb.Credentials, dict[str, str]]:
    """The OAuth dance: consent URL → sandbox redirect (code + hmac) → ExchangeCode."""
    url = env.call(
        "BuildAuthorizationUrl",
        pb.BuildAuthorizationUrlRequest(
            connection=env.connection(), state="signed-state-1", redirect_uri="http://omnistock.test/callback"
        ),
    ).authorization_url
    assert url.startswith(env.base_url + "/admin/oauth/authorize?")
    redirect = httpx.get(url, follow_redirects=False)
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://omnistock.test/callback"
    params = dict(parse_qsl(location.query))
    assert params["state"] == "signed-state-1"
    exchanged = env.call(
        "ExchangeCode",
        pb.ExchangeCodeRequest(
            connection=env.connection(), callback_params=params, redirect_uri="http://omnistock.test/callback"
        ),
    )
    return exchanged.credentials, dict(exchanged.settings)


def seed(env: Env, count: int, prefix: str = "SKU") -> None:
    items = [
        {"sku": f"{prefix}-{i:04d}", "title": f"Item {i}", "quantity": 1, "price": "10.00"}
        for i in range(count)
    ]
    assert env.sandbox.post("/_sandbox/products", json={"items": items}).status_code == 201


def remote_catalogue(env: Env, ctx: pb.ConnectionContext) -> tuple[dict[str, pb.RemoteProduct], int]:
    products: dict[str, pb.RemoteProduct] = {}
    cursor, pages = "", 0
    while True:
        page = env.call(
            "ListRemoteProducts", pb.ListRemoteProductsRequest(connection=ctx, cursor=cursor, limit=250)
        )
        pages += 1
        products.update({p.sku: p for p in page.products})
        if not page.next_cursor:
            return products, pages
        cursor = page.next_cursor


def push(
    env: Env, ctx: pb.ConnectionContext, catalogue: dict[str, pb.RemoteProduct], qty: dict[str, int]
) -> Any:
    items = [pb.InventoryItem(sku=sku, quantity=q, remote=catalogue[sku].remote) for sku, q in qty.items()]
    return env.call("PushInventory", pb.PushInventoryRequest(connection=ctx, items=items))


def test_describe(env: Env) -> None:
    described = env.call("Describe", pb.DescribeRequest())
    assert (described.channel_type, described.api_version, described.max_inventory_batch) == (
        "shopify",
        "2025-07",
        250,
    )
    assert described.auth_kind == pb.AUTH_KIND_OAUTH


def test_oauth_exchange_gives_expiring_credentials_and_shop_settings(env: Env) -> None:
    before = datetime.now(UTC)
    credentials, settings = connect(env)
    assert credentials.secrets["access_token"].startswith("shpat_")
    assert credentials.secrets["refresh_token"]
    expires = credentials.access_token_expires_at.ToDatetime(tzinfo=UTC)
    assert before + timedelta(seconds=3500) < expires < before + timedelta(seconds=3700)
    assert credentials.refresh_token_expires_at.ToDatetime(tzinfo=UTC) > expires
    assert "write_inventory" in credentials.scopes
    assert settings["shop_domain"] == env.config["shop_domain"]
    assert settings["location_id"] == env.config["location_id"]

    validated = env.call(
        "ValidateCredentials",
        pb.ValidateCredentialsRequest(connection=env.connection(credentials, **settings)),
    )
    assert validated.account_name
    assert validated.settings["location_id"] == env.config["location_id"]


def test_forged_or_replayed_callbacks_are_refused(env: Env) -> None:
    url = env.call(
        "BuildAuthorizationUrl",
        pb.BuildAuthorizationUrlRequest(
            connection=env.connection(), state="s", redirect_uri="http://x.test/cb"
        ),
    ).authorization_url
    params = dict(parse_qsl(urlsplit(httpx.get(url).headers["location"]).query))
    with pytest.raises(grpc.RpcError) as forged:
        env.call(
            "ExchangeCode",
            pb.ExchangeCodeRequest(connection=env.connection(), callback_params={**params, "state": "other"}),
        )
    assert forged.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert env.call(
        "ExchangeCode", pb.ExchangeCodeRequest(connection=env.connection(), callback_params=params)
    )
    with pytest.raises(grpc.RpcError) as replayed:
        env.call("ExchangeCode", pb.ExchangeCodeRequest(connection=env.connection(), callback_params=params))
    assert replayed.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_push_600_quantities_in_3_calls_then_read_back(env: Env) -> None:
    credentials, settings = connect(env)
    ctx = env.connection(credentials, **settings)
    seed(env, 600)
    catalogue, pages = remote_catalogue(env, ctx)
    assert len(catalogue) == 600 and pages == 3
    sample = catalogue["SKU-0007"]
    assert set(sample.remote.ids) == {"product_id", "variant_id", "inventory_item_id", "location_id"}
    assert sample.remote.ids["location_id"] == env.config["location_id"]
    assert sample.quantity == 1

    env.sandbox.post("/_sandbox/calls/reset")
    wanted = {sku: (i * 7) % 50 for i, sku in enumerate(sorted(catalogue))}
    pushed = push(env, ctx, catalogue, wanted)
    assert pushed.calls == 3
    assert {r.outcome for r in pushed.results} == {pb.ITEM_OUTCOME_APPLIED}
    assert [r.sku for r in pushed.results] == sorted(catalogue)
    assert env.sandbox.get("/_sandbox/calls").json()["by_operation"]["inventorySetQuantities"] == 3
    assert env.sandbox.get("/_sandbox/inventory").json() == wanted

    # someone edits a quantity by hand in Shopify; reconciliation reads the truth back
    env.sandbox.post("/_sandbox/inventory", json={"sku": "SKU-0003", "quantity": 99})
    probe = ["SKU-0001", "SKU-0003"]
    read = env.call(
        "ReadInventory",
        pb.ReadInventoryRequest(
            connection=ctx,
            items=[pb.InventoryItem(sku=s, remote=catalogue[s].remote) for s in probe]
            + [
                pb.InventoryItem(
                    sku="GONE",
                    remote=pb.RemoteIds(ids={"inventory_item_id": "gid://shopify/InventoryItem/999999"}),
                )
            ],
        ),
    )
    assert [(q.sku, q.quantity, q.found) for q in read.quantities] == [
        ("SKU-0001", wanted["SKU-0001"], True),
        ("SKU-0003", 99, True),
        ("GONE", 0, False),
    ]


def test_faults_are_retried_until_the_sandbox_recovers(env: Env) -> None:
    credentials, settings = connect(env)
    ctx = env.connection(credentials, **settings)
    seed(env, 3)
    catalogue, _ = remote_catalogue(env, ctx)

    env.sandbox.post(
        "/_sandbox/faults", json={"status": 429, "count": 2, "retry_after": 0.05}
    ).raise_for_status()
    pushed = push(env, ctx, catalogue, {"SKU-0000": 5, "SKU-0001": 6})
    assert pushed.calls == 3
    assert {r.outcome for r in pushed.results} == {pb.ITEM_OUTCOME_APPLIED}

    env.sandbox.post("/_sandbox/faults", json={"status": 500, "count": 2}).raise_for_status()
    pushed = push(env, ctx, catalogue, {"SKU-0002": 7})
    assert pushed.calls == 3
    assert env.sandbox.get("/_sandbox/inventory").json() == {"SKU-0000": 5, "SKU-0001": 6, "SKU-0002": 7}

    # still failing after every attempt: UNAVAILABLE, then RESOURCE_EXHAUSTED with RetryInfo
    env.sandbox.post("/_sandbox/faults", json={"status": 503, "count": 5}).raise_for_status()
    with pytest.raises(grpc.RpcError) as unavailable:
        push(env, ctx, catalogue, {"SKU-0002": 8})
    assert unavailable.value.code() == grpc.StatusCode.UNAVAILABLE
    env.sandbox.post(
        "/_sandbox/faults", json={"status": 429, "count": 5, "retry_after": 0.05}
    ).raise_for_status()
    with pytest.raises(grpc.RpcError) as limited:
        push(env, ctx, catalogue, {"SKU-0002": 8})
    assert limited.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(limited.value)
    assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)

    # recovered
    pushed = push(env, ctx, catalogue, {"SKU-0002": 8})
    assert pushed.calls == 1
    assert env.sandbox.get("/_sandbox/inventory").json()["SKU-0002"] == 8


def test_throttled_responses_are_waited_out(env: Env) -> None:
    credentials, settings = connect(env)
    ctx = env.connection(credentials, **settings)
    seed(env, 1)
    catalogue, _ = remote_catalogue(env, ctx)
    env.sandbox.post("/_sandbox/calls/reset")
    # An empty Shopify bucket restoring 4 points/s: the 10-point mutation is THROTTLED (HTTP 200)
    # and the connector waits the ~2.5 s extensions.cost asks for, then succeeds.
    env.sandbox.post(
        "/_sandbox/throttle", json={"currently_available": 0, "restore_rate": 4}
    ).raise_for_status()
    pushed = push(env, ctx, catalogue, {"SKU-0000": 12})
    assert pushed.results[0].outcome == pb.ITEM_OUTCOME_APPLIED
    throttled = env.sandbox.get("/_sandbox/calls").json()["throttled"]
    assert throttled >= 1
    assert pushed.calls == 1 + throttled
    assert env.sandbox.get("/_sandbox/inventory").json() == {"SKU-0000": 12}


def test_expired_token_is_reported_then_refresh_works(env: Env) -> None:
    credentials, settings = connect(env)
    seed(env, 1)
    ctx = env.connection(credentials, **settings)
    catalogue, _ = remote_catalogue(env, ctx)
    env.sandbox.post("/_sandbox/expire-tokens").raise_for_status()
    with pytest.raises(grpc.RpcError) as expired:
        push(env, ctx, catalogue, {"SKU-0000": 4})
    assert expired.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(expired.value) == "ACCESS_TOKEN_EXPIRED"

    refreshed = env.call("RefreshCredentials", pb.RefreshCredentialsRequest(connection=ctx)).credentials
    assert refreshed.secrets["access_token"] != credentials.secrets["access_token"]
    assert refreshed.secrets["refresh_token"] != credentials.secrets["refresh_token"]  # rotated
    pushed = push(env, env.connection(refreshed, **settings), catalogue, {"SKU-0000": 4})
    assert not pushed.HasField("refreshed_credentials")
    assert pushed.results[0].outcome == pb.ITEM_OUTCOME_APPLIED

    # the new refresh token has been used once → the first one is retired for good
    env.call(
        "RefreshCredentials", pb.RefreshCredentialsRequest(connection=env.connection(refreshed, **settings))
    )
    with pytest.raises(grpc.RpcError) as revoked:
        env.call("RefreshCredentials", pb.RefreshCredentialsRequest(connection=ctx))
    assert revoked.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(revoked.value) == "CREDENTIALS_REVOKED"


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    lock = threading.Lock()
    app = Flask("webhook-receiver")

    @app.post("/hooks")
    def hook() -> Response:
        with lock:
            received.append(({k.lower(): v for k, v in request.headers.items()}, request.get_data()))
        return Response("ok")

    server, _thread = serve(app)
    yield f"http://127.0.0.1:{server.server_port}/hooks", received
    server.shutdown()


def test_orders_fulfillment_and_webhooks(env: Env, receiver: tuple[str, list]) -> None:
    address, received = receiver
    credentials, settings = connect(env)
    ctx = env.connection(credentials, **settings)
    seed(env, 2)
    for sku in ("SKU-0000", "SKU-0001"):
        env.sandbox.post("/_sandbox/inventory", json={"sku": sku, "quantity": 10})
    env.sandbox.post(
        "/_sandbox/webhooks", json={"topic": "orders/create", "address": address}
    ).raise_for_status()
    since = timestamp_pb2.Timestamp()
    since.FromDatetime(datetime.now(UTC) - timedelta(minutes=5))

    placed = env.sandbox.post(
        "/_sandbox/orders",
        json={"lines": [{"sku": "SKU-0000", "quantity": 2}, {"sku": "SKU-0001", "quantity": 1}]},
    )
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["legacy_id"])

    fetched = env.call("FetchOrders", pb.FetchOrdersRequest(connection=ctx, updated_since=since, limit=10))
    orders = {o.external_id: o for o in fetched.orders}
    assert order_id in orders and fetched.next_cursor == ""
    order = orders[order_id]
    assert order.status == pb.ORDER_STATUS_PAID
    assert sorted((line.sku, line.quantity) for line in order.lines) == [("SKU-0000", 2), ("SKU-0001", 1)]
    assert order.total.currency == "USD" and order.total.amount_minor == 3000

    # the same order arrives as a signed webhook: good signature parses to the same ids
    env.sandbox.get("/_sandbox/webhooks/deliveries")
    assert received, "the sandbox delivered no webhook"
    headers, raw = received[0]
    parsed = env.call("ParseWebhook", pb.ParseWebhookRequest(connection=ctx, headers=headers, raw_body=raw))
    assert parsed.delivery_id == headers["x-shopify-webhook-id"]
    assert (parsed.topic, parsed.kind) == ("orders/create", pb.WEBHOOK_KIND_ORDER)
    assert parsed.orders[0].external_id == order_id
    assert [line.external_line_id for line in parsed.orders[0].lines] == [
        line.external_line_id for line in order.lines
    ]
    with pytest.raises(grpc.RpcError) as bad:
        env.call(
            "ParseWebhook",
            pb.ParseWebhookRequest(connection=ctx, headers=headers, raw_body=raw.replace(b"2", b"3", 1)),
        )
    assert bad.value.code() == grpc.StatusCode.UNAUTHENTICATED

    # ship one unit of the first line, then the rest
    first_line = next(line for line in order.lines if line.sku == "SKU-0000")
    partial = env.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=ctx,
            external_order_id=order_id,
            carrier="UPS",
            tracking_number="1Z999",
            tracking_url="https://ups.test/1Z999",
            lines=[pb.FulfillmentLine(external_line_id=first_line.external_line_id, quantity=1)],
        ),
    )
    assert partial.external_fulfillment_id
    after = env.call("FetchOrders", pb.FetchOrdersRequest(connection=ctx, updated_since=since))
    assert {o.external_id: o.status for o in after.orders}[order_id] == pb.ORDER_STATUS_PARTIALLY_SHIPPED

    env.call("CreateFulfillment", pb.CreateFulfillmentRequest(connection=ctx, external_order_id=order_id))
    done = env.call("FetchOrders", pb.FetchOrdersRequest(connection=ctx, updated_since=since))
    assert {o.external_id: o.status for o in done.orders}[order_id] == pb.ORDER_STATUS_SHIPPED
    with pytest.raises(grpc.RpcError) as nothing_left:
        env.call("CreateFulfillment", pb.CreateFulfillmentRequest(connection=ctx, external_order_id=order_id))
    assert nothing_left.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_orders_are_paged_by_cursor(env: Env) -> None:
    credentials, settings = connect(env)
    ctx = env.connection(credentials, **settings)
    seed(env, 1)
    env.sandbox.post("/_sandbox/inventory", json={"sku": "SKU-0000", "quantity": 100})
    placed = {
        str(
            env.sandbox.post("/_sandbox/orders", json={"lines": [{"sku": "SKU-0000", "quantity": 1}]}).json()[
                "legacy_id"
            ]
        )
        for _ in range(5)
    }
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        page = env.call("FetchOrders", pb.FetchOrdersRequest(connection=ctx, cursor=cursor, limit=2))
        assert len(page.orders) <= 2
        seen.extend(o.external_id for o in page.orders)
        cursor = page.next_cursor
        if not cursor:
            break
    assert sorted(seen) == sorted(placed)


def test_order_details_tracking_and_cancellation_in_the_sandbox(env: Env) -> None:
    credentials, settings = connect(env)
    ctx = env.connection(credentials, **settings)
    seed(env, 1)
    env.sandbox.post("/_sandbox/inventory", json={"sku": "SKU-0000", "quantity": 10})
    placed = env.sandbox.post(
        "/_sandbox/orders",
        json={
            "lines": [
                {"sku": "SKU-0000", "quantity": 2, "price": "10.00", "discount": "1.50", "tax": "2.00"}
            ],
            "customer": {"first_name": "Ann", "last_name": "Buyer"},
            "shipping_address": {"name": "Ann Buyer", "city": "Lyon", "country_code": "FR", "zip": "69001"},
            "shipping": "4.00",
            "email": "ann@example.com",
        },
    ).json()
    shipped_id, cancelled_id = str(placed["legacy_id"]), ""
    fetched = env.call("FetchOrders", pb.FetchOrdersRequest(connection=ctx, limit=10))
    order = {o.external_id: o for o in fetched.orders}[shipped_id]
    assert (order.subtotal.amount_minor, order.discount_total.amount_minor) == (1850, 150)
    assert (order.shipping_total.amount_minor, order.tax_total.amount_minor, order.total.amount_minor) == (
        400,
        200,
        2450,
    )
    assert (order.lines[0].discount.amount_minor, order.lines[0].tax.amount_minor) == (150, 200)
    assert (order.customer_name, order.shipping_address.city, order.shipping_address.country_code) == (
        "Ann Buyer",
        "Lyon",
        "FR",
    )
    assert order.channel_status["financial_status"] == "paid" and order.raw_json

    env.call(
        "CreateFulfillment",
        pb.CreateFulfillmentRequest(
            connection=ctx,
            external_order_id=shipped_id,
            carrier="UPS",
            tracking_number="1Z1",
            tracking_url="https://ups.test/1Z1",
        ),
    )
    view = env.sandbox.get(f"/_sandbox/orders/{shipped_id}").json()
    assert [
        (f["tracking_company"], f["tracking_number"], f["tracking_url"]) for f in view["fulfillments"]
    ] == [("UPS", "1Z1", "https://ups.test/1Z1")]
    # A shipped order cannot be cancelled on Shopify: a refusal, for good.
    with pytest.raises(grpc.RpcError) as refused:
        env.call(
            "CancelOrder",
            pb.CancelOrderRequest(connection=ctx, external_order_id=shipped_id, reason="customer"),
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    cancelled_id = str(
        env.sandbox.post("/_sandbox/orders", json={"lines": [{"sku": "SKU-0000", "quantity": 1}]}).json()[
            "legacy_id"
        ]
    )
    reply = env.call(
        "CancelOrder",
        pb.CancelOrderRequest(connection=ctx, external_order_id=cancelled_id, reason="inventory"),
    )
    assert reply.external_id.startswith("gid://shopify/Job/")
    view = env.sandbox.get(f"/_sandbox/orders/{cancelled_id}").json()
    assert view["cancelled"] and view["cancel_reason"] == "inventory"
    assert view["order"]["financial_status"] == "refunded"
    # Not restocked on the channel (OmniStock pushes the released figure itself).
    assert env.sandbox.get("/_sandbox/inventory").json()["SKU-0000"] == 7
    again = env.call("CancelOrder", pb.CancelOrderRequest(connection=ctx, external_order_id=cancelled_id))
    assert again.external_id == f"gid://shopify/Order/{cancelled_id}"
    polled = {o.external_id: o for o in env.call("FetchOrders", pb.FetchOrdersRequest(connection=ctx)).orders}
    assert polled[cancelled_id].status == pb.ORDER_STATUS_CANCELLED


def test_list_remote_products_with_catalog_pages_whole_products(env: Env) -> None:
    """include_catalog: products with their variants (options, barcode, price, weight, quantity per
    location), variants without a SKU included, paged by Shopify's cursor; auto-map's flat answer
    is unchanged."""
    shop = [
        {
            "title": "Tee",
            "description": "<p>Soft</p>",
            "vendor": "Acme",
            "tags": ["cotton"],
            "images": ["https://cdn.example.test/tee.jpg"],
            "variants": [
                {
                    "sku": "TEE-S",
                    "barcode": "123",
                    "options": {"Size": "S"},
                    "price": "12.50",
                    "weight_grams": 200,
                    "quantity": 4,
                },
                {"sku": "", "options": {"Size": "M"}, "price": "12.50", "quantity": 2},
            ],
        },
        *[
            {"title": f"Mug {i}", "variants": [{"sku": f"MUG-{i}", "price": "5", "quantity": i}]}
            for i in range(3)
        ],
    ]
    assert env.sandbox.post("/_sandbox/catalog", json={"products": shop}).status_code == 201
    credentials, settings = connect(env)
    ctx = env.connection(credentials, **settings)
    products: list[pb.CatalogProduct] = []
    cursor, pages = "", 0
    while True:
        reply = env.call(
            "ListRemoteProducts",
            pb.ListRemoteProductsRequest(connection=ctx, cursor=cursor, limit=2, include_catalog=True),
        )
        assert not reply.products
        products.extend(reply.catalog)
        pages += 1
        cursor = reply.next_cursor
        if not cursor:
            break
    assert pages == 2 and [p.title for p in products] == ["Tee", "Mug 0", "Mug 1", "Mug 2"]
    tee = products[0]
    assert (tee.description, tee.vendor, list(tee.tags), list(tee.image_urls)) == (
        "<p>Soft</p>",
        "Acme",
        ["cotton"],
        ["https://cdn.example.test/tee.jpg"],
    )
    small, medium = tee.variants
    assert (small.sku, small.barcode, small.weight_grams, small.price.amount_minor) == (
        "TEE-S",
        "123",
        200,
        1250,
    )
    assert [(o.name, o.value) for o in small.options] == [("Size", "S")]
    assert [q.available for q in small.quantities] == [4]
    assert small.remote.ids["variant_id"] == small.external_id and "inventory_item_id" in small.remote.ids
    assert medium.sku == "" and not medium.HasField("weight_grams")
    flat = env.call("ListRemoteProducts", pb.ListRemoteProductsRequest(connection=ctx, limit=250))
    assert {p.sku for p in flat.products} == {"TEE-S", "MUG-0", "MUG-1", "MUG-2"} and not flat.catalog


def test_a_product_with_more_variants_than_one_query_reads_is_read_whole(env: Env) -> None:
    """The products query reads 10 variants a product (its requested cost stays under 1,000
    points); the rest come from product(id).variants, 50 a call."""
    many = [
        {"sku": f"BIG-{i:02d}", "options": {"Size": str(i)}, "price": "1", "quantity": i} for i in range(63)
    ]
    assert (
        env.sandbox.post(
            "/_sandbox/catalog", json={"products": [{"title": "Big", "variants": many}]}
        ).status_code
        == 201
    )
    credentials, settings = connect(env)
    reply = env.call(
        "ListRemoteProducts",
        pb.ListRemoteProductsRequest(
            connection=env.connection(credentials, **settings), include_catalog=True
        ),
    )
    [big] = reply.catalog
    assert [v.sku for v in big.variants] == [f"BIG-{i:02d}" for i in range(63)] and not reply.next_cursor
    assert [v.quantities[0].available for v in big.variants] == list(range(63))
