"""Servicer + client against a scripted eBay (httpx.MockTransport; no sockets, no sleeping):
refresh on 401 errorId 1001, invalid_grant, code exchange and identity, limits, challenges."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from ebay_connector import protocol as p
from ebay_connector.config import load_settings
from ebay_connector.revisions import MemoryRevisionLedger
from ebay_connector.server import make_servicer
from ebay_connector.servicer import EbayConnectorServicer
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import (
    FailedPrecondition,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from omnistock_connector_kit.channel_http import InMemoryTokenBucket
from omnistock_connector_kit.composition import Seams
from omnistock_connector_kit.connector_base import datetime_to_timestamp

NOW = datetime(2026, 12, 6, 19, 0, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


class FakeEbay:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Handler] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.routes[(request.method, request.url.path)](request)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def servicer(fake: FakeEbay, ledger: MemoryRevisionLedger | None = None) -> EbayConnectorServicer:
    settings = load_settings({"EBAY_MAX_ATTEMPTS": "3"})
    seams = Seams(
        limiter=InMemoryTokenBucket(capacity=1000, refill_per_second=1000),
        transport=lambda: httpx.MockTransport(fake),
        sleep=lambda _s: None,
    )
    built = make_servicer(settings, seams, ledger or MemoryRevisionLedger())
    built._clock = lambda: NOW
    return built


def connection(**secrets: str) -> pb.ConnectionContext:
    creds = pb.Credentials(
        secrets=secrets or {"access_token": "old", "refresh_token": "R"},
        scopes=list(p.DEFAULT_SCOPES),
        refresh_token_expires_at=datetime_to_timestamp(NOW + timedelta(days=20)),
    )
    return pb.ConnectionContext(connection_id="c1", tenant_id="t1", channel_type="ebay", credentials=creds)


def token_ok(request: httpx.Request) -> httpx.Response:
    form = parse_qs(request.content.decode())
    assert request.headers["authorization"].startswith("Basic ")
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["R"]
    assert form["scope"] == [" ".join(p.DEFAULT_SCOPES)]
    return httpx.Response(
        200, json={"access_token": "new", "expires_in": 7200, "token_type": "User Access Token"}
    )


def bulk_ok(request: httpx.Request) -> httpx.Response:
    if request.headers["authorization"] != "Bearer new":
        return httpx.Response(401, json={"errors": [{"errorId": 1001, "message": "Invalid access token"}]})
    entries = json.loads(request.content)["requests"]
    return httpx.Response(200, json={"responses": [{"statusCode": 200, "sku": e["sku"]} for e in entries]})


def test_a_401_1001_refreshes_once_retries_once_and_returns_the_new_access_token() -> None:
    fake = FakeEbay()
    fake.routes[("POST", p.TOKEN_PATH)] = token_ok
    fake.routes[("POST", p.BULK_PRICE_QUANTITY_PATH)] = bulk_ok
    response = servicer(fake).PushInventory(
        pb.PushInventoryRequest(connection=connection(), items=[pb.InventoryItem(sku="A", quantity=3)]), None
    )
    assert [r.outcome for r in response.results] == [pb.ITEM_OUTCOME_APPLIED]
    assert fake.paths() == [p.BULK_PRICE_QUANTITY_PATH, p.TOKEN_PATH, p.BULK_PRICE_QUANTITY_PATH]
    refreshed = response.refreshed_credentials
    assert refreshed.secrets["access_token"] == "new" and refreshed.secrets["refresh_token"] == "R"
    assert refreshed.refresh_token_expires_at.ToDatetime(tzinfo=UTC) == NOW + timedelta(days=20)
    assert response.limits["refresh_token_days_left"] == "20"
    assert "refresh_token_warning" in response.limits
    assert response.limits["revisions_left_lowest"] == "249"


def test_a_refused_refresh_token_is_unauthenticated_with_ebays_reason() -> None:
    fake = FakeEbay()
    fake.routes[("POST", p.TOKEN_PATH)] = lambda r: httpx.Response(
        400,
        json={
            "error": "invalid_grant",
            "error_description": "the provided authorization refresh token is invalid",
        },
    )
    fake.routes[("POST", p.BULK_PRICE_QUANTITY_PATH)] = bulk_ok
    ledger = MemoryRevisionLedger()
    with pytest.raises(Unauthenticated) as caught:
        servicer(fake, ledger).PushInventory(
            pb.PushInventoryRequest(connection=connection(), items=[pb.InventoryItem(sku="A", quantity=3)]),
            None,
        )
    assert caught.value.reason == "CREDENTIALS_REVOKED" and "refresh token is invalid" in caught.value.message
    assert ledger.spent("c1", p.ebay_day(NOW), "A") == 0  # the failed call spent no revision
    with pytest.raises(Unauthenticated):
        servicer(fake).RefreshCredentials(pb.RefreshCredentialsRequest(connection=connection()), None)


def test_refresh_keeps_the_refresh_token_and_its_expiry() -> None:
    fake = FakeEbay()
    fake.routes[("POST", p.TOKEN_PATH)] = token_ok
    credentials = (
        servicer(fake)
        .RefreshCredentials(pb.RefreshCredentialsRequest(connection=connection()), None)
        .credentials
    )
    assert credentials.secrets == {"access_token": "new", "refresh_token": "R"}
    assert credentials.access_token_expires_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC) + timedelta(
        seconds=7000
    )
    assert credentials.refresh_token_expires_at.ToDatetime(tzinfo=UTC) == NOW + timedelta(days=20)


def test_exchange_code_learns_the_seller() -> None:
    fake = FakeEbay()

    def token(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        assert form == {
            "grant_type": ["authorization_code"],
            "code": ["v^1.1#i^1"],
            "redirect_uri": ["OmniStock-Sandbox-RuName"],
        }
        return httpx.Response(
            200,
            json={
                "access_token": "A1",
                "expires_in": 7200,
                "refresh_token": "R1",
                "refresh_token_expires_in": 47304000,
            },
        )

    fake.routes[("POST", p.TOKEN_PATH)] = token
    fake.routes[("GET", p.IDENTITY_USER_PATH)] = lambda r: httpx.Response(
        200, json={"userId": "u-1", "username": "seller_one"}
    )
    response = servicer(fake).ExchangeCode(
        pb.ExchangeCodeRequest(
            connection=pb.ConnectionContext(channel_type="ebay"),
            callback_params={"code": "v%5E1.1%23i%5E1", "state": "s"},
        ),
        None,
    )
    assert dict(response.settings) == {
        "store_id": "u-1",
        "store_name": "seller_one",
        "marketplace_id": "EBAY_US",
        "currency": "USD",
    }
    assert response.credentials.secrets == {"access_token": "A1", "refresh_token": "R1"}
    assert list(response.credentials.scopes) == list(p.DEFAULT_SCOPES)
    assert fake.requests[1].url.host == "apiz.ebay.com"


def test_a_429_that_outlives_the_retries_is_resource_exhausted() -> None:
    fake = FakeEbay()
    fake.routes[("GET", p.ORDERS_PATH)] = lambda r: httpx.Response(
        429, headers={"Retry-After": "3"}, json={"errors": [{"errorId": 2001}]}
    )
    with pytest.raises(ResourceExhausted):
        servicer(fake).FetchOrders(pb.FetchOrdersRequest(connection=connection(access_token="new")), None)
    assert len(fake.requests) == 3


def test_challenge_answer_and_refusal() -> None:
    built = servicer(FakeEbay())
    answer = built.AnswerWebhookChallenge(
        pb.AnswerWebhookChallengeRequest(
            query={"challenge_code": "abc"}, endpoint_url="https://x.test/webhooks/ebay/c1"
        ),
        None,
    )
    assert answer.content_type == "application/json"
    token = load_settings({}).verification_token
    assert json.loads(answer.body) == {
        "challengeResponse": p.challenge_response("abc", token, "https://x.test/webhooks/ebay/c1")
    }
    with pytest.raises(PermissionDenied):
        built.AnswerWebhookChallenge(
            pb.AnswerWebhookChallengeRequest(query={}, endpoint_url="https://x.test/h"), None
        )


def test_publishing_without_the_listing_settings_is_rejected_before_any_call() -> None:
    fake = FakeEbay()
    built = servicer(fake)
    product = pb.ProductUpsert(
        product_id="p1",
        product=pb.CatalogProduct(
            title="Mug",
            description="A mug",
            image_urls=["https://cdn.test/m.jpg"],
            variants=[pb.CatalogVariant(sku="MUG", price=common_pb2.Money(amount_minor=995, currency="USD"))],
        ),
    )
    answer = built.UpsertProducts(
        pb.UpsertProductsRequest(connection=connection(access_token="new"), products=[product]), None
    )
    [result] = answer.results
    assert result.outcome == pb.ITEM_OUTCOME_REJECTED and "category_id" in result.message
    assert "merchant_location_key" in result.message and fake.requests == [] and answer.calls == 0
    described = built.Describe(pb.DescribeRequest(), None)
    assert pb.CAPABILITY_CATALOG in described.capabilities and described.max_inventory_batch == 25
    assert described.max_product_batch == 10


def test_cancel_of_a_shipped_order_is_refused_without_a_post_order_call() -> None:
    fake = FakeEbay()
    order = {"orderId": "12-1", "legacyOrderId": "12-1", "orderFulfillmentStatus": "FULFILLED"}
    fake.routes[("GET", f"{p.ORDERS_PATH}/12-1")] = lambda _r: httpx.Response(200, json=order)
    with pytest.raises(FailedPrecondition) as refused:
        servicer(fake).CancelOrder(
            pb.CancelOrderRequest(connection=connection(access_token="new"), external_order_id="12-1"), None
        )
    assert "shipped" in refused.value.message and fake.paths() == [f"{p.ORDERS_PATH}/12-1"]


def test_cancel_posts_to_post_order_with_iaf_and_the_marketplace() -> None:
    fake = FakeEbay()
    order = {"orderId": "12-1", "legacyOrderId": "12-1", "orderFulfillmentStatus": "NOT_STARTED"}
    fake.routes[("GET", f"{p.ORDERS_PATH}/12-1")] = lambda _r: httpx.Response(200, json=order)
    seen: list[httpx.Request] = []

    def cancel(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"cancelId": "5000001", "orderEligibilityResult": {"eligible": True}})

    fake.routes[("POST", p.CANCELLATION_PATH)] = cancel
    answer = servicer(fake).CancelOrder(
        pb.CancelOrderRequest(
            connection=connection(access_token="new"), external_order_id="12-1", reason="customer"
        ),
        None,
    )
    assert answer.external_id == "5000001"
    assert seen[0].headers["authorization"] == "IAF new"
    assert seen[0].headers["x-ebay-c-marketplace-id"] == "EBAY_US"
    assert json.loads(seen[0].content) == {"legacyOrderId": "12-1", "cancelReason": "BUYER_ASKED_CANCEL"}

    fake.routes[("POST", p.CANCELLATION_PATH)] = lambda _r: httpx.Response(
        200, json={"orderEligibilityResult": {"eligible": False, "failureReason": ["CUTOFF_PASSED"]}}
    )
    with pytest.raises(FailedPrecondition) as refused:
        servicer(fake).CancelOrder(
            pb.CancelOrderRequest(connection=connection(access_token="new"), external_order_id="12-1"), None
        )
    assert "CUTOFF_PASSED" in refused.value.message


def test_more_than_25_items_go_in_several_calls() -> None:
    fake = FakeEbay()
    seen: list[int] = []

    def bulk(request: httpx.Request) -> httpx.Response:
        entries = json.loads(request.content)["requests"]
        seen.append(len(entries))
        return httpx.Response(
            200, json={"responses": [{"statusCode": 200, "sku": e["sku"]} for e in entries]}
        )

    fake.routes[("POST", p.BULK_PRICE_QUANTITY_PATH)] = bulk
    items = [pb.InventoryItem(sku=f"S{i}", quantity=i) for i in range(60)]
    response = servicer(fake).PushInventory(
        pb.PushInventoryRequest(connection=connection(access_token="new"), items=items), None
    )
    assert seen == [25, 25, 10] and response.calls == 3
    assert {r.outcome for r in response.results} == {pb.ITEM_OUTCOME_APPLIED}
    assert [r.sku for r in response.results] == [f"S{i}" for i in range(60)]


def test_fetch_orders_asks_for_at_most_the_last_90_days() -> None:
    fake = FakeEbay()
    fake.routes[("GET", p.ORDERS_PATH)] = lambda r: httpx.Response(200, json={"orders": [], "total": 0})
    since = datetime_to_timestamp(NOW - timedelta(days=200))
    servicer(fake).FetchOrders(
        pb.FetchOrdersRequest(connection=connection(access_token="new"), updated_since=since), None
    )
    query = fake.requests[0].url.query.decode()
    assert query.startswith("filter=lastmodifieddate:%5B2026-09-07T19:00:00.000Z..%5D&")


def test_a_page_of_auto_map_fits_in_the_default_bucket() -> None:
    """One getInventoryItems and one getOffers per SKU: a page must not outrun the production
    bucket's burst (no waiting, no RESOURCE_EXHAUSTED)."""
    settings = load_settings({})
    fake = FakeEbay()

    def items(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        offset = int(request.url.params["offset"])
        page = [{"sku": f"S{i}"} for i in range(offset, min(offset + limit, 500))]
        return httpx.Response(200, json={"inventoryItems": page, "total": 500, "next": "more"})

    def offers(request: httpx.Request) -> httpx.Response:
        sku = request.url.params["sku"]
        return httpx.Response(
            200,
            json={
                "offers": [
                    {
                        "offerId": f"O-{sku}",
                        "sku": sku,
                        "marketplaceId": "EBAY_US",
                        "listing": {"listingId": f"L-{sku}"},
                    }
                ]
            },
        )

    fake.routes[("GET", p.INVENTORY_ITEMS_PATH)] = items
    fake.routes[("GET", p.OFFERS_PATH)] = offers
    seams = Seams(
        limiter=InMemoryTokenBucket(
            capacity=settings.bucket_capacity, refill_per_second=settings.bucket_refill_per_second
        ),
        transport=lambda: httpx.MockTransport(fake),
        sleep=lambda _s: None,
    )
    built = make_servicer(settings, seams, MemoryRevisionLedger())
    page = built.ListRemoteProducts(
        pb.ListRemoteProductsRequest(connection=connection(access_token="new"), limit=500), None
    )
    assert len(page.products) == p.MAX_INVENTORY_PAGE and page.next_cursor == str(p.MAX_INVENTORY_PAGE)
    assert dict(page.products[0].remote.ids) == {"sku": "S0", "offer_id": "O-S0", "listing_id": "L-S0"}
    assert len(fake.requests) == p.MAX_INVENTORY_PAGE + 1 <= settings.bucket_capacity


LISTING_SETTINGS = {
    "category_id": "1",
    "fulfillment_policy_id": "F",
    "payment_policy_id": "P",
    "return_policy_id": "R",
    "merchant_location_key": "W",
}


def _mug(product_id: str, sku: str) -> pb.ProductUpsert:
    return pb.ProductUpsert(
        product_id=product_id,
        product=pb.CatalogProduct(
            title="Mug",
            description="A mug",
            image_urls=["https://cdn.test/m.jpg"],
            variants=[pb.CatalogVariant(sku=sku, price=common_pb2.Money(amount_minor=995, currency="USD"))],
        ),
    )


def _publishing_fake(down: set[str]) -> FakeEbay:
    """A new SKU everywhere; every call about a SKU in `down` answers 503."""
    fake = FakeEbay()

    def by_sku(request: httpx.Request) -> httpx.Response:
        sku = request.url.params.get("sku") or request.url.path.rsplit("/", 1)[-1]
        if sku in down:
            return httpx.Response(503, json={"errors": [{"errorId": 25001, "message": "System error"}]})
        return httpx.Response(404, json={"errors": [{"errorId": 25710, "message": "not found"}]})

    for sku in ("A", "B"):
        fake.routes[("GET", p.inventory_item_path(sku))] = by_sku
        fake.routes[("PUT", p.inventory_item_path(sku))] = lambda r: (
            httpx.Response(204) if r.headers.get("content-language") == "en-US" else httpx.Response(400)
        )
    fake.routes[("GET", p.OFFERS_PATH)] = by_sku
    fake.routes[("POST", p.OFFERS_PATH)] = lambda r: httpx.Response(
        400,
        json={"errors": [{"errorId": 25002, "message": "A user error", "longMessage": "No category 1"}]},
    )
    return fake


def test_publishing_a_transient_failure_raises_first_then_is_retry_and_a_refusal_is_rejected() -> None:
    request = pb.UpsertProductsRequest(
        connection=pb.ConnectionContext(
            connection_id="c1",
            channel_type="ebay",
            settings=LISTING_SETTINGS,
            credentials=pb.Credentials(secrets={"access_token": "new"}),
        ),
        products=[_mug("p1", "A"), _mug("p2", "B")],
    )
    with pytest.raises(Unavailable):
        servicer(_publishing_fake({"A"})).UpsertProducts(request, None)
    answer = servicer(_publishing_fake({"B"})).UpsertProducts(request, None)
    first, second = answer.results
    assert first.outcome == pb.ITEM_OUTCOME_REJECTED
    assert first.message == "eBay refused createOffer: 25002 No category 1" and first.external_id == "A"
    assert second.outcome == pb.ITEM_OUTCOME_RETRY and "503" in second.message
