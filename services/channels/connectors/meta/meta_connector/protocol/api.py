"""Graph API version pin, hosts, paths and limits of the Meta connector.

Target: Graph API v25.0 (released 18 Feb 2026, available until 29 Jul 2028;
https://developers.facebook.com/docs/graph-api/changelog/versions/ — v26.0 exists since 29 Jul 2026,
v25.0 is the version this connector and its sandbox are written and tested against).
Facebook Shop and Instagram Shopping sell from the same Commerce Manager catalog, so one connector
serves both channel types (CHANNELS.md 3).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

API_VERSION = "v25.0"
# Every Graph call goes under this base (the `api_base_url` setting replaces scheme/host/port only).
GRAPH_BASE_URL = f"https://graph.facebook.com/{API_VERSION}"
# The Login dialog (manual login flow): https://www.facebook.com/<version>/dialog/oauth
# (https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow).
DIALOG_BASE_URL = f"https://www.facebook.com/{API_VERSION}"
DIALOG_PATH = "/dialog/oauth"
TOKEN_PATH = "/oauth/access_token"

CHANNEL_TYPES = ("facebook", "instagram")

# items_batch: at most 5,000 requests per call (3,000 recommended) and 28 MB of payload
# (CHANNELS.md 3.1 [V]; https://developers.facebook.com/docs/marketing-api/catalog-batch/reference).
MAX_BATCH_REQUESTS = 5000
MAX_BATCH_BYTES = 28 * 1024 * 1024
# Retailer ids per filtered products read (the filter is a query parameter: keep the URL short).
READ_CHUNK = 50
# Items per products page (Graph edges take `limit`; we cap it).
MAX_PRODUCTS_PAGE = 200
DEFAULT_PRODUCTS_PAGE = 100
MAX_ORDERS_PAGE = 25

PRODUCT_FIELDS = "id,retailer_id,name,inventory,price,sale_price,currency,availability"
ORDER_FIELDS = (
    "id,order_status,created,last_updated,buyer_details,channel,merchant_order_id,"
    "estimated_payment_details,shipping_address"
)
ORDER_ITEM_FIELDS = "id,retailer_id,product_name,quantity,price_per_unit,tax_details"
# Order states the connector reads (FB_PROCESSING orders cannot be acted on yet; CHANNELS.md 3.3).
ORDER_STATES = ("CREATED", "IN_PROGRESS", "COMPLETED")

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def items_batch_path(catalog_id: str) -> str:
    return f"/{catalog_id}/items_batch"


def batch_status_path(catalog_id: str) -> str:
    return f"/{catalog_id}/check_batch_request_status"


def products_path(catalog_id: str) -> str:
    return f"/{catalog_id}/products"


def orders_path(cms_id: str) -> str:
    return f"/{cms_id}/commerce_orders"


def is_graph_id(value: str) -> bool:
    """Graph node ids are decimal strings; anything else must not be put into a path."""
    return value.isascii() and value.isdigit() and 0 < len(value) <= 32
