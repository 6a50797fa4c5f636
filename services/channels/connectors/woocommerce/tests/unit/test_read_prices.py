"""Reading a WooCommerce price back (reconciliation): the inverse of what PushPrices writes."""

from __future__ import annotations

from omnistock_connector_kit.values import Amount, read_amount
from woocommerce_connector import protocol as p


def test_a_sale_reads_as_the_sale_price_with_the_regular_price_as_was() -> None:
    item = {"regular_price": "109.00", "sale_price": "99.00", "price": "99.00"}
    assert p.prices_of(item, "EUR") == (Amount(9900, "EUR"), Amount(10900, "EUR"))


def test_no_sale_reads_as_the_regular_price_alone() -> None:
    assert p.prices_of({"regular_price": "5", "sale_price": ""}, "JPY") == (Amount(5, "JPY"), None)


def test_what_is_not_an_exact_amount_of_the_currency_is_no_price() -> None:
    assert p.prices_of({"regular_price": "", "sale_price": ""}, "EUR") == (None, None)
    assert read_amount("1.005", "USD") is None
    assert read_amount("abc", "USD") is None
    assert read_amount("1.00", "") is None
    assert read_amount("1.250", "BHD") == Amount(1250, "BHD")


def test_prices_of_inverts_price_fields() -> None:
    for minor, compare in ((1999, None), (1999, 2999)):
        item = p.PriceInput("S", minor, "USD", compare, "USD" if compare else "", {"product_id": "1"})
        assert p.prices_of(p.price_fields(item, "USD"), "USD") == (
            Amount(minor, "USD"),
            Amount(compare, "USD") if compare else None,
        )
