"""The sandboxes' shared control API behaves the same on both, and the package keeps its shape.

The control-body checks and the reset/faults routes are written once in `channel_sandboxes.common`
for both sandboxes; these tests pin the answers each sandbox gives, so a change to the shared code
that suits one vendor and breaks the other fails here. The layout tests keep the module size limit
of issue 11 and the import paths other components use.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import channel_sandboxes
from channel_sandboxes.shopify.schema import registry

MAX_MODULE_LINES = 600


@pytest.fixture(params=["shopify", "woo", "tiktok", "meta", "amazon", "ebay"])
def sandbox(request: pytest.FixtureRequest) -> httpx.Client:
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize(
    "body",
    [{}, {"items": "SKU-1"}, {"items": [{"title": "no sku"}]}, {"items": [{"sku": "A"}, "B"]}],
)
def test_seed_body_that_is_not_a_list_of_skus_is_400_and_seeds_nothing(
    sandbox: httpx.Client, body: dict
) -> None:
    response = sandbox.post("/_sandbox/products", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "items must be a list of objects with a sku"}
    assert sandbox.get("/_sandbox/inventory").json() == {}


def test_seed_of_an_existing_sku_is_409_and_names_it(sandbox: httpx.Client) -> None:
    assert (
        sandbox.post("/_sandbox/products", json={"items": [{"sku": "A", "quantity": 2}]}).status_code == 201
    )
    response = sandbox.post("/_sandbox/products", json={"items": [{"sku": "B"}, {"sku": "A"}]})
    assert response.status_code == 409
    assert response.json() == {"error": "sku already exists: A"}
    assert sandbox.get("/_sandbox/inventory").json() == {"A": 2}


@pytest.mark.parametrize("quantity", [None, "5", 2.5, True])
def test_set_inventory_needs_an_integer(sandbox: httpx.Client, quantity: object) -> None:
    sandbox.post("/_sandbox/products", json={"items": [{"sku": "A", "quantity": 2}]})
    response = sandbox.post("/_sandbox/inventory", json={"sku": "A", "quantity": quantity})
    assert response.status_code == 400
    assert response.json() == {"error": "quantity must be an integer"}
    assert sandbox.get("/_sandbox/inventory").json() == {"A": 2}


def test_set_inventory_sets_the_quantity_and_an_unknown_sku_is_404(sandbox: httpx.Client) -> None:
    sandbox.post("/_sandbox/products", json={"items": [{"sku": "A", "quantity": 2}]})
    assert sandbox.post("/_sandbox/inventory", json={"sku": "A", "quantity": 7}).json() == {"A": 7}
    assert sandbox.post("/_sandbox/inventory", json={"sku": "B", "quantity": 7}).status_code == 404
    assert sandbox.get("/_sandbox/inventory").json() == {"A": 7}


def test_woo_variation_under_a_simple_product_is_409(woo: httpx.Client) -> None:
    woo.post("/_sandbox/products", json={"items": [{"sku": "P", "quantity": 1}]})
    response = woo.post("/_sandbox/products", json={"items": [{"sku": "V", "parent_sku": "P"}]})
    assert response.status_code == 409
    assert response.json() == {"error": "parent 'P' is a simple product, not variable"}


def test_woo_variable_parent_has_no_stock_to_set(woo: httpx.Client) -> None:
    woo.post("/_sandbox/products", json={"items": [{"sku": "V", "parent_sku": "P", "quantity": 3}]})
    assert woo.post("/_sandbox/inventory", json={"sku": "P", "quantity": 7}).status_code == 404
    assert woo.get("/_sandbox/inventory").json() == {"V": 3}


@pytest.mark.parametrize("lines", [None, [], "A"])
def test_order_needs_a_non_empty_list_of_lines(sandbox: httpx.Client, lines: object) -> None:
    response = sandbox.post("/_sandbox/orders", json={"lines": lines})
    assert response.status_code == 400
    assert response.json() == {"error": "lines must be a non-empty list of {sku, quantity}"}


def test_catalog_body_that_is_not_products_is_400(sandbox: httpx.Client) -> None:
    bad: list[dict] = [
        {},
        {"products": "x"},
        {"products": [{"variants": []}]},
        {"generate": {"products": 0}},
        {"generate": {"products": "3"}},
    ]
    for body in bad:
        assert sandbox.post("/_sandbox/catalog", json=body).status_code == 400, body
    assert sandbox.get("/_sandbox/inventory").json() == {}


def test_catalog_generates_a_deterministic_shop_and_refuses_a_taken_sku(sandbox: httpx.Client) -> None:
    made = sandbox.post("/_sandbox/catalog", json={"generate": {"products": 4, "variants_per_product": 3}})
    assert made.status_code == 201, made.text
    products = made.json()["products"]
    assert [len(p["variants"]) for p in products] == [3, 3, 3, 3]
    assert products[1]["variants"][2]["sku"] == "GEN-1-L"
    stock = sandbox.get("/_sandbox/inventory").json()
    assert len(stock) == 12 and stock["GEN-1-L"] == 3  # quantity (i + j) % 50
    again = sandbox.post(
        "/_sandbox/catalog", json={"products": [{"title": "X", "variants": [{"sku": "GEN-0-S"}]}]}
    )
    assert again.status_code == 409 and "GEN-0-S" in again.json()["error"]
    no_sku = sandbox.post(
        "/_sandbox/catalog", json={"products": [{"title": "Y", "variants": [{"price": "1", "quantity": 2}]}]}
    )
    assert no_sku.status_code == 201 and no_sku.json()["products"][0]["variants"][0]["sku"] == ""


def test_reset_wipes_the_catalogue_faults_and_counters(sandbox: httpx.Client) -> None:
    sandbox.post("/_sandbox/products", json={"items": [{"sku": "A", "quantity": 2}]})
    sandbox.post("/_sandbox/faults", json={"status": 503, "count": 3})
    assert sandbox.post("/_sandbox/reset").json() == {"ok": True}
    assert sandbox.get("/_sandbox/inventory").json() == {}
    assert sandbox.get("/_sandbox/faults").json() == {"status": 0, "count": 0}
    assert sandbox.get("/_sandbox/calls").json()["total"] == 0


def test_shopify_reset_refills_the_cost_bucket(shopify: httpx.Client) -> None:
    shopify.post("/_sandbox/throttle", json={"currently_available": 0, "restore_rate": 0})
    shopify.post("/_sandbox/reset")
    throttle = shopify.get("/_sandbox/config").json()["throttle"]
    assert throttle["currentlyAvailable"] == throttle["maximumAvailable"] == 1000.0


def test_no_sandbox_module_is_over_the_limit() -> None:
    root = Path(channel_sandboxes.__file__).parent
    sizes = {p.relative_to(root).as_posix(): len(p.read_text().splitlines()) for p in root.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_every_schema_reference_and_resolver_is_declared() -> None:
    """The schema is assembled from one module per area; a typo in one would surface only at run time."""
    known = set(registry.TYPES) | registry.LEAF_TYPES
    for type_name, fields in registry.TYPES.items():
        for field_name, ref in fields.items():
            target = ref.replace("[", "").replace("]", "").replace("!", "")
            assert target in known, f"{type_name}.{field_name} -> {ref}"
    for type_name, resolvers in registry.RESOLVERS.items():
        assert set(resolvers) <= set(registry.TYPES[type_name]), type_name


def test_an_area_declaring_a_field_twice_is_refused() -> None:
    with pytest.raises(RuntimeError, match="QueryRoot fields declared twice"):
        registry._merge([{"QueryRoot": {"shop": "Shop!"}}, {"QueryRoot": {"shop": "Shop!"}}])


def test_import_paths_other_components_use_still_work() -> None:
    from channel_sandboxes.shopify import ShopifyConfig, create_app, serve, shopify_query_hmac
    from channel_sandboxes.shopify.app import ShopifyConfig as AppShopifyConfig
    from channel_sandboxes.shopify.app import create_app as app_create_shopify
    from channel_sandboxes.tiktok import TikTokConfig, tiktok_sign
    from channel_sandboxes.tiktok.app import TikTokConfig as AppTikTokConfig
    from channel_sandboxes.woocommerce import WooConfig
    from channel_sandboxes.woocommerce.app import WooConfig as AppWooConfig
    from channel_sandboxes.woocommerce.app import create_app as app_create_woo

    assert AppShopifyConfig is ShopifyConfig and app_create_shopify is create_app
    assert AppWooConfig is WooConfig and callable(app_create_woo)
    from channel_sandboxes.amazon import AmazonConfig
    from channel_sandboxes.amazon import create_app as create_amazon
    from channel_sandboxes.amazon.app import AmazonConfig as AppAmazonConfig

    assert AppAmazonConfig is AmazonConfig and callable(create_amazon)
    assert callable(serve) and callable(shopify_query_hmac)
    assert AppTikTokConfig is TikTokConfig and callable(tiktok_sign)
