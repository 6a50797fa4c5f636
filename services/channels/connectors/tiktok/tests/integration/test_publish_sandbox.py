"""UpsertProducts / ArchiveProducts / ListRemoteProducts(include_catalog): the real TikTok connector
gRPC server against the real TikTok sandbox (both on 127.0.0.1:0), buckets in the test Redis. A
published product must be usable at once: its ids push stock, auto-mapping finds the same ids,
and the catalog import reads it back as the same product."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from channel_sandboxes.tiktok import TikTokConfig, create_app
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2_grpc as pb_grpc
from omnistock_common.service_auth import internal_metadata
from omnistock_devtools.connector_testing import connector_env, connector_stub, sandbox_url, served_sandbox
from tiktok_connector.config import load_settings
from tiktok_connector.server import build, with_port

pytestmark = pytest.mark.redis

CALLBACK = "http://omnistock.test/api/v1/channels/oauth/callback"
APPLIED, REJECTED = pb.ITEM_OUTCOME_APPLIED, pb.ITEM_OUTCOME_REJECTED
PUBLISHING = {"category_id": "600001", "package_dimensions_cm": "20x15x5"}


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
        """The catalog as Seller Center shows it, by product id."""
        return {p["product_id"]: p for p in self.sandbox.get("/_sandbox/catalog").json()["products"]}


def _login(stub: pb_grpc.ConnectorServiceStub, base_url: str) -> pb.ConnectionContext:
    ctx = pb.ConnectionContext(
        connection_id="conn-tiktok-publish",
        tenant_id="tenant-1",
        channel_type="tiktok",
        settings={"api_base_url": base_url},
    )
    md = internal_metadata("tenant-1")
    url = stub.BuildAuthorizationUrl(
        pb.BuildAuthorizationUrlRequest(connection=ctx, state="s", redirect_uri=CALLBACK), metadata=md
    ).authorization_url
    redirect = httpx.get(f"{url}&{urlencode({'redirect_uri': CALLBACK})}", follow_redirects=False)
    params = dict(parse_qsl(urlsplit(redirect.headers["location"]).query))
    answer = stub.ExchangeCode(
        pb.ExchangeCodeRequest(connection=ctx, callback_params=params, redirect_uri=CALLBACK), metadata=md
    )
    return pb.ConnectionContext(
        connection_id=ctx.connection_id,
        tenant_id=ctx.tenant_id,
        channel_type="tiktok",
        settings={**dict(ctx.settings), **dict(answer.settings), **PUBLISHING},
        credentials=answer.credentials,
    )


@pytest.fixture
def env(redis_url: str) -> Iterator[Env]:
    settings = with_port(load_settings(connector_env("TIKTOK_CONNECTOR", redis_url)), "127.0.0.1", 0)
    with (
        served_sandbox(create_app(TikTokConfig())) as sandbox,
        connector_stub(build(settings, sleep=lambda seconds: None)) as stub,
    ):
        yield Env(stub, sandbox, _login(stub, sandbox_url(sandbox)))


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=minor, currency="USD")


def size(value: str) -> list[pb.OptionValue]:
    return [pb.OptionValue(name="Size", value=value)]


def tee(external_id: str = "", **changes: Any) -> pb.CatalogProduct:
    product = pb.CatalogProduct(
        external_id=external_id,
        title="Linen Tee",
        description="Washed linen, relaxed fit",
        status="draft",
        variants=[
            pb.CatalogVariant(sku="TEE-S", options=size("S"), price=usd(2500), weight_grams=300),
            pb.CatalogVariant(
                sku="TEE-M", options=size("M"), price=usd(1999), weight_grams=320, barcode="012345678905"
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


def image(env: Env, name: str) -> str:
    """A merchant-hosted image (the sandbox serves them; 127.0.0.1 is on the egress allow-list)."""
    return f"{env.sandbox.base_url}/_sandbox/images/{name}".replace("//_", "/_")


def test_publish_update_and_archive_a_product_with_two_variants(env: Env) -> None:
    live_variants = [
        pb.CatalogVariant(sku=f"LIVE-{s}", options=size(s), price=usd(1500), weight_grams=200) for s in "SM"
    ]
    created, listed, bare, weightless, broken = env.upsert(
        pb.ProductUpsert(product_id="p-tee", product=tee(image_urls=[image(env, "tee.png")])),
        pb.ProductUpsert(
            product_id="p-live",
            product=tee(
                status="active",
                variants=live_variants,
                image_urls=[image(env, "live.png"), image(env, "live-back.png")],
            ),
        ),
        pb.ProductUpsert(product_id="p-bare", product=tee(status="active", image_urls=[])),
        pb.ProductUpsert(
            product_id="p-light", product=tee(variants=[pb.CatalogVariant(sku="X", price=usd(100))])
        ),
        pb.ProductUpsert(
            product_id="p-broken",
            product=tee(
                image_urls=[image(env, "missing-1.png")],
                variants=[pb.CatalogVariant(sku="Y", price=usd(1), weight_grams=1)],
            ),
        ),
    )
    assert bare.outcome == REJECTED and "main_images" in bare.message
    assert weightless.outcome == REJECTED and "package_weight" in weightless.message
    assert broken.outcome == REJECTED and "missing-1.png could not be read (HTTP 404)" in broken.message
    assert listed.outcome == APPLIED, listed.message
    live = env.shop()[listed.external_id]
    assert live["status"] == "ACTIVATE" and len(live["images"]) == 2
    assert all(url.startswith("https://p16-sandbox.tiktokcdn.test/") for url in live["images"])
    assert created.outcome == APPLIED, created.message
    product_id = created.external_id
    assert [v.sku for v in created.variants] == ["TEE-S", "TEE-M"]
    assert all(
        dict(v.remote.ids)
        == {"product_id": product_id, "sku_id": v.external_id, "warehouse_id": v.remote.ids["warehouse_id"]}
        for v in created.variants
    )
    shop = env.shop()[product_id]
    assert (shop["status"], shop["category_id"], shop["external_product_id"]) == ("DRAFT", "600001", "p-tee")
    assert shop["description"] == "<p>Washed linen, relaxed fit</p>" and len(shop["images"]) == 1
    assert shop["package_weight"] == {"value": "0.32", "unit": "KILOGRAM"}
    assert shop["package_dimensions"] == {"length": "20", "width": "15", "height": "5", "unit": "CENTIMETER"}
    by_sku = {v["sku"]: v for v in shop["variants"]}
    assert by_sku["TEE-M"]["price"] == "19.99" and by_sku["TEE-M"]["options"] == {"Size": "M"}
    assert by_sku["TEE-M"]["identifier_code"] == {"code": "012345678905", "type": "UPC"}
    assert env.sandbox.get("/_sandbox/inventory").json() == {"TEE-S": 0, "TEE-M": 0, "LIVE-S": 0, "LIVE-M": 0}

    # The published ids push stock at once, and auto-mapping lists the same ids for each SKU.
    pushed = env.call(
        "PushInventory",
        pb.PushInventoryRequest(
            connection=env.ctx,
            items=[pb.InventoryItem(sku=v.sku, quantity=5, remote=v.remote) for v in created.variants],
        ),
    )
    assert [r.outcome for r in pushed.results] == [APPLIED, APPLIED]
    listed_ids = {
        r.sku: dict(r.remote.ids)
        for r in env.call("ListRemoteProducts", pb.ListRemoteProductsRequest(connection=env.ctx)).products
    }
    assert listed_ids == {v.sku: dict(v.remote.ids) for v in [*created.variants, *listed.variants]}

    # Update: only the owned fields (title and prices); stock and description stay as they are.
    variants = [
        pb.CatalogVariant(sku=v.sku, external_id=v.external_id, price=usd(3000)) for v in created.variants
    ]
    (updated,) = env.upsert(
        pb.ProductUpsert(
            product_id="p-tee",
            product=tee(product_id, title="Linen Tee II", variants=variants, description=""),
            owned_fields=["title", "prices"],
        )
    )
    assert updated.outcome == APPLIED, updated.message
    shop = env.shop()[product_id]
    assert shop["title"] == "Linen Tee II" and shop["description"] == "<p>Washed linen, relaxed fit</p>"
    assert {v["sku"]: (v["price"], v["quantity"]) for v in shop["variants"]} == {
        "TEE-S": ("30.00", 5),
        "TEE-M": ("30.00", 5),
    }

    # A new variant alone: the SKUs the request does not name are kept (a partial edit deletes
    # the SKUs it omits, so the connector sends them all).
    (grown,) = env.upsert(
        pb.ProductUpsert(
            product_id="p-tee",
            product=tee(
                product_id, variants=[pb.CatalogVariant(sku="TEE-L", options=size("L"), price=usd(2700))]
            ),
            owned_fields=["variants", "prices", "options"],
        )
    )
    assert grown.outcome == APPLIED and [v.sku for v in grown.variants] == ["TEE-L"]
    assert [v["sku"] for v in env.shop()[product_id]["variants"]] == ["TEE-S", "TEE-M", "TEE-L"]

    archived = env.call(
        "ArchiveProducts",
        pb.ArchiveProductsRequest(
            connection=env.ctx,
            products=[
                pb.ProductRef(product_id="p-tee", external_id=product_id),
                pb.ProductRef(product_id="gone", external_id="123"),
            ],
        ),
    )
    assert [(r.outcome, r.external_id) for r in archived.results] == [
        (APPLIED, product_id),
        (REJECTED, "123"),
    ]
    assert "Product not found" in archived.results[1].message
    assert env.shop()[product_id]["status"] == "SELLER_DEACTIVATED"
    assert env.sandbox.get("/_sandbox/inventory").json() == {
        "TEE-S": 5,
        "TEE-M": 5,
        "TEE-L": 0,
        "LIVE-S": 0,
        "LIVE-M": 0,
    }


def test_an_updates_status_takes_the_product_off_sale_and_back(env: Env) -> None:
    """Archived in OmniStock (an update owning `status`): Deactivate Products; active again:
    Activate Products; an update that does not own the status leaves it as TikTok has it."""
    variants = [pb.CatalogVariant(sku="ST-S", options=size("S"), price=usd(1500), weight_grams=200)]
    (created,) = env.upsert(
        pb.ProductUpsert(
            product_id="p-st",
            product=tee(status="active", variants=variants, image_urls=[image(env, "st.png")]),
        )
    )
    assert created.outcome == APPLIED, created.message
    product_id = created.external_id
    assert env.shop()[product_id]["status"] == "ACTIVATE"
    known = [pb.CatalogVariant(sku="ST-S", external_id=created.variants[0].external_id, price=usd(1500))]

    def update(status: str, owned: list[str]) -> pb.ProductResult:
        (result,) = env.upsert(
            pb.ProductUpsert(
                product_id="p-st", product=tee(product_id, status=status, variants=known), owned_fields=owned
            )
        )
        assert result.outcome == APPLIED, result.message
        return result

    update("archived", ["status"])
    assert env.shop()[product_id]["status"] == "SELLER_DEACTIVATED"
    update("active", ["title"])  # status not owned: stays off sale
    assert env.shop()[product_id]["status"] == "SELLER_DEACTIVATED"
    update("active", ["status"])
    assert env.shop()[product_id]["status"] == "ACTIVATE"
    update("draft", ["status"])  # a listed product cannot go back to draft on TikTok
    assert env.shop()[product_id]["status"] == "ACTIVATE"


def test_update_of_an_unknown_product_and_a_missing_category_are_rejected(env: Env) -> None:
    ctx = pb.ConnectionContext()
    ctx.CopyFrom(env.ctx)
    del ctx.settings["category_id"]
    answer = env.call(
        "UpsertProducts",
        pb.UpsertProductsRequest(
            connection=ctx,
            products=[
                pb.ProductUpsert(product_id="new", product=tee()),
                pb.ProductUpsert(
                    product_id="old",
                    product=tee("999", variants=[pb.CatalogVariant(sku="TEE-S", external_id="1")]),
                    owned_fields=["title"],
                ),
            ],
        ),
    )
    new, old = answer.results
    assert new.outcome == REJECTED and "category_id" in new.message
    assert old.outcome == REJECTED and "no product '999'" in old.message
    assert env.shop() == {}


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
    assert (first.title, first.status, first.description) == (
        "GEN product 0",
        "ACTIVATE",
        "<p>Generated product 0</p>",
    )
    assert first.image_urls == ["https://cdn.example.test/gen/0.jpg"]
    assert [(v.sku, v.price.amount_minor, v.price.currency) for v in first.variants] == [
        ("GEN-0-S", 1000, "USD"),
        ("GEN-0-M", 1000, "USD"),
    ]
    assert first.variants[1].options == [pb.OptionValue(name="Size", value="M")]
    assert first.variants[1].quantities[0].available == 1 and first.variants[1].quantities[0].location_id
    listed = {
        r.sku: dict(r.remote.ids)
        for r in env.call(
            "ListRemoteProducts", pb.ListRemoteProductsRequest(connection=env.ctx, limit=100)
        ).products
    }
    assert {v.sku: dict(v.remote.ids) for p in pages for v in p.variants} == listed
