"""Servicer + client logic against a scripted Shopify (httpx.MockTransport; no sockets, no sleeping).

These pin the behaviour that does not need a full fake shop: chunking and per-item outcomes,
partial failures, error mapping, credential handling, webhook verification, fulfillment allocation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import Code, FailedPrecondition, InvalidArgument, Unauthenticated
from omnistock_connector_kit.channel_http import InMemoryTokenBucket
from omnistock_connector_kit.composition import Seams
from omnistock_connector_kit.connector_base import ResourceExhausted, Unavailable
from shopify_connector import protocol as p
from shopify_connector.config import load_settings
from shopify_connector.server import make_servicer
from shopify_connector.servicer import ShopifyConnectorServicer

SECRET = "test-secret"
Handler = Callable[[httpx.Request], httpx.Response]


class FakeShop:
    """Routes GraphQL operations by name to handlers; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.graphql: dict[str, Callable[[dict[str, Any]], httpx.Response]] = {}
        self.token: Handler | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == p.TOKEN_PATH:
            assert self.token is not None
            return self.token(request)
        assert request.url.path == p.GRAPHQL_PATH
        body = json.loads(request.content)
        name = re.search(r"(?:query|mutation)\s+(\w+)", body["query"]).group(1)
        return self.graphql[name](body["variables"])

    def bodies(self, name: str) -> list[dict[str, Any]]:
        found = []
        for request in self.requests:
            if request.url.path == p.GRAPHQL_PATH:
                body = json.loads(request.content)
                if re.search(rf"(?:query|mutation)\s+{name}\b", body["query"]):
                    found.append(body)
        return found


def ok(data: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"data": data, "extensions": {"cost": {"requestedQueryCost": 10}}})


@pytest.fixture
def shop() -> FakeShop:
    return FakeShop()


@pytest.fixture
def servicer(shop: FakeShop) -> ShopifyConnectorServicer:
    settings = load_settings(
        {
            "SHOPIFY_CLIENT_ID": "cid",
            "SHOPIFY_CLIENT_SECRET": SECRET,
            "SHOPIFY_MAX_ATTEMPTS": "3",
            # The scripted shop is a test server: the operator's allow-list admits it.
            "CHANNEL_ALLOWED_HOSTS": "shop.test:*",
        }
    )
    return make_servicer(
        settings,
        Seams(
            limiter=InMemoryTokenBucket(1e9, 1e9),
            transport=lambda: httpx.MockTransport(shop),
            sleep=lambda seconds: None,
        ),
    )


def connection(**secrets: str) -> pb.ConnectionContext:
    return pb.ConnectionContext(
        connection_id="c1",
        tenant_id="t1",
        channel_type="shopify",
        settings={
            "shop_domain": "demo.myshopify.com",
            "api_base_url": "http://shop.test",
            "location_id": "gid://shopify/Location/1",
        },
        credentials=pb.Credentials(secrets=secrets or {"access_token": "shpat_x", "refresh_token": "r1"}),
    )


def items(n: int, start: int = 0) -> list[pb.InventoryItem]:
    return [
        pb.InventoryItem(sku=f"S{i}", quantity=i, remote=pb.RemoteIds(ids={"inventory_item_id": str(i + 1)}))
        for i in range(start, start + n)
    ]


def applied_set(variables: dict[str, Any]) -> httpx.Response:
    return ok(
        {"inventorySetQuantities": {"inventoryAdjustmentGroup": {"reason": "correction"}, "userErrors": []}}
    )


def test_push_600_quantities_in_three_calls(shop: FakeShop, servicer: ShopifyConnectorServicer) -> None:
    shop.graphql["OmniStockSetInventory"] = applied_set
    response = servicer.PushInventory(
        pb.PushInventoryRequest(connection=connection(), items=items(600)), None
    )
    assert response.calls == 3
    assert [r.outcome for r in response.results] == [pb.ITEM_OUTCOME_APPLIED] * 600
    sizes = [len(b["variables"]["input"]["quantities"]) for b in shop.bodies("OmniStockSetInventory")]
    assert sizes == [250, 250, 100]
    first = shop.bodies("OmniStockSetInventory")[0]["variables"]["input"]["quantities"][0]
    assert first == {
        "inventoryItemId": "gid://shopify/InventoryItem/1",
        "locationId": "gid://shopify/Location/1",
        "quantity": 0,
    }
    assert shop.requests[0].headers["X-Shopify-Access-Token"] == "shpat_x"


def test_unmapped_and_user_error_items(shop: FakeShop, servicer: ShopifyConnectorServicer) -> None:
    def reject_second(variables: dict[str, Any]) -> httpx.Response:
        return ok(
            {
                "inventorySetQuantities": {
                    "inventoryAdjustmentGroup": None,
                    "userErrors": [
                        {
                            "code": "INVALID_INVENTORY_ITEM",
                            "field": ["input", "quantities", "1"],
                            "message": "nope",
                        }
                    ],
                }
            }
        )

    shop.graphql["OmniStockSetInventory"] = reject_second
    request_items = [pb.InventoryItem(sku="UNMAPPED", quantity=1), *items(3)]
    response = servicer.PushInventory(
        pb.PushInventoryRequest(connection=connection(), items=request_items), None
    )
    assert [(r.sku, r.outcome) for r in response.results] == [
        ("UNMAPPED", pb.ITEM_OUTCOME_REJECTED),
        ("S0", pb.ITEM_OUTCOME_RETRY),
        ("S1", pb.ITEM_OUTCOME_REJECTED),
        ("S2", pb.ITEM_OUTCOME_RETRY),
    ]
    assert "INVALID_INVENTORY_ITEM" in response.results[2].message


def test_rate_limit_after_a_successful_chunk_marks_the_rest_retry(
    shop: FakeShop, servicer: ShopifyConnectorServicer
) -> None:
    calls = {"n": 0}

    def first_then_429(variables: dict[str, Any]) -> httpx.Response:
        calls["n"] += 1
        return (
            applied_set(variables) if calls["n"] == 1 else httpx.Response(429, headers={"Retry-After": "1"})
        )

    shop.graphql["OmniStockSetInventory"] = first_then_429
    response = servicer.PushInventory(
        pb.PushInventoryRequest(connection=connection(), items=items(300)), None
    )
    outcomes = [r.outcome for r in response.results]
    assert outcomes[:250] == [pb.ITEM_OUTCOME_APPLIED] * 250
    assert outcomes[250:] == [pb.ITEM_OUTCOME_RETRY] * 50
    assert response.calls == 1 + 3  # one good chunk, then three attempts (SHOPIFY_MAX_ATTEMPTS)


def test_rate_limited_with_nothing_applied_is_resource_exhausted(
    shop: FakeShop, servicer: ShopifyConnectorServicer
) -> None:
    shop.graphql["OmniStockSetInventory"] = lambda v: httpx.Response(429, headers={"Retry-After": "2"})
    with pytest.raises(ResourceExhausted) as caught:
        servicer.PushInventory(pb.PushInventoryRequest(connection=connection(), items=items(2)), None)
    assert caught.value.retry_after == 2.0
    assert caught.value.code is Code.RESOURCE_EXHAUSTED

    shop.graphql["OmniStockSetInventory"] = lambda v: httpx.Response(503)
    with pytest.raises(Unavailable):
        servicer.PushInventory(pb.PushInventoryRequest(connection=connection(), items=items(2)), None)


def test_throttled_200_is_retried(shop: FakeShop, servicer: ShopifyConnectorServicer) -> None:
    answers = [
        httpx.Response(200, json={"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}),
        ok({"inventorySetQuantities": {"inventoryAdjustmentGroup": {}, "userErrors": []}}),
    ]
    shop.graphql["OmniStockSetInventory"] = lambda v: answers.pop(0)
    response = servicer.PushInventory(pb.PushInventoryRequest(connection=connection(), items=items(1)), None)
    assert response.results[0].outcome == pb.ITEM_OUTCOME_APPLIED
    assert response.calls == 2


def test_401_is_access_token_expired_only_when_refreshable(
    shop: FakeShop, servicer: ShopifyConnectorServicer
) -> None:
    shop.graphql["OmniStockShop"] = lambda v: httpx.Response(
        401, json={"errors": "Invalid API key or access token"}
    )
    with pytest.raises(Unauthenticated) as expiring:
        servicer.ValidateCredentials(pb.ValidateCredentialsRequest(connection=connection()), None)
    assert expiring.value.reason == "ACCESS_TOKEN_EXPIRED"
    with pytest.raises(Unauthenticated) as permanent:
        servicer.ValidateCredentials(
            pb.ValidateCredentialsRequest(connection=connection(access_token="t")), None
        )
    assert permanent.value.reason == "CREDENTIALS_REVOKED"
    assert len(shop.requests) == 2  # never retried, never refreshed implicitly


def test_refresh_rotates_and_invalid_grant_is_revoked(
    shop: FakeShop, servicer: ShopifyConnectorServicer
) -> None:
    forms: list[dict[str, str]] = []

    def token(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        forms.append(form)
        if form["refresh_token"] == "r1":
            return httpx.Response(
                200,
                json={
                    "access_token": "new",
                    "refresh_token": "r2",
                    "expires_in": 3600,
                    "scope": "read_orders",
                },
            )
        return httpx.Response(400, json={"error": "invalid_grant"})

    shop.token = token
    before = datetime.now(UTC)
    credentials = servicer.RefreshCredentials(
        pb.RefreshCredentialsRequest(connection=connection()), None
    ).credentials
    assert dict(credentials.secrets) == {"access_token": "new", "refresh_token": "r2"}
    expires = credentials.access_token_expires_at.ToDatetime(tzinfo=UTC)
    assert before + timedelta(seconds=3590) <= expires <= datetime.now(UTC) + timedelta(seconds=3600)
    assert forms[0] == {
        "client_id": "cid",
        "client_secret": SECRET,
        "grant_type": "refresh_token",
        "refresh_token": "r1",
    }
    assert "X-Shopify-Access-Token" not in shop.requests[0].headers

    used = connection(access_token="old", refresh_token="r-used")
    with pytest.raises(Unauthenticated) as caught:
        servicer.RefreshCredentials(pb.RefreshCredentialsRequest(connection=used), None)
    assert caught.value.reason == "CREDENTIALS_REVOKED"


def test_exchange_code_verifies_the_callback_first(
    shop: FakeShop, servicer: ShopifyConnectorServicer
) -> None:
    shop.token = lambda request: httpx.Response(200, json={"access_token": "a", "scope": "read_orders"})
    shop.graphql["OmniStockShop"] = lambda v: ok(
        {
            "shop": {"name": "Demo", "myshopifyDomain": "demo.myshopify.com", "currencyCode": "EUR"},
            "locations": {"nodes": [{"id": "gid://shopify/Location/7", "name": "Main"}]},
        }
    )
    params = {
        "code": "c",
        "shop": "demo.myshopify.com",
        "state": "s",
        "timestamp": str(int(datetime.now().timestamp())),
    }
    forged = {**params, "hmac": p.query_hmac(params, "someone-else")}
    ctx = connection()
    with pytest.raises(Unauthenticated):
        servicer.ExchangeCode(pb.ExchangeCodeRequest(connection=ctx, callback_params=forged), None)
    assert shop.requests == []

    signed = {**params, "hmac": p.query_hmac(params, SECRET)}
    response = servicer.ExchangeCode(pb.ExchangeCodeRequest(connection=ctx, callback_params=signed), None)
    assert response.credentials.secrets["access_token"] == "a"
    assert not response.credentials.HasField("access_token_expires_at")  # non-expiring token
    assert dict(response.settings) == {
        "shop_domain": "demo.myshopify.com",
        "currency": "EUR",
        "location_id": "gid://shopify/Location/7",
    }
    exchange_form = dict(httpx.QueryParams(shop.requests[0].content.decode()))
    assert exchange_form["expiring"] == "1" and exchange_form["code"] == "c"


def test_webhook_verification_and_parsing(servicer: ShopifyConnectorServicer) -> None:
    body = json.dumps(
        {
            "id": 9,
            "name": "#9",
            "currency": "USD",
            "total_price": "5.00",
            "financial_status": "paid",
            "updated_at": datetime.now(UTC).isoformat(),
            "line_items": [],
        }
    ).encode()
    headers = {
        "X-Shopify-Hmac-Sha256": p.webhook_hmac(body, SECRET),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": "delivery-1",
        "X-Shopify-Shop-Domain": "demo.myshopify.com",
    }
    ctx = connection()
    ctx.settings["shop_domain"] = "demo.myshopify.com"
    parsed = servicer.ParseWebhook(
        pb.ParseWebhookRequest(connection=ctx, headers=headers, raw_body=body), None
    )
    assert (parsed.delivery_id, parsed.topic, parsed.kind) == (
        "delivery-1",
        "orders/create",
        pb.WEBHOOK_KIND_ORDER,
    )
    assert parsed.orders[0].external_id == "9"
    assert parsed.orders[0].total.amount_minor == 500

    with pytest.raises(Unauthenticated):
        servicer.ParseWebhook(
            pb.ParseWebhookRequest(connection=ctx, headers=headers, raw_body=body + b" "), None
        )
    other_shop = {**headers, "X-Shopify-Shop-Domain": "other.myshopify.com"}
    no_shop = {k: v for k, v in headers.items() if k != "X-Shopify-Shop-Domain"}
    unsubscribed = {**headers, "X-Shopify-Topic": "customers/create"}
    for refused in (other_shop, no_shop, unsubscribed):
        with pytest.raises(Unauthenticated):
            servicer.ParseWebhook(
                pb.ParseWebhookRequest(connection=ctx, headers=refused, raw_body=body), None
            )
    # The connection may narrow the topics it takes.
    ctx.settings["webhook_topics"] = "app/uninstalled"
    with pytest.raises(Unauthenticated):
        servicer.ParseWebhook(pb.ParseWebhookRequest(connection=ctx, headers=headers, raw_body=body), None)


def fulfillment_order(fo_id: str, *lines: tuple[str, str, str, int]) -> dict[str, Any]:
    return {
        "id": fo_id,
        "status": "OPEN",
        "lineItems": {
            "nodes": [
                {"id": item_id, "remainingQuantity": left, "lineItem": {"id": line_id, "sku": sku}}
                for item_id, line_id, sku, left in lines
            ]
        },
    }


def test_fulfillment_allocates_requested_lines(shop: FakeShop, servicer: ShopifyConnectorServicer) -> None:
    shop.graphql["OmniStockFulfillmentOrders"] = lambda v: ok(
        {
            "order": {
                "id": v["id"],
                "fulfillmentOrders": {
                    "nodes": [
                        fulfillment_order(
                            "gid://shopify/FulfillmentOrder/1", ("FOL1", "gid://shopify/LineItem/11", "A", 2)
                        ),
                        fulfillment_order(
                            "gid://shopify/FulfillmentOrder/2", ("FOL2", "gid://shopify/LineItem/12", "B", 1)
                        ),
                    ]
                },
            }
        }
    )
    shop.graphql["OmniStockFulfil"] = lambda v: ok(
        {"fulfillmentCreate": {"fulfillment": {"id": "gid://shopify/Fulfillment/77"}, "userErrors": []}}
    )
    response = servicer.CreateFulfillment(
        pb.CreateFulfillmentRequest(
            connection=connection(),
            external_order_id="1001",
            carrier="UPS",
            tracking_number="1Z",
            lines=[
                pb.FulfillmentLine(external_line_id="11", quantity=1),
                pb.FulfillmentLine(sku="B", quantity=1),
            ],
        ),
        None,
    )
    assert response.external_fulfillment_id == "77"
    assert shop.bodies("OmniStockFulfillmentOrders")[0]["variables"] == {"id": "gid://shopify/Order/1001"}
    sent = shop.bodies("OmniStockFulfil")[0]["variables"]["fulfillment"]
    assert sent["trackingInfo"] == {"company": "UPS", "number": "1Z"}
    assert sent["lineItemsByFulfillmentOrder"] == [
        {
            "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1",
            "fulfillmentOrderLineItems": [{"id": "FOL1", "quantity": 1}],
        },
        {
            "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/2",
            "fulfillmentOrderLineItems": [{"id": "FOL2", "quantity": 1}],
        },
    ]
    with pytest.raises(FailedPrecondition):
        servicer.CreateFulfillment(
            pb.CreateFulfillmentRequest(
                connection=connection(),
                external_order_id="1001",
                lines=[pb.FulfillmentLine(sku="A", quantity=3)],
            ),
            None,
        )


def test_fulfillment_is_not_retried_on_5xx(shop: FakeShop, servicer: ShopifyConnectorServicer) -> None:
    shop.graphql["OmniStockFulfillmentOrders"] = lambda v: ok(
        {
            "order": {
                "id": v["id"],
                "fulfillmentOrders": {"nodes": [fulfillment_order("FO1", ("L", "1", "A", 1))]},
            }
        }
    )
    shop.graphql["OmniStockFulfil"] = lambda v: httpx.Response(502)
    with pytest.raises(Unavailable):
        servicer.CreateFulfillment(
            pb.CreateFulfillmentRequest(connection=connection(), external_order_id="5"), None
        )
    assert len(shop.bodies("OmniStockFulfil")) == 1
    assert shop.bodies("OmniStockFulfil")[0]["variables"]["fulfillment"]["lineItemsByFulfillmentOrder"] == [
        {"fulfillmentOrderId": "FO1"}
    ]


def test_prices_grouped_by_product(shop: FakeShop, servicer: ShopifyConnectorServicer) -> None:
    shop.graphql["OmniStockSetPrices"] = lambda v: ok({"productVariantsBulkUpdate": {"userErrors": []}})
    ctx = connection()
    ctx.settings["currency"] = "USD"

    def price(sku: str, product: str, variant: str, minor: int, currency: str = "USD") -> pb.PriceItem:
        item = pb.PriceItem(sku=sku, remote=pb.RemoteIds(ids={"product_id": product, "variant_id": variant}))
        item.price.amount_minor, item.price.currency = minor, currency
        return item

    request_items = [
        price("A", "1", "10", 999),
        price("B", "2", "20", 500),
        price("C", "1", "11", 1250),
        price("D", "1", "12", 1, "EUR"),
    ]
    response = servicer.PushPrices(pb.PushPricesRequest(connection=ctx, items=request_items), None)
    assert [r.outcome for r in response.results] == [pb.ITEM_OUTCOME_APPLIED] * 3 + [pb.ITEM_OUTCOME_REJECTED]
    assert response.calls == 2
    first = shop.bodies("OmniStockSetPrices")[0]["variables"]
    assert first == {
        "productId": "gid://shopify/Product/1",
        "variants": [
            # No compare-at price clears the one a sale left (an explicit null).
            {"id": "gid://shopify/ProductVariant/10", "price": "9.99", "compareAtPrice": None},
            {"id": "gid://shopify/ProductVariant/11", "price": "12.50", "compareAtPrice": None},
        ],
    }


def test_missing_shop_or_token(servicer: ShopifyConnectorServicer) -> None:
    ctx = connection()
    del ctx.settings["shop_domain"]  # api_base_url alone names no shop
    with pytest.raises(InvalidArgument):
        servicer.ValidateCredentials(pb.ValidateCredentialsRequest(connection=ctx), None)
    no_token = connection(refresh_token="r")
    with pytest.raises(Unauthenticated):
        servicer.ValidateCredentials(pb.ValidateCredentialsRequest(connection=no_token), None)


def test_orders_with_more_lines_than_one_page_are_completed(
    shop: FakeShop, servicer: ShopifyConnectorServicer
) -> None:
    def line(n: int) -> dict[str, Any]:
        return {"id": f"gid://shopify/LineItem/{n}", "sku": f"S{n}", "title": "t", "quantity": 1}

    shop.graphql["OmniStockOrders"] = lambda v: ok(
        {
            "orders": {
                "nodes": [
                    {
                        "id": "gid://shopify/Order/1",
                        "legacyResourceId": "1",
                        "displayFinancialStatus": "PAID",
                        "displayFulfillmentStatus": "UNFULFILLED",
                        "lineItems": {
                            "nodes": [line(n) for n in range(30)],
                            "pageInfo": {"hasNextPage": True, "endCursor": "c30"},
                        },
                    }
                ],
                "pageInfo": {"hasNextPage": True, "endCursor": "o1"},
            }
        }
    )
    shop.graphql["OmniStockOrderLines"] = lambda v: ok(
        {"order": {"lineItems": {"nodes": [line(30), line(31)], "pageInfo": {"hasNextPage": False}}}}
    )
    response = servicer.FetchOrders(pb.FetchOrdersRequest(connection=connection(), limit=500), None)
    assert [len(o.lines) for o in response.orders] == [32]
    assert response.next_cursor == "o1"
    assert shop.bodies("OmniStockOrderLines")[0]["variables"] == {
        "id": "gid://shopify/Order/1",
        "after": "c30",
    }
    assert shop.bodies("OmniStockOrders")[0]["variables"]["first"] == p.MAX_ORDERS_PAGE


# ---- where the app's secret may go (issue 12: egress) ---------------------------------------
def _authorize(servicer: ShopifyConnectorServicer, **settings: str) -> str:
    return servicer.BuildAuthorizationUrl(
        pb.BuildAuthorizationUrlRequest(
            connection=pb.ConnectionContext(channel_type="shopify", settings=settings),
            state="st",
            redirect_uri="http://gateway.test/cb",
        ),
        None,
    ).authorization_url


def test_the_shops_own_host_comes_from_its_domain(servicer: ShopifyConnectorServicer) -> None:
    assert _authorize(servicer, shop_domain="Demo-Shop.myshopify.com").startswith(
        "https://demo-shop.myshopify.com/admin/oauth/authorize?"
    )
    # shop.test is on this fixture's allow-list: a sandbox may stand in for the shop.
    assert _authorize(servicer, shop_domain="demo.myshopify.com", api_base_url="http://shop.test").startswith(
        "http://shop.test/admin/oauth/authorize?"
    )


@pytest.mark.parametrize(
    "settings",
    [
        {"shop_domain": "demo.myshopify.com", "api_base_url": "https://attacker.example"},
        {"shop_domain": "demo.myshopify.com", "api_base_url": "http://demo.myshopify.com"},
        {"shop_domain": "demo.myshopify.com", "api_base_url": "https://shop.test.attacker.example"},
    ],
)
def test_a_base_url_off_the_shop_and_the_allow_list_is_refused(
    servicer: ShopifyConnectorServicer, settings: dict[str, str]
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        _authorize(servicer, **settings)
    assert caught.value.message == "host not allowed"


@pytest.mark.parametrize(
    "shop", ["evil.com", "demo.myshopify.com.evil.test", "a.myshopify.com/x", "-a.myshopify.com"]
)
def test_a_shop_domain_that_is_not_myshopify_is_invalid(
    servicer: ShopifyConnectorServicer, shop: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        _authorize(servicer, shop_domain=shop)
    assert caught.value.violations[0].field == "connection.settings.shop_domain"
