"""Fulfillment orders and fulfillments: types, the `fulfillmentOrder` query and fulfillmentCreate (CHANNELS 1.8)."""

from __future__ import annotations

from typing import Any

from channel_sandboxes.shopify.models import (
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    LineItem,
    gid,
    parse_gid,
)
from channel_sandboxes.shopify.schema.context import ExecContext, GraphQLError, Resolver, user_error
from channel_sandboxes.shopify.schema.nodes import typed_lookup
from channel_sandboxes.shopify.schema.paging import paginate

TYPES: dict[str, dict[str, str]] = {
    "QueryRoot": {"fulfillmentOrder": "FulfillmentOrder"},
    "Mutation": {"fulfillmentCreate": "FulfillmentCreatePayload"},
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
}

# (fulfillment order, [(its line, quantity to ship)]) per group of the mutation's input.
FulfillmentRequest = tuple[FulfillmentOrder, list[tuple[FulfillmentOrderLineItem, int]]]


def _requested_lines(
    fo: FulfillmentOrder, wanted: list[dict[str, Any]] | None
) -> list[tuple[FulfillmentOrderLineItem, int]] | str:
    """The lines of one group (all remaining when none are named), or the user error message."""
    if not wanted:
        return [(li, li.remaining) for li in fo.line_items if li.remaining > 0]
    items: list[tuple[FulfillmentOrderLineItem, int]] = []
    for entry in wanted:
        line_id = parse_gid(entry.get("id"), "FulfillmentOrderLineItem")
        line = next((li for li in fo.line_items if li.id == line_id), None)
        if line is None:
            return "Invalid fulfillment order line item id."
        quantity = entry.get("quantity")
        if not isinstance(quantity, int) or quantity <= 0 or quantity > line.remaining:
            return "Invalid fulfillment order line item quantity requested."
        items.append((line, quantity))
    return items


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
        return {"fulfillment": None, "userErrors": [user_error(None, ["fulfillment"], message)]}

    requests: list[FulfillmentRequest] = []
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
        items = _requested_lines(fo, group.get("fulfillmentOrderLineItems"))
        if isinstance(items, str):
            return fail(items)
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


def _order_line(ctx: ExecContext, fo_line: FulfillmentOrderLineItem) -> LineItem:
    for order in ctx.state.orders.values():
        for line in order.line_items:
            if line.id == fo_line.line_item_id:
                return line
    raise GraphQLError(
        "Internal error: fulfillment order line without an order line", "INTERNAL_SERVER_ERROR"
    )


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "QueryRoot": {"fulfillmentOrder": typed_lookup("FulfillmentOrder")},
    "Mutation": {"fulfillmentCreate": _m_fulfillment_create},
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
}
