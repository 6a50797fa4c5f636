"""The slice of Shopify's GraphQL Admin schema that connectors use, with an executor and cost model.

Why a schema and not canned JSON: answers must contain exactly the selected fields (aliases
included), an unknown field must be a validation error before any mutation runs, and Shopify's
calculated query cost depends on the selection (objects cost 1, connections 2 + first * child cost,
mutations 10). The executor below does those three things over `ShopState`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from channel_sandboxes.common import iso_z, utcnow
from channel_sandboxes.graphql_lite import (
    Document,
    Field,
    FragmentSpread,
    InlineFragment,
    Operation,
    Selection,
    included,
    resolve_value,
)
from channel_sandboxes.shopify.state import (
    Event,
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    InventoryItem,
    LineItem,
    Location,
    Order,
    Product,
    ShopState,
    Subscription,
    Variant,
    gid,
    money,
    parse_gid,
    valid_money,
)
from omnistock_common.paging import decode_cursor, encode_cursor

MAX_PAGE_SIZE = 250
MAX_INPUT_QUANTITIES = 250
MUTATION_COST = 10

LEAF_TYPES = {
    "ID",
    "String",
    "Int",
    "Float",
    "Boolean",
    "DateTime",
    "Money",
    "Decimal",
    "URL",
    "UnsignedInt64",
    "CurrencyCode",
    "ProductStatus",
    "ProductVariantInventoryPolicy",
    "OrderDisplayFinancialStatus",
    "OrderDisplayFulfillmentStatus",
    "FulfillmentOrderStatus",
    "FulfillmentDisplayStatus",
    "FulfillmentStatus",
    "WebhookSubscriptionTopic",
    "WebhookSubscriptionFormat",
    "CountryCode",
    "InventorySetQuantitiesUserErrorCode",
    "InventoryAdjustQuantitiesUserErrorCode",
    "ProductVariantsBulkUpdateUserErrorCode",
}

# Abstract types: the concrete type comes from the resolved value (see `Typed`).
ABSTRACT_TYPES = {"Node", "WebhookSubscriptionEndpoint"}

TYPES: dict[str, dict[str, str]] = {
    "QueryRoot": {
        "shop": "Shop!",
        "locations": "LocationConnection!",
        "location": "Location",
        "products": "ProductConnection!",
        "product": "Product",
        "productVariants": "ProductVariantConnection!",
        "productVariant": "ProductVariant",
        "inventoryItems": "InventoryItemConnection!",
        "inventoryItem": "InventoryItem",
        "inventoryLevel": "InventoryLevel",
        "orders": "OrderConnection!",
        "order": "Order",
        "fulfillmentOrder": "FulfillmentOrder",
        "node": "Node",
        "nodes": "[Node]!",
        "webhookSubscriptions": "WebhookSubscriptionConnection!",
        "webhookSubscription": "WebhookSubscription",
    },
    "Mutation": {
        "inventorySetQuantities": "InventorySetQuantitiesPayload",
        "inventoryAdjustQuantities": "InventoryAdjustQuantitiesPayload",
        "productVariantsBulkUpdate": "ProductVariantsBulkUpdatePayload",
        "fulfillmentCreate": "FulfillmentCreatePayload",
        "webhookSubscriptionCreate": "WebhookSubscriptionCreatePayload",
        "webhookSubscriptionDelete": "WebhookSubscriptionDeletePayload",
    },
    "Node": {"id": "ID!"},
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
    "Location": {
        "id": "ID!",
        "legacyResourceId": "UnsignedInt64!",
        "name": "String!",
        "isActive": "Boolean!",
        "fulfillsOnlineOrders": "Boolean!",
        "inventoryLevels": "InventoryLevelConnection!",
        "inventoryLevel": "InventoryLevel",
    },
    "Product": {
        "id": "ID!",
        "legacyResourceId": "UnsignedInt64!",
        "title": "String!",
        "handle": "String!",
        "status": "ProductStatus!",
        "totalInventory": "Int!",
        "tracksInventory": "Boolean!",
        "createdAt": "DateTime!",
        "updatedAt": "DateTime!",
        "variants": "ProductVariantConnection!",
        "variantsCount": "Count",
    },
    "Count": {"count": "Int!"},
    "ProductVariant": {
        "id": "ID!",
        "legacyResourceId": "UnsignedInt64!",
        "sku": "String",
        "title": "String!",
        "displayName": "String!",
        "price": "Money!",
        "compareAtPrice": "Money",
        "inventoryQuantity": "Int",
        "inventoryPolicy": "ProductVariantInventoryPolicy!",
        "inventoryItem": "InventoryItem!",
        "product": "Product!",
        "createdAt": "DateTime!",
        "updatedAt": "DateTime!",
    },
    "InventoryItem": {
        "id": "ID!",
        "legacyResourceId": "UnsignedInt64!",
        "sku": "String",
        "tracked": "Boolean!",
        "variant": "ProductVariant!",
        "inventoryLevels": "InventoryLevelConnection!",
        "inventoryLevel": "InventoryLevel",
        "createdAt": "DateTime!",
        "updatedAt": "DateTime!",
    },
    "InventoryLevel": {
        "id": "ID!",
        "item": "InventoryItem!",
        "location": "Location!",
        "quantities": "[InventoryQuantity!]!",
        "updatedAt": "DateTime!",
        "createdAt": "DateTime!",
    },
    "InventoryQuantity": {"id": "ID!", "name": "String!", "quantity": "Int!", "updatedAt": "DateTime"},
    "InventoryAdjustmentGroup": {
        "id": "ID!",
        "createdAt": "DateTime!",
        "reason": "String!",
        "referenceDocumentUri": "String",
        "changes": "[InventoryChange!]!",
    },
    "InventoryChange": {
        "name": "String!",
        "delta": "Int!",
        "quantityAfterChange": "Int",
        "ledgerDocumentUri": "String",
        "item": "InventoryItem",
        "location": "Location",
    },
    "InventorySetQuantitiesPayload": {
        "inventoryAdjustmentGroup": "InventoryAdjustmentGroup",
        "userErrors": "[InventorySetQuantitiesUserError!]!",
    },
    "InventorySetQuantitiesUserError": {
        "code": "InventorySetQuantitiesUserErrorCode",
        "field": "[String!]",
        "message": "String!",
    },
    "InventoryAdjustQuantitiesPayload": {
        "inventoryAdjustmentGroup": "InventoryAdjustmentGroup",
        "userErrors": "[InventoryAdjustQuantitiesUserError!]!",
    },
    "InventoryAdjustQuantitiesUserError": {
        "code": "InventoryAdjustQuantitiesUserErrorCode",
        "field": "[String!]",
        "message": "String!",
    },
    "ProductVariantsBulkUpdatePayload": {
        "product": "Product",
        "productVariants": "[ProductVariant!]",
        "userErrors": "[ProductVariantsBulkUpdateUserError!]!",
    },
    "ProductVariantsBulkUpdateUserError": {
        "code": "ProductVariantsBulkUpdateUserErrorCode",
        "field": "[String!]",
        "message": "String!",
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
    "Order": {
        "id": "ID!",
        "legacyResourceId": "UnsignedInt64!",
        "name": "String!",
        "email": "String",
        "createdAt": "DateTime!",
        "updatedAt": "DateTime!",
        "processedAt": "DateTime!",
        "cancelledAt": "DateTime",
        "closed": "Boolean!",
        "currencyCode": "CurrencyCode!",
        "displayFinancialStatus": "OrderDisplayFinancialStatus",
        "displayFulfillmentStatus": "OrderDisplayFulfillmentStatus!",
        "totalPriceSet": "MoneyBag!",
        "subtotalPriceSet": "MoneyBag",
        "totalTaxSet": "MoneyBag",
        "lineItems": "LineItemConnection!",
        "fulfillmentOrders": "FulfillmentOrderConnection!",
        "fulfillments": "[Fulfillment!]!",
        "shippingAddress": "MailingAddress",
    },
    "LineItem": {
        "id": "ID!",
        "sku": "String",
        "title": "String!",
        "name": "String!",
        "quantity": "Int!",
        "currentQuantity": "Int!",
        "unfulfilledQuantity": "Int!",
        "originalUnitPriceSet": "MoneyBag!",
        "variant": "ProductVariant",
        "product": "Product",
    },
    "FulfillmentOrder": {
        "id": "ID!",
        "status": "FulfillmentOrderStatus!",
        "createdAt": "DateTime!",
        "updatedAt": "DateTime!",
        "order": "Order!",
        "assignedLocation": "FulfillmentOrderAssignedLocation!",
        "lineItems": "FulfillmentOrderLineItemConnection!",
    },
    "FulfillmentOrderAssignedLocation": {"name": "String!", "location": "Location"},
    "FulfillmentOrderLineItem": {
        "id": "ID!",
        "sku": "String",
        "totalQuantity": "Int!",
        "remainingQuantity": "Int!",
        "lineItem": "LineItem!",
        "variant": "ProductVariant",
    },
    "Fulfillment": {
        "id": "ID!",
        "legacyResourceId": "UnsignedInt64!",
        "status": "FulfillmentStatus!",
        "displayStatus": "FulfillmentDisplayStatus",
        "createdAt": "DateTime!",
        "order": "Order!",
        "location": "Location",
        "trackingInfo": "[FulfillmentTrackingInfo!]!",
        "totalQuantity": "Int!",
    },
    "FulfillmentTrackingInfo": {"company": "String", "number": "String", "url": "URL"},
    "FulfillmentCreatePayload": {"fulfillment": "Fulfillment", "userErrors": "[UserError!]!"},
    "UserError": {"field": "[String!]", "message": "String!"},
    "WebhookSubscription": {
        "id": "ID!",
        "legacyResourceId": "UnsignedInt64!",
        "topic": "WebhookSubscriptionTopic!",
        "format": "WebhookSubscriptionFormat!",
        "uri": "String!",
        "callbackUrl": "URL!",
        "endpoint": "WebhookSubscriptionEndpoint!",
        "createdAt": "DateTime!",
        "updatedAt": "DateTime!",
    },
    "WebhookSubscriptionEndpoint": {},
    "WebhookHttpEndpoint": {"callbackUrl": "URL!"},
    "WebhookSubscriptionCreatePayload": {
        "webhookSubscription": "WebhookSubscription",
        "userErrors": "[UserError!]!",
    },
    "WebhookSubscriptionDeletePayload": {"deletedWebhookSubscriptionId": "ID", "userErrors": "[UserError!]!"},
}

_CONNECTION_NODES = {
    "Location": "Location",
    "Product": "Product",
    "ProductVariant": "ProductVariant",
    "InventoryItem": "InventoryItem",
    "InventoryLevel": "InventoryLevel",
    "Order": "Order",
    "LineItem": "LineItem",
    "FulfillmentOrder": "FulfillmentOrder",
    "FulfillmentOrderLineItem": "FulfillmentOrderLineItem",
    "WebhookSubscription": "WebhookSubscription",
}
for _node in _CONNECTION_NODES:
    TYPES[f"{_node}Connection"] = {
        "edges": f"[{_node}Edge!]!",
        "nodes": f"[{_node}!]!",
        "pageInfo": "PageInfo!",
    }
    TYPES[f"{_node}Edge"] = {"cursor": "String!", "node": f"{_node}!"}

# Implementations of the abstract types, for inline fragments and `__typename`.
NODE_TYPES = {
    "Location",
    "Product",
    "ProductVariant",
    "InventoryItem",
    "InventoryLevel",
    "Order",
    "LineItem",
    "FulfillmentOrder",
    "FulfillmentOrderLineItem",
    "Fulfillment",
    "WebhookSubscription",
}
POSSIBLE_TYPES = {"Node": NODE_TYPES, "WebhookSubscriptionEndpoint": {"WebhookHttpEndpoint"}}

# Root field → scopes of which the token needs one (a write scope implies its read scope).
REQUIRED_SCOPES: dict[str, tuple[str, ...]] = {
    "products": ("read_products",),
    "product": ("read_products",),
    "productVariants": ("read_products",),
    "productVariant": ("read_products",),
    "inventoryItems": ("read_inventory",),
    "inventoryItem": ("read_inventory",),
    "inventoryLevel": ("read_inventory",),
    "locations": ("read_locations", "read_inventory"),
    "location": ("read_locations", "read_inventory"),
    "orders": ("read_orders",),
    "order": ("read_orders",),
    "fulfillmentOrder": (
        "read_merchant_managed_fulfillment_orders",
        "read_assigned_fulfillment_orders",
        "read_orders",
    ),
    "inventorySetQuantities": ("write_inventory",),
    "inventoryAdjustQuantities": ("write_inventory",),
    "productVariantsBulkUpdate": ("write_products",),
    "fulfillmentCreate": (
        "write_fulfillments",
        "write_merchant_managed_fulfillment_orders",
        "write_assigned_fulfillment_orders",
        "write_third_party_fulfillment_orders",
    ),
}

INVENTORY_REASONS = {
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_canceled",
    "movement_created",
    "movement_received",
    "movement_updated",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
}

WEBHOOK_TOPICS = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_CANCELLED": "orders/cancelled",
    "ORDERS_FULFILLED": "orders/fulfilled",
    "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled",
    "FULFILLMENTS_CREATE": "fulfillments/create",
    "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
    "PRODUCTS_UPDATE": "products/update",
    "APP_UNINSTALLED": "app/uninstalled",
}
TOPIC_ENUMS = {v: k for k, v in WEBHOOK_TOPICS.items()}


class GraphQLError(Exception):
    """A top-level GraphQL error (validation, coercion, access): the response carries no data."""

    def __init__(
        self, message: str, code: str | None = None, path: list[Any] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.payload: dict[str, Any] = {"message": message}
        if path:
            self.payload["path"] = path
        extensions = dict(extra)
        if code:
            extensions["code"] = code
        if extensions:
            self.payload["extensions"] = extensions


@dataclass
class Typed:
    """A value whose concrete GraphQL type must travel with it (for abstract fields such as `node`)."""

    type_name: str
    value: Any


@dataclass
class ExecContext:
    state: ShopState
    variables: dict[str, Any]
    fragments: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    actual_cost: int = 0
    in_mutation: bool = False


def named_type(ref: str) -> str:
    return ref.replace("[", "").replace("]", "").replace("!", "")


def is_list(ref: str) -> bool:
    return ref.startswith("[")


# --------------------------------------------------------------------------- validation and cost


def _fields(type_name: str, selections: list[Selection], ctx: ExecContext) -> list[tuple[Field, str]]:
    """Flatten fragments into (field, the type it is selected on), honouring @skip/@include."""
    out: list[tuple[Field, str]] = []
    for sel in selections:
        if isinstance(sel, Field):
            if included(sel.directives, ctx.variables):
                out.append((sel, type_name))
        elif isinstance(sel, InlineFragment):
            if included(sel.directives, ctx.variables):
                out.extend(_fields(sel.type_condition or type_name, sel.selections, ctx))
        elif isinstance(sel, FragmentSpread):
            fragment = ctx.fragments.get(sel.name)
            if fragment is None:
                raise GraphQLError(f"Fragment {sel.name} was used, but not defined", "undefinedFragment")
            if included(sel.directives, ctx.variables):
                out.extend(_fields(fragment.type_condition, fragment.selections, ctx))
    return out


def _applies(condition: str, concrete: str) -> bool:
    return condition == concrete or concrete in POSSIBLE_TYPES.get(condition, set())


def validate_and_cost(type_name: str, selections: list[Selection], ctx: ExecContext, path: list[str]) -> int:
    """Reject unknown fields (before anything runs) and return Shopify's requested query cost."""
    total = 0
    for sel, on_type in _fields(type_name, selections, ctx):
        if on_type not in TYPES:
            raise GraphQLError(
                f"No such type {on_type}, so it can't be a fragment condition", "undefinedType"
            )
        here = [*path, sel.response_key]
        if sel.name == "__typename":
            continue
        ref = TYPES[on_type].get(sel.name)
        if ref is None:
            raise GraphQLError(
                f"Field '{sel.name}' doesn't exist on type '{on_type}'",
                "undefinedField",
                here,
                typeName=on_type,
                fieldName=sel.name,
            )
        target = named_type(ref)
        if target in LEAF_TYPES:
            if sel.selections:
                raise GraphQLError(
                    f"Selections can't be made on scalars (field '{sel.name}' returns {target} but has selections)",
                    "selectionMismatch",
                    here,
                )
            continue
        if not sel.selections:
            raise GraphQLError(
                f"Field must have selections (field '{sel.name}' returns {target} but has no selections.)",
                "selectionMismatch",
                here,
            )
        child = validate_and_cost(target, sel.selections, ctx, here)
        if type_name == "Mutation":
            total += MUTATION_COST
        elif target.endswith("Connection"):
            size = _page_size(resolve_value(sel.arguments, ctx.variables), sel.name)
            total += 2 + size * child
        elif target.endswith("Edge") or target == "PageInfo":
            total += child
        else:
            total += 1 + child
    return total


def _page_size(args: dict[str, Any], field_name: str, check: bool = True) -> int:
    first, last = args.get("first"), args.get("last")
    size = first if first is not None else last
    if not check:
        return size if isinstance(size, int) and size > 0 else 0
    if size is None:
        raise GraphQLError("you must provide one of first or last", "BAD_REQUEST", [field_name])
    if not isinstance(size, int) or size < 0 or size > MAX_PAGE_SIZE:
        raise GraphQLError(
            f"The value of 'first'/'last' on '{field_name}' must be between 0 and {MAX_PAGE_SIZE}",
            "BAD_REQUEST",
            [field_name],
        )
    return size


# --------------------------------------------------------------------------- execution


def execute(op: Operation, doc: Document, ctx: ExecContext) -> dict[str, Any]:
    root = "Mutation" if op.kind == "mutation" else "QueryRoot"
    ctx.in_mutation = op.kind == "mutation"
    return _select(root, None, op.selections, ctx, [])


def _select(
    type_name: str, source: Any, selections: list[Selection], ctx: ExecContext, path: list[Any]
) -> dict:
    grouped: dict[str, list[Field]] = {}
    for sel, on_type in _fields(type_name, selections, ctx):
        if _applies(on_type, type_name):
            grouped.setdefault(sel.response_key, []).append(sel)
    out: dict[str, Any] = {}
    for key, fields_ in grouped.items():
        sel = fields_[0]
        merged = [s for f in fields_ for s in f.selections]
        if sel.name == "__typename":
            out[key] = type_name
            continue
        ref = TYPES[type_name][sel.name]
        args = resolve_value(sel.arguments, ctx.variables)
        resolver = RESOLVERS.get(type_name, {}).get(sel.name)
        if resolver is not None:
            value = resolver(source, args, ctx)
        elif isinstance(source, dict):
            value = source.get(sel.name)
        else:
            value = getattr(source, sel.name, None)
        if type_name == "Mutation":
            ctx.actual_cost += MUTATION_COST
        out[key] = _complete(ref, value, merged, ctx, [*path, key])
    return out


def _complete(ref: str, value: Any, selections: list[Selection], ctx: ExecContext, path: list[Any]) -> Any:
    if value is None:
        return None
    if is_list(ref):
        inner = ref[1:].rstrip("!")[:-1] if ref.endswith("!") else ref[1:-1]
        return [_complete(inner, v, selections, ctx, [*path, i]) for i, v in enumerate(value)]
    target = named_type(ref)
    if target in LEAF_TYPES:
        if isinstance(value, datetime):
            return iso_z(value)
        return value
    if isinstance(value, Typed):
        target, value = value.type_name, value.value
    if not ctx.in_mutation:
        if target.endswith("Connection"):
            ctx.actual_cost += 2
        elif not (target.endswith("Edge") or target == "PageInfo"):
            ctx.actual_cost += 1
    return _select(target, value, selections, ctx, path)


# --------------------------------------------------------------------------- search syntax and paging

_TERM = re.compile(r"""(-?)([A-Za-z_]+):(>=|<=|>|<)?("[^"]*"|'[^']*'|\S+)""")


def _parse_when(text: str) -> datetime | None:
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def search_matches(query: str | None, values: dict[str, Any]) -> bool:
    """Shopify search syntax, the useful subset: `field:value`, `field:>=value`, `-field:value`, AND.

    Unknown fields are ignored (Shopify answers with a search warning rather than an error). Values
    ending in `*` match by prefix. Dates compare as instants; ids and numbers compare numerically.
    """
    if not query:
        return True
    for negate, name, op, raw in _TERM.findall(query):
        key = name.lower()
        if key not in values:
            continue
        raw = raw.strip("\"'")
        have = values[key]
        candidates = have if isinstance(have, list) else [have]
        result = any(_compare(c, op, raw) for c in candidates)
        if bool(negate) == result:
            return False
    return True


def _compare(have: Any, op: str, raw: str) -> bool:
    if have is None:
        return False
    if isinstance(have, datetime):
        want = _parse_when(raw)
        if want is None:
            return False
        left, right = have, want
    elif isinstance(have, int):
        digits = raw.rsplit("/", 1)[-1]
        if not digits.isdigit():
            return False
        left, right = have, int(digits)
    else:
        text, target = str(have).lower(), raw.lower()
        if not op:
            return text.startswith(target[:-1]) if target.endswith("*") else text == target
        left, right = text, target
    if op == ">=":
        return left >= right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    if op == "<":
        return left < right
    return left == right


def paginate(
    items: list[Any], args: dict[str, Any], key: Callable[[Any], list[Any]], field_name: str
) -> dict:
    """Relay connection over `items` (already in sort order); cursors are opaque sort keys."""
    size = _page_size(args, field_name)
    reverse = bool(args.get("reverse"))
    ordered = sorted(items, key=key, reverse=reverse)
    after, before = args.get("after"), args.get("before")
    if after:
        mark = _cursor(after)
        ordered = [i for i in ordered if (key(i) < mark if reverse else key(i) > mark)]
    if before:
        mark = _cursor(before)
        ordered = [i for i in ordered if (key(i) > mark if reverse else key(i) < mark)]
    if args.get("first") is not None:
        page = ordered[:size]
        has_next, has_prev = len(ordered) > size, bool(after)
    else:
        page = ordered[-size:] if size else []
        has_next, has_prev = bool(before), len(ordered) > size
    cursors = [encode_cursor(key(i)) for i in page]
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, page, strict=True)],
        "nodes": page,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_prev,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def _cursor(value: Any) -> list[Any]:
    decoded = decode_cursor(value) if isinstance(value, str) else None
    if decoded is None:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {value}", "BAD_REQUEST")
    return decoded


def _sort_key(sort_key: str | None, getters: dict[str, Callable[[Any], Any]]) -> Callable[[Any], list[Any]]:
    getter = getters.get((sort_key or "ID").upper(), getters["ID"])

    def key(obj: Any) -> list[Any]:
        value = getter(obj)
        if isinstance(value, datetime):
            value = value.isoformat()
        return [value, obj.id]

    return key


# --------------------------------------------------------------------------- resolvers


def _level_id(location_id: int, item_id: int) -> str:
    return f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}"


@dataclass
class LevelRef:
    item: InventoryItem
    location_id: int


def _money_bag(amount: Any, currency: str) -> dict[str, Any]:
    value = {"amount": money(amount), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": value}


def _quantities(ref: LevelRef, args: dict[str, Any]) -> list[dict[str, Any]]:
    level = ref.item.levels[ref.location_id]
    figures = {
        "available": level.available,
        "committed": level.committed,
        "on_hand": level.available + level.committed,
        "incoming": 0,
        "reserved": 0,
        "damaged": 0,
        "safety_stock": 0,
        "quality_control": 0,
    }
    names = args.get("names") or []
    out = []
    for name in names:
        if name not in figures:
            raise GraphQLError(f"Invalid quantity name '{name}'", "BAD_REQUEST")
        out.append(
            {
                "id": f"gid://shopify/InventoryQuantity/{ref.location_id}?inventory_item_id={ref.item.id}&name={name}",
                "name": name,
                "quantity": figures[name],
                "updatedAt": level.updated_at,
            }
        )
    return out


def _levels(item: InventoryItem, args: dict[str, Any]) -> dict:
    refs = [LevelRef(item, loc) for loc in item.levels]
    return paginate(refs, args, lambda r: [r.location_id, r.item.id], "inventoryLevels")


def _item_level(item: InventoryItem, args: dict[str, Any]) -> LevelRef | None:
    location_id = parse_gid(args.get("locationId"), "Location")
    return LevelRef(item, location_id) if location_id in item.levels else None


def _display_fulfillment(order: Order) -> str:
    status = order.fulfillment_status
    return {"fulfilled": "FULFILLED", "partial": "PARTIALLY_FULFILLED"}.get(status or "", "UNFULFILLED")


def _order_search_values(order: Order) -> dict[str, Any]:
    return {
        "updated_at": order.updated_at,
        "created_at": order.created_at,
        "processed_at": order.created_at,
        "id": order.id,
        "name": order.name,
        "email": order.email,
        "financial_status": order.financial_status,
        "fulfillment_status": {"fulfilled": "shipped", "partial": "partial"}.get(
            order.fulfillment_status or "", "unshipped"
        ),
        "sku": [li.sku for li in order.line_items],
        "status": "cancelled" if order.cancelled_at else "open",
    }


def _variant_search_values(state: ShopState, variant: Variant) -> dict[str, Any]:
    return {
        "sku": variant.sku,
        "id": variant.id,
        "product_id": variant.product_id,
        "title": variant.title,
        "updated_at": variant.updated_at,
        "created_at": variant.created_at,
        "inventory_quantity": sum(
            lv.available for lv in state.items[variant.inventory_item_id].levels.values()
        ),
    }


def _product_search_values(state: ShopState, product: Product) -> dict[str, Any]:
    return {
        "sku": [state.variants[v].sku for v in product.variant_ids],
        "id": product.id,
        "title": product.title,
        "handle": product.handle,
        "status": product.status.lower(),
        "updated_at": product.updated_at,
        "created_at": product.created_at,
    }


def _find_node(state: ShopState, value: Any) -> Typed | None:
    if not isinstance(value, str) or not value.startswith("gid://shopify/"):
        return None
    kind = value[len("gid://shopify/") :].split("/", 1)[0]
    number = parse_gid(value, kind)
    if number is None:
        return None
    if kind == "InventoryLevel":
        item_id = parse_gid(
            "gid://shopify/InventoryItem/" + value.split("inventory_item_id=", 1)[-1], "InventoryItem"
        )
        item = state.items.get(item_id or -1)
        return Typed(kind, LevelRef(item, number)) if item and number in item.levels else None
    tables: dict[str, dict[int, Any]] = {
        "Location": state.locations,
        "Product": state.products,
        "ProductVariant": state.variants,
        "InventoryItem": state.items,
        "Order": state.orders,
        "FulfillmentOrder": state.fulfillment_orders,
        "Fulfillment": state.fulfillments,
        "WebhookSubscription": state.subscriptions,
    }
    table = tables.get(kind)
    found = table.get(number) if table is not None else None
    return Typed(kind, found) if found is not None else None


def _typed_lookup(kind: str) -> Callable[[Any, dict[str, Any], ExecContext], Any]:
    def resolve(_src: Any, args: dict[str, Any], ctx: ExecContext) -> Any:
        node = _find_node(ctx.state, args.get("id"))
        return node.value if node is not None and node.type_name == kind else None

    return resolve


def _q_orders(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict:
    state = ctx.state
    matches = [o for o in state.orders.values() if search_matches(args.get("query"), _order_search_values(o))]
    key = _sort_key(
        args.get("sortKey"),
        {
            "ID": lambda o: o.id,
            "CREATED_AT": lambda o: o.created_at,
            "UPDATED_AT": lambda o: o.updated_at,
            "PROCESSED_AT": lambda o: o.created_at,
            "ORDER_NUMBER": lambda o: o.number,
        },
    )
    return paginate(matches, args, key, "orders")


def _q_products(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict:
    state = ctx.state
    matches = [
        p
        for p in state.products.values()
        if search_matches(args.get("query"), _product_search_values(state, p))
    ]
    key = _sort_key(
        args.get("sortKey"),
        {
            "ID": lambda p: p.id,
            "TITLE": lambda p: p.title,
            "UPDATED_AT": lambda p: p.updated_at,
            "CREATED_AT": lambda p: p.created_at,
        },
    )
    return paginate(matches, args, key, "products")


def _q_variants(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict:
    state = ctx.state
    matches = [
        v
        for v in state.variants.values()
        if search_matches(args.get("query"), _variant_search_values(state, v))
    ]
    key = _sort_key(
        args.get("sortKey"),
        {
            "ID": lambda v: v.id,
            "SKU": lambda v: v.sku,
            "TITLE": lambda v: v.title,
            "POSITION": lambda v: v.id,
        },
    )
    return paginate(matches, args, key, "productVariants")


def _q_items(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict:
    items = [
        i
        for i in ctx.state.items.values()
        if search_matches(args.get("query"), {"sku": i.sku, "id": i.id, "updated_at": i.updated_at})
    ]
    return paginate(items, args, lambda i: [i.id], "inventoryItems")


def _q_webhooks(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict:
    topics = {WEBHOOK_TOPICS.get(t, t) for t in (args.get("topics") or [])}
    subs = [s for s in ctx.state.subscriptions.values() if not topics or s.topic in topics]
    return paginate(subs, args, lambda s: [s.id], "webhookSubscriptions")


def _user_error(code: str | None, path: list[Any], message: str) -> dict[str, Any]:
    error: dict[str, Any] = {"field": [str(p) for p in path], "message": message}
    if code is not None:
        error["code"] = code
    return error


def _require(value: Any, name: str, type_name: str, path: str) -> None:
    if value is None:
        raise GraphQLError(
            f"Variable $input of type {type_name}! was provided invalid value for {path} "
            "(Expected value to not be null)",
            "INVALID_VARIABLE",
        )
    del name


def _check_keys(obj: dict[str, Any], allowed: set[str], input_type: str, path: str) -> None:
    """Unknown input fields are a coercion error in GraphQL (e.g. 2026-01 fields on a 2025-07 call)."""
    for key in obj:
        if key not in allowed:
            raise GraphQLError(
                f"Variable $input of type {input_type}! was provided invalid value for {path}{key} "
                f"(Field is not defined on {input_type if not path else 'InventoryQuantityInput'})",
                "INVALID_VARIABLE",
            )


def _m_inventory_set(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """inventorySetQuantities as of 2025-07: absolute quantities, compare-and-set unless ignored."""
    state = ctx.state
    data = args.get("input")
    if not isinstance(data, dict):
        raise GraphQLError(
            "Variable $input of type InventorySetQuantitiesInput! was provided invalid value",
            "INVALID_VARIABLE",
        )
    _check_keys(
        data,
        {"name", "reason", "referenceDocumentUri", "quantities", "ignoreCompareQuantity"},
        "InventorySetQuantitiesInput",
        "",
    )
    for required in ("name", "reason", "quantities"):
        _require(data.get(required), required, "InventorySetQuantitiesInput", required)
    quantities = data["quantities"]
    if len(quantities) > MAX_INPUT_QUANTITIES:
        raise GraphQLError(
            f"The input array size of {len(quantities)} is greater than the maximum allowed of {MAX_INPUT_QUANTITIES}.",
            "MAX_INPUT_SIZE_EXCEEDED",
            ["inventorySetQuantities", "input", "quantities"],
        )
    for index, q in enumerate(quantities):
        if not isinstance(q, dict):
            raise GraphQLError(
                "Variable $input was provided invalid value for quantities", "INVALID_VARIABLE"
            )
        _check_keys(
            q,
            {"inventoryItemId", "locationId", "quantity", "compareQuantity"},
            "InventorySetQuantitiesInput",
            f"quantities.{index}.",
        )
        for required in ("inventoryItemId", "locationId", "quantity"):
            _require(
                q.get(required), required, "InventorySetQuantitiesInput", f"quantities.{index}.{required}"
            )
        if not isinstance(q["quantity"], int) or isinstance(q["quantity"], bool):
            raise GraphQLError(
                f"Variable $input of type InventorySetQuantitiesInput! was provided invalid value for "
                f"quantities.{index}.quantity (Could not coerce value to Int)",
                "INVALID_VARIABLE",
            )
    name, reason = data["name"], data["reason"]
    ignore_compare = bool(data.get("ignoreCompareQuantity"))
    errors: list[dict[str, Any]] = []
    if name not in ("available", "on_hand"):
        errors.append(
            _user_error(
                "INVALID_NAME",
                ["input", "name"],
                "The quantity name must be either 'available' or 'on_hand'.",
            )
        )
    if reason not in INVENTORY_REASONS:
        errors.append(_user_error("INVALID_REASON", ["input", "reason"], "The specified reason is invalid."))
    targets: list[tuple[InventoryItem, int, int]] = []
    seen: set[tuple[int, int]] = set()
    for index, q in enumerate(quantities):
        base = ["input", "quantities", str(index)]
        item = state.items.get(parse_gid(q["inventoryItemId"], "InventoryItem") or -1)
        location_id = parse_gid(q["locationId"], "Location")
        if item is None:
            errors.append(
                _user_error(
                    "INVALID_INVENTORY_ITEM",
                    [*base, "inventoryItemId"],
                    "The specified inventory item could not be found.",
                )
            )
            continue
        if location_id not in state.locations:
            errors.append(
                _user_error(
                    "INVALID_LOCATION", [*base, "locationId"], "The specified location could not be found."
                )
            )
            continue
        if location_id not in item.levels:
            errors.append(
                _user_error(
                    "ITEM_NOT_STOCKED_AT_LOCATION",
                    [*base, "locationId"],
                    "The specified inventory item is not stocked at the location.",
                )
            )
            continue
        if (item.id, location_id) in seen:
            errors.append(
                _user_error(
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                    base,
                    "The combination of inventoryItemId and locationId must be unique.",
                )
            )
            continue
        seen.add((item.id, location_id))
        if abs(q["quantity"]) > 1_000_000_000:
            errors.append(
                _user_error(
                    "INVALID_QUANTITY_TOO_HIGH" if q["quantity"] > 0 else "INVALID_QUANTITY_TOO_LOW",
                    [*base, "quantity"],
                    "The quantity is out of range.",
                )
            )
            continue
        level = item.levels[location_id]
        current = level.available if name == "available" else level.available + level.committed
        if not ignore_compare:
            if "compareQuantity" not in q or q["compareQuantity"] is None:
                errors.append(
                    _user_error(
                        "COMPARE_QUANTITY_REQUIRED",
                        [*base, "compareQuantity"],
                        "The compareQuantity argument must be given to each quantity or ignored using "
                        "ignoreCompareQuantity.",
                    )
                )
                continue
            if q["compareQuantity"] != current:
                errors.append(
                    _user_error(
                        "COMPARE_QUANTITY_STALE",
                        [*base, "compareQuantity"],
                        "The compareQuantity value does not match persisted value.",
                    )
                )
                continue
        targets.append((item, location_id, q["quantity"]))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes: list[dict[str, Any]] = []
    for item, location_id, quantity in targets:
        level = item.levels[location_id]
        current = level.available if name == "available" else level.available + level.committed
        delta = quantity - current
        if delta == 0:
            continue
        event = state.set_available(item, location_id, level.available + delta)
        if event is not None:
            ctx.events.append(event)
        location = state.locations[location_id]
        changes.append(
            {
                "name": "available",
                "delta": delta,
                "quantityAfterChange": level.available,
                "item": item,
                "location": location,
            }
        )
        changes.append(
            {
                "name": "on_hand",
                "delta": delta,
                "quantityAfterChange": level.available + level.committed,
                "item": item,
                "location": location,
            }
        )
    if not changes:
        return {"inventoryAdjustmentGroup": None, "userErrors": []}
    group = {
        "id": gid("InventoryAdjustmentGroup", state.new_id()),
        "createdAt": utcnow(),
        "reason": reason,
        "referenceDocumentUri": data.get("referenceDocumentUri"),
        "changes": changes,
    }
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _m_inventory_adjust(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """inventoryAdjustQuantities for `available` deltas (the only name without a ledger document)."""
    state = ctx.state
    data = args.get("input") or {}
    for required in ("name", "reason", "changes"):
        _require(data.get(required), required, "InventoryAdjustQuantitiesInput", required)
    errors: list[dict[str, Any]] = []
    if data["name"] != "available":
        errors.append(
            _user_error("INVALID_QUANTITY_NAME", ["input", "name"], "The sandbox only adjusts 'available'.")
        )
    if data["reason"] not in INVENTORY_REASONS:
        errors.append(_user_error("INVALID_REASON", ["input", "reason"], "The specified reason is invalid."))
    targets: list[tuple[InventoryItem, int, int]] = []
    for index, change in enumerate(data["changes"]):
        item = state.items.get(parse_gid(change.get("inventoryItemId"), "InventoryItem") or -1)
        location_id = parse_gid(change.get("locationId"), "Location")
        if item is None or location_id not in item.levels:
            errors.append(
                _user_error(
                    "INVALID_INVENTORY_ITEM" if item is None else "ITEM_NOT_STOCKED_AT_LOCATION",
                    ["input", "changes", str(index)],
                    "The specified inventory item could not be found."
                    if item is None
                    else "The specified inventory item is not stocked at the location.",
                )
            )
            continue
        targets.append((item, location_id, int(change.get("delta", 0))))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes = []
    for item, location_id, delta in targets:
        level = item.levels[location_id]
        event = state.set_available(item, location_id, level.available + delta)
        if event is not None:
            ctx.events.append(event)
        changes.append(
            {
                "name": "available",
                "delta": delta,
                "quantityAfterChange": level.available,
                "item": item,
                "location": state.locations[location_id],
            }
        )
    group = {
        "id": gid("InventoryAdjustmentGroup", state.new_id()),
        "createdAt": utcnow(),
        "reason": data["reason"],
        "referenceDocumentUri": data.get("referenceDocumentUri"),
        "changes": changes,
    }
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _m_variants_bulk_update(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """productVariantsBulkUpdate: one product per call, prices as decimal strings."""
    state = ctx.state
    product = state.products.get(parse_gid(args.get("productId"), "Product") or -1)
    variants_in = args.get("variants")
    if variants_in is None:
        raise GraphQLError(
            "Variable $variants of type [ProductVariantsBulkInput!]! was provided invalid value",
            "INVALID_VARIABLE",
        )
    for index, v in enumerate(variants_in):
        for money_field in ("price", "compareAtPrice"):
            if v.get(money_field) is not None and not valid_money(v[money_field]):
                raise GraphQLError(
                    f"Variable $variants of type [ProductVariantsBulkInput!]! was provided invalid value for "
                    f"{index}.{money_field} (invalid Money value)",
                    "INVALID_VARIABLE",
                )
    if product is None:
        return {
            "product": None,
            "productVariants": None,
            "userErrors": [_user_error("PRODUCT_DOES_NOT_EXIST", ["productId"], "Product does not exist")],
        }
    errors = []
    updates: list[tuple[Variant, dict[str, Any]]] = []
    for index, v in enumerate(variants_in):
        if not v.get("id"):
            errors.append(
                _user_error(
                    "PRODUCT_VARIANT_ID_MISSING",
                    ["variants", str(index), "id"],
                    "Product variant is missing ID attribute",
                )
            )
            continue
        variant = state.variants.get(parse_gid(v["id"], "ProductVariant") or -1)
        if variant is None or variant.product_id != product.id:
            errors.append(
                _user_error(
                    "PRODUCT_VARIANT_DOES_NOT_EXIST",
                    ["variants", str(index), "id"],
                    "Product variant does not exist",
                )
            )
            continue
        updates.append((variant, v))
    if errors and not args.get("allowPartialUpdates"):
        return {"product": None, "productVariants": None, "userErrors": errors}
    now = utcnow()
    for variant, v in updates:
        if v.get("price") is not None:
            variant.price = money(v["price"])
        if "compareAtPrice" in v:
            variant.compare_at_price = money(v["compareAtPrice"]) if v["compareAtPrice"] is not None else None
        if v.get("inventoryPolicy") in ("DENY", "CONTINUE"):
            variant.inventory_policy = v["inventoryPolicy"]
        variant.updated_at = now
    product.updated_at = now
    ctx.events.append(state.product_event(product))
    return {"product": product, "productVariants": [v for v, _ in updates], "userErrors": errors}


def _m_fulfillment_create(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    """fulfillmentCreate on the fulfillment-order model (CHANNELS 1.8)."""
    state = ctx.state
    data = args.get("fulfillment")
    if not isinstance(data, dict) or not data.get("lineItemsByFulfillmentOrder"):
        raise GraphQLError(
            "Variable $fulfillment of type FulfillmentInput! was provided invalid value for "
            "lineItemsByFulfillmentOrder (Expected value to not be null)",
            "INVALID_VARIABLE",
        )

    def fail(message: str) -> dict[str, Any]:
        return {"fulfillment": None, "userErrors": [_user_error(None, ["fulfillment"], message)]}

    requests: list[tuple[FulfillmentOrder, list[tuple[FulfillmentOrderLineItem, int]]]] = []
    for group in data["lineItemsByFulfillmentOrder"]:
        fo = state.fulfillment_orders.get(
            parse_gid(group.get("fulfillmentOrderId"), "FulfillmentOrder") or -1
        )
        if fo is None:
            return fail("Fulfillment order does not exist.")
        if fo.status == "CLOSED":
            return fail(f"Fulfillment order {fo.id} has an unfulfillable status= closed.")
        if requests and requests[0][0].order_id != fo.order_id:
            return fail("All fulfillment orders must belong to the same order.")
        wanted = group.get("fulfillmentOrderLineItems")
        items: list[tuple[FulfillmentOrderLineItem, int]] = []
        if not wanted:
            items = [(li, li.remaining) for li in fo.line_items if li.remaining > 0]
        else:
            for entry in wanted:
                line = next(
                    (
                        li
                        for li in fo.line_items
                        if li.id == parse_gid(entry.get("id"), "FulfillmentOrderLineItem")
                    ),
                    None,
                )
                if line is None:
                    return fail("Invalid fulfillment order line item id.")
                quantity = entry.get("quantity")
                if not isinstance(quantity, int) or quantity <= 0 or quantity > line.remaining:
                    return fail("Invalid fulfillment order line item quantity requested.")
                items.append((line, quantity))
        if not items:
            return fail("Invalid fulfillment order line item quantity requested.")
        requests.append((fo, items))
    tracking = data.get("trackingInfo") or {}
    if tracking.get("numbers") and not tracking.get("number"):
        tracking = {**tracking, "number": tracking["numbers"][0]}
    if tracking.get("urls") and not tracking.get("url"):
        tracking = {**tracking, "url": tracking["urls"][0]}
    fulfillment, events = state.fulfill(requests, tracking, bool(data.get("notifyCustomer")))
    ctx.events.extend(events)
    return {"fulfillment": fulfillment, "userErrors": []}


def _m_webhook_create(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    state = ctx.state
    topic = WEBHOOK_TOPICS.get(str(args.get("topic")))
    sub_in = args.get("webhookSubscription") or {}
    address = sub_in.get("uri") or sub_in.get("callbackUrl")
    if topic is None:
        return {
            "webhookSubscription": None,
            "userErrors": [_user_error(None, ["topic"], "Topic is not supported by the sandbox")],
        }
    if not isinstance(address, str) or not address.startswith(("http://", "https://")):
        return {
            "webhookSubscription": None,
            "userErrors": [_user_error(None, ["callbackUrl"], "Address is invalid")],
        }
    if any(s.topic == topic and s.address == address for s in state.subscriptions.values()):
        return {
            "webhookSubscription": None,
            "userErrors": [_user_error(None, ["address"], "Address for this topic has already been taken")],
        }
    sub = Subscription(state.new_id(), topic, address, str(sub_in.get("format") or "JSON"))
    state.subscriptions[sub.id] = sub
    return {"webhookSubscription": sub, "userErrors": []}


def _m_webhook_delete(_src: Any, args: dict[str, Any], ctx: ExecContext) -> dict[str, Any]:
    sub_id = parse_gid(args.get("id"), "WebhookSubscription")
    if sub_id not in ctx.state.subscriptions:
        return {
            "deletedWebhookSubscriptionId": None,
            "userErrors": [_user_error(None, ["id"], "Webhook subscription does not exist")],
        }
    del ctx.state.subscriptions[sub_id]
    return {"deletedWebhookSubscriptionId": gid("WebhookSubscription", sub_id), "userErrors": []}


Resolver = Callable[[Any, dict[str, Any], ExecContext], Any]

RESOLVERS: dict[str, dict[str, Resolver]] = {
    "QueryRoot": {
        "shop": lambda _s, _a, ctx: ctx.state,
        "locations": lambda _s, a, ctx: paginate(
            list(ctx.state.locations.values()), a, lambda x: [x.id], "locations"
        ),
        "location": _typed_lookup("Location"),
        "products": _q_products,
        "product": _typed_lookup("Product"),
        "productVariants": _q_variants,
        "productVariant": _typed_lookup("ProductVariant"),
        "inventoryItems": _q_items,
        "inventoryItem": _typed_lookup("InventoryItem"),
        "inventoryLevel": _typed_lookup("InventoryLevel"),
        "orders": _q_orders,
        "order": _typed_lookup("Order"),
        "fulfillmentOrder": _typed_lookup("FulfillmentOrder"),
        "node": lambda _s, a, ctx: _find_node(ctx.state, a.get("id")),
        "nodes": lambda _s, a, ctx: [_find_node(ctx.state, i) for i in a.get("ids") or []],
        "webhookSubscriptions": _q_webhooks,
        "webhookSubscription": _typed_lookup("WebhookSubscription"),
    },
    "Mutation": {
        "inventorySetQuantities": _m_inventory_set,
        "inventoryAdjustQuantities": _m_inventory_adjust,
        "productVariantsBulkUpdate": _m_variants_bulk_update,
        "fulfillmentCreate": _m_fulfillment_create,
        "webhookSubscriptionCreate": _m_webhook_create,
        "webhookSubscriptionDelete": _m_webhook_delete,
    },
    "Shop": {
        "id": lambda s, _a, _c: gid("Shop", 1),
        "name": lambda s, _a, _c: s.shop_domain.split(".", 1)[0],
        "email": lambda s, _a, _c: f"owner@{s.shop_domain}",
        "contactEmail": lambda s, _a, _c: f"owner@{s.shop_domain}",
        "myshopifyDomain": lambda s, _a, _c: s.shop_domain,
        "currencyCode": lambda s, _a, _c: s.currency,
        "ianaTimezone": lambda _s, _a, _c: "Etc/UTC",
    },
    "Location": {
        "id": lambda loc, _a, _c: gid("Location", loc.id),
        "legacyResourceId": lambda loc, _a, _c: str(loc.id),
        "isActive": lambda _l, _a, _c: True,
        "fulfillsOnlineOrders": lambda _l, _a, _c: True,
        "inventoryLevels": lambda loc, a, ctx: paginate(
            [LevelRef(i, loc.id) for i in ctx.state.items.values() if loc.id in i.levels],
            a,
            lambda r: [r.item.id],
            "inventoryLevels",
        ),
        "inventoryLevel": lambda loc, a, ctx: (
            LevelRef(ctx.state.items[iid], loc.id)
            if (iid := parse_gid(a.get("inventoryItemId"), "InventoryItem")) in ctx.state.items
            and loc.id in ctx.state.items[iid].levels
            else None
        ),
    },
    "Product": {
        "id": lambda p, _a, _c: gid("Product", p.id),
        "legacyResourceId": lambda p, _a, _c: str(p.id),
        "totalInventory": lambda p, _a, ctx: sum(
            lv.available
            for vid in p.variant_ids
            for lv in ctx.state.items[ctx.state.variants[vid].inventory_item_id].levels.values()
        ),
        "tracksInventory": lambda _p, _a, _c: True,
        "createdAt": lambda p, _a, _c: p.created_at,
        "updatedAt": lambda p, _a, _c: p.updated_at,
        "variants": lambda p, a, ctx: paginate(
            [ctx.state.variants[v] for v in p.variant_ids], a, lambda v: [v.id], "variants"
        ),
        "variantsCount": lambda p, _a, _c: {"count": len(p.variant_ids)},
    },
    "ProductVariant": {
        "id": lambda v, _a, _c: gid("ProductVariant", v.id),
        "legacyResourceId": lambda v, _a, _c: str(v.id),
        "displayName": lambda v, _a, ctx: f"{ctx.state.products[v.product_id].title} - {v.title}",
        "compareAtPrice": lambda v, _a, _c: v.compare_at_price,
        "inventoryQuantity": lambda v, _a, ctx: sum(
            lv.available for lv in ctx.state.items[v.inventory_item_id].levels.values()
        ),
        "inventoryPolicy": lambda v, _a, _c: v.inventory_policy,
        "inventoryItem": lambda v, _a, ctx: ctx.state.items[v.inventory_item_id],
        "product": lambda v, _a, ctx: ctx.state.products[v.product_id],
        "createdAt": lambda v, _a, _c: v.created_at,
        "updatedAt": lambda v, _a, _c: v.updated_at,
    },
    "InventoryItem": {
        "id": lambda i, _a, _c: gid("InventoryItem", i.id),
        "legacyResourceId": lambda i, _a, _c: str(i.id),
        "variant": lambda i, _a, ctx: ctx.state.variants[i.variant_id],
        "inventoryLevels": lambda i, a, _c: _levels(i, a),
        "inventoryLevel": lambda i, a, _c: _item_level(i, a),
        "createdAt": lambda i, _a, _c: i.created_at,
        "updatedAt": lambda i, _a, _c: i.updated_at,
    },
    "InventoryLevel": {
        "id": lambda r, _a, _c: _level_id(r.location_id, r.item.id),
        "item": lambda r, _a, _c: r.item,
        "location": lambda r, _a, ctx: ctx.state.locations[r.location_id],
        "quantities": lambda r, a, _c: _quantities(r, a),
        "updatedAt": lambda r, _a, _c: r.item.levels[r.location_id].updated_at,
        "createdAt": lambda r, _a, _c: r.item.created_at,
    },
    "Order": {
        "id": lambda o, _a, _c: gid("Order", o.id),
        "legacyResourceId": lambda o, _a, _c: str(o.id),
        "createdAt": lambda o, _a, _c: o.created_at,
        "updatedAt": lambda o, _a, _c: o.updated_at,
        "processedAt": lambda o, _a, _c: o.created_at,
        "cancelledAt": lambda o, _a, _c: o.cancelled_at,
        "closed": lambda o, _a, _c: False,
        "currencyCode": lambda o, _a, _c: o.currency,
        "displayFinancialStatus": lambda o, _a, _c: o.financial_status.upper(),
        "displayFulfillmentStatus": lambda o, _a, _c: _display_fulfillment(o),
        "totalPriceSet": lambda o, _a, _c: _money_bag(o.subtotal, o.currency),
        "subtotalPriceSet": lambda o, _a, _c: _money_bag(o.subtotal, o.currency),
        "totalTaxSet": lambda o, _a, _c: _money_bag(0, o.currency),
        "lineItems": lambda o, a, _c: paginate(o.line_items, a, lambda li: [li.id], "lineItems"),
        "fulfillmentOrders": lambda o, a, ctx: paginate(
            [ctx.state.fulfillment_orders[f] for f in o.fulfillment_order_ids],
            a,
            lambda f: [f.id],
            "fulfillmentOrders",
        ),
        "fulfillments": lambda o, a, ctx: [ctx.state.fulfillments[f] for f in o.fulfillment_ids][
            : a.get("first") or None
        ],
        "shippingAddress": lambda o, _a, _c: _address(o.shipping_address),
    },
    "LineItem": {
        "id": lambda li, _a, _c: gid("LineItem", li.id),
        "name": lambda li, _a, _c: li.title,
        "currentQuantity": lambda li, _a, _c: li.quantity,
        "unfulfilledQuantity": lambda li, _a, _c: li.quantity - li.fulfilled,
        "originalUnitPriceSet": lambda li, _a, ctx: _money_bag(li.price, ctx.state.currency),
        "variant": lambda li, _a, ctx: ctx.state.variants.get(li.variant_id),
        "product": lambda li, _a, ctx: ctx.state.products.get(li.product_id),
    },
    "FulfillmentOrder": {
        "id": lambda f, _a, _c: gid("FulfillmentOrder", f.id),
        "createdAt": lambda f, _a, _c: f.created_at,
        "updatedAt": lambda f, _a, _c: f.updated_at,
        "order": lambda f, _a, ctx: ctx.state.orders[f.order_id],
        "assignedLocation": lambda f, _a, ctx: {
            "name": ctx.state.locations[f.location_id].name,
            "location": ctx.state.locations[f.location_id],
        },
        "lineItems": lambda f, a, _c: paginate(f.line_items, a, lambda li: [li.id], "lineItems"),
    },
    "FulfillmentOrderLineItem": {
        "id": lambda li, _a, _c: gid("FulfillmentOrderLineItem", li.id),
        "sku": lambda li, _a, ctx: _order_line(ctx, li).sku,
        "totalQuantity": lambda li, _a, _c: li.total,
        "remainingQuantity": lambda li, _a, _c: li.remaining,
        "lineItem": lambda li, _a, ctx: _order_line(ctx, li),
        "variant": lambda li, _a, ctx: ctx.state.variants.get(_order_line(ctx, li).variant_id),
    },
    "Fulfillment": {
        "id": lambda f, _a, _c: gid("Fulfillment", f.id),
        "legacyResourceId": lambda f, _a, _c: str(f.id),
        "displayStatus": lambda _f, _a, _c: "FULFILLED",
        "createdAt": lambda f, _a, _c: f.created_at,
        "order": lambda f, _a, ctx: ctx.state.orders[f.order_id],
        "location": lambda f, _a, ctx: ctx.state.locations.get(f.location_id),
        "trackingInfo": lambda f, a, _c: f.tracking[: a.get("first") or None],
        "totalQuantity": lambda f, _a, _c: sum(q for _, q in f.lines),
    },
    "WebhookSubscription": {
        "id": lambda s, _a, _c: gid("WebhookSubscription", s.id),
        "legacyResourceId": lambda s, _a, _c: str(s.id),
        "topic": lambda s, _a, _c: TOPIC_ENUMS.get(s.topic, s.topic),
        "uri": lambda s, _a, _c: s.address,
        "callbackUrl": lambda s, _a, _c: s.address,
        "endpoint": lambda s, _a, _c: Typed("WebhookHttpEndpoint", {"callbackUrl": s.address}),
        "createdAt": lambda s, _a, _c: s.created_at,
        "updatedAt": lambda s, _a, _c: s.created_at,
    },
}


def _order_line(ctx: ExecContext, fo_line: FulfillmentOrderLineItem) -> LineItem:
    for order in ctx.state.orders.values():
        for line in order.line_items:
            if line.id == fo_line.line_item_id:
                return line
    raise GraphQLError(
        "Internal error: fulfillment order line without an order line", "INTERNAL_SERVER_ERROR"
    )


def _address(address: dict[str, Any] | None) -> dict[str, Any] | None:
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


# Re-exported for type checkers and the app module.
__all__ = [
    "TYPES",
    "ExecContext",
    "Fulfillment",
    "GraphQLError",
    "Location",
    "execute",
    "validate_and_cost",
]
