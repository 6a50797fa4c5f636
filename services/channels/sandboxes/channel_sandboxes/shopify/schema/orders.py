"""Orders and their line items (with discount allocations and tax lines): types and the
`orders`/`order` queries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from channel_sandboxes.shopify.models import Order, gid
from channel_sandboxes.shopify.schema.context import Resolver
from channel_sandboxes.shopify.schema.nodes import typed_lookup
from channel_sandboxes.shopify.schema.paging import paginate, search_query
from channel_sandboxes.shopify.schema.shop import mailing_address, money_bag

TYPES: dict[str, dict[str, str]] = {
    "QueryRoot": {"orders": "OrderConnection!", "order": "Order"},
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
        "cancelReason": "OrderCancelReason",
        "totalPriceSet": "MoneyBag!",
        "subtotalPriceSet": "MoneyBag",
        "totalDiscountsSet": "MoneyBag",
        "totalShippingPriceSet": "MoneyBag!",
        "totalTaxSet": "MoneyBag",
        "lineItems": "LineItemConnection!",
        "fulfillmentOrders": "FulfillmentOrderConnection!",
        "fulfillments": "[Fulfillment!]!",
        "shippingAddress": "MailingAddress",
        "billingAddress": "MailingAddress",
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
        "discountAllocations": "[DiscountAllocation!]!",
        "taxLines": "[TaxLine!]!",
        "variant": "ProductVariant",
        "product": "Product",
    },
    "DiscountAllocation": {"allocatedAmountSet": "MoneyBag!"},
    "TaxLine": {"title": "String!", "rate": "Float", "ratePercentage": "Float", "priceSet": "MoneyBag!"},
}


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


_q_orders = search_query(
    lambda state: state.orders,
    lambda _state, order: _order_search_values(order),
    {
        "ID": lambda o: o.id,
        "CREATED_AT": lambda o: o.created_at,
        "UPDATED_AT": lambda o: o.updated_at,
        "PROCESSED_AT": lambda o: o.created_at,
        "ORDER_NUMBER": lambda o: o.number,
    },
    "orders",
)


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "QueryRoot": {"orders": _q_orders, "order": typed_lookup("Order")},
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
        "cancelReason": lambda o, _a, _c: o.cancel_reason.upper() if o.cancel_reason else None,
        "totalPriceSet": lambda o, _a, _c: money_bag(o.total_price, o.currency),
        "subtotalPriceSet": lambda o, _a, _c: money_bag(o.subtotal, o.currency),
        "totalDiscountsSet": lambda o, _a, _c: money_bag(o.total_discounts, o.currency),
        "totalShippingPriceSet": lambda o, _a, _c: money_bag(o.shipping_price, o.currency),
        "totalTaxSet": lambda o, _a, _c: money_bag(o.total_tax, o.currency),
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
        "shippingAddress": lambda o, _a, _c: mailing_address(o.shipping_address),
        "billingAddress": lambda o, _a, _c: mailing_address(o.billing_address),
    },
    "LineItem": {
        "id": lambda li, _a, _c: gid("LineItem", li.id),
        "name": lambda li, _a, _c: li.title,
        "currentQuantity": lambda li, _a, _c: li.quantity,
        "unfulfilledQuantity": lambda li, _a, _c: li.quantity - li.fulfilled,
        "originalUnitPriceSet": lambda li, _a, ctx: money_bag(li.price, ctx.state.currency),
        "discountAllocations": lambda li, _a, ctx: (
            [{"allocatedAmountSet": money_bag(li.discount, ctx.state.currency)}]
            if Decimal(li.discount)
            else []
        ),
        "taxLines": lambda li, _a, ctx: (
            [
                {
                    "title": "Tax",
                    "rate": li.tax_rate,
                    "ratePercentage": li.tax_rate * 100,
                    "priceSet": money_bag(li.tax, ctx.state.currency),
                }
            ]
            if Decimal(li.tax)
            else []
        ),
        "variant": lambda li, _a, ctx: ctx.state.variants.get(li.variant_id),
        "product": lambda li, _a, ctx: ctx.state.products.get(li.product_id),
    },
}
