"""Publishing, archiving and the catalog import through the connector's gRPC server against the
eBay sandbox: one-SKU listings and inventory item groups, the ids auto-map uses, required settings
and fields, eBay's refusals, live-listing revisions, withdraw, and whole products read back."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb

if TYPE_CHECKING:
    from conftest import Env

pytestmark = pytest.mark.redis

LISTING = {
    "category_id": "11450",
    "fulfillment_policy_id": "FP-1",
    "payment_policy_id": "PP-1",
    "return_policy_id": "RP-1",
    "merchant_location_key": "WH-1",
}


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=minor, currency="USD")


def product(
    product_id: str,
    *variants: pb.CatalogVariant,
    external_id: str = "",
    status: str = "active",
    **fields: str,
) -> pb.ProductUpsert:
    base = {"title": "Tee", "description": "<p>Cotton tee</p>", "vendor": "Acme"}
    return pb.ProductUpsert(
        product_id=product_id,
        product=pb.CatalogProduct(
            external_id=external_id,
            status=status,
            image_urls=["https://cdn.example.test/tee.jpg"],
            variants=list(variants),
            **{**base, **fields},
        ),
    )


def size(sku: str, value: str, minor: int = 1500, external_id: str = "") -> pb.CatalogVariant:
    return pb.CatalogVariant(
        sku=sku, external_id=external_id, price=usd(minor), options=[pb.OptionValue(name="Size", value=value)]
    )


@pytest.fixture
def connection(env: Env) -> pb.ConnectionContext:
    """Connected through the consent flow, with the listing settings publishing needs."""
    exchanged = env.authorize()
    return env.connection(exchanged.credentials, **{**dict(exchanged.settings), **LISTING})


def _remote_ids(env: Env, connection: pb.ConnectionContext) -> dict[str, dict[str, str]]:
    listed = env.call("ListRemoteProducts", pb.ListRemoteProductsRequest(connection=connection, limit=40))
    return {p.sku: dict(p.remote.ids) for p in listed.products}


def upsert(
    env: Env, connection: pb.ConnectionContext, *products: pb.ProductUpsert
) -> pb.UpsertProductsResponse:
    return env.call(
        "UpsertProducts", pb.UpsertProductsRequest(connection=connection, products=list(products))
    )


def test_a_one_variant_product_becomes_a_live_sku_listing_with_the_ids_auto_map_gives(
    env: Env, connection: pb.ConnectionContext
) -> None:
    mug = pb.CatalogVariant(sku="MUG", price=usd(995), barcode="012345678905")
    answer = upsert(env, connection, product("p1", mug, title="Mug"))
    [result] = answer.results
    assert result.outcome == pb.ITEM_OUTCOME_APPLIED, result.message
    # getInventoryItem, getOffers, createOrReplaceInventoryItem, createOffer, publishOffer
    assert result.external_id == "MUG" and answer.calls == 5
    [variant] = result.variants
    assert dict(variant.remote.ids) == _remote_ids(env, connection)["MUG"]
    assert set(variant.remote.ids) == {"sku", "offer_id", "listing_id"}
    item = env.sandbox.get("/_sandbox/items").json()["MUG"]
    assert item["product"]["title"] == "Mug" and item["product"]["upc"] == ["012345678905"]
    assert item["product"]["aspects"] == {"Brand": ["Acme"]} and item["condition"] == "NEW"
    assert item["availability"]["shipToLocationAvailability"]["quantity"] == 0
    offer = env.sandbox.get("/_sandbox/offers").json()["MUG"]
    assert offer["status"] == "PUBLISHED" and offer["categoryId"] == "11450"
    assert offer["listingPolicies"] == {
        "fulfillmentPolicyId": "FP-1",
        "paymentPolicyId": "PP-1",
        "returnPolicyId": "RP-1",
    }
    assert offer["merchantLocationKey"] == "WH-1" and offer["pricingSummary"]["price"]["value"] == "9.95"

    # Stock follows through the mapping, and the push counts against the new listing.
    pushed = env.call(
        "PushInventory",
        pb.PushInventoryRequest(
            connection=connection, items=[pb.InventoryItem(sku="MUG", quantity=4, remote=variant.remote)]
        ),
    )
    assert pushed.results[0].outcome == pb.ITEM_OUTCOME_APPLIED
    assert env.sandbox.get("/_sandbox/inventory").json()["MUG"] == 4
    assert env.sandbox.get("/_sandbox/revisions").json()["by_sku"]["MUG"] == 1


def test_variants_become_one_item_group_listing_and_an_owned_price_update_spends_revisions(
    env: Env, connection: pb.ConnectionContext
) -> None:
    created = upsert(env, connection, product("p2", size("TEE-S", "S"), size("TEE-M", "M")))
    [result] = created.results
    assert result.outcome == pb.ITEM_OUTCOME_APPLIED, result.message
    assert result.external_id == "os-p2"
    listings = {v.remote.ids["listing_id"] for v in result.variants}
    assert len(listings) == 1  # one multiple-variation listing
    remote = _remote_ids(env, connection)
    assert {v.sku: dict(v.remote.ids) for v in result.variants} == {s: remote[s] for s in ("TEE-S", "TEE-M")}
    group = env.sandbox.get("/_sandbox/groups").json()["os-p2"]
    assert group["variantSKUs"] == ["TEE-S", "TEE-M"]
    assert group["variesBy"]["specifications"] == [{"name": "Size", "values": ["S", "M"]}]
    assert env.sandbox.get("/_sandbox/items").json()["TEE-S"]["groupIds"] == ["os-p2"]
    env.sandbox.post("/_sandbox/inventory", json={"sku": "TEE-S", "quantity": 7})

    update = product(
        "p2",
        size("TEE-S", "S", 1200, external_id="TEE-S"),
        size("TEE-M", "M", 1300, external_id="TEE-M"),
        external_id="os-p2",
        title="Not owned",
    )
    update.owned_fields.append("prices")
    [updated] = upsert(env, connection, update).results
    assert updated.outcome == pb.ITEM_OUTCOME_APPLIED, updated.message
    offers = env.sandbox.get("/_sandbox/offers").json()
    assert offers["TEE-S"]["pricingSummary"]["price"]["value"] == "12.00"
    assert offers["TEE-S"]["categoryId"] == "11450"  # the rest of the offer kept
    items = env.sandbox.get("/_sandbox/items").json()
    assert items["TEE-S"]["product"]["title"] == "Tee"  # the title is not owned
    assert items["TEE-S"]["availability"]["shipToLocationAvailability"]["quantity"] == 7  # stock kept
    assert env.sandbox.get("/_sandbox/revisions").json()["by_sku"]["TEE-S"] == 5  # 2 items, group, 2 offers


def test_missing_settings_and_fields_are_refused_up_front_and_the_others_still_go(
    env: Env, connection: pb.ConnectionContext
) -> None:
    bare = env.connection(
        connection.credentials, **{k: v for k, v in connection.settings.items() if k != "category_id"}
    )
    [no_category] = upsert(env, bare, product("p1", pb.CatalogVariant(sku="A", price=usd(100)))).results
    assert no_category.outcome == pb.ITEM_OUTCOME_REJECTED and "category_id" in no_category.message
    no_image = product("p2", pb.CatalogVariant(sku="B", price=usd(100)))
    del no_image.product.image_urls[:]
    no_options = product(
        "p3", pb.CatalogVariant(sku="C1", price=usd(100)), pb.CatalogVariant(sku="C2", price=usd(100))
    )
    fine = product("p4", pb.CatalogVariant(sku="D", price=usd(100)))
    results = upsert(env, connection, no_image, no_options, fine).results
    assert [r.outcome for r in results] == [
        pb.ITEM_OUTCOME_REJECTED,
        pb.ITEM_OUTCOME_REJECTED,
        pb.ITEM_OUTCOME_APPLIED,
    ]
    assert "imageUrls" in results[0].message and "options" in results[1].message
    assert set(env.sandbox.get("/_sandbox/items").json()) == {"D"}


def test_ebays_refusal_is_rejected_with_its_words(env: Env, connection: pb.ConnectionContext) -> None:
    euro = pb.CatalogVariant(sku="EU", price=common_pb2.Money(amount_minor=500, currency="EUR"))
    [result] = upsert(env, connection, product("p1", euro)).results
    assert result.outcome == pb.ITEM_OUTCOME_REJECTED
    assert result.message.startswith("eBay refused createOffer: 25709") and "USD" in result.message


def test_a_draft_is_created_unlisted_and_archive_withdraws_keeping_the_offers(
    env: Env, connection: pb.ConnectionContext
) -> None:
    [draft] = upsert(
        env, connection, product("p1", pb.CatalogVariant(sku="DR", price=usd(100)), status="draft")
    ).results
    assert draft.outcome == pb.ITEM_OUTCOME_APPLIED and "listing_id" not in draft.variants[0].remote.ids
    assert env.sandbox.get("/_sandbox/offers").json()["DR"]["status"] == "UNPUBLISHED"
    [group] = upsert(env, connection, product("p2", size("G-S", "S"), size("G-M", "M"))).results
    [single] = upsert(env, connection, product("p3", pb.CatalogVariant(sku="ONE", price=usd(100)))).results
    refs = [
        pb.ProductRef(product_id="p2", external_id=group.external_id),
        pb.ProductRef(product_id="p3", external_id=single.external_id),
        pb.ProductRef(product_id="p9", external_id="NOPE"),
    ]
    archived = env.call("ArchiveProducts", pb.ArchiveProductsRequest(connection=connection, products=refs))
    assert [r.outcome for r in archived.results] == [
        pb.ITEM_OUTCOME_APPLIED,
        pb.ITEM_OUTCOME_APPLIED,
        pb.ITEM_OUTCOME_REJECTED,
    ]
    offers = env.sandbox.get("/_sandbox/offers").json()
    assert {offers[s]["status"] for s in ("G-S", "G-M", "ONE")} == {"UNPUBLISHED"}
    again = env.call("ArchiveProducts", pb.ArchiveProductsRequest(connection=connection, products=refs[:2]))
    assert [r.outcome for r in again.results] == [pb.ITEM_OUTCOME_APPLIED] * 2  # already ended
    # Publishing the product again (status owned: active) relists it.
    relist = product("p3", pb.CatalogVariant(sku="ONE", external_id="ONE", price=usd(100)), external_id="ONE")
    relist.owned_fields.append("status")
    [back] = upsert(env, connection, relist).results
    assert back.outcome == pb.ITEM_OUTCOME_APPLIED and back.variants[0].remote.ids["listing_id"]


def test_the_catalog_import_reads_groups_as_products_with_their_variants(
    env: Env, connection: pb.ConnectionContext
) -> None:
    made = env.sandbox.post(
        "/_sandbox/catalog", json={"generate": {"products": 3, "variants_per_product": 2}}
    )
    assert made.status_code == 201
    env.sandbox.post(
        "/_sandbox/catalog",
        json={"products": [{"title": "Solo", "variants": [{"sku": "SOLO", "price": "4.50", "quantity": 3}]}]},
    )
    seen: list[pb.CatalogProduct] = []
    cursor = ""
    while True:
        page = env.call(
            "ListRemoteProducts",
            pb.ListRemoteProductsRequest(connection=connection, include_catalog=True, cursor=cursor, limit=3),
        )
        seen.extend(page.catalog)
        cursor = page.next_cursor
        if not cursor:
            break
    merged: dict[str, list[pb.CatalogVariant]] = {}
    for p in seen:
        merged.setdefault(p.external_id, []).extend(p.variants)
    groups = [g["product_id"] for g in made.json()["products"]]
    assert set(merged) == {*groups, "SOLO"}
    first = next(p for p in seen if p.external_id == groups[1])
    assert first.title == "GEN product 1" and first.status == "PUBLISHED" and first.vendor == "Sandbox"
    assert list(first.image_urls) == ["https://cdn.example.test/gen/1.jpg"]
    variant = merged[groups[1]][1]
    assert variant.sku == "GEN-1-M" and [(o.name, o.value) for o in variant.options] == [("Size", "M")]
    assert variant.price.amount_minor == 1001 and variant.quantities[0].available == 2
    assert dict(variant.remote.ids) == _remote_ids(env, connection)["GEN-1-M"]
    solo = next(p for p in seen if p.external_id == "SOLO")
    assert solo.variants[0].options == [] and solo.variants[0].price.amount_minor == 450


def test_products_past_the_calls_budget_are_retry_unsent(env: Env, connection: pb.ConnectionContext) -> None:
    sizes = [str(n) for n in range(6)]
    products = [product(f"p{i}", *(size(f"P{i}-{s}", s) for s in sizes)) for i in range(3)]
    answer = upsert(env, connection, *products)
    assert [r.outcome for r in answer.results] == [
        pb.ITEM_OUTCOME_APPLIED,
        pb.ITEM_OUTCOME_RETRY,
        pb.ITEM_OUTCOME_RETRY,
    ]
    assert "budget of 48 eBay calls" in answer.results[1].message and answer.calls == 27
    assert {s.split("-")[0] for s in env.sandbox.get("/_sandbox/items").json()} == {"P0"}
    too_big = product("p9", *(size(f"B-{n}", str(n)) for n in range(13)))
    [refused] = upsert(env, connection, too_big).results
    assert refused.outcome == pb.ITEM_OUTCOME_REJECTED and "at most 12 variants" in refused.message
