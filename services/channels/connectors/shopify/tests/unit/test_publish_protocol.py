"""Publishing payloads (shopify_connector.protocol.publish): an OmniStock product as productSet
variables, owned fields on update, the existing variants an update must list, results. Pure."""

from __future__ import annotations

from dataclasses import replace

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_connector_kit.publishing import ProductUpsert, VariantUpsert
from omnistock_connector_kit.values import Amount
from omnistock_connector_kit.values_proto import product_upserts
from shopify_connector.protocol import publish as pub

TEE = ProductUpsert(
    product_id="p1",
    title="Tee",
    description="<p>Soft</p>",
    status="active",
    vendor="Acme",
    tags=("cotton",),
    image_urls=("https://img.test/a.jpg",),
    variants=(
        VariantUpsert(
            "TEE-S", options=(("Size", "S"),), price=Amount(1999, "USD"), weight_grams=200, barcode="1"
        ),
        VariantUpsert(
            "TEE-M", options=(("Size", "M"),), price=Amount(1999, "USD"), compare_at=Amount(2500, "USD")
        ),
    ),
)


def test_a_create_sends_everything() -> None:
    variables = pub.product_set_variables(TEE)
    assert "identifier" not in variables
    data = variables["input"]
    assert (data["title"], data["descriptionHtml"], data["status"], data["vendor"], data["tags"]) == (
        "Tee",
        "<p>Soft</p>",
        "ACTIVE",
        "Acme",
        ["cotton"],
    )
    assert data["files"] == [{"originalSource": "https://img.test/a.jpg", "contentType": "IMAGE"}]
    assert data["productOptions"] == [{"name": "Size", "values": [{"name": "S"}, {"name": "M"}]}]
    small, medium = data["variants"]
    assert small == {
        "optionValues": [{"optionName": "Size", "name": "S"}],
        "inventoryItem": {
            "sku": "TEE-S",
            "tracked": True,
            "measurement": {"weight": {"unit": "GRAMS", "value": 200.0}},
        },
        "barcode": "1",
        "price": "19.99",
    }
    assert (medium["price"], medium["compareAtPrice"]) == ("19.99", "25.00")


def test_a_product_without_options_gets_shopifys_default_option() -> None:
    single = ProductUpsert("p2", title="Mug", variants=(VariantUpsert("MUG", price=Amount(500, "EUR")),))
    data = pub.product_set_variables(single)["input"]
    assert data["productOptions"] == [{"name": "Title", "values": [{"name": "Default Title"}]}]
    assert data["variants"][0]["optionValues"] == [{"optionName": "Title", "name": "Default Title"}]


def test_an_update_owning_the_title_sends_the_title_only() -> None:
    update = replace(TEE, external_id="gid://shopify/Product/7", owned_fields=frozenset({"title"}))
    assert pub.product_set_variables(update) == {
        "input": {"title": "Tee"},
        "identifier": {"id": "gid://shopify/Product/7"},
    }
    assert not pub.touches_variants(update)


def test_an_update_lists_the_variants_it_does_not_name_so_shopify_keeps_them() -> None:
    existing = [
        pub.ExistingVariant("gid://shopify/ProductVariant/1", "TEE-S", (("Size", "S"),)),
        pub.ExistingVariant("gid://shopify/ProductVariant/2", "TEE-L", (("Size", "L"),)),
    ]
    update = ProductUpsert(
        "p1",
        external_id="gid://shopify/Product/7",
        variants=(VariantUpsert("TEE-S", price=Amount(1500, "USD"), options=(("Size", "S"),)),),
        owned_fields=frozenset({"prices"}),
    )
    data = pub.product_set_variables(update, existing)["input"]
    assert set(data) == {"variants", "productOptions"}
    assert data["variants"] == [
        {"id": "gid://shopify/ProductVariant/2", "optionValues": [{"optionName": "Size", "name": "L"}]},
        {
            "id": "gid://shopify/ProductVariant/1",
            "optionValues": [{"optionName": "Size", "name": "S"}],
            "price": "15.00",
        },
    ]
    assert data["productOptions"] == [{"name": "Size", "values": [{"name": "L"}, {"name": "S"}]}]


def test_an_update_adds_variants_only_when_it_owns_variants() -> None:
    existing = [pub.ExistingVariant("gid://shopify/ProductVariant/1", "TEE-S", (("Size", "S"),))]
    new = VariantUpsert("TEE-XL", options=(("Size", "XL"),), price=Amount(2000, "USD"))
    prices_only = ProductUpsert("p1", external_id="7", variants=(new,), owned_fields=frozenset({"prices"}))
    assert [v.get("id") for v in pub.product_set_variables(prices_only, existing)["input"]["variants"]] == [
        "gid://shopify/ProductVariant/1"
    ]
    assert pub.sent_variants(prices_only, existing).variants == ()
    adding = ProductUpsert("p1", external_id="7", variants=(new,), owned_fields=frozenset({"variants"}))
    sent = pub.product_set_variables(adding, existing)["input"]["variants"]
    assert [v.get("inventoryItem", {}).get("sku") for v in sent] == [None, "TEE-XL"]
    # Options not owned: an existing variant keeps its current option values.
    assert sent[0]["optionValues"] == [{"optionName": "Size", "name": "S"}]


def test_problems_before_any_call() -> None:
    assert "unknown product status" in (
        pub.upsert_problem(ProductUpsert("p", title="x", status="gone", variants=TEE.variants)) or ""
    )
    assert "at least one variant" in (pub.upsert_problem(ProductUpsert("p", title="x")) or "")
    mixed = (VariantUpsert("A", price=Amount(1, "USD")), VariantUpsert("B", price=Amount(1, "EUR")))
    assert "more than one currency" in (
        pub.upsert_problem(ProductUpsert("p", title="x", variants=mixed)) or ""
    )
    assert pub.upsert_problem(TEE) is None
    assert pub.upsert_problem(TEE, "USD") is None
    assert "the shop sells in EUR" in (pub.upsert_problem(TEE, "EUR") or "")


def test_user_errors_are_told_by_code_and_field_never_by_remote_text() -> None:
    message = pub.user_errors_message(
        [{"code": "INVALID_PRODUCT", "field": ["input", "title"], "message": "<script>Title can't be blank"}]
    )
    assert message == "rejected by Shopify (INVALID_PRODUCT at input.title)"


def test_published_variants_carry_the_listing_ids() -> None:
    nodes = [
        {
            "id": "gid://shopify/ProductVariant/5",
            "sku": "TEE-M",
            "inventoryItem": {"id": "gid://shopify/InventoryItem/6"},
        },
        {
            "id": "gid://shopify/ProductVariant/3",
            "sku": "TEE-S",
            "inventoryItem": {"id": "gid://shopify/InventoryItem/4"},
        },
    ]
    variants, missing = pub.published_variants(
        TEE, "gid://shopify/Product/1", nodes, "gid://shopify/Location/9"
    )
    assert missing == []
    first = variants[0]
    assert (first.sku, first.external_id, dict(first.ids)) == (
        "TEE-S",
        "gid://shopify/ProductVariant/3",
        {
            "product_id": "gid://shopify/Product/1",
            "variant_id": "gid://shopify/ProductVariant/3",
            "inventory_item_id": "gid://shopify/InventoryItem/4",
            "location_id": "gid://shopify/Location/9",
        },
    )
    _, missing = pub.published_variants(TEE, "gid://shopify/Product/1", nodes[:1], "")
    assert missing == ["TEE-S"]


def test_connector_v1_products_become_upserts_with_owned_fields() -> None:
    [upsert] = product_upserts(
        [
            pb.ProductUpsert(
                product_id="p1",
                owned_fields=[" Title ", "prices"],
                product=pb.CatalogProduct(
                    external_id="7",
                    title="Tee",
                    status="Active",
                    variants=[
                        pb.CatalogVariant(sku="TEE-S", options=[pb.OptionValue(name="Size", value="S")])
                    ],
                ),
            )
        ]
    )
    assert upsert.owned_fields == frozenset({"title", "prices"})
    assert (upsert.status, upsert.variants[0].options, upsert.variants[0].price) == (
        "active",
        (("Size", "S"),),
        None,
    )
    assert upsert.owns("title") and not upsert.owns("description")
