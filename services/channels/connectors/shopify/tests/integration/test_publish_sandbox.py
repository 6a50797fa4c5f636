"""UpsertProducts / ArchiveProducts: the real Shopify connector gRPC server against the real
Shopify sandbox (both on 127.0.0.1:0), buckets in the test Redis. Published products must be
usable at once: the returned remote ids push and read stock and prices, and ListRemoteProducts
gives the same ids."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
import redis

from channel_sandboxes.shopify import ShopifyConfig, create_app, serve
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2_grpc
from omnistock_common.service_auth import internal_metadata
from omnistock_connector_kit.channel_http import RedisTokenBucket
from shopify_connector.config import load_settings
from shopify_connector.server import build, with_port

pytestmark = pytest.mark.redis

APPLIED, REJECTED = pb.ITEM_OUTCOME_APPLIED, pb.ITEM_OUTCOME_REJECTED


@dataclass
class Env:
    stub: connector_service_pb2_grpc.ConnectorServiceStub
    sandbox: httpx.Client
    ctx: pb.ConnectionContext

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, metadata=internal_metadata("tenant-1"), timeout=60)

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        """The shop as the merchant's admin sees it (not through the connector)."""
        token = self.ctx.credentials.secrets["access_token"]
        response = self.sandbox.post(
            "/admin/api/2025-07/graphql.json",
            json={"query": query, "variables": variables},
            headers={"X-Shopify-Access-Token": token},
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def upsert(self, *products: pb.ProductUpsert) -> list[pb.ProductResult]:
        answer = self.call("UpsertProducts", pb.UpsertProductsRequest(connection=self.ctx, products=products))
        return list(answer.results)


@pytest.fixture
def env(redis_url: str) -> Iterator[Env]:
    http_server, _thread = serve(create_app(ShopifyConfig(restore_rate=100_000)))
    base_url = f"http://127.0.0.1:{http_server.server_port}"
    sandbox = httpx.Client(base_url=base_url, timeout=30)
    config = sandbox.get("/_sandbox/config").json()
    token = sandbox.post("/_sandbox/tokens", json={}).json()["access_token"]
    settings = with_port(
        load_settings({"REDIS_URL": redis_url, "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*"}), "127.0.0.1", 0
    )
    redis_client = redis.Redis.from_url(redis_url)
    running = build(
        settings, limiter=RedisTokenBucket(redis_client, capacity=1000, refill_per_second=100_000)
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    ctx = pb.ConnectionContext(
        connection_id="conn-publish",
        tenant_id="tenant-1",
        channel_type="shopify",
        settings={
            "shop_domain": config["shop_domain"],
            "api_base_url": base_url,
            "location_id": config["location_id"],
            "currency": "USD",
        },
        credentials=pb.Credentials(secrets={"access_token": token}),
    )
    try:
        yield Env(connector_service_pb2_grpc.ConnectorServiceStub(channel), sandbox, ctx)
    finally:
        channel.close()
        running.stop()
        sandbox.close()
        http_server.shutdown()
        redis_client.close()


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=minor, currency="USD")


def variant(sku: str, size: str, price: int = 1999, external_id: str = "") -> pb.CatalogVariant:
    return pb.CatalogVariant(
        sku=sku,
        external_id=external_id,
        options=[pb.OptionValue(name="Size", value=size)],
        price=usd(price),
        weight_grams=250,
        barcode=f"0{sku[-3:]}",
    )


def tee(title: str = "Tee", skus: tuple[str, ...] = ("TEE-S", "TEE-M", "TEE-L")) -> pb.ProductUpsert:
    return pb.ProductUpsert(
        product_id=f"p-{title}",
        product=pb.CatalogProduct(
            title=title,
            description="<p>Soft cotton</p>",
            status="active",
            vendor="OmniStock",
            tags=["cotton", "summer"],
            variants=[variant(sku, sku.rsplit("-", 1)[-1]) for sku in skus],
        ),
    )


PRODUCT_QUERY = """
query($id: ID!) { product(id: $id) { title descriptionHtml status vendor tags
  variants(first: 50) { nodes { id sku price barcode selectedOptions { name value }
    inventoryItem { id measurement { weight { unit value } } } } } } }
"""


def test_describe_names_the_product_batch(env: Env) -> None:
    assert env.call("Describe", pb.DescribeRequest()).max_product_batch == 25


def test_publish_update_title_only_add_variant_archive_and_push_stock(env: Env) -> None:
    [created] = env.upsert(tee())
    assert created.outcome == APPLIED, created.message
    assert created.external_id.startswith("gid://shopify/Product/")
    assert [v.sku for v in created.variants] == ["TEE-S", "TEE-M", "TEE-L"]
    for published in created.variants:
        assert set(published.remote.ids) == {"product_id", "variant_id", "inventory_item_id", "location_id"}
        assert published.remote.ids["variant_id"] == published.external_id
        assert published.remote.ids["location_id"] == env.ctx.settings["location_id"]
    shop = env.graphql(PRODUCT_QUERY, id=created.external_id)["product"]
    assert (shop["title"], shop["status"], shop["vendor"], shop["tags"]) == (
        "Tee",
        "ACTIVE",
        "OmniStock",
        ["cotton", "summer"],
    )
    nodes = shop["variants"]["nodes"]
    first = nodes[0]
    assert (first["sku"], first["price"], first["selectedOptions"]) == (
        "TEE-S",
        "19.99",
        [{"name": "Size", "value": "S"}],
    )
    assert nodes[0]["inventoryItem"]["measurement"]["weight"]["value"] == 250

    # The same ids ListRemoteProducts gives for auto-mapping.
    listed = env.call("ListRemoteProducts", pb.ListRemoteProductsRequest(connection=env.ctx, limit=250))
    by_sku = {p.sku: dict(p.remote.ids) for p in listed.products}
    assert all(by_sku[v.sku] == dict(v.remote.ids) for v in created.variants)

    # Owned fields = [title]: the description, prices and variants stay as they are.
    renamed = pb.ProductUpsert(product_id="p-Tee", owned_fields=["title"], product=tee("Tee 2").product)
    renamed.product.external_id = created.external_id
    renamed.product.description = "<p>not mine to change</p>"
    for v in renamed.product.variants:
        v.price.CopyFrom(usd(1))
    [updated] = env.upsert(renamed)
    assert updated.outcome == APPLIED, updated.message
    shop = env.graphql(PRODUCT_QUERY, id=created.external_id)["product"]
    assert (shop["title"], shop["descriptionHtml"]) == ("Tee 2", "<p>Soft cotton</p>")
    assert [n["price"] for n in shop["variants"]["nodes"]] == ["19.99"] * 3

    # Add a variant: only the new one is named; the three others are left alone, not deleted.
    grow = pb.ProductUpsert(product_id="p-Tee", owned_fields=["variants", "options", "prices"])
    grow.product.CopyFrom(pb.CatalogProduct(external_id=created.external_id, title="Tee 2"))
    grow.product.variants.append(variant("TEE-XL", "XL", 2499))
    [grown] = env.upsert(grow)
    assert grown.outcome == APPLIED, grown.message
    assert [v.sku for v in grown.variants] == ["TEE-XL"]
    nodes = env.graphql(PRODUCT_QUERY, id=created.external_id)["product"]["variants"]["nodes"]
    assert [(n["sku"], n["price"]) for n in nodes] == [
        ("TEE-S", "19.99"),
        ("TEE-M", "19.99"),
        ("TEE-L", "19.99"),
        ("TEE-XL", "24.99"),
    ]
    assert [n["id"] for n in nodes[:3]] == [v.external_id for v in created.variants]
    # The same call again (its answer lost): the variant is found by SKU and updated, not duplicated.
    [again] = env.upsert(grow)
    assert again.outcome == APPLIED, again.message
    assert [v.external_id for v in again.variants] == [grown.variants[0].external_id]
    assert len(env.graphql(PRODUCT_QUERY, id=created.external_id)["product"]["variants"]["nodes"]) == 4

    # Stock and prices by the returned ids work at once.
    everything = [*created.variants, *grown.variants]
    pushed = env.call(
        "PushInventory",
        pb.PushInventoryRequest(
            connection=env.ctx,
            items=[
                pb.InventoryItem(sku=v.sku, quantity=7 + i, remote=v.remote) for i, v in enumerate(everything)
            ],
        ),
    )
    assert [r.outcome for r in pushed.results] == [APPLIED] * 4
    read = env.call(
        "ReadInventory",
        pb.ReadInventoryRequest(
            connection=env.ctx, items=[pb.InventoryItem(sku=v.sku, remote=v.remote) for v in everything]
        ),
    )
    assert [(q.sku, q.quantity, q.found) for q in read.quantities] == [
        ("TEE-S", 7, True),
        ("TEE-M", 8, True),
        ("TEE-L", 9, True),
        ("TEE-XL", 10, True),
    ]
    priced = env.call(
        "PushPrices",
        pb.PushPricesRequest(
            connection=env.ctx,
            items=[pb.PriceItem(sku="TEE-XL", price=usd(2999), remote=grown.variants[0].remote)],
        ),
    )
    assert priced.results[0].outcome == APPLIED

    [archived] = env.call(
        "ArchiveProducts",
        pb.ArchiveProductsRequest(
            connection=env.ctx, products=[pb.ProductRef(product_id="p-Tee", external_id=created.external_id)]
        ),
    ).results
    assert (archived.outcome, archived.external_id) == (APPLIED, created.external_id)
    shop = env.graphql(PRODUCT_QUERY, id=created.external_id)["product"]
    assert shop["status"] == "ARCHIVED" and len(shop["variants"]["nodes"]) == 4


def test_one_rejected_product_does_not_stop_the_others(env: Env) -> None:
    blank = tee("", ("BLANK-S",))
    duplicated = tee("Dup", ("DUP-S", "DUP-S2"))
    for v in duplicated.product.variants:
        v.options[0].value = "S"
    results = env.upsert(tee("First", ("A-S", "A-M")), blank, tee("Third", ("C-S",)), duplicated)
    assert [r.outcome for r in results] == [APPLIED, REJECTED, APPLIED, REJECTED]
    assert "INVALID_PRODUCT at input.title" in results[1].message
    assert "INVALID_VARIANT" in results[3].message
    assert [v.sku for v in results[2].variants] == ["C-S"]
    titles = {
        n["title"] for n in env.graphql("{ products(first: 50) { nodes { title } } }")["products"]["nodes"]
    }
    assert titles >= {"First", "Third"} and "Dup" not in titles


def test_unknown_status_and_unknown_product_are_rejected_per_product(env: Env) -> None:
    odd = tee("Odd", ("ODD-S",))
    odd.product.status = "sold-out"
    gone = tee("Gone", ("GONE-S",))
    gone.product.external_id = "gid://shopify/Product/1"
    results = env.upsert(odd, gone)
    assert [r.outcome for r in results] == [REJECTED, REJECTED]
    assert "unknown product status" in results[0].message
    assert "PRODUCT_DOES_NOT_EXIST" in results[1].message
