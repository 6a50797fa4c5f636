"""The servicer and client against a mock Graph API: how Meta's answers become the contract's
errors and outcomes (rate limits with usage headers, token errors, per-item batch errors, lost
acknowledgements), and the enums map by name."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from meta_connector import mapping as m
from meta_connector import protocol as p
from meta_connector.client import usage_observer
from meta_connector.config import load_settings
from meta_connector.server import make_servicer
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import FailedPrecondition, PermissionDenied, ResourceExhausted, Unauthenticated
from omnistock_connector_kit.composition import Seams
from omnistock_connector_kit.rate_limit import InMemoryTokenBucket

CATALOG = "300000000000001"


def servicer(handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float] | None = None) -> Any:
    seams = Seams(
        limiter=InMemoryTokenBucket(capacity=1000, refill_per_second=1000),
        sleep=(sleeps if sleeps is not None else []).append,
        transport=lambda: httpx.MockTransport(handler),
    )
    return make_servicer(load_settings({}), seams)


def connection(**settings: str) -> pb.ConnectionContext:
    return pb.ConnectionContext(
        connection_id="c1",
        channel_type="facebook",
        settings={"store_id": CATALOG, **settings},
        credentials=pb.Credentials(secrets={"access_token": "user-token", "page_access_token": "page-token"}),
    )


def error(
    code: int, subcode: int = 0, status: int = 400, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {
        "error": {
            "message": f"error {code}",
            "type": "OAuthException",
            "code": code,
            "error_subcode": subcode,
        }
    }
    return httpx.Response(status, json=body, headers=headers)


def test_enums_map_by_name() -> None:
    assert set(m.ORDER_STATUSES) == set(p.UnifiedStatus)
    assert m.WEBHOOK_KINDS[p.WebhookKind.OTHER] == pb.WEBHOOK_KIND_OTHER


def test_a_long_rate_limit_is_resource_exhausted_with_the_usage_estimate() -> None:
    usage = json.dumps({"1": [{"estimated_time_to_regain_access": 4}]})
    service = servicer(lambda request: error(80014, headers={"X-Business-Use-Case-Usage": usage}))
    with pytest.raises(ResourceExhausted) as limited:
        service.PushInventory(
            pb.PushInventoryRequest(connection=connection(), items=[pb.InventoryItem(sku="A")]), None
        )
    assert limited.value.retry_after == 240


def test_token_errors_are_unauthenticated_in_words() -> None:
    service = servicer(lambda request: error(190, 460))
    with pytest.raises(Unauthenticated) as revoked:
        service.ValidateCredentials(pb.ValidateCredentialsRequest(connection=connection()), None)
    assert revoked.value.reason == "CREDENTIALS_REVOKED" and "password" in revoked.value.message


def test_a_permission_error_asks_for_reconnection() -> None:
    service = servicer(lambda request: error(200, status=403))
    with pytest.raises(Unauthenticated) as missing:
        service.ReadInventory(
            pb.ReadInventoryRequest(connection=connection(), items=[pb.InventoryItem(sku="A")]), None
        )
    assert "permission" in missing.value.message


def test_push_results_follow_the_batch_status_and_keep_the_input_order() -> None:
    polls: list[str] = []

    def graph(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer user-token"
        if request.url.path.endswith("/items_batch"):
            sent = json.loads(dict(httpx.QueryParams(request.content.decode()))["requests"])
            assert [r["data"]["id"] for r in sent] == ["A", "B"]
            return httpx.Response(200, json={"handles": ["h1"]})
        polls.append(request.url.params["handle"])
        status = "in_progress" if len(polls) == 1 else "finished"
        return httpx.Response(
            200,
            json={
                "data": [
                    {
                        "status": status,
                        "errors": [{"id": "B", "message": "bad"}] if status == "finished" else [],
                    }
                ]
            },
        )

    sleeps: list[float] = []
    items = [
        pb.InventoryItem(sku="A", quantity=1),
        pb.InventoryItem(sku="", quantity=1),
        pb.InventoryItem(sku="B", quantity=2),
    ]
    answer = servicer(graph, sleeps).PushInventory(
        pb.PushInventoryRequest(connection=connection(), items=items), None
    )
    assert [(r.sku, r.outcome) for r in answer.results] == [
        ("A", pb.ITEM_OUTCOME_APPLIED),
        ("", pb.ITEM_OUTCOME_REJECTED),
        ("B", pb.ITEM_OUTCOME_REJECTED),
    ]
    assert polls == ["h1", "h1"] and sleeps == [0.2]  # the first look comes early (FIRST_POLL_WAIT)


def test_a_refused_acknowledgement_keeps_the_order_out() -> None:
    def graph(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/commerce_orders"):
            assert request.headers["authorization"] == "Bearer page-token"
            return httpx.Response(
                200,
                json={
                    "data": [
                        {"id": "81", "order_status": {"state": "CREATED"}},
                        {"id": "82", "order_status": {"state": "CREATED"}},
                    ]
                },
            )
        if path.endswith("/81/acknowledge_order"):
            return error(100)
        if path.endswith("/acknowledge_order"):
            return httpx.Response(200, json={"success": True})
        if path.endswith("/items"):
            return httpx.Response(200, json={"data": [{"id": "i", "retailer_id": "A", "quantity": 1}]})
        raise AssertionError(path)

    answer = servicer(graph).FetchOrders(pb.FetchOrdersRequest(connection=connection(cms_id="5")), None)
    assert [o.external_id for o in answer.orders] == ["82"]
    assert answer.orders[0].raw_status == "IN_PROGRESS"


def test_no_commerce_account_means_no_orders_and_no_shipping() -> None:
    service = servicer(lambda request: pytest.fail("no call expected"))
    assert not service.FetchOrders(pb.FetchOrdersRequest(connection=connection()), None).orders
    with pytest.raises(FailedPrecondition) as refused:
        service.CancelOrder(pb.CancelOrderRequest(connection=connection(), external_order_id="81"), None)
    assert refused.value.reason == "NO_ONSITE_CHECKOUT"


def test_a_refused_code_says_so() -> None:
    service = servicer(lambda request: error(100, 36009))
    request = pb.ExchangeCodeRequest(
        connection=connection(), callback_params={"code": "c", "state": "s"}, redirect_uri="https://o.test/cb"
    )
    with pytest.raises(FailedPrecondition) as refused:
        service.ExchangeCode(request, None)
    assert refused.value.reason == "AUTHORIZATION_CODE_REJECTED"
    denied = pb.ExchangeCodeRequest(
        connection=connection(), callback_params={"error": "access_denied"}, redirect_uri="x"
    )
    with pytest.raises(Unauthenticated):
        service.ExchangeCode(denied, None)


def test_challenge_needs_the_verify_token() -> None:
    service = servicer(lambda request: pytest.fail("no call expected"))
    query = {"hub.mode": "subscribe", "hub.verify_token": "sandbox-meta-verify-token", "hub.challenge": "42"}
    answer = service.AnswerWebhookChallenge(pb.AnswerWebhookChallengeRequest(query=query), None)
    assert answer.body == b"42" and answer.content_type == "text/plain"
    with pytest.raises(PermissionDenied):
        service.AnswerWebhookChallenge(
            pb.AnswerWebhookChallengeRequest(query={**query, "hub.challenge": ""}), None
        )


def _publish_product(product_id: str, *skus: str, image: bool = True) -> pb.ProductUpsert:
    return pb.ProductUpsert(
        product_id=product_id,
        product=pb.CatalogProduct(
            title=f"Product {product_id}",
            description="Plain text",
            vendor="Acme",
            image_urls=["https://img.test/1.jpg"] if image else [],
            variants=[
                pb.CatalogVariant(sku=sku, price=common_pb2.Money(amount_minor=1000, currency="USD"))
                for sku in skus
            ],
        ),
    )


def test_upsert_refuses_before_the_call_and_attributes_item_errors_to_their_product() -> None:
    sent: list[dict[str, Any]] = []

    def graph(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/items_batch"):
            form = dict(httpx.QueryParams(request.content.decode()))
            sent.extend(json.loads(form["requests"]))
            return httpx.Response(200, json={"handles": ["h1"]})
        if request.url.path.endswith("/check_batch_request_status"):
            errors = [{"line": 3, "id": "C-1", "message": "Invalid gtin"}]
            return httpx.Response(200, json={"data": [{"status": "finished", "errors": errors}]})
        if request.url.path.endswith("/products"):
            rows = [{"id": "77", "retailer_id": "A-1"}, {"id": "78", "retailer_id": "A-2"}]
            return httpx.Response(200, json={"data": rows})
        return pytest.fail(f"unexpected call {request.url}")

    answer = servicer(graph).UpsertProducts(
        pb.UpsertProductsRequest(
            connection=connection(store_url="https://shop.test"),
            products=[
                _publish_product("a", "A-1", "A-2"),
                _publish_product("b", "B-1", image=False),
                _publish_product("c", "C-1"),
            ],
        ),
        None,
    )
    assert [r["data"]["id"] for r in sent] == ["A-1", "A-2", "C-1"]
    assert {r["method"] for r in sent} == {"CREATE"} and sent[0]["data"]["item_group_id"] == "os-a"
    a, b, c = answer.results
    assert a.outcome == pb.ITEM_OUTCOME_APPLIED and a.external_id == "os-a"
    assert [(v.sku, v.remote.ids["product_item_id"]) for v in a.variants] == [("A-1", "77"), ("A-2", "78")]
    assert b.outcome == pb.ITEM_OUTCOME_REJECTED and "image_link" in b.message
    assert c.outcome == pb.ITEM_OUTCOME_REJECTED and "Invalid gtin" in c.message and not c.variants


def test_archive_without_a_group_id_is_refused() -> None:
    service = servicer(lambda request: pytest.fail("no call expected"))
    answer = service.ArchiveProducts(
        pb.ArchiveProductsRequest(connection=connection(), products=[pb.ProductRef(product_id="p1")]), None
    )
    assert answer.results[0].outcome == pb.ITEM_OUTCOME_REJECTED


def test_high_usage_lowers_the_local_bucket() -> None:
    observe = usage_observer(50.0)
    busy = httpx.Response(200, headers={"X-App-Usage": json.dumps({"call_count": 90})})
    calm = httpx.Response(200, headers={"X-App-Usage": json.dumps({"call_count": 10})})
    assert observe(busy) == pytest.approx(5.0)
    assert observe(calm) is None and observe(httpx.Response(200)) is None
