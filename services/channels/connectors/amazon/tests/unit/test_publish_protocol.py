"""The pure publishing and import protocol: required-field refusal, listing attributes and update
patches, external ids, results per product, archive messages, feed UPDATE messages, and
listings grouped into products by variation family."""

from __future__ import annotations

from typing import Any

from amazon_connector import protocol as p
from amazon_connector.protocol import catalog_import as ci
from amazon_connector.protocol import publish as pub
from omnistock_connector_kit.catalog_import import single_level
from omnistock_connector_kit.publishing import ProductUpsert, VariantUpsert
from omnistock_connector_kit.values import Amount

MARKET = "ATVPDKIKX0DER"
USD = Amount(1999, "USD")
FULL = {"product_type": "shirt"}


def tee(*variants: VariantUpsert, **fields: Any) -> ProductUpsert:
    values: dict[str, Any] = {
        "product_id": "p-1",
        "title": "Trail Tee",
        "description": "Soft",
        "vendor": "Acme",
        "image_urls": ("https://cdn.test/a.jpg", "https://cdn.test/b.jpg"),
        "variants": variants or (VariantUpsert("TEE-S", barcode="012345678905", price=USD),),
    }
    values.update(fields)
    return ProductUpsert(**values)


def test_an_offer_needs_a_barcode_and_a_price_and_a_full_listing_the_facts() -> None:
    assert pub.upsert_problem(tee(), {}, "USD") is None
    no_code = tee(VariantUpsert("TEE-S", price=USD))
    assert "barcode" in (pub.upsert_problem(no_code, {}, "USD") or "")
    bad_code = tee(VariantUpsert("TEE-S", barcode="12AB", price=USD))
    assert "barcode" in (pub.upsert_problem(bad_code, {}, "USD") or "")
    no_price = tee(VariantUpsert("TEE-S", barcode="012345678905"))
    assert "price (purchasable_offer)" in (pub.upsert_problem(no_price, {}, "USD") or "")
    assert pub.upsert_problem(tee(vendor=""), {}, "USD") is None  # an offer: brand is Amazon's
    problem = pub.upsert_problem(tee(vendor="", image_urls=()), FULL, "USD") or ""
    assert "vendor (brand)" in problem and "main_product_image_locator" in problem and "SHIRT" in problem
    assert "EUR" in (pub.upsert_problem(tee(), {}, "EUR") or "")
    # OmniStock's own products have no vendor: the connection's brand setting stands in.
    branded = {**FULL, "brand": "Acme"}
    assert pub.upsert_problem(tee(vendor=""), branded, "USD") is None
    variant = VariantUpsert("TEE-S", barcode="012345678905", price=USD)
    attrs = pub.listing_attributes(tee(variant, vendor=""), variant, branded, MARKET)
    assert attrs["brand"][0]["value"] == "Acme"


def test_skus_must_be_present_unique_and_short() -> None:
    v = VariantUpsert("A", barcode="012345678905", price=USD)
    assert "SKU" in (pub.upsert_problem(tee(VariantUpsert("", price=USD)), {}, "USD") or "")
    assert "same SKU" in (pub.upsert_problem(tee(v, v), {}, "USD") or "")
    long = VariantUpsert("X" * 41, barcode="012345678905", price=USD)
    assert "40" in (pub.upsert_problem(tee(long), {}, "USD") or "")
    assert "status" in (pub.upsert_problem(tee(status="sold"), {}, "USD") or "")
    assert pub.upsert_problem(tee(variants=()), {}, "USD") is not None


def test_updates_only_check_and_write_what_they_own() -> None:
    existing = VariantUpsert("TEE-S", external_id="TEE-S", price=Amount(2500, "USD"))
    update = tee(existing, external_id="TEE-S", owned_fields=frozenset({"prices"}), vendor="")
    assert pub.upsert_problem(update, FULL, "USD") is None  # no barcode needed, brand not owned
    patches = pub.update_patches(update, existing, FULL, MARKET)
    assert [x["path"] for x in patches] == ["/attributes/purchasable_offer"]
    assert patches[0]["value"][0]["our_price"][0]["schedule"][0]["value_with_tax"] == 25.0
    titled = tee(existing, external_id="TEE-S", owned_fields=frozenset({"title"}))
    assert [
        x["path"] for x in pub.update_patches(titled, existing, {}, MARKET)
    ] == []  # offer: facts are Amazon's
    assert [x["path"] for x in pub.update_patches(titled, existing, FULL, MARKET)] == [
        "/attributes/item_name"
    ]
    prepared = pub.prepare(titled, {}, MARKET)
    assert prepared.messages == () and prepared.external_id == "TEE-S"
    # Archived in OmniStock (status owned): off sale, as ArchiveProducts does; active writes nothing.
    archived = tee(existing, external_id="TEE-S", owned_fields=frozenset({"status"}), status="archived")
    assert pub.update_patches(archived, existing, {}, MARKET) == [pub.quantity_patch(0)]
    active = tee(existing, external_id="TEE-S", owned_fields=frozenset({"status"}), status="active")
    assert pub.update_patches(active, existing, {}, MARKET) == []


def test_new_listings_carry_the_offer_and_full_ones_the_facts() -> None:
    variant = VariantUpsert(
        "TEE-S", barcode="4006381333931", price=USD, options=(("Size", "S"), ("Fit", "Slim"))
    )
    offer = pub.listing_attributes(tee(variant), variant, {}, MARKET)
    assert set(offer) == {
        "condition_type",
        "externally_assigned_product_identifier",
        "fulfillment_availability",
        "purchasable_offer",
    }
    assert offer["externally_assigned_product_identifier"][0] == {
        "type": "ean",
        "value": "4006381333931",
        "marketplace_id": MARKET,
    }
    assert offer["fulfillment_availability"] == [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}]
    full = pub.listing_attributes(tee(variant), variant, FULL, MARKET)
    assert full["item_name"][0] == {"value": "Trail Tee", "language_tag": "en_US", "marketplace_id": MARKET}
    assert full["main_product_image_locator"][0]["media_location"] == "https://cdn.test/a.jpg"
    assert full["other_product_image_locator_1"][0]["media_location"] == "https://cdn.test/b.jpg"
    assert full["size"][0]["value"] == "S" and "fit" not in full
    prepared = pub.prepare(tee(variant), FULL, MARKET)
    message = prepared.messages[0]
    assert (message.operation_type, message.requirements, message.product_type) == (
        "UPDATE",
        "LISTING",
        "SHIRT",
    )
    assert pub.prepare(tee(variant), {}, MARKET).messages[0].requirements == "LISTING_OFFER_ONLY"
    document = p.feed_document("SELLER", [message, pub.archive_message("OLD")])
    update, patch = document["messages"]
    assert (
        update["operationType"] == "UPDATE" and update["attributes"]["item_name"] and "patches" not in update
    )
    assert patch["operationType"] == "PATCH" and patch["patches"][0]["value"][0]["quantity"] == 0


def test_external_ids_name_a_parent_a_single_sku_or_every_sku() -> None:
    one = tee()
    assert pub.product_external_id(one) == "TEE-S"
    two = tee(VariantUpsert("A/1"), VariantUpsert("B"))
    assert pub.product_external_id(two) == "skus:A%2F1,B"
    assert pub.sku_list("skus:A%2F1,B") == ["A/1", "B"] and pub.sku_list("HOOD") is None
    grown = tee(VariantUpsert("C", external_id=""), external_id="skus:A%2F1,B")
    assert pub.product_external_id(grown) == "skus:A%2F1,B,C"
    assert pub.product_external_id(tee(VariantUpsert("A"), VariantUpsert("B"), external_id="A")) == "skus:A,B"
    assert pub.product_external_id(tee(VariantUpsert("HOOD-S"), external_id="HOOD")) == "HOOD"
    many = tee(*[VariantUpsert(f"{'S' * 38}{n:02d}", barcode="012345678905", price=USD) for n in range(7)])
    assert "255" in (pub.upsert_problem(many, {}, "USD") or "")


def test_results_per_product_from_their_listings() -> None:
    two = tee(
        VariantUpsert("A", barcode="012345678905", price=USD),
        VariantUpsert("B", barcode="012345678905", price=USD),
    )
    prepared = pub.prepare(two, FULL, MARKET)
    ok = {"A": (p.Outcome.APPLIED, ""), "B": (p.Outcome.APPLIED, "")}
    result = pub.product_result(prepared, ok, "SELLER", {"A": "B0A"})
    assert result.outcome is p.Outcome.APPLIED and result.external_id == "skus:A,B"
    assert [dict(v.ids) for v in result.variants] == [
        {"seller_id": "SELLER", "sku": "A", "asin": "B0A", "product_type": "SHIRT"},
        {"seller_id": "SELLER", "sku": "B", "product_type": "SHIRT"},
    ]
    refused = pub.product_result(prepared, {**ok, "B": (p.Outcome.REJECTED, "90220: brand")}, "S", {})
    assert refused.outcome is p.Outcome.REJECTED and refused.message == "Amazon refused B: 90220: brand"
    later = pub.product_result(prepared, {**ok, "A": (p.Outcome.RETRY, "HTTP 503")}, "S", {})
    assert later.outcome is p.Outcome.RETRY and later.message == "HTTP 503" and not later.variants
    grouped = pub.grouped_results(
        [("p-1", "X", ["A"]), ("p-2", "Y", ["B"]), ("p-3", "Z", ["C"])],
        {
            "A": (p.Outcome.APPLIED, ""),
            "B": (p.Outcome.REJECTED, "NOT_FOUND"),
            "C": (p.Outcome.RETRY, "later"),
        },
    )
    assert [r.outcome for r in grouped] == [p.Outcome.APPLIED, p.Outcome.REJECTED, p.Outcome.RETRY]


def test_a_put_answer_gives_its_asin() -> None:
    body = {
        "sku": "A",
        "status": "ACCEPTED",
        "issues": [],
        "identifiers": [{"marketplaceId": MARKET, "asin": "B0X"}],
    }
    assert p.submission("A", body) == p.Submission("A", True, asin="B0X")
    assert p.submission("A", {**body, "status": "INVALID"}).asin == ""


def _item(sku: str, relation: dict[str, Any] | None = None, **attributes: str) -> dict[str, Any]:
    return {
        "sku": sku,
        "summaries": [
            {
                "marketplaceId": MARKET,
                "asin": f"B0{sku}",
                "productType": "SHIRT",
                "itemName": sku,
                "status": ["BUYABLE"],
            }
        ],
        "attributes": {name: [{"value": value}] for name, value in attributes.items()},
        "offers": [
            {"marketplaceId": MARKET, "offerType": "B2C", "price": {"currencyCode": "USD", "amount": "12.50"}}
        ],
        "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 4}],
        "relationships": [{"marketplaceId": MARKET, "relationships": [relation] if relation else []}],
    }


def test_the_import_groups_children_under_their_parent_and_keeps_the_mapping_ids() -> None:
    theme = {"attributes": ["size"], "theme": "SIZE"}
    parent = _item(
        "HOOD", {"type": "VARIATION", "childSkus": ["HOOD-S"], "variationTheme": theme}, brand="Acme"
    )
    parent.pop("offers")
    child = _item(
        "HOOD-S",
        {"type": "VARIATION", "parentSkus": ["HOOD"], "variationTheme": theme},
        size="S",
        externally_assigned_product_identifier="4006381333931",
    )
    orphan = _item("HOOD-M", {"type": "VARIATION", "parentSkus": ["HOOD"], "variationTheme": theme}, size="M")
    alone = _item("MUG")
    lone_parent = _item("CAP", {"type": "VARIATION", "childSkus": ["CAP-1"], "variationTheme": theme})
    products = ci.catalog_products([parent, child, alone, orphan, lone_parent, {"sku": ""}], "SELLER", MARKET)
    assert [x.external_id for x in products] == ["HOOD", "MUG"]
    assert ci.is_variation_parent(parent, MARKET) and not ci.is_variation_parent(child, MARKET)
    hood = products[0]
    assert (hood.title, hood.vendor, hood.status) == ("HOOD", "Acme", "BUYABLE")
    small, medium = hood.variants
    assert (small.sku, small.options, small.barcode) == ("HOOD-S", (("Size", "S"),), "4006381333931")
    assert small.price == Amount(1250, "USD") and small.levels == single_level(4)
    assert dict(small.ids) == dict(p.remote_product(child, "SELLER", MARKET).ids)  # type: ignore[union-attr]
    assert medium.options == (("Size", "M"),)
    assert products[1].variants[0].options == ()
