"""The onboarding import's values (catalog_import) as connector.v1's ListRemoteProductsResponse.catalog
(values_proto.catalog_to_proto): every field the connectors send, unset stays unset."""

from __future__ import annotations

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_connector_kit.catalog_import import (
    CatalogProductData,
    CatalogVariantData,
    LevelData,
    single_level,
)
from omnistock_connector_kit.values import Amount
from omnistock_connector_kit.values_proto import catalog_to_proto


def _variant(**overrides: object) -> CatalogVariantData:
    fields: dict = dict(
        external_id="v-1",
        ids={"product_id": "p-1", "variant_id": "v-1"},
        sku="TEE-S",
        title="S",
        barcode="4006381333931",
        options=(("Size", "S"),),
        price=Amount(1999, "EUR"),
    )
    fields.update(overrides)
    return CatalogVariantData(**fields)


def test_a_product_with_every_field_maps_whole() -> None:
    variant = _variant(
        compare_at=Amount(2499, "EUR"),
        weight_grams=180,
        levels=(LevelData("loc-1", 4, "Main"), LevelData("loc-2", 0)),
    )
    product = CatalogProductData(
        external_id="p-1",
        title="Tee",
        description="<p>Soft</p>",
        status="ACTIVE",
        vendor="Acme",
        tags=("summer", "cotton"),
        image_urls=("https://cdn.example/tee.jpg",),
        variants=(variant,),
    )

    answer = catalog_to_proto([product], "next")

    assert answer.next_cursor == "next" and not answer.products
    [out] = answer.catalog
    assert (out.external_id, out.title, out.description, out.status, out.vendor) == (
        "p-1",
        "Tee",
        "<p>Soft</p>",
        "ACTIVE",
        "Acme",
    )
    assert list(out.tags) == ["summer", "cotton"] and list(out.image_urls) == ["https://cdn.example/tee.jpg"]
    [v] = out.variants
    assert (v.external_id, v.sku, v.title, v.barcode) == ("v-1", "TEE-S", "S", "4006381333931")
    assert dict(v.remote.ids) == {"product_id": "p-1", "variant_id": "v-1"}
    assert [(o.name, o.value) for o in v.options] == [("Size", "S")]
    assert v.price == common_pb2.Money(amount_minor=1999, currency="EUR")
    assert v.compare_at_price == common_pb2.Money(amount_minor=2499, currency="EUR")
    assert v.HasField("weight_grams") and v.weight_grams == 180
    assert [(q.location_id, q.location_name, q.available) for q in v.quantities] == [
        ("loc-1", "Main", 4),
        ("loc-2", "", 0),
    ]


def test_unset_values_stay_unset() -> None:
    product = CatalogProductData(
        external_id="p-2", title="Mug", description="", status="draft", variants=(_variant(price=None),)
    )

    [out] = catalog_to_proto([product], "").catalog

    assert out.vendor == "" and not out.tags and not out.image_urls
    [v] = out.variants
    assert not v.HasField("price") and not v.HasField("compare_at_price")
    assert not v.HasField("weight_grams") and not v.quantities


def test_a_channel_without_locations_gives_one_location_less_quantity_or_none() -> None:
    assert single_level(None) == ()
    assert single_level(0) == (LevelData(location_id="", available=0),)
    tracked, untracked = _variant(levels=single_level(7)), _variant(levels=single_level(None))
    product = CatalogProductData("p-3", "Cap", "", "publish", variants=(tracked, untracked))

    [out] = catalog_to_proto([product], "").catalog

    assert [(q.location_id, q.location_name, q.available) for q in out.variants[0].quantities] == [
        ("", "", 7)
    ]
    assert not out.variants[1].quantities


def test_an_empty_page_keeps_its_cursor() -> None:
    assert catalog_to_proto([], "c") == pb.ListRemoteProductsResponse(next_cursor="c")
