"""eBay REST hosts, paths, versions and limits the connector relies on (pure values).

API versions targeted: Sell Inventory API v1 (OpenAPI contract 1.13.0,
`sell_inventory_v1_oas3.json`), Sell Fulfillment API v1 (contract 1.11.0,
`sell_fulfillment_v1_oas3.json`), Commerce Notification API v1, Commerce Identity API v1 and
eBay's OAuth 2.0 endpoints (CHANNELS.md section 6, https://developer.ebay.com/api-docs/sell/static/overview.html).

Every host below is the production one; a connection's `api_base_url` replaces the scheme, host
and port of each (omnistock_connector_kit.endpoints), so one sandbox serves every path.
"""

from __future__ import annotations

from urllib.parse import quote

API_VERSION = "sell/inventory/v1+sell/fulfillment/v1"

# https://developer.ebay.com/api-docs/static/oauth-consent-request.html (consent page) and
# https://developer.ebay.com/api-docs/static/oauth-refresh-token-request.html (token endpoint).
AUTH_HOST = "https://auth.ebay.com"
API_HOST = "https://api.ebay.com"
# The Identity API lives on apiz (https://developer.ebay.com/api-docs/commerce/identity/resources/user/methods/getUser).
APIZ_HOST = "https://apiz.ebay.com"

AUTHORIZE_PATH = "/oauth2/authorize"
TOKEN_PATH = "/identity/v1/oauth2/token"
IDENTITY_USER_PATH = "/commerce/identity/v1/user/"
INVENTORY_ITEMS_PATH = "/sell/inventory/v1/inventory_item"
OFFERS_PATH = "/sell/inventory/v1/offer"
BULK_PRICE_QUANTITY_PATH = "/sell/inventory/v1/bulk_update_price_quantity"
ORDERS_PATH = "/sell/fulfillment/v1/order"
PUBLIC_KEY_PATH = "/commerce/notification/v1/public_key/"
# Publishing (Inventory API, https://developer.ebay.com/api-docs/sell/inventory/resources/methods):
# createOrReplaceInventoryItemGroup PUT /inventory_item_group/{key}; publishOfferByInventoryItemGroup
# POST /offer/publish_by_inventory_item_group; withdrawOfferByInventoryItemGroup POST
# /offer/withdraw_by_inventory_item_group; publishOffer / withdrawOffer POST /offer/{offerId}/publish|withdraw.
INVENTORY_GROUP_PATH = "/sell/inventory/v1/inventory_item_group"
PUBLISH_BY_GROUP_PATH = "/sell/inventory/v1/offer/publish_by_inventory_item_group"
WITHDRAW_BY_GROUP_PATH = "/sell/inventory/v1/offer/withdraw_by_inventory_item_group"
# Seller cancellation: Post-Order API v2 (https://developer.ebay.com/Devzone/post-order/post-order_v2_cancellation__post.html),
# on api.ebay.com like the Sell APIs.
CANCELLATION_PATH = "/post-order/v2/cancellation"

# OAuth scopes (https://developer.ebay.com/api-docs/static/oauth-scopes.html): the Inventory and
# Fulfillment APIs, and getUser's commerce.identity.readonly (the seller's id and username).
SCOPE_ROOT = "https://api.ebay.com/oauth/api_scope"
DEFAULT_SCOPES = (
    f"{SCOPE_ROOT}/sell.inventory",
    f"{SCOPE_ROOT}/sell.fulfillment",
    f"{SCOPE_ROOT}/commerce.identity.readonly",
)
# An application token (client_credentials) for getPublicKey carries the base scope only.
APPLICATION_SCOPE = SCOPE_ROOT

# bulkUpdatePriceQuantity takes at most 25 entries (BulkPriceQuantity.requests, CHANNELS.md 6.2).
MAX_BULK_REQUESTS = 25
# getOrders: limit max 1000 in contract 1.11.0 (older docs: 200); 200 suits every version.
MAX_ORDERS_PAGE = 200
# getOrders filters cover the last 90 days only (Fulfillment contract 1.11.0, filter parameter).
ORDER_FILTER_DAYS = 90
# getInventoryItems takes up to 100 per page, but ListRemoteProducts adds one getOffers call per SKU:
# 40 a page keeps a page within the bucket's burst (config.py) and the call's deadline.
MAX_INVENTORY_PAGE = 40
# The catalogue import adds one getInventoryItemGroup per group of the page too: 20 SKUs a page keep
# a page (≤ 41 calls) within the same burst.
MAX_CATALOG_PAGE = 20

DEFAULT_MARKETPLACE = "EBAY_US"
MARKETPLACE_CURRENCY = {
    "EBAY_US": "USD",
    "EBAY_MOTORS_US": "USD",
    "EBAY_GB": "GBP",
    "EBAY_DE": "EUR",
    "EBAY_FR": "EUR",
    "EBAY_IT": "EUR",
    "EBAY_ES": "EUR",
    "EBAY_NL": "EUR",
    "EBAY_IE": "EUR",
    "EBAY_AT": "EUR",
    "EBAY_BE": "EUR",
    "EBAY_AU": "AUD",
    "EBAY_CA": "CAD",
    "EBAY_CH": "CHF",
    "EBAY_PL": "PLN",
}


def currency_of(marketplace_id: str) -> str:
    return MARKETPLACE_CURRENCY.get(marketplace_id.upper(), "")


def inventory_item_path(sku: str) -> str:
    """getInventoryItem: the SKU is a path segment (URL-encoded; eBay SKUs are ≤ 50 chars)."""
    return f"{INVENTORY_ITEMS_PATH}/{quote(sku, safe='')}"


def inventory_group_path(key: str) -> str:
    return f"{INVENTORY_GROUP_PATH}/{quote(key, safe='')}"


def offer_path(offer_id: str, action: str = "") -> str:
    """updateOffer (no action), or publishOffer / withdrawOffer (`publish`, `withdraw`)."""
    path = f"{OFFERS_PATH}/{quote(offer_id, safe='')}"
    return f"{path}/{action}" if action else path


def shipping_fulfillment_path(order_id: str) -> str:
    return f"{ORDERS_PATH}/{quote(order_id, safe='')}/shipping_fulfillment"


def public_key_path(kid: str) -> str:
    return f"{PUBLIC_KEY_PATH}{quote(kid, safe='')}"


def chunked(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]
