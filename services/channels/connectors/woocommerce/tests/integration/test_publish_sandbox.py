"""UpsertProducts / ArchiveProducts: the real WooCommerce connector gRPC server against the real
WooCommerce sandbox (REST wc/v3) on 127.0.0.1. Published products are checked through the store's
REST API, and the returned remote ids must push and read stock and prices at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from channel_sandboxes.woocommerce import create_app, serve
from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from woocommerce_connector.client import OAuth1Signing

APPLIED, REJECTED = pb.ITEM_OUTCOME_APPLIED, pb.ITEM_OUTCOME_REJECTED


@dataclass
class Store:
    control: httpx.Client
    config: dict[str, Any]
    ctx: pb.ConnectionContext

    def rest(self, path: str) -> Any:
        """The store as the merchant's other tools see it (not through the connector)."""
        auth = OAuth1Signing(self.config["consumer_key"], self.config["consumer_secret"])
        response = self.control.get(f"{self.config['api_base']}/{path}", auth=auth)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def store(make_connection) -> Iterator[Store]:  # type: ignore[no-untyped-def]
    server, thread = serve(create_app(), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_port}"
    control = httpx.Client(base_url=url, timeout=10)
    config = control.get("/_sandbox/config").json()
    ctx = make_connection(
        url,
        consumer_key=config["consumer_key"],
        consumer_secret=config["consumer_secret"],
        currency="USD",
    )
    try:
        yield Store(control, config, ctx)
    finally:
        control.close()
        server.shutdown()
        thread.join(timeout=10)


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=minor, currency="USD")


def variant(sku: str, size: str | None, price: int = 1999, external_id: str = "") -> pb.CatalogVariant:
    return pb.CatalogVariant(
        sku=sku,
        external_id=external_id,
        options=[pb.OptionValue(name="Size", value=size)] if size else [],
        price=usd(price),
        weight_grams=250,
    )


def tee(title: str = "Tee", skus: tuple[str, ...] = ("TEE-S", "TEE-M", "TEE-L")) -> pb.ProductUpsert:
    return pb.ProductUpsert(
        product_id=f"p-{title}",
        product=pb.CatalogProduct(
            title=title,
            description="<p>Soft cotton</p>",
            status="active",
            image_urls=["https://img.example/tee.jpg"],
            variants=[variant(sku, sku.rsplit("-", 1)[-1]) for sku in skus],
        ),
    )


def upsert(connector: Any, store: Store, *products: pb.ProductUpsert) -> list[pb.ProductResult]:
    answer = connector.call(
        "UpsertProducts", pb.UpsertProductsRequest(connection=store.ctx, products=products)
    )
    return list(answer.results)


def test_describe_names_the_product_batch(connector: Any) -> None:
    assert connector.call("Describe", pb.DescribeRequest()).max_product_batch == 100


def test_variable_product_update_title_only_add_variation_archive_and_push_stock(
    connector: Any, store: Store
) -> None:
    [created] = upsert(connector, store, tee())
    assert created.outcome == APPLIED, created.message
    product_id = created.external_id
    assert [v.sku for v in created.variants] == ["TEE-S", "TEE-M", "TEE-L"]
    for published in created.variants:
        assert dict(published.remote.ids) == {"product_id": product_id, "variation_id": published.external_id}
    parent = store.rest(f"products/{product_id}")
    assert (parent["type"], parent["name"], parent["status"], parent["description"]) == (
        "variable",
        "Tee",
        "publish",
        "<p>Soft cotton</p>",
    )
    assert parent["attributes"][0]["options"] == ["S", "M", "L"]
    assert [i["src"] for i in parent["images"]] == ["https://img.example/tee.jpg"]
    small = store.rest(f"products/{product_id}/variations/{created.variants[0].external_id}")
    assert (small["sku"], small["regular_price"], small["weight"], small["manage_stock"]) == (
        "TEE-S",
        "19.99",
        "0.25",
        True,
    )
    assert small["attributes"] == [{"id": 0, "name": "Size", "option": "S"}]

    # The same ids ListRemoteProducts gives for auto-mapping.
    listed = connector.call(
        "ListRemoteProducts", pb.ListRemoteProductsRequest(connection=store.ctx, limit=100)
    )
    by_sku = {p.sku: dict(p.remote.ids) for p in listed.products}
    assert all(by_sku[v.sku] == dict(v.remote.ids) for v in created.variants)

    # Owned fields = [title]: description and prices stay.
    renamed = pb.ProductUpsert(product_id="p-Tee", owned_fields=["title"], product=tee("Tee 2").product)
    renamed.product.external_id = product_id
    renamed.product.description = "not mine"
    for v, done in zip(renamed.product.variants, created.variants, strict=True):
        v.external_id = done.external_id
        v.price.CopyFrom(usd(1))
    [updated] = upsert(connector, store, renamed)
    assert updated.outcome == APPLIED, updated.message
    parent = store.rest(f"products/{product_id}")
    assert (parent["name"], parent["description"]) == ("Tee 2", "<p>Soft cotton</p>")
    assert (
        store.rest(f"products/{product_id}/variations/{created.variants[0].external_id}")["regular_price"]
        == "19.99"
    )

    # Add a variation: the attribute keeps S/M/L and gains XL; the three others are untouched.
    grow = pb.ProductUpsert(product_id="p-Tee", owned_fields=["variants", "options", "prices"])
    grow.product.CopyFrom(pb.CatalogProduct(external_id=product_id, title="Tee 2"))
    grow.product.variants.append(variant("TEE-XL", "XL", 2499))
    [grown] = upsert(connector, store, grow)
    assert grown.outcome == APPLIED, grown.message
    assert [v.sku for v in grown.variants] == ["TEE-XL"]
    assert store.rest(f"products/{product_id}")["attributes"][0]["options"] == ["S", "M", "L", "XL"]
    variations = store.rest(f"products/{product_id}/variations")
    assert sorted(v["sku"] for v in variations) == ["TEE-L", "TEE-M", "TEE-S", "TEE-XL"]
    # The same call again (its answer lost): the variation is found by SKU and updated, not duplicated.
    [again] = upsert(connector, store, grow)
    assert again.outcome == APPLIED, again.message
    assert [v.external_id for v in again.variants] == [grown.variants[0].external_id]
    assert len(store.rest(f"products/{product_id}/variations")) == 4

    everything = [*created.variants, *grown.variants]
    pushed = connector.call(
        "PushInventory",
        pb.PushInventoryRequest(
            connection=store.ctx,
            items=[
                pb.InventoryItem(sku=v.sku, quantity=7 + i, remote=v.remote) for i, v in enumerate(everything)
            ],
        ),
    )
    assert [r.outcome for r in pushed.results] == [APPLIED] * 4
    read = connector.call(
        "ReadInventory",
        pb.ReadInventoryRequest(
            connection=store.ctx, items=[pb.InventoryItem(sku=v.sku, remote=v.remote) for v in everything]
        ),
    )
    assert [(q.sku, q.quantity, q.found) for q in read.quantities] == [
        ("TEE-S", 7, True),
        ("TEE-M", 8, True),
        ("TEE-L", 9, True),
        ("TEE-XL", 10, True),
    ]

    [archived] = connector.call(
        "ArchiveProducts",
        pb.ArchiveProductsRequest(
            connection=store.ctx, products=[pb.ProductRef(product_id="p-Tee", external_id=product_id)]
        ),
    ).results
    assert (archived.outcome, archived.external_id) == (APPLIED, product_id)
    assert store.rest(f"products/{product_id}")["status"] == "draft"
    assert len(store.rest(f"products/{product_id}/variations")) == 4


def test_simple_product_and_one_rejected_in_a_batch_of_three(connector: Any, store: Store) -> None:
    simple = pb.ProductUpsert(
        product_id="p-mug",
        product=pb.CatalogProduct(title="Mug", status="draft", variants=[variant("MUG-1", None, 899)]),
    )
    clash = tee("Clash", ("MUG-1-DUP",))
    clash.product.variants[0].sku = "MUG-1"  # a SKU the store already has: WooCommerce refuses it
    results = upsert(connector, store, simple, tee("Blank", ("B-S",)), clash)
    assert [r.outcome for r in results] == [APPLIED, APPLIED, REJECTED]
    assert "product_invalid_sku" in results[2].message
    [mug] = results[0].variants
    assert dict(mug.remote.ids) == {"product_id": results[0].external_id}
    assert mug.external_id == results[0].external_id
    shown = store.rest(f"products/{results[0].external_id}")
    assert (shown["type"], shown["sku"], shown["status"], shown["regular_price"]) == (
        "simple",
        "MUG-1",
        "draft",
        "8.99",
    )

    blank = tee("", ("NONAME-S",))
    [refused] = upsert(connector, store, blank)
    assert refused.outcome == REJECTED and "title" in refused.message

    pushed = connector.call(
        "PushInventory",
        pb.PushInventoryRequest(
            connection=store.ctx, items=[pb.InventoryItem(sku="MUG-1", quantity=3, remote=mug.remote)]
        ),
    )
    assert pushed.results[0].outcome == APPLIED
    priced = connector.call(
        "PushPrices",
        pb.PushPricesRequest(
            connection=store.ctx, items=[pb.PriceItem(sku="MUG-1", price=usd(999), remote=mug.remote)]
        ),
    )
    assert priced.results[0].outcome == APPLIED
    assert store.rest(f"products/{results[0].external_id}")["stock_quantity"] == 3
