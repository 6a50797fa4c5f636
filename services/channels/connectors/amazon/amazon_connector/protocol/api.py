"""Amazon SP-API constants: the API versions, hosts, paths, usage plans and our batch limits.

API versions targeted (paths as in amzn/selling-partner-api-models, models/*):
- Listings Items 2021-08-01 (listings-items-api-model/listingsItems_2021-08-01.json)
- Feeds 2021-06-30 with JSON_LISTINGS_FEED (feeds-api-model/feeds_2021-06-30.json,
  schemas/feeds/listings-feed-schema-v2.json)
- Orders v0 (orders-api-model/ordersV0.json)
- Sellers v1 (sellers-api-model/sellers.json)
- Login with Amazon (LWA) tokens, https://api.amazon.com/auth/o2/token (CHANNELS.md 5.1)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar
from urllib.parse import quote

API_VERSION = "listings/2021-08-01 feeds/2021-06-30 orders/v0 sellers/v1"

# Hosts (https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints). `api_base_url` replaces
# the scheme, host and port of every one of them (omnistock_connector_kit.endpoints).
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
REGION_HOSTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
# Seller Central consent page of the website authorization workflow, per region
# (https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow).
CONSENT_URLS = {
    "na": "https://sellercentral.amazon.com/apps/authorize/consent",
    "eu": "https://sellercentral-europe.amazon.com/apps/authorize/consent",
    "fe": "https://sellercentral.amazon.co.jp/apps/authorize/consent",
}
DEFAULT_REGION = "na"
# Marketplace id → (country, currency) for the main marketplaces
# (https://developer-docs.amazon.com/sp-api/docs/marketplace-ids): used only when
# getMarketplaceParticipations cannot be read right after the code exchange.
MARKETPLACES: dict[str, tuple[str, str]] = {
    "ATVPDKIKX0DER": ("US", "USD"),
    "A2EUQ1WTGCTBG2": ("CA", "CAD"),
    "A1AM78C64UM0Y8": ("MX", "MXN"),
    "A2Q3Y263D00KWC": ("BR", "BRL"),
    "A1F83G8C2ARO7P": ("GB", "GBP"),
    "A1PA6795UKMFR9": ("DE", "EUR"),
    "A13V1IB3VIYZZH": ("FR", "EUR"),
    "APJ6JRA9NG5V4": ("IT", "EUR"),
    "A1RKKUPIHCS9HS": ("ES", "EUR"),
    "A1805IZSGTT6HS": ("NL", "EUR"),
    "A1VC38T7YXB528": ("JP", "JPY"),
    "A39IBJ37TRP1C6": ("AU", "AUD"),
}

LISTINGS_ITEMS_PATH = "/listings/2021-08-01/items"
FEED_DOCUMENTS_PATH = "/feeds/2021-06-30/documents"
FEEDS_PATH = "/feeds/2021-06-30/feeds"
ORDERS_PATH = "/orders/v0/orders"
PARTICIPATIONS_PATH = "/sellers/v1/marketplaceParticipations"
TOKEN_PATH = "/auth/o2/token"
ACCESS_TOKEN_HEADER = "x-amz-access-token"
RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"

# Usage plans (rate in requests/second, burst) as each operation's description in the models gives
# them (see the module doc for the files). Amazon keeps one bucket per (selling partner, app,
# operation); `x-amzn-RateLimit-Limit` on a response is the rate it applied, which may be higher.
# The developer docs show patchListingsItem at 5/10 where the model says 5/5: the model's
# (smaller) burst is used. `lwaToken` is our own pacing of token calls (LWA publishes none).
USAGE_PLANS: dict[str, tuple[float, float]] = {
    "getListingsItem": (5.0, 10.0),
    "patchListingsItem": (5.0, 5.0),
    # putListingsItem 5/s burst 10, deleteListingsItem 5/s burst 5 (the model; the developer docs'
    # model page shows deleteListingsItem 5/10: the smaller burst is used). Source:
    # https://developer-docs.amazon.com/sp-api/docs/listings-items-api-v2021-08-01-model
    "putListingsItem": (5.0, 10.0),
    "deleteListingsItem": (5.0, 5.0),
    "searchListingsItems": (5.0, 5.0),
    "getOrders": (0.0167, 20.0),
    "getOrderItems": (0.5, 30.0),
    "getOrder": (0.5, 30.0),
    "confirmShipment": (2.0, 10.0),
    "createFeedDocument": (0.5, 15.0),
    "createFeed": (0.0083, 15.0),
    "getFeed": (2.0, 15.0),
    "getFeedDocument": (0.0222, 10.0),
    "getMarketplaceParticipations": (0.016, 15.0),
    "lwaToken": (1.0, 5.0),
    # The presigned S3 URL of a feed document (no SP-API usage plan; ours).
    "feedDocumentTransfer": (5.0, 10.0),
}

# Up to this many changes go as patchListingsItem calls (5/s, burst 5); more go as one
# JSON_LISTINGS_FEED (a feed is 3 calls plus polls, whatever its size).
PATCH_THRESHOLD = 10
# A JSON_LISTINGS_FEED holds at most 25,000 messages (listings-feed-schema-v2.json, maxItems);
# we send at most this many per feed.
MAX_FEED_MESSAGES = 10_000
# Items per PushInventory/PushPrices call (Describe): one feed each. The channels service also
# reconciles in chunks of this size, and reading 1,000 SKUs back is 50 searchListingsItems calls
# (20 SKUs each, usage plan 5/s, burst 5), about 10 s: well inside one connector call's deadline.
MAX_INVENTORY_BATCH = 1_000
MAX_PRICE_BATCH = 1_000
# searchListingsItems: pageSize maximum 20; `identifiers` at most 20 (listingsItems_2021-08-01.json).
MAX_LISTINGS_PAGE = 20
MAX_IDENTIFIERS = 20
# getOrders: MaxResultsPerPage 1..100. Each order then needs getOrderItems (0.5/s, burst 30), so
# a page stays within that burst and one FetchOrders call within its deadline.
MAX_ORDERS_PAGE = 25
# Extra getOrderItems pages read per order (NextToken) before giving up on it.
MAX_ORDER_ITEM_PAGES = 20
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
FEED_TYPE = "JSON_LISTINGS_FEED"
# The productType a PATCH names when the listing mapping does not carry the item's own.
DEFAULT_PRODUCT_TYPE = "PRODUCT"
ISSUE_LOCALE = "en_US"

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def region_of(value: str) -> str:
    """The region setting ("na", "eu", "fe"), lower-cased; "" when unknown."""
    region = (value or DEFAULT_REGION).strip().lower()
    return region if region in REGION_HOSTS else ""


def listing_path(seller_id: str, sku: str) -> str:
    """/listings/2021-08-01/items/{sellerId}/{sku}: the SKU URL-encoded (it may hold '/' or spaces)."""
    return f"{LISTINGS_ITEMS_PATH}/{quote(seller_id, safe='')}/{quote(sku, safe='')}"


def search_path(seller_id: str) -> str:
    return f"{LISTINGS_ITEMS_PATH}/{quote(seller_id, safe='')}"


def order_path(order_id: str) -> str:
    return f"{ORDERS_PATH}/{quote(order_id, safe='')}"


def order_items_path(order_id: str) -> str:
    return f"{ORDERS_PATH}/{quote(order_id, safe='')}/orderItems"


def shipment_confirmation_path(order_id: str) -> str:
    return f"{ORDERS_PATH}/{quote(order_id, safe='')}/shipmentConfirmation"


def is_order_id(value: str) -> bool:
    """Amazon order ids are 3-7-7 digits (e.g. 113-1234567-1234567)."""
    parts = value.split("-")
    return len(parts) == 3 and [len(x) for x in parts] == [3, 7, 7] and all(x.isdigit() for x in parts)
