"""Shopify wire protocol, pure (no I/O): GraphQL documents, request building, response parsing,
status mapping and HMAC verification.

API version: pinned to the GraphQL Admin API "2025-07". The pin matters: inventorySetQuantities
changes shape in 2026-01/2026-04 (changeFromQuantity, required @idempotent), see CHANNELS.md 1.3.
Moving the pin means re-reading those notes and updating the sandbox in the same change.

Ids: Shopify GraphQL ids are GIDs (gid://shopify/InventoryItem/123). Listing mappings store GIDs;
numeric ids are accepted and converted. Orders are identified by their *numeric* id everywhere
(external_id, line ids) because webhooks carry the REST payload (numeric ids) while polling uses
GraphQL (GIDs), and both paths must upsert the same (connection, external_id).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from google.protobuf import timestamp_pb2

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.money import MoneyError, exponent, from_minor

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
# exceeds 1000 points; an order costs about 5 + 3 * lines (objects count 1, connections
# 2 + first * node), so 10 orders x 30 lines = 952. Orders with more lines get the rest through
# ORDER_LINES_QUERY.
MAX_ORDERS_PAGE = 10
ORDER_LINES_PAGE = 30
MORE_LINES_PAGE = 250
MAX_VARIANTS_PAGE = 250
# Callback timestamps older than this are rejected (the official library uses 24 h).
CALLBACK_MAX_AGE_SECONDS = 24 * 3600

SHOP_DOMAIN_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$")

# Requested-cost hints for the local token bucket (points, same unit as Shopify's bucket).
COST_MUTATION = 10.0
COST_SHOP = 2.0


# --------------------------------------------------------------------------------------------
# GraphQL documents
# --------------------------------------------------------------------------------------------

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
# Ids
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# OAuth
# --------------------------------------------------------------------------------------------


def query_hmac(params: Mapping[str, Any], secret: str) -> str:
    """Shopify's HMAC over OAuth/install query parameters (CHANNELS.md 1.2, official algorithm)."""
    pairs = []
    for key, value in params.items():
        if key in ("hmac", "signature"):
            continue
        if key.endswith("[]"):
            values = value if isinstance(value, list | tuple) else [value]
            key, value = key[:-2], json.dumps([str(v) for v in values])
        k = str(key).replace("%", "%25").replace("=", "%3D")
        v = str(value).replace("%", "%25")
        pairs.append(f"{k}={v}".replace("&", "%26"))
    message = "&".join(sorted(pairs))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_query_hmac(params: Mapping[str, Any], secrets: Sequence[str]) -> bool:
    """Constant-time check of params["hmac"] against any of `secrets` (current, previous)."""
    received = str(params.get("hmac", ""))
    if not received:
        return False
    return any(
        hmac.compare_digest(query_hmac(params, secret).encode(), received.lower().encode())
        for secret in secrets
        if secret
    )


def callback_problem(
    params: Mapping[str, str], secrets: Sequence[str], *, expected_shop: str = "", now: float | None = None
) -> str | None:
    """Why an OAuth callback must be refused, or None when it is genuine (HMAC, shop, age, code)."""
    if not verify_query_hmac(params, secrets):
        return "the callback's hmac does not verify"
    shop = params.get("shop", "")
    if not SHOP_DOMAIN_RE.match(shop):
        return "the callback's shop is not a valid *.myshopify.com domain"
    if expected_shop and shop.lower() != expected_shop.lower():
        return "the callback's shop is not the connection's shop"
    if not params.get("code"):
        return "the callback has no code"
    timestamp = params.get("timestamp", "")
    if timestamp:
        try:
            age = (time.time() if now is None else now) - int(timestamp)
        except ValueError:
            return "the callback's timestamp is not a number"
        if age > CALLBACK_MAX_AGE_SECONDS:
            return "the callback is older than 24 hours"
    return None


def authorization_url(base_url: str, *, client_id: str, scopes: str, redirect_uri: str, state: str) -> str:
    """The consent page: https://{shop}/admin/oauth/authorize (base_url is the shop or sandbox)."""
    query = urlencode({"client_id": client_id, "scope": scopes, "redirect_uri": redirect_uri, "state": state})
    return f"{base_url.rstrip('/')}{AUTHORIZE_PATH}?{query}"


def token_exchange_form(client_id: str, client_secret: str, code: str) -> dict[str, str]:
    # expiring=1 asks for an expiring offline token (expires_in + rotating refresh_token).
    return {"client_id": client_id, "client_secret": client_secret, "code": code, "expiring": "1"}


def token_refresh_form(client_id: str, client_secret: str, refresh_token: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_in: float | None
    refresh_token_expires_in: float | None
    scopes: tuple[str, ...]


def parse_token_response(body: Mapping[str, Any]) -> TokenGrant:
    """The token endpoint's JSON; raises ValueError when there is no access token."""
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise ValueError("the token response has no access_token")

    def seconds(name: str) -> float | None:
        value = body.get(name)
        try:
            return float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    scope = body.get("scope") or ""
    return TokenGrant(
        access_token=token,
        refresh_token=str(body.get("refresh_token") or ""),
        expires_in=seconds("expires_in"),
        refresh_token_expires_in=seconds("refresh_token_expires_in"),
        scopes=tuple(s.strip() for s in str(scope).split(",") if s.strip()),
    )


def is_invalid_grant(status: int, body: Any) -> bool:
    """The refresh token was refused for good (used, revoked, expired): re-authorize."""
    if status in (400, 401, 403) and isinstance(body, Mapping):
        error = str(body.get("error", "")).lower()
        description = str(body.get("error_description", "")).lower()
        return (
            error in ("invalid_grant", "invalid_request", "unauthorized_client") or "invalid" in description
        )
    return status in (401, 403)


# --------------------------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------------------------


def webhook_hmac(raw_body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


def verify_webhook(raw_body: bytes, signature: str, secrets: Sequence[str]) -> bool:
    """X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(client secret, RAW body)); try each secret
    because Shopify may sign with the previous secret for an hour after a rotation."""
    if not signature:
        return False
    return any(
        hmac.compare_digest(webhook_hmac(raw_body, secret).encode(), signature.strip().encode())
        for secret in secrets
        if secret
    )


# Topics OmniStock subscribes a shop to and knows how to read (CHANNELS.md 1.6). A delivery on any
# other topic did not come from one of our subscriptions: it is refused, whatever its signature.
# A connection may narrow this set with the comma-separated setting `webhook_topics`.
SUBSCRIBED_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/partially_fulfilled",
        "orders/delete",
        "products/create",
        "products/update",
        "products/delete",
        "inventory_levels/update",
        "app/uninstalled",
    }
)
# Shopify retries a failed delivery 8 times over 4 hours, resending the ORIGINAL payload, and says
# to judge staleness by X-Shopify-Triggered-At or a timestamp in the payload
# (https://shopify.dev/changelog/updates-to-webhook-retry-mechanism). The default window covers
# that retry horizon plus an hour of slack, so a genuine retry is never refused.
WEBHOOK_MAX_AGE_SECONDS = 5 * 3600
# How far ahead of our clock a timestamp may be (clock skew), before it is "from the future".
WEBHOOK_MAX_SKEW_SECONDS = 300
_FRACTION_RE = re.compile(r"(\.\d{6})\d+")


def subscribed_topics(setting: str) -> frozenset[str]:
    """The topics this connection accepts: SUBSCRIBED_TOPICS, narrowed by its `webhook_topics`."""
    chosen = {t.strip().lower() for t in setting.split(",") if t.strip()}
    return SUBSCRIBED_TOPICS & chosen if chosen else SUBSCRIBED_TOPICS


def _timestamp(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 time (Shopify sends up to nanoseconds), None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = _FRACTION_RE.sub(r"\1", value.strip().replace("Z", "+00:00"))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _age_problem(what: str, stamp: float | None, now: float, max_age: float) -> str | None:
    if stamp is None:
        return f"{what} is missing or not a time"
    if now - stamp > max_age:
        return f"{what} is older than {int(max_age)} s"
    if stamp - now > WEBHOOK_MAX_SKEW_SECONDS:
        return f"{what} is in the future"
    return None


def _positive_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return isinstance(value, str) and value.isdigit() and int(value) > 0


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _payload_problem(topic: str, payload: Any, shop: str) -> str | None:
    """Does the signed body look like what `topic` carries? Only the body is signed, so this is what
    ties a genuine body to the (unsigned) topic header: an order body cannot pass as app/uninstalled."""
    if not isinstance(payload, dict):
        return "the body is not a JSON object"
    resource, _, event = topic.partition("/")
    if topic == "app/uninstalled":
        # The shop object: its own domain must be the connection's shop (signed, unlike the header).
        domain = str(payload.get("myshopify_domain") or payload.get("domain") or "").lower()
        return None if domain and domain == shop else "the shop in the body is not the connection's shop"
    if resource == "inventory_levels":
        if _positive_id(payload.get("inventory_item_id")) and _positive_id(payload.get("location_id")):
            return None
        return "the body is not an inventory level"
    if not _positive_id(payload.get("id")):
        return f"the body has no {resource[:-1]} id"
    if event == "delete":
        return None
    if resource == "orders":
        lines = payload.get("line_items")
        if not isinstance(lines, list) or not all(
            isinstance(line, dict) and _count(line.get("quantity")) for line in lines
        ):
            return "the body is not an order (line_items with quantities)"
    if resource == "products" and not isinstance(payload.get("variants"), list):
        return "the body is not a product (variants)"
    return None


def webhook_problem(
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    secrets: Sequence[str],
    expected_shop: str,
    topics: frozenset[str] = SUBSCRIBED_TOPICS,
    max_age_seconds: float = WEBHOOK_MAX_AGE_SECONDS,
    now: float | None = None,
) -> str | None:
    """Why a delivery (lower-case header names) must be refused, or None when it is genuine.

    The app's one client secret signs every shop's webhooks and covers the body only, so a valid
    signature proves "some shop of this app", nothing more. Hence: the shop header is required and
    must be the connection's; the topic must be one we subscribe to and match the body's shape; and
    staleness is judged on X-Shopify-Triggered-At when sent and, for orders, on the body's own
    `updated_at` (signed, and Shopify resends the original payload on retries, so it dates the event).
    """
    if not verify_webhook(raw_body, headers.get("x-shopify-hmac-sha256", ""), secrets):
        return "the signature does not verify"
    shop = headers.get("x-shopify-shop-domain", "").strip().lower()
    expected = expected_shop.strip().lower()
    if not shop or not SHOP_DOMAIN_RE.match(shop):
        return "X-Shopify-Shop-Domain is missing or not a *.myshopify.com domain"
    if not expected or shop != expected:
        return "the delivery is for another shop"
    topic = headers.get("x-shopify-topic", "").strip().lower()
    if topic not in topics:
        return f"topic {topic[:64]!r} is not one this connection subscribed to"
    if not (headers.get("x-shopify-webhook-id", "") or headers.get("x-shopify-event-id", "")).strip():
        return "X-Shopify-Webhook-Id is missing"
    clock = time.time() if now is None else now
    triggered = headers.get("x-shopify-triggered-at", "")
    if triggered and (
        problem := _age_problem("X-Shopify-Triggered-At", _timestamp(triggered), clock, max_age_seconds)
    ):
        return problem
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        return "the body is not JSON"
    if problem := _payload_problem(topic, payload, shop):
        return problem
    if topic.startswith("orders/") and topic != "orders/delete":
        return _age_problem(
            "the order's updated_at", _timestamp(payload.get("updated_at")), clock, max_age_seconds
        )
    return None


def webhook_kind(topic: str) -> int:
    head = topic.split("/", 1)[0].lower()
    if head == "orders":
        return pb.WEBHOOK_KIND_ORDER
    if head == "products":
        return pb.WEBHOOK_KIND_PRODUCT
    if head in ("inventory_levels", "inventory_items"):
        return pb.WEBHOOK_KIND_INVENTORY
    if topic.lower() == "app/uninstalled":
        return pb.WEBHOOK_KIND_APP_UNINSTALLED
    return pb.WEBHOOK_KIND_OTHER


# --------------------------------------------------------------------------------------------
# Money, time, statuses
# --------------------------------------------------------------------------------------------


def money(amount: Any, currency: str) -> common_pb2.Money | None:
    """Shopify decimal string → Money. Rounds half-even if Shopify sends more decimals than the
    currency has (it happens with tax-inclusive arithmetic); None when it cannot be read."""
    if amount in (None, "") or not currency:
        return None
    try:
        digits = exponent(currency)
        value = Decimal(str(amount)).scaleb(digits).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    except (MoneyError, InvalidOperation):
        return None
    return common_pb2.Money(amount_minor=int(value), currency=currency)


def decimal_string(value: common_pb2.Money) -> str:
    return from_minor(value.amount_minor, value.currency)


def parse_time(value: Any) -> timestamp_pb2.Timestamp | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(parsed.astimezone(UTC))
    return ts


def graphql_time(ts: timestamp_pb2.Timestamp) -> str:
    return ts.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_FULFILLMENT_ALIASES = {
    "partially_fulfilled": "partial",
    "partial": "partial",
    "fulfilled": "fulfilled",
    "shipped": "fulfilled",
    "restocked": "restocked",
}


def map_order_status(financial: str | None, fulfillment: str | None, cancelled: bool) -> int:
    """Shopify (REST lower-case or GraphQL upper-case display statuses) → unified OrderStatus.

    Precedence: cancelled/voided, fully refunded, then shipping progress, then payment.
    """
    fin = (financial or "").strip().lower()
    ful = _FULFILLMENT_ALIASES.get((fulfillment or "").strip().lower(), "")
    if cancelled or fin in ("voided", "expired"):
        return pb.ORDER_STATUS_CANCELLED
    if fin == "refunded":
        return pb.ORDER_STATUS_REFUNDED
    if ful == "fulfilled":
        return pb.ORDER_STATUS_SHIPPED
    if ful == "partial":
        return pb.ORDER_STATUS_PARTIALLY_SHIPPED
    if fin in ("paid", "partially_refunded"):
        return pb.ORDER_STATUS_PAID
    return pb.ORDER_STATUS_PENDING


def raw_status(financial: str | None, fulfillment: str | None, cancelled: bool) -> str:
    parts = [(financial or "").lower() or "unknown", (fulfillment or "").lower() or "unfulfilled"]
    if cancelled:
        parts.append("cancelled")
    return "/".join(parts)


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------


def _shop_money(money_set: Any) -> tuple[Any, str]:
    shop = (money_set or {}).get("shopMoney") or {}
    return shop.get("amount"), shop.get("currencyCode") or ""


def _set_times(order: pb.ChannelOrder, created: Any, updated: Any) -> None:
    if (ts := parse_time(created)) is not None:
        order.created_at.CopyFrom(ts)
    if (ts := parse_time(updated)) is not None:
        order.updated_at.CopyFrom(ts)


def order_from_graphql(
    node: Mapping[str, Any], extra_lines: Sequence[Mapping[str, Any]] = ()
) -> pb.ChannelOrder:
    """A GraphQL Order node; `extra_lines` are line items fetched past the first page."""
    cancelled = bool(node.get("cancelledAt"))
    financial, fulfillment = node.get("displayFinancialStatus"), node.get("displayFulfillmentStatus")
    order = pb.ChannelOrder(
        external_id=str(node.get("legacyResourceId") or numeric_id(node.get("id"))),
        external_name=str(node.get("name") or ""),
        status=map_order_status(financial, fulfillment, cancelled),
        raw_status=raw_status(financial, fulfillment, cancelled),
        customer_email=str(node.get("email") or ""),
    )
    amount, currency = _shop_money(node.get("totalPriceSet"))
    if (total := money(amount, currency)) is not None:
        order.total.CopyFrom(total)
    for line in [*((node.get("lineItems") or {}).get("nodes") or []), *extra_lines]:
        unit_amount, unit_currency = _shop_money(line.get("originalUnitPriceSet"))
        out = order.lines.add(
            external_line_id=numeric_id(line.get("id")),
            sku=str(line.get("sku") or ""),
            quantity=int(line.get("quantity") or 0),
            title=str(line.get("title") or ""),
        )
        if (unit := money(unit_amount, unit_currency or currency)) is not None:
            out.unit_price.CopyFrom(unit)
    _set_times(order, node.get("createdAt"), node.get("updatedAt"))
    return order


def order_from_rest(payload: Mapping[str, Any]) -> pb.ChannelOrder:
    """An order in the REST shape (webhook bodies)."""
    cancelled = bool(payload.get("cancelled_at"))
    financial, fulfillment = payload.get("financial_status"), payload.get("fulfillment_status")
    currency = str(payload.get("currency") or "")
    order = pb.ChannelOrder(
        external_id=numeric_id(payload.get("id")),
        external_name=str(payload.get("name") or ""),
        status=map_order_status(financial, fulfillment, cancelled),
        raw_status=raw_status(financial, fulfillment, cancelled),
        customer_email=str(payload.get("email") or payload.get("contact_email") or ""),
    )
    if (total := money(payload.get("total_price"), currency)) is not None:
        order.total.CopyFrom(total)
    for line in payload.get("line_items") or []:
        out = order.lines.add(
            external_line_id=numeric_id(line.get("id")),
            sku=str(line.get("sku") or ""),
            quantity=int(line.get("quantity") or 0),
            title=str(line.get("title") or ""),
        )
        if (unit := money(line.get("price"), currency)) is not None:
            out.unit_price.CopyFrom(unit)
    _set_times(order, payload.get("created_at"), payload.get("updated_at"))
    return order


def orders_search(updated_since: timestamp_pb2.Timestamp | None) -> str | None:
    """Shopify search syntax for the polling window (inclusive: the caller overlaps windows)."""
    if updated_since is None or (updated_since.seconds == 0 and updated_since.nanos == 0):
        return None
    return f"updated_at:>='{graphql_time(updated_since)}'"


# --------------------------------------------------------------------------------------------
# Inventory and prices
# --------------------------------------------------------------------------------------------


def inventory_set_input(quantities: Sequence[tuple[str, str, int]], *, reference: str) -> dict[str, Any]:
    """Variables for inventorySetQuantities: absolute "available" quantities.

    ignoreCompareQuantity: OmniStock is the source of truth and overwrites whatever the channel
    holds (reconciliation logs the drift), so no compare-and-set.
    """
    return {
        "input": {
            "name": "available",
            "reason": "correction",
            "referenceDocumentUri": reference,
            "ignoreCompareQuantity": True,
            "quantities": [
                {"inventoryItemId": item, "locationId": location, "quantity": int(qty)}
                for item, location, qty in quantities
            ],
        }
    }


def user_error_index(field: Any, container: str) -> int | None:
    """Index of the input element a userError points at: ["input","quantities","3",...] → 3."""
    if not isinstance(field, list):
        return None
    for position, part in enumerate(field):
        if part == container and position + 1 < len(field):
            try:
                return int(field[position + 1])
            except (TypeError, ValueError):
                return None
    return None


def error_message(error: Mapping[str, Any]) -> str:
    code = error.get("code")
    message = str(error.get("message") or "rejected by Shopify")
    return f"{code}: {message}" if code else message


def item_outcomes(
    count: int, user_errors: Sequence[Mapping[str, Any]], *, container: str, applied: bool
) -> list[tuple[int, str]]:
    """(outcome, message) per input element from a bulk mutation's userErrors.

    Elements a userError points at are REJECTED (retrying the same value will not help). When
    the mutation applied nothing but the remaining elements were fine, they are RETRY so the
    next flush sends them without the bad ones. An error that names no element rejects them all.
    """
    errors_by_index: dict[int, list[str]] = {}
    general: list[str] = []
    for error in user_errors:
        index = user_error_index(error.get("field"), container)
        if index is not None and 0 <= index < count:
            errors_by_index.setdefault(index, []).append(error_message(error))
        else:
            general.append(error_message(error))
    results: list[tuple[int, str]] = []
    for index in range(count):
        if index in errors_by_index:
            results.append((pb.ITEM_OUTCOME_REJECTED, "; ".join(errors_by_index[index])))
        elif general and not applied:
            results.append((pb.ITEM_OUTCOME_REJECTED, "; ".join(general)))
        elif applied:
            results.append((pb.ITEM_OUTCOME_APPLIED, ""))
        else:
            results.append((pb.ITEM_OUTCOME_RETRY, "not applied: another item in the same call was rejected"))
    return results


def variant_price_input(variant_id: str, item: pb.PriceItem) -> dict[str, Any]:
    variant: dict[str, Any] = {"id": variant_id, "price": decimal_string(item.price)}
    if item.HasField("compare_at_price") and item.compare_at_price.currency:
        variant["compareAtPrice"] = decimal_string(item.compare_at_price)
    return variant


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


def graphql_errors(body: Mapping[str, Any]) -> str | None:
    """Top-level GraphQL errors (syntax, access denied, ...), as one message; None when clean."""
    errors = body.get("errors")
    if not errors:
        return None
    if isinstance(errors, str):
        return errors
    messages = [str(e.get("message", e)) if isinstance(e, Mapping) else str(e) for e in errors]
    return "; ".join(messages) or "GraphQL error"


def is_access_denied(body: Mapping[str, Any]) -> bool:
    for error in body.get("errors") or []:
        if isinstance(error, Mapping) and (error.get("extensions") or {}).get("code") == "ACCESS_DENIED":
            return True
    return False
