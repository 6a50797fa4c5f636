"""Publishing, archiving and the catalog import: the real Amazon connector against the real
sandbox (fixtures in conftest.py)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb

if TYPE_CHECKING:
    from conftest import Env

pytestmark = pytest.mark.redis

APPLIED, REJECTED = pb.ITEM_OUTCOME_APPLIED, pb.ITEM_OUTCOME_REJECTED


def variant(
    sku: str, barcode: str = "", cents: int = 1999, external_id: str = "", **options: str
) -> pb.CatalogVariant:
    return pb.CatalogVariant(
        sku=sku,
        external_id=external_id,
        barcode=barcode,
        price=common_pb2.Money(amount_minor=cents, currency="USD"),
        options=[pb.OptionValue(name=n, value=v) for n, v in options.items()],
    )


def product(
    product_id: str,
    variants: Sequence[pb.CatalogVariant],
    *,
    external_id: str = "",
    owned: Sequence[str] = (),
    **fields: Any,
) -> pb.ProductUpsert:
    values = {
        "title": "Trail Tee",
        "description": "Soft cotton tee",
        "vendor": "Acme",
        "image_urls": ["https://cdn.example.test/tee.jpg", "https://cdn.example.test/tee-2.jpg"],
        **fields,
    }
    return pb.ProductUpsert(
        product_id=product_id,
        product=pb.CatalogProduct(external_id=external_id, variants=list(variants), **values),
        owned_fields=list(owned),
    )


def upsert(env: Env, ctx: pb.ConnectionContext, *products: pb.ProductUpsert) -> pb.UpsertProductsResponse:
    return env.call("UpsertProducts", pb.UpsertProductsRequest(connection=ctx, products=list(products)))


def listings(env: Env) -> dict[str, dict[str, Any]]:
    return {x["sku"]: x for x in env.sandbox.get("/_sandbox/listings").json()["listings"]}


def remote_ids(env: Env, ctx: pb.ConnectionContext) -> dict[str, dict[str, str]]:
    page = env.call("ListRemoteProducts", pb.ListRemoteProductsRequest(connection=ctx, limit=20))
    return {p.sku: dict(p.remote.ids) for p in page.products}


def test_offers_match_the_catalog_by_barcode_and_missing_fields_are_refused_before_any_call(env: Env) -> None:
    ctx = env.connected()
    made = env.sandbox.post(
        "/_sandbox/catalog-items", json={"items": [{"barcode": "012345678905", "asin": "B0TEE00001"}]}
    )
    assert made.status_code == 201
    before = sum(env.calls().values())
    response = upsert(
        env,
        ctx,
        product("p-1", [variant("TEE-1", barcode="012345678905")]),
        product("p-2", [variant("TEE-2")]),  # no barcode: nothing to match
        product("p-3", [variant("TEE-3", barcode="4006381333931")]),  # not in Amazon's catalog
    )
    first, missing, unknown = response.results
    assert first.outcome == APPLIED and first.external_id == "TEE-1", first.message
    assert dict(first.variants[0].remote.ids) == {
        "seller_id": env.config["seller_id"],
        "sku": "TEE-1",
        "asin": "B0TEE00001",
    }
    assert missing.outcome == REJECTED and "barcode" in missing.message
    assert unknown.outcome == REJECTED and "TEE-3" in unknown.message and "8541" in unknown.message
    assert env.calls().get("putListingsItem") == 2 and sum(env.calls().values()) - before == 2
    listing = listings(env)["TEE-1"]
    assert listing["requirements"] == "LISTING_OFFER_ONLY" and listing["summaries"][0]["asin"] == "B0TEE00001"
    assert listing["fulfillmentAvailability"][0]["quantity"] == 0
    assert listing["offers"][0]["price"] == {"currencyCode": "USD", "amount": "19.99"}
    ids = remote_ids(env, ctx)["TEE-1"]
    assert {k: ids[k] for k in first.variants[0].remote.ids} == dict(first.variants[0].remote.ids)


def test_a_full_listing_needs_the_product_facts_and_is_updated_by_patches(env: Env) -> None:
    ctx = env.connected()
    full = pb.ConnectionContext()
    full.CopyFrom(ctx)
    full.settings["product_type"] = "SHIRT"
    refused = upsert(env, full, product("p-0", [variant("TEE-0", barcode="012345678905")], vendor=""))
    assert refused.results[0].outcome == REJECTED and "vendor (brand)" in refused.results[0].message
    assert "putListingsItem" not in env.calls()

    shirt = product(
        "p-1",
        [
            variant("TEE-S", barcode="012345678912", size="S", color="Red"),
            variant("TEE-M", barcode="012345678929", size="M", color="Red"),
        ],
    )
    result = upsert(env, full, shirt).results[0]
    assert result.outcome == APPLIED, result.message
    assert result.external_id == "skus:TEE-S,TEE-M"
    ids = {v.sku: dict(v.remote.ids) for v in result.variants}
    remote = remote_ids(env, ctx)
    for sku in ("TEE-S", "TEE-M"):
        assert ids[sku] == remote[sku] and ids[sku]["product_type"] == "SHIRT"
    attributes = listings(env)["TEE-S"]["attributes"]
    assert attributes["item_name"][0]["value"] == "Trail Tee" and attributes["brand"][0]["value"] == "Acme"
    assert attributes["size"][0]["value"] == "S" and attributes["color"][0]["value"] == "Red"
    assert attributes["other_product_image_locator_1"][0]["media_location"].endswith("tee-2.jpg")

    env.sandbox.post("/_sandbox/inventory", json={"sku": "TEE-S", "quantity": 7})
    update = product(
        "p-1",
        [
            variant("TEE-S", external_id="TEE-S", cents=2500),
            variant("TEE-M", external_id="TEE-M", cents=2600),
        ],
        external_id=result.external_id,
        owned=["title", "prices"],
        title="Trail Tee v2",
    )
    updated = upsert(env, full, update).results[0]
    assert updated.outcome == APPLIED and updated.external_id == "skus:TEE-S,TEE-M", updated.message
    after = listings(env)["TEE-S"]
    assert after["summaries"][0]["itemName"] == "Trail Tee v2"
    assert Decimal(after["offers"][0]["price"]["amount"]) == Decimal("25.00")  # the patch kept the stock:
    assert after["fulfillmentAvailability"][0]["quantity"] == 7
    assert env.calls()["patchListingsItem"] == 2


def test_many_listings_go_as_one_feed_and_archive_sets_quantity_zero(env: Env) -> None:
    ctx = env.connected()
    codes = [f"0123456789{n:02d}" for n in range(12)]
    env.sandbox.post("/_sandbox/catalog-items", json={"items": [{"barcode": c} for c in codes]})
    products = [product(f"p-{n}", [variant(f"BULK-{n:02d}", barcode=c)]) for n, c in enumerate(codes)]
    results = upsert(env, ctx, *products).results
    assert [r.outcome for r in results] == [APPLIED] * 12, [r.message for r in results]
    calls = env.calls()
    assert calls["createFeed"] == 1 and "putListingsItem" not in calls
    stock = env.sandbox.get("/_sandbox/inventory").json()
    assert all(stock[f"BULK-{n:02d}"] == 0 for n in range(12))

    env.sandbox.post("/_sandbox/inventory", json={"sku": "BULK-00", "quantity": 5})
    archived = env.call(
        "ArchiveProducts",
        pb.ArchiveProductsRequest(
            connection=ctx,
            products=[
                pb.ProductRef(product_id="p-0", external_id="BULK-00"),
                pb.ProductRef(product_id="p-x", external_id="NOPE"),
            ],
        ),
    ).results
    assert archived[0].outcome == APPLIED and archived[1].outcome == REJECTED
    assert "NOPE" in archived[1].message
    assert env.sandbox.get("/_sandbox/inventory").json()["BULK-00"] == 0
    assert "BULK-00" in listings(env)  # kept, with its SKU and ASIN


def test_the_import_groups_variation_families_by_parent_sku(env: Env) -> None:
    ctx = env.connected()
    body = {
        "products": [
            {
                "title": "Hoodie",
                "vendor": "Acme",
                "description": "Warm",
                "images": ["https://cdn.example.test/hoodie.jpg"],
                "variants": [
                    {
                        "sku": "HOOD-S",
                        "options": {"Size": "S"},
                        "price": "40.00",
                        "quantity": 3,
                        "barcode": "4006381333931",
                    },
                    {"sku": "HOOD-M", "options": {"Size": "M"}, "price": "42.00", "quantity": 0},
                ],
            },
            {"title": "Mug", "variants": [{"sku": "MUG", "price": "9.50", "quantity": 8}]},
        ]
    }
    assert env.sandbox.post("/_sandbox/catalog", json=body).status_code == 201
    page = env.call("ListRemoteProducts", pb.ListRemoteProductsRequest(connection=ctx, include_catalog=True))
    by_id = {p.external_id: p for p in page.catalog}
    assert set(by_id) == {"HOOD", "MUG"} and not page.next_cursor
    hoodie = by_id["HOOD"]
    assert (hoodie.title, hoodie.vendor, hoodie.description) == ("Hoodie", "Acme", "Warm")
    assert list(hoodie.image_urls) == ["https://cdn.example.test/hoodie.jpg"]
    small = {v.sku: v for v in hoodie.variants}["HOOD-S"]
    assert [(o.name, o.value) for o in small.options] == [("Size", "S")] and small.barcode == "4006381333931"
    assert (small.price.amount_minor, small.price.currency) == (4000, "USD")
    assert small.quantities[0].available == 3
    listed = remote_ids(env, ctx)
    assert dict(small.remote.ids) == listed["HOOD-S"] and "HOOD" not in listed  # a parent cannot sell
    assert [v.sku for v in by_id["MUG"].variants] == ["MUG"]

    archived = env.call(
        "ArchiveProducts",
        pb.ArchiveProductsRequest(
            connection=ctx, products=[pb.ProductRef(product_id="p-h", external_id="HOOD")]
        ),
    ).results[0]
    assert archived.outcome == APPLIED, archived.message
    stock = env.sandbox.get("/_sandbox/inventory").json()
    assert (stock["HOOD-S"], stock["HOOD-M"], stock["MUG"]) == (0, 0, 8)
