"""reconnect.store_key: which store a connection's settings name, however they are spelled."""

from __future__ import annotations

import pytest

from channels.reconnect import store_key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"shop_domain": "Demo.myshopify.com"}, {"shop_domain": "demo.myshopify.com", "location_id": "1"}),
        ({"store_url": "https://Shop.Example/"}, {"store_url": "https://shop.example:443"}),
        # Older settings named the store by its REST root only.
        (
            {"api_base_url": "http://127.0.0.1:8702/wp-json/wc/v3"},
            {"store_url": "http://127.0.0.1:8702", "api_base_url": "http://127.0.0.1:8702/"},
        ),
        (
            {"store_url": "https://example.com/shop", "api_base_url": "http://127.0.0.1:8702"},
            {"store_url": "https://example.com/shop/", "api_base_url": "http://127.0.0.1:8702/shop"},
        ),
    ],
)
def test_the_same_store_spelled_differently(a: dict[str, str], b: dict[str, str]) -> None:
    assert store_key("woocommerce", a) == store_key("woocommerce", b) is not None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"store_url": "https://example.com/shop"}, {"store_url": "https://example.com/other"}),
        ({"store_url": "https://example.com"}, {"store_url": "http://example.com"}),
        (
            {"store_url": "https://example.com", "api_base_url": "http://127.0.0.1:8702"},
            {"store_url": "https://example.com"},
        ),
        ({"shop_domain": "a.myshopify.com"}, {"shop_domain": "b.myshopify.com"}),
    ],
)
def test_different_stores(a: dict[str, str], b: dict[str, str]) -> None:
    assert store_key("woocommerce", a) != store_key("woocommerce", b)


def test_settings_that_name_no_store_never_match() -> None:
    for settings in ({}, {"api_base_url": "http://127.0.0.1:8702"}, {"store_url": "not a url"}):
        assert store_key("woocommerce", settings) is None
    assert store_key("shopify", {"shop_domain": "a.myshopify.com"}) != store_key(
        "woocommerce", {"shop_domain": "a.myshopify.com"}
    )


def test_a_store_id_the_connector_learnt_names_the_store() -> None:
    """Meta's catalog id, TikTok's shop id: the same id (and place) is the same store; the
    channel type and where it is reached still tell stores apart."""
    sandbox = "http://127.0.0.1:8703"
    catalog = {"store_id": "1234567890", "api_base_url": sandbox}
    assert store_key("facebook", catalog) == store_key("facebook", {**catalog, "page_id": "9"}) is not None
    assert store_key("facebook", catalog) != store_key("facebook", {**catalog, "store_id": "1234567891"})
    assert store_key("facebook", catalog) != store_key("instagram", catalog)
    assert store_key("facebook", catalog) != store_key("facebook", {"store_id": "1234567890"})
    # A shop domain or store URL, when the settings have one, stays the name of the store.
    assert store_key("shopify", {"shop_domain": "a.myshopify.com", "store_id": "1"}) == store_key(
        "shopify", {"shop_domain": "a.myshopify.com", "store_id": "2"}
    )
