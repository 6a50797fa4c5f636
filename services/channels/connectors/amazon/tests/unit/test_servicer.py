"""Servicer + client against a scripted SP-API (httpx.MockTransport; no sockets, no sleeping):
refresh-once, error mapping, marketplace choice, the patch/feed split and its partial failures."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable

import httpx
import pytest

from amazon_connector.config import load_settings
from amazon_connector.server import make_servicer
from amazon_connector.servicer import AmazonConnectorServicer
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import Code, FailedPrecondition, InvalidArgument, Unauthenticated
from omnistock_connector_kit.channel_http import InMemoryTokenBucket
from omnistock_connector_kit.composition import Seams
from omnistock_connector_kit.connector_base import ResourceExhausted, Unavailable

Handler = Callable[[httpx.Request], httpx.Response]


class FakeAmazon:
    """Routes (method, path prefix) to handlers; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: list[tuple[str, str, Handler]] = []

    def on(self, method: str, prefix: str, handler: Handler) -> None:
        self.routes.insert(0, (method, prefix, handler))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for method, prefix, handler in self.routes:
            if request.method == method and request.url.path.startswith(prefix):
                return handler(request)
        raise AssertionError(f"unexpected {request.method} {request.url}")

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


def denied(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        403, json={"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied."}]}
    )


def token(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "access_token": "Atza|new",
            "refresh_token": "Atzr|1",
            "token_type": "bearer",
            "expires_in": 3600,
        },
    )


@pytest.fixture
def amazon() -> FakeAmazon:
    return FakeAmazon()


@pytest.fixture
def servicer(amazon: FakeAmazon) -> AmazonConnectorServicer:
    settings = load_settings(
        {"AMAZON_MAX_ATTEMPTS": "3", "CHANNEL_ALLOWED_HOSTS": "sp.test:*", "AMAZON_FEED_POLL_SECONDS": "0"}
    )
    return make_servicer(
        settings,
        Seams(
            limiter=InMemoryTokenBucket(1e9, 1e9),
            transport=lambda: httpx.MockTransport(amazon),
            sleep=lambda s: None,
        ),
    )


def connection(**settings: str) -> pb.ConnectionContext:
    return pb.ConnectionContext(
        connection_id="c1",
        tenant_id="t1",
        channel_type="amazon",
        settings={
            "api_base_url": "http://sp.test",
            "region": "na",
            "seller_id": "A1",
            "marketplace_id": "ATVPDKIKX0DER",
            "currency": "USD",
            **settings,
        },
        credentials=pb.Credentials(secrets={"access_token": "Atza|old", "refresh_token": "Atzr|1"}),
    )


def items(n: int) -> list[pb.InventoryItem]:
    return [
        pb.InventoryItem(sku=f"S{i}", quantity=i, remote=pb.RemoteIds(ids={"sku": f"S{i}"})) for i in range(n)
    ]


def accepted(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"sku": "x", "status": "ACCEPTED", "submissionId": "1", "issues": []})


def test_a_403_unauthorized_refreshes_once_and_returns_the_new_token(
    amazon: FakeAmazon, servicer: AmazonConnectorServicer
) -> None:
    calls: list[str] = []

    def patch(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["x-amz-access-token"])
        return denied(request) if request.headers["x-amz-access-token"] == "Atza|old" else accepted(request)

    amazon.on("PATCH", "/listings/2021-08-01/items/A1/", patch)
    amazon.on("POST", "/auth/o2/token", token)
    response = servicer.PushInventory(pb.PushInventoryRequest(connection=connection(), items=items(2)), None)
    assert [r.outcome for r in response.results] == [pb.ITEM_OUTCOME_APPLIED] * 2
    assert calls == ["Atza|old", "Atza|new", "Atza|new"]
    assert response.refreshed_credentials.secrets == {"access_token": "Atza|new", "refresh_token": "Atzr|1"}
    token_request = next(r for r in amazon.requests if r.url.path == "/auth/o2/token")
    assert "x-amz-access-token" not in token_request.headers
    assert dict(httpx.QueryParams(token_request.content.decode()))["grant_type"] == "refresh_token"


def test_a_second_refusal_is_credentials_revoked(
    amazon: FakeAmazon, servicer: AmazonConnectorServicer
) -> None:
    amazon.on("PATCH", "/listings/", denied)
    amazon.on("POST", "/auth/o2/token", token)
    with pytest.raises(Unauthenticated) as refused:
        servicer.PushInventory(pb.PushInventoryRequest(connection=connection(), items=items(1)), None)
    assert refused.value.reason == "CREDENTIALS_REVOKED"
    assert amazon.paths().count("POST /auth/o2/token") == 1


def test_invalid_grant_is_credentials_revoked(amazon: FakeAmazon, servicer: AmazonConnectorServicer) -> None:
    amazon.on(
        "POST",
        "/auth/o2/token",
        lambda r: httpx.Response(400, json={"error": "invalid_grant", "error_description": "gone"}),
    )
    with pytest.raises(Unauthenticated) as refused:
        servicer.RefreshCredentials(pb.RefreshCredentialsRequest(connection=connection()), None)
    assert refused.value.reason == "CREDENTIALS_REVOKED"


def test_429_is_retried_then_resource_exhausted(
    amazon: FakeAmazon, servicer: AmazonConnectorServicer
) -> None:
    amazon.on(
        "PATCH",
        "/listings/",
        lambda r: httpx.Response(429, json={"errors": [{"code": "QuotaExceeded", "message": "q"}]}),
    )
    with pytest.raises(ResourceExhausted):
        servicer.PushInventory(pb.PushInventoryRequest(connection=connection(), items=items(1)), None)
    assert amazon.paths().count("PATCH /listings/2021-08-01/items/A1/S0") == 3


def test_a_failure_after_some_patches_leaves_the_rest_retry(
    amazon: FakeAmazon, servicer: AmazonConnectorServicer
) -> None:
    answers = iter(
        [
            accepted,
            lambda r: httpx.Response(503),
            lambda r: httpx.Response(503),
            lambda r: httpx.Response(503),
        ]
    )
    amazon.on("PATCH", "/listings/", lambda r: next(answers)(r))
    response = servicer.PushInventory(pb.PushInventoryRequest(connection=connection(), items=items(3)), None)
    assert [r.outcome for r in response.results] == [
        pb.ITEM_OUTCOME_APPLIED,
        pb.ITEM_OUTCOME_RETRY,
        pb.ITEM_OUTCOME_RETRY,
    ]
    assert list(response.retried) == ["HTTP 503", "HTTP 503"]


def test_more_than_the_threshold_goes_as_a_feed_and_the_upload_carries_no_token(
    amazon: FakeAmazon, servicer: AmazonConnectorServicer
) -> None:
    uploaded: list[httpx.Request] = []
    polls = iter(["IN_QUEUE", "IN_PROGRESS", "DONE"])
    report = {
        "issues": [
            {"messageId": 3, "sku": "S2", "code": "8541", "severity": "ERROR", "message": "no such SKU"}
        ],
        "summary": {},
    }
    amazon.on(
        "POST",
        "/feeds/2021-06-30/documents",
        lambda r: httpx.Response(201, json={"feedDocumentId": "d1", "url": "http://sp.test/s3/d1?sig=1"}),
    )
    amazon.on("PUT", "/s3/d1", lambda r: uploaded.append(r) or httpx.Response(200))
    amazon.on("POST", "/feeds/2021-06-30/feeds", lambda r: httpx.Response(202, json={"feedId": "f1"}))
    amazon.on(
        "GET",
        "/feeds/2021-06-30/feeds/f1",
        lambda r: httpx.Response(
            200,
            json={
                "feedId": "f1",
                "processingStatus": (s := next(polls)),
                **({"resultFeedDocumentId": "d2"} if s == "DONE" else {}),
            },
        ),
    )
    amazon.on(
        "GET",
        "/feeds/2021-06-30/documents/d2",
        lambda r: httpx.Response(
            200, json={"feedDocumentId": "d2", "url": "http://sp.test/s3/d2", "compressionAlgorithm": "GZIP"}
        ),
    )
    amazon.on(
        "GET", "/s3/d2", lambda r: httpx.Response(200, content=gzip.compress(json.dumps(report).encode()))
    )
    response = servicer.PushInventory(pb.PushInventoryRequest(connection=connection(), items=items(11)), None)
    outcomes = [r.outcome for r in response.results]
    assert outcomes[2] == pb.ITEM_OUTCOME_REJECTED and "no such SKU" in response.results[2].message
    assert outcomes.count(pb.ITEM_OUTCOME_APPLIED) == 10
    (upload,) = uploaded
    assert (
        "x-amz-access-token" not in upload.headers
        and upload.headers["content-type"] == "application/json; charset=UTF-8"
    )
    feed = json.loads(upload.content)
    assert feed["header"]["sellerId"] == "A1" and len(feed["messages"]) == 11
    created = json.loads(next(r for r in amazon.requests if r.url.path == "/feeds/2021-06-30/feeds").content)
    assert created == {
        "feedType": "JSON_LISTINGS_FEED",
        "marketplaceIds": ["ATVPDKIKX0DER"],
        "inputFeedDocumentId": "d1",
    }
    assert response.calls == len(amazon.requests) == 8


def test_exchange_code_learns_the_seller_and_its_only_marketplace(
    amazon: FakeAmazon, servicer: AmazonConnectorServicer
) -> None:
    amazon.on("POST", "/auth/o2/token", token)
    participations = [
        {
            "marketplace": {
                "id": "A1F83G8C2ARO7P",
                "countryCode": "GB",
                "defaultCurrencyCode": "GBP",
                "name": "Amazon.co.uk",
            },
            "participation": {"isParticipating": True},
        },
        {
            "marketplace": {
                "id": "A1PA6795UKMFR9",
                "countryCode": "DE",
                "defaultCurrencyCode": "EUR",
                "name": "Amazon.de",
            },
            "participation": {"isParticipating": False},
        },
    ]
    amazon.on(
        "GET",
        "/sellers/v1/marketplaceParticipations",
        lambda r: httpx.Response(200, json={"payload": participations}),
    )
    ctx = pb.ConnectionContext(
        connection_id="c1", channel_type="amazon", settings={"api_base_url": "http://sp.test", "region": "eu"}
    )
    response = servicer.ExchangeCode(
        pb.ExchangeCodeRequest(
            connection=ctx,
            callback_params={"spapi_oauth_code": "code1", "selling_partner_id": "A3SELLER", "state": "s"},
            redirect_uri="https://o.test/cb",
        ),
        None,
    )
    assert dict(response.settings) == {
        "store_id": "A3SELLER",
        "seller_id": "A3SELLER",
        "marketplace_id": "A1F83G8C2ARO7P",
        "region": "eu",
        "currency": "GBP",
    }
    form = dict(httpx.QueryParams(amazon.requests[0].content.decode()))
    assert (
        form["grant_type"] == "authorization_code"
        and form["code"] == "code1"
        and form["redirect_uri"] == "https://o.test/cb"
    )
    assert amazon.requests[1].headers["x-amz-access-token"] == "Atza|new"


def test_the_region_picks_the_host_and_api_base_url_moves_every_one(
    servicer: AmazonConnectorServicer,
) -> None:
    url = servicer.BuildAuthorizationUrl(
        pb.BuildAuthorizationUrlRequest(
            connection=connection(region="eu"), state="s", redirect_uri="https://o.test/cb"
        ),
        None,
    ).authorization_url
    assert url.startswith("http://sp.test/apps/authorize/consent?application_id=")
    bare = pb.ConnectionContext(settings={"region": "fe"})
    assert servicer.BuildAuthorizationUrl(
        pb.BuildAuthorizationUrlRequest(connection=bare, state="s", redirect_uri="r"), None
    ).authorization_url.startswith("https://sellercentral.amazon.co.jp/apps/authorize/consent?")
    assert (
        servicer.clients.base_url(pb.ConnectionContext(settings={"region": "eu"}))
        == "https://sellingpartnerapi-eu.amazon.com"
    )
    with pytest.raises(InvalidArgument):
        servicer.clients.base_url(pb.ConnectionContext(settings={"region": "mars"}))
    with pytest.raises(InvalidArgument):  # not on CHANNEL_ALLOWED_HOSTS
        servicer.clients.base_url(pb.ConnectionContext(settings={"api_base_url": "http://evil.test"}))


def test_unsupported_rpcs_say_so(servicer: AmazonConnectorServicer) -> None:
    for call, request in (
        (servicer.AnswerWebhookChallenge, pb.AnswerWebhookChallengeRequest(connection=connection())),
    ):
        with pytest.raises(FailedPrecondition):
            call(request, None)
    with pytest.raises(Unauthenticated) as hook:
        servicer.ParseWebhook(pb.ParseWebhookRequest(connection=connection(), raw_body=b"{}"), None)
    assert hook.value.code is Code.UNAUTHENTICATED
    with pytest.raises(InvalidArgument):
        servicer.CancelOrder(pb.CancelOrderRequest(connection=connection(), external_order_id="12-34"), None)
    with pytest.raises(InvalidArgument):
        servicer.CreateFulfillment(
            pb.CreateFulfillmentRequest(
                connection=connection(), external_order_id="1234", tracking_number="t"
            ),
            None,
        )


def test_calls_need_the_seller_settings(servicer: AmazonConnectorServicer) -> None:
    ctx = connection()
    del ctx.settings["marketplace_id"]
    with pytest.raises(InvalidArgument):
        servicer.ReadInventory(pb.ReadInventoryRequest(connection=ctx, items=items(1)), None)


def test_a_known_marketplace_survives_an_unreadable_participations_call(
    amazon: FakeAmazon, servicer: AmazonConnectorServicer
) -> None:
    amazon.on("POST", "/auth/o2/token", token)
    amazon.on("GET", "/sellers/v1/marketplaceParticipations", lambda r: httpx.Response(503))
    params = {"spapi_oauth_code": "code1", "selling_partner_id": "A3SELLER"}
    chosen = pb.ConnectionContext(
        settings={"api_base_url": "http://sp.test", "marketplace_id": "A1PA6795UKMFR9"}
    )
    response = servicer.ExchangeCode(pb.ExchangeCodeRequest(connection=chosen, callback_params=params), None)
    assert (response.settings["marketplace_id"], response.settings["currency"]) == ("A1PA6795UKMFR9", "EUR")
    assert response.credentials.secrets["access_token"] == "Atza|new"
    unchosen = pb.ConnectionContext(settings={"api_base_url": "http://sp.test"})
    with pytest.raises(Unavailable):
        servicer.ExchangeCode(pb.ExchangeCodeRequest(connection=unchosen, callback_params=params), None)
