"""Whole products for the onboarding import (woocommerce_connector.protocol.catalog). Pure."""

from __future__ import annotations

from omnistock_connector_kit.catalog_import import LevelData, single_level
from woocommerce_connector import protocol as p


def test_a_variable_product_with_its_variations_becomes_a_catalog_product() -> None:
    parent = {
        "id": 10,
        "name": "Tee",
        "type": "variable",
        "status": "publish",
        "description": "Soft",
        "tags": [{"id": 1, "name": "cotton"}],
        "images": [{"id": 5, "src": "https://cdn.test/a.jpg"}],
        "variations": [11, 12],
    }
    variations = [
        {
            "id": 11,
            "sku": "TEE-S",
            "global_unique_id": "123",
            "regular_price": "12.50",
            "weight": "0.2",
            "manage_stock": True,
            "stock_quantity": 4,
            "attributes": [{"id": 0, "name": "Size", "option": "S"}],
        },
        {
            "id": 12,
            "sku": "",
            "regular_price": "",
            "weight": "",
            "manage_stock": False,
            "stock_quantity": None,
        },
    ]
    product = p.catalog_product(parent, variations, "USD")
    assert (product.external_id, product.title, product.tags, product.image_urls) == (
        "10",
        "Tee",
        ("cotton",),
        ("https://cdn.test/a.jpg",),
    )
    small, other = product.variants
    assert (small.sku, small.barcode, small.options, small.weight_grams, small.levels) == (
        "TEE-S",
        "123",
        (("Size", "S"),),
        200,
        (LevelData(location_id="", available=4),),
    )
    assert small.price is not None and small.price.amount_minor == 1250
    assert small.ids == {"product_id": "10", "variation_id": "11"}
    assert (other.sku, other.price, other.weight_grams, other.levels) == (
        "",
        None,
        None,
        (),
    )  # stock not managed


def test_a_simple_product_is_its_own_variant_and_weights_follow_the_store_unit() -> None:
    simple = {
        "id": 3,
        "name": "Mug",
        "type": "simple",
        "sku": "MUG",
        "price": "5",
        "manage_stock": True,
        "stock_quantity": 2,
    }
    [mug] = p.catalog_product(simple, [], "EUR").variants
    assert (mug.sku, mug.ids, mug.levels, mug.price.amount_minor if mug.price else None) == (
        "MUG",
        {"product_id": "3"},
        single_level(2),
        500,
    )
    assert p.grams("1.5", "lbs") == 680 and p.grams("10", "oz") == 283 and p.grams("x") is None
    assert p.grams("2", "stone") is None
