"""UpsertProducts / ArchiveProducts / ListRemoteProducts(include_catalog): the real Meta connector
gRPC server against the real Meta sandbox (both on 127.0.0.1:0), buckets in the test Redis. A
published product must be usable at once: its ids push stock, and the catalog import reads it back
as the same product."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from channel_sandboxes.meta import MetaConfig, create_app
from meta_connector.config import load_settings
from meta_connector.server import build, with_port
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2_grpc as pb_grpc
from omnistock_common.service_auth import internal_metadata
from omnistock_devtools.connector_testing import connector_env, connector_stub, sandbox_url, served_sandbox

pytestmark = pytest.mark.redis

REDIRECT_URI = "https://omnistock.test/api/v1/channels/oauth/callback"
APPLIED, REJECTED = pb.ITEM_OUTCOME_APPLIED, pb.ITEM_OUTCOME_REJECTED


@dataclass
class Env:
    stub: pb_grpc.ConnectorServiceStub
    sandbox: httpx.Client
    ctx: pb.ConnectionContext

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, metadata=internal_metadata("tenant-1"), timeout=60)

    def upsert(self, *products: pb.ProductUpsert) -> list[pb.ProductResult]:
        answer = self.call("UpsertProducts", pb.UpsertProductsRequest(connection=self.ctx, products=products))
        return list(answer.results)

    def shop(self) -> dict[str, dict[str, Any]]:
        """The catalog as Commerce Manager shows it, by item group."""
        return {p["product_id"]: p for p in self.sandbox.get("/_sandbox/catalog").json()["products"]}


def _login(stub: pb_grpc.ConnectorServiceStub, base_url: str) -> pb.ConnectionContext:
    ctx = pb.ConnectionContext(
        connection_id="conn-meta-publish",
        tenant_id="tenant-1",
        channel_type="facebook",
        settings={"api_base_url": base_url},
    )
    md = internal_metadata("tenant-1")
    url = stub.BuildAuthorizationUrl(
        pb.BuildAuthorizationUrlRequest(connection=ctx, state="s", redirect_uri=REDIRECT_URI), metadata=md
    ).authorization_url
    params = dict(parse_qsl(urlsplit(httpx.get(url).headers["location"]).query))
    answer = stub.ExchangeCode(
        pb.ExchangeCodeRequest(connection=ctx, callback_params=params, redirect_uri=REDIRECT_URI), metadata=md
    )
    settings = {
        **dict(ctx.settings),
        **dict(answer.settings),
        "product_url_template": "https://shop.example.test/p/{product_id}?sku={sku}",
    }
    return pb.ConnectionContext(
        connection_id=ctx.connection_id,
        tenant_id=ctx.tenant_id,
        channel_type="facebook",
        settings=settings,
        credentials=answer.credentials,
    )


@pytest.fixture
def env(redis_url: str) -> Iterator[Env]:
    settings = with_port(load_settings(connector_env("META_CONNECTOR", redis_url)), "127.0.0.1", 0)
    with (
        served_sandbox(create_app(MetaConfig())) as sandbox,
        connector_stub(build(settings, sleep=lambda seconds: None)) as stub,
    ):
        yield Env(stub, sandbox, _login(stub, sandbox_url(sandbox)))


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=minor, currency="USD")


def tee(external_id: str = "", **changes: Any) -> pb.CatalogProduct:
    product = pb.CatalogProduct(
        external_id=external_id,
        title="Linen Tee",
        description="Washed linen, relaxed fit",
        status="active",
        vendor="Acme",
        image_urls=["https://img.example.test/tee.jpg", "https://img.example.test/tee-back.jpg"],
        variants=[
            pb.CatalogVariant(sku="TEE-S", options=[pb.OptionValue(name="Size", value="S")], price=usd(2500)),
            pb.CatalogVariant(
                sku="TEE-M",
                options=[pb.OptionValue(name="Size", value="M")],
                price=usd(1999),
                compare_at_price=usd(2500),
            ),
        ],
    )
    for name, value in changes.items():
        if isinstance(value, list):
            del getattr(product, name)[:]
            getattr(product, name).extend(value)
        else:
            setattr(product, name, value)
    return product


def test_publish_update_and_archive_a_product_with_two_variants(env: Env) -> None:
    created, refused = env.upsert(
        pb.ProductUpsert(product_id="p-tee", product=tee()),
        pb.ProductUpsert(
            product_id="p-bare",
            product=tee(image_urls=[], variants=[pb.CatalogVariant(sku="X", price=usd(1))]),
        ),
    )
    assert refused.outcome == REJECTED and "image_link" in refused.message
    assert created.outcome == APPLIED, created.message
    group = created.external_id
    assert group == "os-p-tee"
    assert [v.sku for v in created.variants] == ["TEE-S", "TEE-M"]
    assert all(v.external_id == v.sku and v.remote.ids["product_item_id"] for v in created.variants)
    shop = env.shop()[group]
    assert shop["title"] == "Linen Tee" and shop["status"] == "published"
    assert shop["images"] == ["https://img.example.test/tee.jpg", "https://img.example.test/tee-back.jpg"]
    by_sku = {v["sku"]: v for v in shop["variants"]}
    assert by_sku["TEE-M"]["price"] == "25.00" and by_sku["TEE-M"]["sale_price"] == "19.99"
    assert by_sku["TEE-S"]["options"] == {"Size": "S"} and by_sku["TEE-S"]["brand"] == "Acme"
    assert by_sku["TEE-S"]["link"] == "https://shop.example.test/p/p-tee?sku=TEE-S"
    assert "X" not in env.sandbox.get("/_sandbox/inventory").json()

    # The published ids push stock at once (items start out of stock).
    pushed = env.call(
        "PushInventory",
        pb.PushInventoryRequest(
            connection=env.ctx,
            items=[pb.InventoryItem(sku=v.sku, quantity=5, remote=v.remote) for v in created.variants],
        ),
    )
    assert [r.outcome for r in pushed.results] == [APPLIED, APPLIED]
    assert env.sandbox.get("/_sandbox/inventory").json() == {"TEE-S": 5, "TEE-M": 5}

    # Update: only the owned fields (title and prices); a new variant needs `variants`.
    variants = [
        pb.CatalogVariant(sku=v.sku, external_id=v.external_id, price=usd(3000)) for v in created.variants
    ]
    (updated,) = env.upsert(
        pb.ProductUpsert(
            product_id="p-tee",
            product=tee(group, title="Linen Tee II", variants=variants, description=""),
            owned_fields=["title", "prices"],
        )
    )
    assert updated.outcome == APPLIED, updated.message
    shop = env.shop()[group]
    assert shop["title"] == "Linen Tee II" and shop["description"] == "Washed linen, relaxed fit"
    assert {v["sku"]: (v["price"], v["sale_price"]) for v in shop["variants"]} == {
        "TEE-S": ("30.00", ""),
        "TEE-M": ("30.00", ""),
    }

    archived = env.call(
        "ArchiveProducts",
        pb.ArchiveProductsRequest(
            connection=env.ctx,
            products=[
                pb.ProductRef(product_id="p-tee", external_id=group),
                pb.ProductRef(product_id="gone", external_id="nope"),
            ],
        ),
    )
    assert [(r.outcome, r.external_id) for r in archived.results] == [(APPLIED, group), (REJECTED, "nope")]
    shop = env.shop()[group]
    assert shop["status"] == "staging" and {v["visibility"] for v in shop["variants"]} == {"staging"}
    assert env.sandbox.get("/_sandbox/inventory").json() == {"TEE-S": 5, "TEE-M": 5}  # kept, not deleted


def test_import_the_catalog_page_by_page(env: Env) -> None:
    seeded = env.sandbox.post(
        "/_sandbox/catalog", json={"generate": {"products": 3, "variants_per_product": 2}}
    ).json()["products"]
    pages: list[pb.CatalogProduct] = []
    cursor = ""
    for _ in range(10):
        answer = env.call(
            "ListRemoteProducts",
            pb.ListRemoteProductsRequest(connection=env.ctx, include_catalog=True, limit=2, cursor=cursor),
        )
        assert not answer.products
        pages.extend(answer.catalog)
        cursor = answer.next_cursor
        if not cursor:
            break
    assert [p.external_id for p in pages] == [s["product_id"] for s in seeded]
    first = pages[0]
    assert (first.title, first.vendor, first.status) == ("GEN product 0 S", "Sandbox", "published")
    assert first.image_urls == ["https://cdn.example.test/gen/0.jpg"]
    assert [(v.sku, v.price.amount_minor, v.price.currency) for v in first.variants] == [
        ("GEN-0-S", 1000, "USD"),
        ("GEN-0-M", 1000, "USD"),
    ]
    assert first.variants[1].options == [pb.OptionValue(name="Size", value="M")]
    assert first.variants[1].quantities[0].available == 1
    assert set(first.variants[0].remote.ids) == {"product_item_id", "retailer_id", "item_group_id"}
