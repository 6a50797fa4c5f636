"""The pure publishing, catalog-import and logistics protocol: bodies, required-field refusals,
results, status words, provider lookup by name."""

from __future__ import annotations

from typing import Any

import pytest

from omnistock_connector_kit.publishing import ProductUpsert, VariantUpsert
from omnistock_connector_kit.values import Amount, Outcome
from tiktok_connector.protocol import catalog_import as ci
from tiktok_connector.protocol import logistics as lg
from tiktok_connector.protocol import publish as pub

SETTINGS = {"category_id": "600001", "region": "US", "package_dimensions_cm": "20x15x5"}
SHOP = pub.Shop(SETTINGS, "W1", "USD")


def usd(minor: int) -> Amount:
    return Amount(minor, "USD")


def tee(**changes: Any) -> ProductUpsert:
    fields: dict[str, Any] = {
        "product_id": "p1",
        "title": "Linen Tee",
        "description": "Washed linen\n\nRelaxed fit",
        "status": "draft",
        "variants": (
            VariantUpsert("TEE-S", options=(("Size", "S"),), price=usd(2500), weight_grams=300),
            VariantUpsert("TEE-M", options=(("Size", "M"),), price=usd(1999), barcode="4006381333931"),
        ),
    }
    fields.update(changes)
    return ProductUpsert(**fields)


def test_a_draft_is_created_with_every_required_field() -> None:
    assert pub.upsert_problem(tee(), SHOP) is None
    body = pub.create_body(tee(), SHOP)
    assert body["save_mode"] == "AS_DRAFT" and body["category_id"] == "600001"
    assert body["description"] == "<p>Washed linen</p><p>Relaxed fit</p>"
    assert body["package_weight"] == {"value": "0.3", "unit": "KILOGRAM"}
    assert body["package_dimensions"] == {"length": "20", "width": "15", "height": "5", "unit": "CENTIMETER"}
    assert "main_images" not in body and body["external_product_id"] == "p1"
    assert body["skus"][1] == {
        "seller_sku": "TEE-M",
        "price": {"amount": "19.99", "currency": "USD"},
        "inventory": [{"warehouse_id": "W1", "quantity": 0}],
        "sales_attributes": [{"name": "Size", "value_name": "M"}],
        "identifier_code": {"code": "4006381333931", "type": "EAN"},
    }


@pytest.mark.parametrize(
    ("product", "shop", "words"),
    [
        (tee(status="active"), SHOP, "main_images"),
        (tee(status=""), SHOP, "main_images"),
        (tee(title=""), SHOP, "title"),
        (tee(description=" "), SHOP, "description"),
        (tee(), pub.Shop({**SETTINGS, "category_id": ""}, "W1"), "category_id"),
        (tee(), pub.Shop({**SETTINGS, "package_dimensions_cm": ""}, "W1"), "package_dimensions"),
        (tee(), pub.Shop(SETTINGS, ""), "warehouse_id"),
        (tee(variants=(VariantUpsert("X", price=usd(100)),)), SHOP, "package_weight"),
        (tee(variants=(VariantUpsert("X", weight_grams=5),)), SHOP, "price"),
        (tee(variants=(VariantUpsert("X" * 51, price=usd(1), weight_grams=5),)), SHOP, "50 characters"),
        (tee(variants=()), SHOP, "at least one variant"),
        (tee(status="gone"), SHOP, "unknown product status"),
        (
            tee(
                variants=(VariantUpsert("A", price=usd(1), weight_grams=5), VariantUpsert("B", price=usd(1)))
            ),
            SHOP,
            "sales_attributes",
        ),
        (
            tee(variants=(VariantUpsert("A", price=Amount(100, "EUR"), weight_grams=5),)),
            SHOP,
            "shop sells in USD",
        ),
        (tee(variants=(VariantUpsert("A", price=usd(0), weight_grams=5),)), SHOP, "above zero"),
        (tee(title="Short"), pub.Shop({**SETTINGS, "region": "MY"}, "W1"), "25..255"),
    ],
)
def test_what_tiktok_would_refuse_is_refused_before_any_call(
    product: ProductUpsert, shop: pub.Shop, words: str
) -> None:
    problem = pub.upsert_problem(product, shop)
    assert problem is not None and words in problem


def test_weight_from_the_setting_and_no_dimensions_outside_their_regions() -> None:
    product = tee(
        title="Linen Tee in washed linen, relaxed fit", variants=(VariantUpsert("X", price=usd(100)),)
    )
    shop = pub.Shop({"category_id": "1", "region": "ID", "package_weight_kg": "1.5"}, "W1")
    assert pub.upsert_problem(product, shop) is None
    body = pub.create_body(product, shop)
    assert body["package_weight"] == {"value": "1.5", "unit": "KILOGRAM"} and "package_dimensions" not in body
    assert "sales_attributes" not in body["skus"][0]


CURRENT = {
    "id": "P9",
    "skus": [
        {
            "id": "S1",
            "seller_sku": "TEE-S",
            "price": {"tax_exclusive_price": "25.00", "currency": "USD"},
            "inventory": [{"warehouse_id": "W1", "quantity": 7}],
            "sales_attributes": [{"id": "1", "name": "Size", "value_id": "2", "value_name": "S"}],
        },
        {
            "id": "S2",
            "seller_sku": "TEE-M",
            "price": {"sale_price": "19.99", "currency": "USD"},
            "inventory": [{"warehouse_id": "W1", "quantity": 3}],
        },
    ],
}


def test_an_edit_writes_only_owned_fields_and_always_sends_every_sku() -> None:
    product = tee(
        external_id="P9",
        variants=(VariantUpsert("TEE-S", external_id="S1", price=usd(3000)),),
        owned_fields=frozenset({"prices"}),
    )
    assert pub.upsert_problem(product, SHOP) is None
    body = pub.edit_body(product, CURRENT, SHOP)
    assert set(body) == {"skus"}
    assert body["skus"][0]["price"] == {"amount": "30.00", "currency": "USD"}
    assert body["skus"][0]["inventory"] == [{"warehouse_id": "W1", "quantity": 7}]
    assert body["skus"][1] == {
        "id": "S2",
        "seller_sku": "TEE-M",
        "price": {"amount": "19.99", "currency": "USD"},
        "inventory": [{"warehouse_id": "W1", "quantity": 3}],
    }
    titled = tee(external_id="P9", variants=product.variants, owned_fields=frozenset({"title"}))
    assert pub.edit_body(titled, CURRENT, SHOP) == {"title": "Linen Tee"}


def test_a_new_variant_needs_the_variants_field_and_is_appended() -> None:
    new = VariantUpsert("TEE-L", options=(("Size", "L"),), price=usd(2700))
    refused = tee(external_id="P9", variants=(new,), owned_fields=frozenset({"prices"}))
    assert "variants" in (pub.upsert_problem(refused, SHOP) or "")
    product = tee(external_id="P9", variants=(new,), owned_fields=frozenset({"variants", "prices"}))
    skus = pub.edit_body(product, CURRENT, SHOP)["skus"]
    assert [s.get("id") for s in skus] == ["S1", "S2", None] and skus[2]["seller_sku"] == "TEE-L"


def test_published_ids_are_the_ones_auto_mapping_lists() -> None:
    result = pub.published(tee(), "P9", CURRENT)
    assert result.outcome is Outcome.APPLIED and result.external_id == "P9"
    assert [(v.sku, v.external_id, dict(v.ids)) for v in result.variants] == [
        ("TEE-S", "S1", {"product_id": "P9", "sku_id": "S1", "warehouse_id": "W1"}),
        ("TEE-M", "S2", {"product_id": "P9", "sku_id": "S2", "warehouse_id": "W1"}),
    ]
    missing = pub.published(tee(variants=(VariantUpsert("TEE-XL"),)), "P9", CURRENT)
    assert missing.outcome is Outcome.RETRY and "TEE-XL" in missing.message


def test_deactivate_errors_reject_their_product_only() -> None:
    data = {"errors": [{"code": 1, "message": "Product not found.", "detail": {"product_id": "2"}}]}
    by_product, general = pub.deactivate_errors(data)
    results = pub.archive_results([("a", "1"), ("b", "2")], by_product, general)
    assert [(r.outcome, r.external_id) for r in results] == [(Outcome.APPLIED, "1"), (Outcome.REJECTED, "2")]
    assert "Product not found." in results[1].message


def test_catalog_product_reads_the_detail() -> None:
    detail = {
        **CURRENT,
        "title": "Linen Tee",
        "description": "<p>x</p>",
        "status": "SELLER_DEACTIVATED",
        "brand": {"id": "1", "name": "Acme"},
        "main_images": [{"uri": "u", "urls": ["https://cdn.test/a.jpg"]}, {"uri": "v", "urls": []}],
        "package_weight": {"value": "1", "unit": "POUND"},
    }
    detail["skus"][0]["identifier_code"] = {"code": "012345678905", "type": "UPC"}
    product = ci.catalog_product(detail)
    assert product is not None
    assert (product.external_id, product.status, product.vendor) == ("P9", "SELLER_DEACTIVATED", "Acme")
    assert product.image_urls == ("https://cdn.test/a.jpg",)
    small, medium = product.variants
    assert (small.sku, small.external_id, small.barcode, small.options) == (
        "TEE-S",
        "S1",
        "012345678905",
        (("Size", "S"),),
    )
    assert small.price == usd(2500) and medium.price == usd(1999) and small.weight_grams == 454
    assert dict(small.ids) == {"product_id": "P9", "sku_id": "S1", "warehouse_id": "W1"}
    assert [(lv.location_id, lv.available, lv.location_name) for lv in medium.levels] == [("W1", 3, "")]
    assert ci.catalog_product({"title": "no id"}) is None
    assert ci.page_product_ids({"products": [{"id": "1"}, {"x": 1}], "next_page_token": "t"}) == (["1"], "t")


def test_warehouse_and_provider_lookup() -> None:
    warehouses = {
        "warehouses": [
            {"id": "R", "type": "RETURN_WAREHOUSE", "is_default": True},
            {"id": "A", "type": "SALES_WAREHOUSE", "effect_status": "DISABLED", "is_default": True},
            {"id": "B", "type": "SALES_WAREHOUSE", "effect_status": "ENABLED"},
            {"id": "C", "type": "SALES_WAREHOUSE", "effect_status": "ENABLED", "is_default": True},
        ]
    }
    assert lg.default_warehouse(warehouses) == "C" and lg.default_warehouse({}) == ""
    assert lg.delivery_option_ids({"delivery_options": [{"id": "7"}, {"name": "x"}]}) == ["7"]
    providers = lg.providers(
        {"shipping_providers": [{"id": "1", "name": "USPS"}, {"id": "2", "name": "Fed Ex"}]}
    )
    assert lg.match_provider("usps", providers) == "1" and lg.match_provider("FEDEX", providers) == "2"
    assert lg.match_provider("DHL", providers) == "" and lg.match_provider("", providers) == ""
    assert lg.unknown_carrier("DHL", providers).endswith("available: Fed Ex, USPS")


def test_uploaded_images_become_main_images_on_create_and_on_an_owned_edit() -> None:
    listed = tee(status="active", image_urls=tuple(f"https://img.test/{i}.png" for i in range(12)))
    assert pub.upsert_problem(listed, SHOP) is None and len(pub.images_to_upload(listed)) == 9
    body = pub.create_body(listed, SHOP, ["u1", "u2"])
    assert body["save_mode"] == "LISTING" and body["main_images"] == [{"uri": "u1"}, {"uri": "u2"}]
    kept = tee(external_id="P9", image_urls=("https://img.test/a.png",), owned_fields=frozenset({"title"}))
    assert pub.images_to_upload(kept) == [] and "main_images" not in pub.edit_body(kept, CURRENT, SHOP)
    owned = tee(external_id="P9", image_urls=("https://img.test/a.png",), owned_fields=frozenset({"images"}))
    assert pub.edit_body(owned, CURRENT, SHOP, ["u9"]) == {"main_images": [{"uri": "u9"}]}
    assert pub.uploaded_uri({"uri": " tos-1 "}) == "tos-1" and pub.uploaded_uri({}) == ""


@pytest.mark.parametrize(
    ("status", "owned", "current", "change"),
    [
        ("archived", ("status",), "ACTIVATE", "deactivate"),
        ("archived", ("status",), "DRAFT", "deactivate"),
        ("archived", ("status",), "SELLER_DEACTIVATED", ""),
        ("archived", ("status",), "FREEZE", ""),
        ("active", ("status",), "SELLER_DEACTIVATED", "activate"),
        ("active", ("status",), "PLATFORM_DEACTIVATED", ""),
        ("active", ("status",), "ACTIVATE", ""),
        ("draft", ("status",), "ACTIVATE", ""),
        ("archived", ("title",), "ACTIVATE", ""),
    ],
)
def test_status_change_of_an_update(status: str, owned: tuple[str, ...], current: str, change: str) -> None:
    product = ProductUpsert("p", external_id="17", status=status, owned_fields=frozenset(owned))
    assert pub.status_change(product, current) == change
    assert pub.status_change(ProductUpsert("p", status=status), current) == ""  # a create
