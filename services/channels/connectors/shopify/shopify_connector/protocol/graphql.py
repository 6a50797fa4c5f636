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

# One line item as the order queries read it: 1 + money 2 + discounts 3 + taxes 3 = 9 points.
_LINE_ITEM_FIELDS = """
          id
          sku
          title
          quantity
          currentQuantity
          unfulfilledQuantity
          originalUnitPriceSet { shopMoney { amount currencyCode } }
          discountAllocations { allocatedAmountSet { shopMoney { amount currencyCode } } }
          taxLines { priceSet { shopMoney { amount currencyCode } } }
"""
LINE_ITEM_COST = 9
# An order without its lines: 1 + five money bags (2 each) + two addresses + the lines' connection.
ORDER_COST = 15

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
      subtotalPriceSet { shopMoney { amount currencyCode } }
      totalDiscountsSet { shopMoney { amount currencyCode } }
      totalShippingPriceSet { shopMoney { amount currencyCode } }
      totalTaxSet { shopMoney { amount currencyCode } }
      shippingAddress { name company address1 address2 city province provinceCode zip countryCodeV2 phone }
      billingAddress { name }
      lineItems(first: ORDER_LINES_PAGE) {
        nodes {LINE_ITEM_FIELDS        }
        pageInfo { hasNextPage endCursor }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
""".replace("ORDER_LINES_PAGE", str(ORDER_LINES_PAGE)).replace("LINE_ITEM_FIELDS", _LINE_ITEM_FIELDS)

ORDER_LINES_QUERY = """
query OmniStockOrderLines($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: MORE_LINES_PAGE, after: $after) {
      nodes {LINE_ITEM_FIELDS      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
""".replace("MORE_LINES_PAGE", str(MORE_LINES_PAGE)).replace("LINE_ITEM_FIELDS", _LINE_ITEM_FIELDS)


def orders_query_cost(first: int) -> float:
    """Requested cost of ORDERS_QUERY for `first` orders (see MAX_ORDERS_PAGE)."""
    return 2.0 + first * (ORDER_COST + LINE_ITEM_COST * ORDER_LINES_PAGE)


ORDER_LINES_QUERY_COST = 1.0 + 2 + LINE_ITEM_COST * MORE_LINES_PAGE

# The order's open work and what was already shipped: a retried fulfillment whose first attempt
# went through (its answer lost) finds its tracking number among `fulfillments` and is not repeated.
FULFILLMENT_ORDERS_QUERY = """
query OmniStockFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillments(first: 20) { id trackingInfo { company number url } }
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
FULFILLMENT_ORDERS_QUERY_COST = 2.0 + 20 * 2 + 2 + 5 * (1 + 2 + 50 * 2)

# fulfillmentCreate (https://shopify.dev/docs/api/admin-graphql/2025-07/mutations/fulfillmentCreate):
# FulfillmentInput.trackingInfo is FulfillmentTrackingInput {company, number, url}; `company` is
# the carrier's name (Shopify builds the tracking link itself for carriers it knows, else uses url).
FULFILLMENT_CREATE_MUTATION = """
mutation OmniStockFulfil($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { company number url } }
    userErrors { field message }
  }
}
"""

# orderCancel as of 2025-07 (https://shopify.dev/docs/api/admin-graphql/2025-07/mutations/orderCancel;
# https://shopify.dev/changelog/ordercancel-mutation-now-supports-refunds-to-store-credit):
# orderId: ID!, reason: OrderCancelReason! (CUSTOMER, DECLINED, FRAUD, INVENTORY, OTHER, STAFF),
# refundMethod: OrderCancelRefundMethodInput ({originalPaymentMethodsRefund}, replacing the deprecated
# `refund: Boolean`), restock: Boolean!, notifyCustomer, staffNote. It cancels in a background Job
# and reports refusals in orderCancelUserErrors {field message code}.
ORDER_CANCEL_MUTATION = """
mutation OmniStockCancelOrder(
  $orderId: ID!, $reason: OrderCancelReason!, $refundMethod: OrderCancelRefundMethodInput,
  $restock: Boolean!, $notifyCustomer: Boolean, $staffNote: String
) {
  orderCancel(
    orderId: $orderId, reason: $reason, refundMethod: $refundMethod, restock: $restock,
    notifyCustomer: $notifyCustomer, staffNote: $staffNote
  ) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""
# Whether the order is cancelled already (so a retry is not refused as "already cancelled") and,
# after the mutation, what its background job did: Order.cancelledAt and QueryRoot.job(id).done.
ORDER_CANCELLED_QUERY = """
query OmniStockOrderCancelled($id: ID!) {
  order(id: $id) { id cancelledAt }
}
"""
CANCEL_JOB_QUERY = """
query OmniStockCancelJob($id: ID!, $job: ID!) {
  order(id: $id) { id cancelledAt }
  job(id: $job) { id done }
}
"""

# Variant prices for reconciliation: `price` (Money!) and `compareAtPrice` (Money, null when none)
# are decimal strings in the shop's currency.
# https://shopify.dev/docs/api/admin-graphql/2025-10/objects/productvariant
READ_PRICES_QUERY = """
query OmniStockReadPrices($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on ProductVariant {
      id
      price
      compareAtPrice
    }
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
