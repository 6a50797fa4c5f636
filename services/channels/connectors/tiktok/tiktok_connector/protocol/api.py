"""TikTok Shop Partner API: the version pinned, where each call goes, limits and result codes.

Target: API version **202309** (the versioned paths below), the version EcomPHP/tiktokshop-php
uses by default (src/Client.php `DEFAULT_VERSION = '202309'`). Paths are cited per group:
- products: EcomPHP/tiktokshop-php src/Resources/Product.php (`products/{id}/inventory/update`,
  `products/{id}/prices/update`, `products/{id}`, `products/search`) and
  lywzx/tiktok-partner-api packages/tk-origin-api/src/products/UpdateInventory.ts (generated
  from partner.tiktokshop.com docv2: body `skus[{id, inventory[{warehouse_id?, quantity}]}]`,
  quantity "non-negative ... and less than 99999", answer `data.errors[{code, message,
  detail{sku_id, extra_errors[{warehouse_id, code, message}]}}]`);
- orders: CHANNELS.md 4.4 (lywzx/tiktok-partner-api orders/GetOrderList.ts);
- fulfillment: EcomPHP src/Resources/Fulfillment.php `markPackageAsShipped` →
  `POST /fulfillment/202309/orders/{order_id}/packages` {tracking_number, shipping_provider_id,
  order_line_item_ids};
- cancellation: EcomPHP src/Resources/ReturnRefund.php `cancelOrder` →
  `POST /return_refund/202309/cancellations`;
- publishing and logistics: lywzx/tiktok-partner-api packages/tk-origin-api/src/products/
  CreateProduct.ts (`POST /product/202309/products`), PartialEditProduct.ts
  (`POST /product/202309/products/{product_id}/partial_edit`), DeactivateProducts.ts
  (`POST /product/202309/products/deactivate`, at most 20 ids), GetProduct.ts, SearchProducts.ts,
  UploadProductImage.ts (`POST /product/202309/images/upload`, multipart `data` + `use_case`);
  src/logistics/GetWarehouseList.ts (`GET /logistics/202309/warehouses`),
  GetWarehouseDeliveryOptions.ts (`GET /logistics/202309/warehouses/{warehouse_id}/delivery_options`),
  GetShippingProviders.ts (`GET /logistics/202309/delivery_options/{delivery_option_id}/shipping_providers`)
  (all generated from https://partner.tiktokshop.com/docv2; the method codes there: 1 POST, 2 GET);
- authorization: EcomPHP src/Auth.php (`/api/v2/token/get`, `/api/v2/token/refresh` on
  auth.tiktok-shops.com, GET with app_key, app_secret, auth_code|refresh_token, grant_type).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

API_VERSION = "202309"

# Hosts (CHANNELS.md 4.1/4.2). A connection's api_base_url replaces scheme, host and port of all.
API_BASE_URL = "https://open-api.tiktokglobalshop.com"
AUTH_BASE_URL = "https://auth.tiktok-shops.com"
AUTHORIZE_BASE_URL = "https://services.tiktokshop.com"

AUTHORIZE_PATH = "/open/authorize"
TOKEN_GET_PATH = "/api/v2/token/get"
TOKEN_REFRESH_PATH = "/api/v2/token/refresh"
SHOPS_PATH = f"/authorization/{API_VERSION}/shops"
PRODUCTS_SEARCH_PATH = f"/product/{API_VERSION}/products/search"
ORDERS_SEARCH_PATH = f"/order/{API_VERSION}/orders/search"
ORDERS_DETAIL_PATH = f"/order/{API_VERSION}/orders"
CANCELLATIONS_PATH = f"/return_refund/{API_VERSION}/cancellations"
PRODUCTS_PATH = f"/product/{API_VERSION}/products"
DEACTIVATE_PATH = f"/product/{API_VERSION}/products/deactivate"
# Activate Products: a deactivated product back on sale (re-audited), at most 20 ids.
# Source: https://partner.tiktokshop.com/docv2/page/activate-product-202309
ACTIVATE_PATH = f"/product/{API_VERSION}/products/activate"
WAREHOUSES_PATH = f"/logistics/{API_VERSION}/warehouses"
IMAGES_UPLOAD_PATH = f"/product/{API_VERSION}/images/upload"


def product_path(product_id: str) -> str:
    return f"/product/{API_VERSION}/products/{product_id}"


def inventory_update_path(product_id: str) -> str:
    return f"{product_path(product_id)}/inventory/update"


def prices_update_path(product_id: str) -> str:
    return f"{product_path(product_id)}/prices/update"


def partial_edit_path(product_id: str) -> str:
    return f"{product_path(product_id)}/partial_edit"


def delivery_options_path(warehouse_id: str) -> str:
    return f"{WAREHOUSES_PATH}/{warehouse_id}/delivery_options"


def shipping_providers_path(delivery_option_id: str) -> str:
    return f"/logistics/{API_VERSION}/delivery_options/{delivery_option_id}/shipping_providers"


def ship_order_path(order_id: str) -> str:
    return f"/fulfillment/{API_VERSION}/orders/{order_id}/packages"


# Quantity bounds of Update Inventory: "non-negative ... and less than 99999" (UpdateInventory.ts).
MAX_QUANTITY = 99_998
# TikTok updates one product per call; OmniStock batches per product internally. 100 items per
# PushInventory call keeps a call under the per-shop bucket's burst (config.py).
MAX_INVENTORY_BATCH = 100
MAX_PRICE_BATCH = 100
MAX_ORDERS_PAGE = 100  # orders/search page_size 1..100 (CHANNELS.md 4.4)
MAX_PRODUCTS_PAGE = 100  # products/search page_size 1..100
# Order detail takes at most 50 ids per call (GET /order/202309/orders?ids=...).
MAX_ORDER_IDS = 50
# Lines of one order a fulfillment names at most (bounded work).
MAX_ORDER_LINES = 5_000

# Result codes of the envelope {code, message, request_id, data}. Source: the common-errors page
# https://partner.tiktokshop.com/docv2/page/common-errors as classified by public SDKs (an error
# table test of a Ruby SDK: 36009002 rate limit, 36009003/12001000 server errors, 105001-105002
# and 36004004 authentication, 105005 permission; several integrations refresh on 105002).
SUCCESS = 0
RATE_LIMIT_CODES = frozenset({36009002})
# Access token expired (105002) or invalid (105001, 36004004): refresh, then retry once.
TOKEN_CODES = frozenset({105001, 105002, 36004004})
# The token is valid but lacks the scope or the shop: re-authorize.
PERMISSION_CODES = frozenset({105005, 36009033})
SERVER_CODES = frozenset({36009003, 12001000})
# 36009004 is overloaded ("Message keyword index for 36009004"): an invalid x-tts-access-token
# header is a token failure, other messages (signature, timestamp, app_key) are refusals.
OVERLOADED_CODE = 36009004


def envelope(body: Any) -> tuple[int, str, Any]:
    """(code, message, data) of a response body; a body that is no envelope is code -1."""
    if not isinstance(body, dict):
        return -1, "malformed response", None
    code = body.get("code")
    if isinstance(code, str) and code.lstrip("-").isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool):
        return -1, "response without a code", None
    return code, str(body.get("message") or ""), body.get("data")


def is_rate_limited(code: int) -> bool:
    return code in RATE_LIMIT_CODES


def is_token_failure(code: int, message: str) -> bool:
    if code in TOKEN_CODES:
        return True
    return code == OVERLOADED_CODE and "access_token" in message.replace("-", "_").lower()


T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:")


def clean_id(value: Any, limit: int = 255) -> str:
    """A TikTok id (numeric ids, shop ciphers such as GCP_...), or "" when it does not look like
    one: remote ids end up in URLs, settings and mappings."""
    text = str(value if value is not None else "")
    return text if 0 < len(text) <= limit and set(text) <= _ID_CHARS else ""
