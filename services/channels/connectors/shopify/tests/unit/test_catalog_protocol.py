"""Whole products for the onboarding import (shopify_connector.protocol.catalog): a `products`
node as plain values, Shopify's weight units, its placeholder option. Pure."""

from __future__ import annotations

from shopify_connector import protocol as p


def node() -> dict:
    return {
        "id": "gid://shopify/Product/1",
        "title": "Tee",
        "descriptionHtml": "<p>Soft</p>",
        "status": "ACTIVE",
        "vendor": "Acme",
        "tags": ["cotton"],
        "media": {"nodes": [{"image": {"url": "https://cdn.test/a.jpg"}}, {}]},
        "variants": {
            "nodes": [
                {
                    "id": "gid://shopify/ProductVariant/2",
                    "title": "S",
                    "sku": " TEE-S ",
                    "barcode": "123",
                    "price": "12.50",
                    "selectedOptions": [{"name": "Size", "value": "S"}],
                    "inventoryItem": {
                        "id": "gid://shopify/InventoryItem/3",
                        "measurement": {"weight": {"unit": "KILOGRAMS", "value": 0.2}},
                        "inventoryLevels": {
                            "nodes": [
                                {
                                    "location": {"id": "gid://shopify/Location/9", "name": "Main"},
                                    "quantities": [{"name": "available", "quantity": 4}],
                                }
                            ]
                        },
                    },
                },
                {
                    "id": "gid://shopify/ProductVariant/4",
                    "sku": None,
                    "price": "bad",
                    "selectedOptions": [{"name": "Title", "value": "Default Title"}],
                    "inventoryItem": {"id": "gid://shopify/InventoryItem/5", "measurement": {"weight": None}},
                },
            ],
            "pageInfo": {"hasNextPage": True, "endCursor": "c1"},
        },
    }


def test_a_products_node_becomes_a_catalog_product() -> None:
    product = p.catalog_product(node(), "USD")
    assert (product.external_id, product.title, product.description, product.vendor) == (
        "gid://shopify/Product/1",
        "Tee",
        "<p>Soft</p>",
        "Acme",
    )
    assert (product.tags, product.image_urls) == (("cotton",), ("https://cdn.test/a.jpg",))
    small, other = product.variants
    assert (small.sku, small.barcode, small.options, small.weight_grams) == (
        "TEE-S",
        "123",
        (("Size", "S"),),
        200,
    )
    assert small.price is not None and (small.price.amount_minor, small.price.currency) == (1250, "USD")
    assert small.levels == (p.LevelData("gid://shopify/Location/9", 4, "Main"),)
    assert small.ids == {
        "product_id": "gid://shopify/Product/1",
        "variant_id": "gid://shopify/ProductVariant/2",
        "inventory_item_id": "gid://shopify/InventoryItem/3",
        "location_id": "gid://shopify/Location/9",
    }
    # No SKU, no readable price, Shopify's placeholder option, no weight, no levels.
    assert (other.sku, other.price, other.options, other.weight_grams, other.levels) == (
        "",
        None,
        (),
        None,
        (),
    )
    assert p.more_variants_cursor(node()) == "c1"


def test_weights_in_every_shopify_unit_become_grams() -> None:
    assert p.weight_grams({"unit": "GRAMS", "value": 12.4}) == 12
    assert p.weight_grams({"unit": "POUNDS", "value": 1}) == 454
    assert p.weight_grams({"unit": "OUNCES", "value": 2}) == 57
    assert p.weight_grams({"unit": "STONES", "value": 1}) is None
    assert p.weight_grams({"unit": "GRAMS", "value": -1}) is None
    assert p.weight_grams(None) is None
