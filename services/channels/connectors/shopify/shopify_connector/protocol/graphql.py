"""GraphQL documents with their requested costs, and reading the GraphQL envelope
(throttling, errors, access denied).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omnistock_common.egress import safe_code
from shopify_connector.protocol.api import MORE_LINES_PAGE, ORDER_LINES_PAGE

SHOP_QUERY = """
query OmniStockShop {
  shop { name myshopifyDomain currencyCode }
  locations(first: 1) { nodes { id name } }
}
"""

INVENTORY_SET_MUTATION = """
mutation OmniStockSetInventory($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta } }
    userErrors { code field message }
  }
}
"""

VARIANTS_BULK_UPDATE_MUTATION = """
mutation OmniStockSetPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id price compareAtPrice }
    userErrors { code field message }
  }
}
"""

ORDERS_QUERY = """
query OmniStockOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id
      legacyResourceId
      name
      email
      createdAt
      updatedAt
      cancelledAt
      displayFinancialStatus
      displayFulfillmentStatus
      totalPriceSet { shopMoney { amount currencyCode } }
      lineItems(first: ORDER_LINES_PAGE) {
        nodes {
          id
          sku
          title
          quantity
          originalUnitPriceSet { shopMoney { amount currencyCode } }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
""".replace("ORDER_LINES_PAGE", str(ORDER_LINES_PAGE))

ORDER_LINES_QUERY = """
query OmniStockOrderLines($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: MORE_LINES_PAGE, after: $after) {
      nodes {
        id
        sku
        title
        quantity
        originalUnitPriceSet { shopMoney { amount currencyCode } }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
""".replace("MORE_LINES_PAGE", str(MORE_LINES_PAGE))


def orders_query_cost(first: int) -> float:
    """Requested cost of ORDERS_QUERY for `first` orders (see MAX_ORDERS_PAGE)."""
    return 2.0 + first * (5 + 3 * ORDER_LINES_PAGE)


ORDER_LINES_QUERY_COST = 1.0 + 2 + 3 * MORE_LINES_PAGE

FULFILLMENT_ORDERS_QUERY = """
query OmniStockFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 5) {
      nodes {
        id
        status
        lineItems(first: 50) {
          nodes { id remainingQuantity lineItem { id sku } }
        }
      }
    }
  }
}
"""

FULFILLMENT_CREATE_MUTATION = """
mutation OmniStockFulfil($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""

READ_INVENTORY_QUERY = """
query OmniStockReadInventory($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      sku
      inventoryLevel(locationId: $locationId) {
        quantities(names: ["available"]) { name quantity }
      }
    }
  }
}
"""

VARIANTS_QUERY = """
query OmniStockVariants($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    nodes {
      id
      sku
      title
      displayName
      inventoryQuantity
      product { id title }
      inventoryItem { id }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


# --------------------------------------------------------------------------------------------
# GraphQL envelope
# --------------------------------------------------------------------------------------------


def is_throttled(body: Any) -> bool:
    if not isinstance(body, Mapping):
        return False
    for error in body.get("errors") or []:
        if isinstance(error, Mapping):
            code = (error.get("extensions") or {}).get("code")
            if code == "THROTTLED" or str(error.get("message", "")).lower() == "throttled":
                return True
    return False


def throttle_wait(body: Any, default: float = 1.0) -> float | None:
    """Seconds until the query's cost is available again, from extensions.cost; None if the
    response is not THROTTLED."""
    if not is_throttled(body):
        return None
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        needed = float(cost.get("requestedQueryCost") or 0) - float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 0)
    except (TypeError, ValueError):
        return default
    if rate <= 0 or needed <= 0:
        return default
    return needed / rate


def currently_available(body: Any) -> float | None:
    """Points left in the shop's bucket per `extensions.cost.throttleStatus`, or None if absent."""
    if not isinstance(body, Mapping):
        return None
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") if isinstance(cost, Mapping) else None
    if not isinstance(status, Mapping) or status.get("currentlyAvailable") is None:
        return None
    try:
        return float(status["currentlyAvailable"])
    except (TypeError, ValueError):
        return None


def bucket_size(body: Any) -> tuple[float | None, float | None]:
    """(maximumAvailable, restoreRate) of `extensions.cost.throttleStatus`: the shop's plan figures;
    None for each one absent or not a positive number."""
    cost = (body.get("extensions") or {}).get("cost") if isinstance(body, Mapping) else None
    status = cost.get("throttleStatus") if isinstance(cost, Mapping) else None
    if not isinstance(status, Mapping):
        return None, None

    def positive(name: str) -> float | None:
        try:
            value = float(status.get(name))
        except (TypeError, ValueError):
            return None
        return value if value > 0 else None

    return positive("maximumAvailable"), positive("restoreRate")


def graphql_errors(body: Mapping[str, Any]) -> str | None:
    """Top-level GraphQL errors (syntax, access denied, ...), as one message; None when clean.

    Only the errors' `extensions.code` values (a fixed vocabulary) are kept, never their text.
    """
    errors = body.get("errors")
    if not errors:
        return None
    codes: list[str] = []
    for error in errors if isinstance(errors, list) else [errors]:
        extensions = error.get("extensions") if isinstance(error, Mapping) else None
        code = safe_code(extensions.get("code")) if isinstance(extensions, Mapping) else ""
        if code and code not in codes:
            codes.append(code)
    return f"GraphQL error ({', '.join(codes)})" if codes else "GraphQL error"


def is_access_denied(body: Mapping[str, Any]) -> bool:
    for error in body.get("errors") or []:
        if isinstance(error, Mapping) and (error.get("extensions") or {}).get("code") == "ACCESS_DENIED":
            return True
    return False
