"""Publishing payloads (woocommerce_connector.protocol.publish): an OmniStock product as
products/batch and variations/batch objects, owned fields on update, per-item answers. Pure."""

from __future__ import annotations

from dataclasses import replace

from omnistock_connector_kit.publishing import ProductUpsert, VariantUpsert
from omnistock_connector_kit.values import Amount, Outcome
from woocommerce_connector.protocol import publish as pub

TEE = ProductUpsert(
    product_id="p1",
    title=" Tee ",
    description="<p>Soft</p>",
    status="active",
    vendor="Acme",
    tags=("cotton",),
    image_urls=("https://img.test/a.jpg",),
    variants=(
        VariantUpsert(
            "TEE-S", options=(("Size", "S"),), price=Amount(1999, "USD"), weight_grams=250, barcode="0123"
        ),
        VariantUpsert(
            "TEE-M", options=(("Size", "M"),), price=Amount(1999, "USD"), compare_at=Amount(2500, "USD")
        ),
    ),
)
MUG = ProductUpsert(
    "p2", title="Mug", status="archived", variants=(VariantUpsert("MUG", price=Amount(899, "USD")),)
)


def test_a_new_product_with_options_is_variable_with_variation_attributes() -> None:
    body = pub.product_body(TEE, None, weight_unit="kg")
    assert body == {
        "type": "variable",
        "name": "Tee",
        "description": "<p>Soft</p>",
        "status": "publish",
        "images": [{"src": "https://img.test/a.jpg"}],
        "attributes": [{"name": "Size", "options": ["S", "M"], "visible": True, "variation": True}],
    }
    assert pub.variation_body(TEE, TEE.variants[0], weight_unit="kg") == {
        "attributes": [{"name": "Size", "option": "S"}],
        "sku": "TEE-S",
        "weight": "0.25",
        "global_unique_id": "0123",
        "manage_stock": True,
        "regular_price": "19.99",
        "sale_price": "",
    }
    # A compare-at ("was") price is the regular price, the price the sale price.
    medium = pub.variation_body(TEE, TEE.variants[1], weight_unit="g")
    assert (medium["regular_price"], medium["sale_price"]) == ("25.00", "19.99")


def test_one_variant_without_options_is_a_simple_product_and_archived_is_draft() -> None:
    assert pub.product_body(MUG, None, weight_unit="kg") == {
        "type": "simple",
        "name": "Mug",
        "description": "",
        "status": "draft",
        "images": [],
        "sku": "MUG",
        "manage_stock": True,
        "regular_price": "8.99",
        "sale_price": "",
    }


def test_an_update_sends_only_owned_fields() -> None:
    existing = pub.ExistingProduct(40, "variable", (("Size", ("S", "M", "L")),))
    titled = replace(TEE, external_id="40", owned_fields=frozenset({"title"}))
    assert pub.product_body(titled, existing, weight_unit="kg") == {"id": 40, "name": "Tee"}
    # Options owned: the store's values stay, new ones are added (the options list replaces).
    grown = replace(
        TEE,
        external_id="40",
        owned_fields=frozenset({"options"}),
        variants=(VariantUpsert("TEE-XL", options=(("Size", "XL"),)),),
    )
    assert pub.product_body(grown, existing, weight_unit="kg")["attributes"] == [
        {"name": "Size", "options": ["S", "M", "L", "XL"], "visible": True, "variation": True}
    ]
    priced = replace(TEE, external_id="40", owned_fields=frozenset({"prices"}))
    variant = replace(TEE.variants[0], external_id="41")
    assert pub.variation_body(priced, variant, weight_unit="kg") == {
        "id": 41,
        "regular_price": "19.99",
        "sale_price": "",
    }


def test_problems_before_any_call() -> None:
    assert "title" in (pub.upsert_problem(replace(TEE, title="  "), "USD") or "")
    assert "unknown product status" in (pub.upsert_problem(replace(TEE, status="gone"), "USD") or "")
    assert "store sells in EUR" in (pub.upsert_problem(TEE, "EUR") or "")
    assert "not a WooCommerce product id" in (
        pub.upsert_problem(replace(TEE, external_id="gid://x/1"), "") or ""
    )
    assert pub.upsert_problem(TEE, "USD") is None
    # An update that does not own the title may leave it blank.
    assert (
        pub.upsert_problem(replace(TEE, title="", external_id="5", owned_fields=frozenset({"prices"})), "")
        is None
    )
    assert "needs its options" in (pub.variation_problem(VariantUpsert("X")) or "")


def test_batch_answers_per_item() -> None:
    payload = {
        "create": [
            {
                "id": 0,
                "error": {"code": "product_invalid_sku", "message": "<b>dup</b>", "data": {"status": 400}},
            },
            {"id": 0, "error": {"code": "internal", "message": "x", "data": {"status": 503}}},
            {"id": 77, "name": "ok"},
        ]
    }
    outcomes = [pub.item_outcome(a) for a in pub.answers(payload, "create", 4)]
    assert outcomes == [
        (Outcome.REJECTED, "rejected by WooCommerce (product_invalid_sku)", 0),
        (Outcome.RETRY, "rejected by WooCommerce (internal)", 0),
        (Outcome.APPLIED, "", 77),
        (Outcome.RETRY, "WooCommerce did not report on this item", 0),
    ]


def test_weights_in_the_store_unit() -> None:
    lbs = pub.variant_fields(MUG, replace(MUG.variants[0], weight_grams=907), create=True, weight_unit="lbs")
    assert lbs["weight"].startswith("1.99")
    assert (
        pub.variant_fields(MUG, replace(MUG.variants[0], weight_grams=1500), create=True, weight_unit="kg")[
            "weight"
        ]
        == "1.5"
    )
