"""Shopify Admin API facts: pinned version, endpoints, batch/page limits, the shop's URL, ids.

The version pin matters: inventorySetQuantities changes shape in 2026-01/2026-04
(changeFromQuantity, required @idempotent), see CHANNELS.md 1.3.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

API_VERSION = "2025-07"
GRAPHQL_PATH = f"/admin/api/{API_VERSION}/graphql.json"
AUTHORIZE_PATH = "/admin/oauth/authorize"
TOKEN_PATH = "/admin/oauth/access_token"

# One inventorySetQuantities call takes at most this many quantities (Describe.max_inventory_batch).
MAX_INVENTORY_BATCH = 250
# productVariantsBulkUpdate: one product per call; a product has at most this many variants.
MAX_PRICE_BATCH = 250
# nodes(ids:) lookups per ReadInventory call.
READ_BATCH = 100
# Orders per page and line items per order. Shopify refuses any query whose requested cost
# exceeds 1000 points (objects count 1, connections 2 + first * node; graphql.orders_query_cost):
# an order costs 15 + 9 per line with its money, addresses, discounts and taxes, so 8 orders x 10
# lines = 842. Orders with more lines get the rest through ORDER_LINES_QUERY, 100 at a time (903).
MAX_ORDERS_PAGE = 8
ORDER_LINES_PAGE = 10
MORE_LINES_PAGE = 100
MAX_VARIANTS_PAGE = 250
# Callback timestamps older than this are rejected (the official library uses 24 h).
CALLBACK_MAX_AGE_SECONDS = 24 * 3600

# Anchored at both ends, as Shopify's own app security check requires ("Shop domain validation
# regex is not anchored", https://shopify.dev/docs/apps/build/security/app-security-checks/weak-shop-validation):
# an unanchored pattern lets "shop.myshopify.com.evil.test" through, and with it the app's secret.
SHOP_DOMAIN_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$")


def shop_base_url(shop_domain: str) -> str:
    """Where a shop's Admin API and OAuth endpoints live: https://{shop}.myshopify.com.

    The token endpoint is `POST https://{shop}.myshopify.com/admin/oauth/access_token` with
    client_id, client_secret and code (authorization code grant,
    https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant;
    CHANNELS.md 1.2). Deriving the host from the validated shop domain, never from free text, is
    what keeps the app's client secret on Shopify's hosts. "" when the domain is not valid.
    """
    shop = shop_domain.strip().lower()
    return f"https://{shop}" if SHOP_DOMAIN_RE.match(shop) else ""


# Requested-cost hints for the local token bucket (points, same unit as Shopify's bucket).
COST_MUTATION = 10.0
COST_SHOP = 2.0


def gid(kind: str, value: str) -> str:
    """A GID for `value`, which may already be one or be a bare numeric id."""
    value = str(value).strip()
    if value.startswith("gid://"):
        return value
    return f"gid://shopify/{kind}/{value}"


def numeric_id(value: str | int | None) -> str:
    """The numeric tail of a GID (or the value itself): gid://shopify/Order/12 → "12"."""
    if value is None:
        return ""
    text = str(value)
    return text.rsplit("/", 1)[-1].split("?", 1)[0] if text.startswith("gid://") else text


def chunked(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
