"""Publishing and the catalog import, pure (meta_connector.protocol.publish / catalog_import):
items_batch request bodies, required-field refusal, owned fields on update, results attributed per
product, archive requests, items grouped into products."""

from __future__ import annotations

from dataclasses import replace

from meta_connector import mapping as m
from meta_connector import protocol as p
from meta_connector.protocol import catalog_import as ci
from meta_connector.protocol import publish as pub
from omnistock_connector_kit.catalog_import import single_level
from omnistock_connector_kit.publishing import ProductUpsert, VariantUpsert

SETTINGS = {"product_url_template": "https://shop.test/p/{product_id}?sku={sku}"}
TEE = ProductUpsert(
    product_id="p1",
    title="Tee",
    description="Soft cotton",
    status="active",
    vendor="Acme",
    image_urls=("https://img.test/a.jpg", "https://img.test/b.jpg"),
    variants=(
        VariantUpsert("TEE-S", options=(("Size", "S"), ("Fit", "Slim")), price=p.Amount(1999, "USD")),
        VariantUpsert(
            "TEE-M",
            options=(("Size", "M"),),
            price=p.Amount(1999, "USD"),
            compare_at=p.Amount(2500, "USD"),
            barcode="0123456789012",
        ),
    ),
)


def test_a_create_sends_every_required_field_per_variant() -> None:
    ready = pub.prepare(TEE, SETTINGS)
    assert ready.group_id == "os-p1"
    (sku_s, small), (sku_m, medium) = ready.requests
    assert (sku_s, sku_m) == ("TEE-S", "TEE-M")
    assert small == {
        "method": "CREATE",
        "data": {
            "id": "TEE-S",
            "item_group_id": "os-p1",
            "title": "Tee",
            "description": "Soft cotton",
            "image_link": "https://img.test/a.jpg",
            "additional_image_link": "https://img.test/b.jpg",
            "price": "19.99 USD",
            "sale_price": "",
            "brand": "Acme",
            "size": "S",
            "additional_variant_attribute": "Fit:Slim",
            "visibility": "published",
            "link": "https://shop.test/p/p1?sku=TEE-S",
            "condition": "new",
            "availability": "out of stock",
            "inventory": 0,
        },
    }
    assert medium["data"]["price"] == "25.00 USD" and medium["data"]["sale_price"] == "19.99 USD"
    assert medium["data"]["gtin"] == "0123456789012"


def test_a_missing_required_field_is_refused_naming_it() -> None:
    assert pub.upsert_problem(TEE, SETTINGS) is None
    no_image = pub.upsert_problem(replace(TEE, image_urls=()), SETTINGS)
    assert no_image and "image_link" in no_image
    no_link = pub.upsert_problem(TEE, {})
    assert no_link and "link" in no_link and "store_url" in no_link
    assert pub.upsert_problem(TEE, {"store_url": "https://shop.test"}) is None
    assert pub.upsert_problem(TEE, {"store_url": "ftp://shop.test"})
    no_text = pub.upsert_problem(replace(TEE, description=" ", vendor=""), SETTINGS)
    assert no_text and "description" in no_text and "brand" in no_text
    no_price = pub.upsert_problem(replace(TEE, variants=(VariantUpsert("X"),)), SETTINGS)
    assert no_price and "price" in no_price
    assert "SKU" in (pub.upsert_problem(replace(TEE, variants=(VariantUpsert(""),)), SETTINGS) or "")
    assert pub.upsert_problem(replace(TEE, variants=()), SETTINGS)
    assert pub.upsert_problem(replace(TEE, status="gone"), SETTINGS)


def test_an_update_writes_only_the_owned_fields() -> None:
    existing = replace(
        TEE,
        external_id="G1",
        owned_fields=frozenset({"prices", "status"}),
        status="draft",
        variants=tuple(replace(v, external_id=v.sku) for v in TEE.variants),
    )
    assert pub.upsert_problem(existing, {}) is None  # no link needed: nothing is created
    (_, small), _ = pub.prepare(existing, {}).requests
    assert small == {
        "method": "UPDATE",
        "data": {
            "id": "TEE-S",
            "item_group_id": "G1",
            "price": "19.99 USD",
            "sale_price": "",
            "visibility": "staging",
        },
    }
    # A new variant in an update is a CREATE with everything, and needs the `variants` field.
    grown = replace(
        existing, variants=(*existing.variants, VariantUpsert("TEE-L", price=p.Amount(1999, "USD")))
    )
    assert "variants" in (pub.upsert_problem(grown, SETTINGS) or "")
    grown = replace(grown, owned_fields=frozenset({"variants"}))
    assert pub.upsert_problem(grown, SETTINGS) is None
    methods = {sku: r["method"] for sku, r in pub.prepare(grown, SETTINGS).requests}
    assert methods == {"TEE-S": "UPDATE", "TEE-M": "UPDATE", "TEE-L": "CREATE"}


def test_results_are_attributed_to_their_product() -> None:
    ready = pub.prepare(TEE, SETTINGS)
    applied = {s: p.ItemResult(s, p.Outcome.APPLIED) for s in ("TEE-S", "TEE-M")}
    found = {"TEE-S": {"id": "901"}}
    result = pub.product_result(ready, applied, found)
    assert result.outcome is p.Outcome.APPLIED and result.external_id == "os-p1"
    assert [(v.sku, v.external_id, dict(v.ids)) for v in result.variants] == [
        ("TEE-S", "TEE-S", {"retailer_id": "TEE-S", "item_group_id": "os-p1", "product_item_id": "901"}),
        ("TEE-M", "TEE-M", {"retailer_id": "TEE-M", "item_group_id": "os-p1"}),
    ]
    one_refused = {**applied, "TEE-M": p.ItemResult("TEE-M", p.Outcome.REJECTED, "bad gtin")}
    refused = pub.product_result(ready, one_refused, found)
    assert refused.outcome is p.Outcome.REJECTED and "TEE-M: bad gtin" in refused.message
    assert not refused.variants
    late = {**applied, "TEE-S": p.ItemResult("TEE-S", p.Outcome.RETRY, "not finished")}
    assert pub.product_result(ready, late, found).outcome is p.Outcome.RETRY


def test_archive_hides_every_item_of_the_group() -> None:
    assert pub.archive_request("A") == {"method": "UPDATE", "data": {"id": "A", "visibility": "staging"}}
    assert pub.group_filter("G1") == '{"retailer_product_group_id":{"eq":"G1"}}'
    items = {
        "A": p.ItemResult("A", p.Outcome.APPLIED),
        "B": p.ItemResult("B", p.Outcome.REJECTED, "nope"),
        "C": p.ItemResult("C", p.Outcome.APPLIED),
    }
    results = pub.grouped_results([("p1", "G1", ["A", "B"]), ("p2", "G2", ["C"])], items)
    assert [(r.product_id, r.outcome, r.external_id) for r in results] == [
        ("p1", p.Outcome.REJECTED, "G1"),
        ("p2", p.Outcome.APPLIED, "G2"),
    ]


def test_catalog_items_become_whole_products() -> None:
    items = [
        {
            "id": "11",
            "retailer_id": "TEE-S",
            "retailer_product_group_id": "G1",
            "name": "Tee S",
            "description": "Soft",
            "brand": "Acme",
            "price": "$25.00",
            "sale_price": "$19.99",
            "currency": "USD",
            "inventory": 4,
            "image_url": "https://img.test/a.jpg",
            "additional_image_urls": ["https://img.test/b.jpg"],
            "visibility": "published",
            "size": "S",
        },
        {"id": "12", "retailer_id": "SOLO", "name": "Solo", "price": "5.00 EUR", "currency": "EUR"},
        {
            "id": "13",
            "retailer_id": "TEE-M",
            "retailer_product_group_id": "G1",
            "price": "$19.99",
            "currency": "USD",
        },
        {"id": "14", "name": "no retailer id"},
    ]
    tee, solo = ci.catalog_products(items)
    assert (tee.external_id, tee.title, tee.vendor, tee.status) == ("G1", "Tee S", "Acme", "published")
    assert tee.image_urls == ("https://img.test/a.jpg", "https://img.test/b.jpg")
    small, medium = tee.variants
    assert small.price == p.Amount(1999, "USD") and small.compare_at == p.Amount(2500, "USD")
    assert small.options == (("Size", "S"),) and small.levels == single_level(4)
    assert dict(small.ids) == {"product_item_id": "11", "retailer_id": "TEE-S", "item_group_id": "G1"}
    assert medium.price == p.Amount(1999, "USD") and medium.compare_at is None and medium.levels == ()
    assert solo.external_id == "SOLO" and solo.variants[0].price == p.Amount(500, "EUR")
    answer = m.catalog_to_proto([tee, solo], "next")
    assert answer.next_cursor == "next" and len(answer.catalog) == 2
    variant = answer.catalog[0].variants[0]
    assert variant.compare_at_price.amount_minor == 2500 and variant.quantities[0].available == 4
    assert not answer.catalog[0].variants[1].quantities
