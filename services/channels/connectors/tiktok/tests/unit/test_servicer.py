"""The servicer and client against a scripted TikTok (httpx.MockTransport): what goes on the wire
(signed query, token header, body bytes) and how envelopes turn into the contract's errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import FailedPrecondition, ResourceExhausted, Unauthenticated, Unavailable
from omnistock_connector_kit.composition import Seams
from omnistock_connector_kit.rate_limit import InMemoryTokenBucket
from tiktok_connector import protocol as p
from tiktok_connector.config import load_settings
from tiktok_connector.server import make_servicer
from tiktok_connector.servicer import TikTokConnectorServicer

SECRET = "app-secret"
Handler = Callable[[httpx.Request], httpx.Response]


def ok(data: Any = None, code: int = 0, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": "m", "request_id": "r", "data": data or {}})


def servicer(handler: Handler) -> TikTokConnectorServicer:
    settings = load_settings(
        {
            "TIKTOK_APP_KEY": "app-key",
            "TIKTOK_APP_SECRET": SECRET,
            "TIKTOK_MAX_ATTEMPTS": "3",
            "CHANNEL_ALLOWED_HOSTS": "tiktok.test:*",
        }
    )
    return make_servicer(
        settings,
        Seams(
            limiter=InMemoryTokenBucket(1e9, 1e9),
            transport=lambda: httpx.MockTransport(handler),
            sleep=lambda s: None,
        ),
    )


def connection(**secrets: str) -> pb.ConnectionContext:
    return pb.ConnectionContext(
        connection_id="c1",
        tenant_id="t1",
        channel_type="tiktok",
        settings={"api_base_url": "http://tiktok.test", "shop_cipher": "GCP_1", "store_id": "7"},
        credentials=pb.Credentials(secrets=secrets or {"access_token": "tok", "refresh_token": "r1"}),
    )


ITEM = pb.InventoryItem(sku="A", quantity=4, remote=pb.RemoteIds(ids={"product_id": "10", "sku_id": "1"}))


def test_a_push_is_signed_over_the_bytes_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok()

    answer = servicer(handler).PushInventory(
        pb.PushInventoryRequest(connection=connection(), items=[ITEM]), None
    )
    assert [r.outcome for r in answer.results] == [pb.ITEM_OUTCOME_APPLIED]
    (request,) = seen
    query = dict(request.url.params)
    assert request.url.path == "/product/202309/products/10/inventory/update"
    assert request.headers["x-tts-access-token"] == "tok"
    assert query["shop_cipher"] == "GCP_1" and query["app_key"] == "app-key"
    assert query["sign"] == p.sign(request.url.path, query, request.content, SECRET)
    assert json.loads(request.content) == {"skus": [{"id": "1", "inventory": [{"quantity": 4}]}]}


def test_expired_token_code_on_http_200_is_access_token_expired_or_revoked() -> None:
    handler = lambda request: ok(code=105002)  # noqa: E731
    with pytest.raises(Unauthenticated) as caught:
        servicer(handler).PushInventory(pb.PushInventoryRequest(connection=connection(), items=[ITEM]), None)
    assert caught.value.reason == "ACCESS_TOKEN_EXPIRED"
    with pytest.raises(Unauthenticated) as caught:
        servicer(handler).PushInventory(
            pb.PushInventoryRequest(connection=connection(access_token="tok"), items=[ITEM]), None
        )
    assert caught.value.reason == "CREDENTIALS_REVOKED"


def test_rate_limit_code_is_retried_then_resource_exhausted() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return ok(code=36009002)

    with pytest.raises(ResourceExhausted) as caught:
        servicer(handler).PushInventory(pb.PushInventoryRequest(connection=connection(), items=[ITEM]), None)
    assert len(calls) == 3 and caught.value.reason == "RATE_LIMITED"


def test_after_one_product_applied_a_later_outage_leaves_the_rest_to_retry() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return ok() if "/10/" in request.url.path else httpx.Response(503)

    other = pb.InventoryItem(
        sku="B", quantity=1, remote=pb.RemoteIds(ids={"product_id": "11", "sku_id": "2"})
    )
    answer = servicer(handler).PushInventory(
        pb.PushInventoryRequest(connection=connection(), items=[ITEM, other]), None
    )
    assert [r.outcome for r in answer.results] == [pb.ITEM_OUTCOME_APPLIED, pb.ITEM_OUTCOME_RETRY]


def test_a_refused_product_rejects_its_items_only() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return ok(code=12052048) if "/10/" in request.url.path else ok()

    other = pb.InventoryItem(
        sku="B", quantity=1, remote=pb.RemoteIds(ids={"product_id": "11", "sku_id": "2"})
    )
    answer = servicer(handler).PushInventory(
        pb.PushInventoryRequest(connection=connection(), items=[ITEM, other]), None
    )
    assert [r.outcome for r in answer.results] == [pb.ITEM_OUTCOME_REJECTED, pb.ITEM_OUTCOME_APPLIED]
    assert "12052048" in answer.results[0].message


def test_refresh_failure_is_unauthenticated_with_a_reason() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v2/token/refresh"
        assert dict(request.url.params)["grant_type"] == "refresh_token"
        return ok(code=36004004)

    with pytest.raises(Unauthenticated) as caught:
        servicer(handler).RefreshCredentials(pb.RefreshCredentialsRequest(connection=connection()), None)
    assert caught.value.reason == "CREDENTIALS_REVOKED"


def test_a_shop_api_without_a_cipher_is_refused_before_sending() -> None:
    conn = connection()
    del conn.settings["shop_cipher"]
    answer = servicer(lambda request: pytest.fail("nothing may be sent")).PushInventory(
        pb.PushInventoryRequest(connection=conn, items=[ITEM]), None
    )
    assert (
        answer.results[0].outcome == pb.ITEM_OUTCOME_REJECTED and "shop_cipher" in answer.results[0].message
    )
    with pytest.raises(FailedPrecondition):
        servicer(lambda request: ok()).ListRemoteProducts(pb.ListRemoteProductsRequest(connection=conn), None)


# -- publishing -----------------------------------------------------------------------------


def publishing_connection() -> pb.ConnectionContext:
    conn = connection()
    conn.settings.update({"category_id": "600001", "package_weight_kg": "0.5"})
    return conn


def draft(product_id: str, sku: str) -> pb.ProductUpsert:
    return pb.ProductUpsert(
        product_id=product_id,
        product=pb.CatalogProduct(
            title="Tee",
            description="Linen",
            status="draft",
            variants=[pb.CatalogVariant(sku=sku, price=common_pb2.Money(amount_minor=2500, currency="USD"))],
        ),
    )


def catalog_handler(seen: list[httpx.Request], create: Callable[[int], httpx.Response]) -> Handler:
    """Warehouses, Create Product (answered by `create` with the create's number), Get Product."""
    created: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path == "/logistics/202309/warehouses":
            return ok({"warehouses": [{"id": "W7", "type": "SALES_WAREHOUSE", "is_default": True}]})
        if path == "/product/202309/products":
            answer = create(sum(1 for r in seen if r.url.path == path))
            if answer.status_code == 200:
                body = json.loads(request.content)
                created[f"P{len(created) + 1}"] = body["skus"][0]["seller_sku"]
            return answer
        product_id = path.rsplit("/", 1)[-1]
        sku = {
            "id": f"S-{product_id}",
            "seller_sku": created[product_id],
            "inventory": [{"warehouse_id": "W7"}],
        }
        return ok({"id": product_id, "skus": [sku]})

    return handler


def test_a_create_goes_once_signed_to_the_default_warehouse_and_is_read_back() -> None:
    seen: list[httpx.Request] = []
    answer = servicer(catalog_handler(seen, lambda n: ok({"product_id": f"P{n}"}))).UpsertProducts(
        pb.UpsertProductsRequest(connection=publishing_connection(), products=[draft("p1", "TEE")]), None
    )
    assert [(r.method, r.url.path) for r in seen] == [
        ("GET", "/logistics/202309/warehouses"),
        ("POST", "/product/202309/products"),
        ("GET", "/product/202309/products/P1"),
    ]
    create = seen[1]
    assert dict(create.url.params)["sign"] == p.sign(
        create.url.path, dict(create.url.params), create.content, SECRET
    )
    body = json.loads(create.content)
    assert body["save_mode"] == "AS_DRAFT" and body["skus"][0]["inventory"] == [
        {"warehouse_id": "W7", "quantity": 0}
    ]
    (result,) = answer.results
    assert result.outcome == pb.ITEM_OUTCOME_APPLIED and answer.calls == 3
    assert dict(result.variants[0].remote.ids) == {"product_id": "P1", "sku_id": "S-P1", "warehouse_id": "W7"}


def test_a_failed_create_is_not_resent_and_later_products_retry() -> None:
    seen: list[httpx.Request] = []
    failing = servicer(catalog_handler(seen, lambda n: httpx.Response(503)))
    with pytest.raises(Unavailable):
        failing.UpsertProducts(
            pb.UpsertProductsRequest(connection=publishing_connection(), products=[draft("p1", "A")]), None
        )
    assert sum(1 for r in seen if r.method == "POST") == 1  # a create is never retried blindly

    seen.clear()
    second_fails = servicer(
        catalog_handler(seen, lambda n: ok({"product_id": "P1"}) if n == 1 else httpx.Response(503))
    )
    answer = second_fails.UpsertProducts(
        pb.UpsertProductsRequest(
            connection=publishing_connection(),
            products=[draft("p1", "A"), draft("p2", "B"), draft("p3", "C")],
        ),
        None,
    )
    assert [r.outcome for r in answer.results] == [
        pb.ITEM_OUTCOME_APPLIED,
        pb.ITEM_OUTCOME_RETRY,
        pb.ITEM_OUTCOME_RETRY,
    ]
    assert sum(1 for r in seen if r.method == "POST") == 2


def test_a_deactivate_tiktok_refuses_as_a_whole_rejects_each_product() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/product/202309/products/deactivate"
        assert json.loads(request.content) == {"product_ids": ["10", "11"]}
        return ok(code=36009004)

    answer = servicer(handler).ArchiveProducts(
        pb.ArchiveProductsRequest(
            connection=connection(),
            products=[
                pb.ProductRef(product_id="a", external_id="10"),
                pb.ProductRef(product_id="b", external_id="11"),
                pb.ProductRef(product_id="c"),
            ],
        ),
        None,
    )
    assert [r.outcome for r in answer.results] == [pb.ITEM_OUTCOME_REJECTED] * 3
    assert "36009004" in answer.results[0].message and "no TikTok product id" in answer.results[2].message


def test_images_are_fetched_unsigned_and_uploaded_multipart_signed_without_the_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "img.test":
            return httpx.Response(200, content=b"\x89PNG-bytes", headers={"content-type": "image/png"})
        if request.url.path == "/product/202309/images/upload":
            return ok({"uri": "tos-1"})
        if request.url.path == "/product/202309/products":
            return ok({"product_id": "P1"})
        return ok(
            {"id": "P1", "skus": [{"id": "S1", "seller_sku": "TEE", "inventory": [{"warehouse_id": "W7"}]}]}
        )

    conn = publishing_connection()
    conn.settings["warehouse_id"] = "W7"
    product = draft("p1", "TEE")
    product.product.status = "active"
    product.product.image_urls.append("https://img.test/tee.png?v=2")
    answer = servicer(handler).UpsertProducts(
        pb.UpsertProductsRequest(connection=conn, products=[product]), None
    )
    assert answer.results[0].outcome == pb.ITEM_OUTCOME_APPLIED
    fetch, upload, create, _read = seen
    assert "x-tts-access-token" not in fetch.headers and "sign" not in fetch.url.params
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    query = dict(upload.url.params)
    assert query["sign"] == p.sign(upload.url.path, query, b"", SECRET)
    assert b'name="data"; filename="tee.png"' in upload.content and b'name="use_case"' in upload.content
    body = json.loads(create.content)
    assert body["save_mode"] == "LISTING" and body["main_images"] == [{"uri": "tos-1"}]
