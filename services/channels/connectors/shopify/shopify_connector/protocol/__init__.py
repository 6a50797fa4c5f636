"""Shopify wire protocol, pure (no I/O): one module per concern.

- `api`: pinned API version "2025-07", endpoints, batch/page limits, shop URL, ids.
- `graphql`: GraphQL documents and their costs; reading the envelope (throttled, errors).
- `oauth`: callback HMAC, authorization URL, token exchange/refresh.
- `webhooks`: HMAC, topics, freshness and payload checks.
- `orders`: orders from GraphQL and REST payloads, money, times, statuses.
- `push`: inventory/price mutation inputs and per-item outcomes.
- `fulfillment`: which fulfillment-order line items a shipment covers; variants as remote products.
- `values`: the plain values these take and give (items, outcomes, orders, webhook kinds);
  mapping.py converts them to and from connector.v1 messages, so this package imports no
  generated code.

Callers use `from shopify_connector import protocol as p`; every public name is re-exported here.

Ids: Shopify GraphQL ids are GIDs (gid://shopify/InventoryItem/123). Listing mappings store GIDs;
numeric ids are accepted and converted. Orders are identified by their *numeric* id everywhere
(external_id, line ids) because webhooks carry the REST payload (numeric ids) while polling uses
GraphQL (GIDs), and both paths must upsert the same (connection, external_id).
"""

from __future__ import annotations

from omnistock_connector_kit.oauth import TokenGrant, is_invalid_grant
from shopify_connector.protocol.api import (
    API_VERSION,
    AUTHORIZE_PATH,
    CALLBACK_MAX_AGE_SECONDS,
    COST_MUTATION,
    COST_SHOP,
    GRAPHQL_PATH,
    MAX_INVENTORY_BATCH,
    MAX_ORDERS_PAGE,
    MAX_PRICE_BATCH,
    MAX_VARIANTS_PAGE,
    MORE_LINES_PAGE,
    ORDER_LINES_PAGE,
    READ_BATCH,
    SHOP_DOMAIN_RE,
    TOKEN_PATH,
    chunked,
    gid,
    numeric_id,
    shop_base_url,
)
from shopify_connector.protocol.fulfillment import (
    NOTHING_TO_FULFIL,
    fulfillment_allocation,
    remote_product,
)
from shopify_connector.protocol.graphql import (
    FULFILLMENT_CREATE_MUTATION,
    FULFILLMENT_ORDERS_QUERY,
    INVENTORY_SET_MUTATION,
    ORDER_LINES_QUERY,
    ORDER_LINES_QUERY_COST,
    ORDERS_QUERY,
    READ_INVENTORY_QUERY,
    SHOP_QUERY,
    VARIANTS_BULK_UPDATE_MUTATION,
    VARIANTS_QUERY,
    bucket_size,
    currently_available,
    graphql_errors,
    is_access_denied,
    is_throttled,
    orders_query_cost,
    throttle_wait,
)
from shopify_connector.protocol.oauth import (
    authorization_url,
    callback_problem,
    parse_token_response,
    query_hmac,
    token_exchange_form,
    token_refresh_form,
    verify_query_hmac,
)
from shopify_connector.protocol.orders import (
    decimal_string,
    deleted_order,
    graphql_time,
    map_order_status,
    money,
    order_from_graphql,
    order_from_rest,
    orders_search,
    parse_time,
    raw_status,
)
from shopify_connector.protocol.push import (
    error_message,
    inventory_set_input,
    item_outcomes,
    price_problem,
    user_error_index,
    variant_price_input,
)
from shopify_connector.protocol.values import (
    Amount,
    FulfillmentLineInput,
    InventoryInput,
    ItemResult,
    OrderData,
    OrderLineData,
    Outcome,
    ParsedWebhook,
    PriceInput,
    RemoteProductData,
    RemoteQuantity,
    UnifiedStatus,
    WebhookKind,
)
from shopify_connector.protocol.webhooks import (
    SUBSCRIBED_TOPICS,
    WEBHOOK_MAX_AGE_SECONDS,
    WEBHOOK_MAX_SKEW_SECONDS,
    parsed_webhook,
    subscribed_topics,
    verify_webhook,
    webhook_hmac,
    webhook_kind,
    webhook_problem,
)

__all__ = [
    "API_VERSION",
    "AUTHORIZE_PATH",
    "CALLBACK_MAX_AGE_SECONDS",
    "COST_MUTATION",
    "COST_SHOP",
    "FULFILLMENT_CREATE_MUTATION",
    "FULFILLMENT_ORDERS_QUERY",
    "GRAPHQL_PATH",
    "INVENTORY_SET_MUTATION",
    "MAX_INVENTORY_BATCH",
    "MAX_ORDERS_PAGE",
    "MAX_PRICE_BATCH",
    "MAX_VARIANTS_PAGE",
    "MORE_LINES_PAGE",
    "NOTHING_TO_FULFIL",
    "ORDERS_QUERY",
    "ORDER_LINES_PAGE",
    "ORDER_LINES_QUERY",
    "ORDER_LINES_QUERY_COST",
    "READ_BATCH",
    "READ_INVENTORY_QUERY",
    "SHOP_DOMAIN_RE",
    "SHOP_QUERY",
    "SUBSCRIBED_TOPICS",
    "TOKEN_PATH",
    "VARIANTS_BULK_UPDATE_MUTATION",
    "VARIANTS_QUERY",
    "WEBHOOK_MAX_AGE_SECONDS",
    "WEBHOOK_MAX_SKEW_SECONDS",
    "Amount",
    "FulfillmentLineInput",
    "InventoryInput",
    "ItemResult",
    "OrderData",
    "OrderLineData",
    "Outcome",
    "ParsedWebhook",
    "PriceInput",
    "RemoteProductData",
    "RemoteQuantity",
    "TokenGrant",
    "UnifiedStatus",
    "WebhookKind",
    "authorization_url",
    "bucket_size",
    "callback_problem",
    "chunked",
    "currently_available",
    "decimal_string",
    "deleted_order",
    "error_message",
    "fulfillment_allocation",
    "gid",
    "graphql_errors",
    "graphql_time",
    "inventory_set_input",
    "is_access_denied",
    "is_invalid_grant",
    "is_throttled",
    "item_outcomes",
    "map_order_status",
    "money",
    "numeric_id",
    "order_from_graphql",
    "order_from_rest",
    "orders_query_cost",
    "orders_search",
    "parse_time",
    "parse_token_response",
    "parsed_webhook",
    "price_problem",
    "query_hmac",
    "raw_status",
    "remote_product",
    "shop_base_url",
    "subscribed_topics",
    "throttle_wait",
    "token_exchange_form",
    "token_refresh_form",
    "user_error_index",
    "variant_price_input",
    "verify_query_hmac",
    "verify_webhook",
    "webhook_hmac",
    "webhook_kind",
    "webhook_problem",
]
