"""The `shop` root field and the small value types every area shares (PageInfo, money, addresses)."""

from __future__ import annotations

from typing import Any

from channel_sandboxes.shopify.models import gid, money
from channel_sandboxes.shopify.schema.context import Resolver

TYPES: dict[str, dict[str, str]] = {
    "QueryRoot": {"shop": "Shop!"},
    "Shop": {
        "id": "ID!",
        "name": "String!",
        "email": "String!",
        "contactEmail": "String!",
        "myshopifyDomain": "String!",
        "currencyCode": "CurrencyCode!",
        "ianaTimezone": "String!",
    },
    "PageInfo": {
        "hasNextPage": "Boolean!",
        "hasPreviousPage": "Boolean!",
        "startCursor": "String",
        "endCursor": "String",
    },
    "MoneyV2": {"amount": "Decimal!", "currencyCode": "CurrencyCode!"},
    "MoneyBag": {"shopMoney": "MoneyV2!", "presentmentMoney": "MoneyV2!"},
    "MailingAddress": {
        "name": "String",
        "firstName": "String",
        "lastName": "String",
        "address1": "String",
        "address2": "String",
        "city": "String",
        "province": "String",
        "provinceCode": "String",
        "country": "String",
        "countryCodeV2": "CountryCode",
        "zip": "String",
        "phone": "String",
        "company": "String",
    },
    "UserError": {"field": "[String!]", "message": "String!"},
}

RESOLVERS: dict[str, dict[str, Resolver]] = {
    "QueryRoot": {"shop": lambda _s, _a, ctx: ctx.state},
    "Shop": {
        "id": lambda s, _a, _c: gid("Shop", 1),
        "name": lambda s, _a, _c: s.shop_domain.split(".", 1)[0],
        "email": lambda s, _a, _c: f"owner@{s.shop_domain}",
        "contactEmail": lambda s, _a, _c: f"owner@{s.shop_domain}",
        "myshopifyDomain": lambda s, _a, _c: s.shop_domain,
        "currencyCode": lambda s, _a, _c: s.currency,
        "ianaTimezone": lambda _s, _a, _c: "Etc/UTC",
    },
}


def money_bag(amount: Any, currency: str) -> dict[str, Any]:
    """A MoneyBag in one currency: shop and presentment money are the same (one-currency shop)."""
    value = {"amount": money(amount), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": value}


def mailing_address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    """A REST-shaped (snake_case) address as GraphQL's MailingAddress."""
    if address is None:
        return None
    return {
        "name": address.get("name"),
        "firstName": address.get("first_name"),
        "lastName": address.get("last_name"),
        "address1": address.get("address1"),
        "address2": address.get("address2"),
        "city": address.get("city"),
        "province": address.get("province"),
        "provinceCode": address.get("province_code"),
        "country": address.get("country"),
        "countryCodeV2": address.get("country_code"),
        "zip": address.get("zip"),
        "phone": address.get("phone"),
        "company": address.get("company"),
    }
