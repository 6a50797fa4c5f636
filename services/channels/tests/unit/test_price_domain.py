"""The price rules the sync engine relies on (pure): the pricing.price_changed contract as checked
on intake, and the one-string token a price travels in through Redis and listings."""

from __future__ import annotations

from typing import Any

import pytest

from channels.price_domain import ChannelPrice, Money, parse_price_changed
from omnistock_common.errors import InvalidArgument


def event(**changes: Any) -> dict[str, Any]:
    base = {
        "tenant_id": "t1",
        "connection_id": "c1",
        "sku": "CUP",
        "price": {"amount_minor": 9900, "currency": "USD"},
        "compare_at_price": {"amount_minor": 12900, "currency": "USD"},
        "version": 3,
        "changed_at": "2026-12-06T12:00:00+00:00",
        "reason": "bulk +10%",
    }
    return base | changes


def test_a_well_formed_event_parses() -> None:
    change = parse_price_changed(event())
    assert change.price == ChannelPrice(Money(9900, "USD"), Money(12900, "USD"))
    assert (change.version, change.sku, change.reason) == (3, "CUP", "bulk +10%")
    assert parse_price_changed(event(compare_at_price=None)).price.compare_at is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price": {"amount_minor": -1, "currency": "USD"}}, "price.amount_minor"),
        ({"price": {"amount_minor": 1.5, "currency": "USD"}}, "price.amount_minor"),
        ({"price": {"amount_minor": True, "currency": "USD"}}, "price.amount_minor"),
        ({"price": {"amount_minor": 1, "currency": "usd"}}, "price.currency"),
        ({"price": None}, "price"),
        ({"compare_at_price": {"amount_minor": 1, "currency": "US|D"}}, "compare_at_price.currency"),
        ({"version": "3"}, "version"),
        ({"version": -1}, "version"),
        ({"sku": ""}, "sku"),
        ({"tenant_id": None}, "tenant_id"),
        ({"changed_at": "2026-12-06T12:00:00"}, "changed_at"),
        ({"changed_at": "yesterday"}, "changed_at"),
    ],
)
def test_a_malformed_event_is_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_price_changed(event(**changes))
    assert field in [v.field for v in raised.value.violations]


@pytest.mark.parametrize(
    "price",
    [
        ChannelPrice(Money(9900, "USD")),
        ChannelPrice(Money(0, "JPY"), Money(1000, "JPY")),
        ChannelPrice(Money(1234567, "BHD"), None),
    ],
)
def test_a_price_survives_its_token(price: ChannelPrice) -> None:
    token = price.token()
    assert "|" not in token  # the store splits its values on '|'
    assert ChannelPrice.from_token(token) == price


@pytest.mark.parametrize("token", ["", "9900", "9900:usd::", "x:USD::", "1:USD:2:", "1:USD:2:EU"])
def test_a_malformed_token_names_no_price(token: str) -> None:
    assert ChannelPrice.from_token(token) is None


def test_a_was_price_not_above_the_price_shows_no_sale() -> None:
    usd = "USD"
    sale = ChannelPrice(Money(900, usd), Money(1000, usd))
    assert sale.shown() == sale
    assert ChannelPrice(Money(900, usd), Money(900, usd)).shown() == ChannelPrice(Money(900, usd))
    assert ChannelPrice(Money(900, usd), Money(800, usd)).shown() == ChannelPrice(Money(900, usd))
    assert sale.describe() == "900 USD (was 1000 USD)"
