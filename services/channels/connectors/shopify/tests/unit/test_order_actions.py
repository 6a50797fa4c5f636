"""Orders in full (money, addresses, statuses, raw JSON) from both Shopify shapes, and the requests
CancelOrder and CreateFulfillment send, against a scripted shop (httpx.MockTransport, no sockets).

Request shapes follow the 2025-07 Admin GraphQL docs: orderCancel(orderId, reason, refundMethod,
restock, notifyCustomer, staffNote) and FulfillmentInput.trackingInfo {company, number, url}.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import FailedPrecondition, NotFound
from omnistock_connector_kit.channel_http import InMemoryTokenBucket
from omnistock_connector_kit.composition import Seams
from shopify_connector import mapping as m
from shopify_connector import protocol as p
from shopify_connector.client import ORDER_CANCEL_REFUSED
from shopify_connector.config import load_settings
from shopify_connector.server import make_servicer
from shopify_connector.servicer import ShopifyConnectorServicer

Script = dict[str, Callable[[dict[str, Any]], dict[str, Any]]]


def usd(amount: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": "USD"}}


class ScriptedShop:
    """Answers GraphQL operations by name with `data`; records (name, variables) of every call."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        name = re.search(r"(?:query|mutation)\s+(\w+)", body["query"]).group(1)
        self.calls.append((name, body["variables"]))
        return httpx.Response(200, json={"data": self.script[name](body["variables"])})

    def sent(self, name: str) -> list[dict[str, Any]]:
        return [variables for called, variables in self.calls if called == name]


def make(shop: ScriptedShop) -> ShopifyConnectorServicer:
    settings = load_settings(
        {"SHOPIFY_CLIENT_ID": "cid", "SHOPIFY_CLIENT_SECRET": "s", "CHANNEL_ALLOWED_HOSTS": "shop.test:*"}
    )
    seams = Seams(
        limiter=InMemoryTokenBucket(1e9, 1e9),
        transport=lambda: httpx.MockTransport(shop),
        sleep=lambda seconds: None,
    )
    return make_servicer(settings, seams)


def connection(**settings: str) -> pb.ConnectionContext:
    return pb.ConnectionContext(
        connection_id="c1",
        tenant_id="t1",
        channel_type="shopify",
        settings={"api_base_url": "http://shop.test", "shop_domain": "demo.myshopify.com", **settings},
        credentials=pb.Credentials(secrets={"access_token": "shpat_x"}),
    )


GRAPHQL_ORDER = {
    "id": "gid://shopify/Order/1001",
    "legacyResourceId": "1001",
    "name": "#1001",
    "email": "ann@example.com",
    "createdAt": "2025-07-01T10:00:00Z",
    "updatedAt": "2025-07-01T11:00:00Z",
    "cancelledAt": None,
    "displayFinancialStatus": "PAID",
    "displayFulfillmentStatus": "UNFULFILLED",
    "totalPriceSet": usd("42.40"),
    "subtotalPriceSet": usd("34.90"),
    "totalDiscountsSet": usd("5.00"),
    "totalShippingPriceSet": usd("4.00"),
    "totalTaxSet": usd("3.50"),
    "shippingAddress": {
        "name": "Ann Buyer",
        "company": None,
        "address1": "1 Main St",
        "address2": "Apt 2",
        "city": "Ottawa",
        "province": "Ontario",
        "provinceCode": "ON",
        "zip": "K1A 0B1",
        "countryCodeV2": "CA",
        "phone": "+1 555",
    },
    "billingAddress": {"name": "Ann Billing"},
    "lineItems": {
        "nodes": [
            {
                "id": "gid://shopify/LineItem/5",
                "sku": "MUG",
                "title": "Mug",
                "quantity": 2,
                "originalUnitPriceSet": usd("19.95"),
                "discountAllocations": [
                    {"allocatedAmountSet": usd("3.00")},
                    {"allocatedAmountSet": usd("2.00")},
                ],
                "taxLines": [{"priceSet": usd("2.50")}, {"priceSet": usd("1.00")}],
            }
        ],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    },
}

REST_ORDER = {
    "id": 1001,
    "name": "#1001",
    "email": "ann@example.com",
    "created_at": "2025-07-01T06:00:00-04:00",
    "updated_at": "2025-07-01T07:00:00-04:00",
    "cancelled_at": None,
    "currency": "USD",
    "total_price": "42.40",
    "subtotal_price": "34.90",
    "total_discounts": "5.00",
    "total_tax": "3.50",
    "total_shipping_price_set": {"shop_money": {"amount": "4.00", "currency_code": "USD"}},
    "financial_status": "paid",
    "fulfillment_status": None,
    "customer": {"first_name": "Ann", "last_name": "Buyer"},
    "shipping_address": {
        "first_name": "Ann",
        "last_name": "Buyer",
        "address1": "1 Main St",
        "address2": "Apt 2",
        "city": "Ottawa",
        "province": "Ontario",
        "province_code": "ON",
        "zip": "K1A 0B1",
        "country_code": "CA",
        "phone": "+1 555",
    },
    "line_items": [
        {
            "id": 5,
            "sku": "MUG",
            "title": "Mug",
            "quantity": 2,
            "price": "19.95",
            "discount_allocations": [{"amount": "3.00"}, {"amount": "2.00"}],
            "tax_lines": [{"price": "2.50"}, {"price": "1.00"}],
        }
    ],
}


def money(minor: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=minor, currency="USD")


@pytest.mark.parametrize("shape", ["graphql", "rest"])
def test_both_shapes_give_the_same_order(shape: str) -> None:
    parsed = p.order_from_graphql(GRAPHQL_ORDER) if shape == "graphql" else p.order_from_rest(REST_ORDER)
    order = m.order_to_proto(parsed)
    assert (order.external_id, order.external_name, order.customer_email) == (
        "1001",
        "#1001",
        "ann@example.com",
    )
    assert order.customer_name == "Ann Buyer"
    assert (order.status, order.raw_status) == (pb.ORDER_STATUS_PAID, "paid/unfulfilled")
    assert dict(order.channel_status) == {
        "financial_status": "paid",
        "fulfillment_status": "unfulfilled",
        "cancelled_at": "",
    }
    totals = (order.total, order.subtotal, order.discount_total, order.shipping_total, order.tax_total)
    assert totals == (money(4240), money(3490), money(500), money(400), money(350))
    address = order.shipping_address
    assert (address.name, address.line1, address.line2, address.city) == (
        "Ann Buyer",
        "1 Main St",
        "Apt 2",
        "Ottawa",
    )
    assert (address.region, address.postal_code, address.country_code, address.phone) == (
        "ON",
        "K1A 0B1",
        "CA",
        "+1 555",
    )
    (line,) = order.lines
    assert (line.external_line_id, line.sku, line.quantity, line.title) == ("5", "MUG", 2, "Mug")
    assert (line.unit_price, line.discount, line.tax) == (money(1995), money(500), money(350))
    assert order.updated_at.ToJsonString() == "2025-07-01T11:00:00Z"
    assert json.loads(order.raw_json)["name"] == "#1001"


def test_a_webhook_keeps_the_body_exactly_and_a_missing_name_falls_back_to_the_addresses() -> None:
    body = json.dumps({**REST_ORDER, "customer": None}, indent=2)
    order = m.order_to_proto(p.order_from_rest(json.loads(body), raw_json=body))
    assert order.raw_json == body
    assert order.customer_name == "Ann Buyer"
    node = {**GRAPHQL_ORDER, "shippingAddress": None}
    assert p.order_from_graphql(node).customer_name == "Ann Billing"
    assert not m.order_to_proto(p.order_from_graphql(node)).HasField("shipping_address")


def test_a_cancelled_order_says_so_in_every_status_field() -> None:
    order = m.order_to_proto(
        p.order_from_graphql(
            {**GRAPHQL_ORDER, "cancelledAt": "2025-07-02T09:00:00Z", "displayFinancialStatus": "REFUNDED"}
        )
    )
    assert order.status == pb.ORDER_STATUS_CANCELLED
    assert order.channel_status["cancelled_at"] == "2025-07-02T09:00:00Z"
    assert order.raw_status == "refunded/unfulfilled/cancelled"


def test_the_orders_query_stays_within_shopifys_single_query_limit() -> None:
    assert p.orders_query_cost(p.MAX_ORDERS_PAGE) <= 1000
    assert p.ORDER_LINES_QUERY_COST <= 1000
    for field in (
        "discountAllocations",
        "taxLines",
        "totalDiscountsSet",
        "totalShippingPriceSet",
        "shippingAddress",
    ):
        assert field in p.ORDERS_QUERY


# ------------------------------------------------------------------------------ CancelOrder
def cancel_script(cancelled_at: list[str | None], *, errors: list[dict[str, Any]] | None = None) -> Script:
    """An order whose cancelledAt reads, call after call, as `cancelled_at` (last value repeats)."""
    reads = iter(cancelled_at)
    last: list[str | None] = [None]

    def state(variables: dict[str, Any]) -> dict[str, Any]:
        last[0] = next(reads, last[0])
        return {
            "order": {"id": variables["id"], "cancelledAt": last[0]},
            "job": {"id": "gid://shopify/Job/9", "done": True},
        }

    return {
        "OmniStockOrderCancelled": state,
        "OmniStockCancelOrder": lambda v: {
            "orderCancel": {
                "job": None if errors else {"id": "gid://shopify/Job/9", "done": False},
                "orderCancelUserErrors": errors or [],
            }
        },
        "OmniStockCancelJob": state,
    }


def test_cancel_sends_the_2025_07_arguments_and_answers_the_job() -> None:
    shop = ScriptedShop(cancel_script([None, "2025-07-02T09:00:00Z"]))
    reply = make(shop).CancelOrder(
        pb.CancelOrderRequest(connection=connection(), external_order_id="1001", reason="customer"), None
    )
    assert reply.external_id == "gid://shopify/Job/9"
    (sent,) = shop.sent("OmniStockCancelOrder")
    assert sent == {
        "orderId": "gid://shopify/Order/1001",
        "reason": "CUSTOMER",
        "restock": False,
        "notifyCustomer": False,
        "staffNote": "Cancelled from OmniStock: customer",
        "refundMethod": {"originalPaymentMethodsRefund": True},
    }


def test_cancel_with_free_text_is_other_and_refund_can_be_switched_off() -> None:
    variables = p.cancel_variables("gid://shopify/Order/1", "buyer changed their mind", refund=False)
    assert (variables["reason"], variables["staffNote"]) == (
        "OTHER",
        "Cancelled from OmniStock: buyer changed their mind",
    )
    assert "refundMethod" not in variables
    shop = ScriptedShop(cancel_script([None, "2025-07-02T09:00:00Z"]))
    make(shop).CancelOrder(
        pb.CancelOrderRequest(connection=connection(cancel_refund="false"), external_order_id="1001"), None
    )
    assert "refundMethod" not in shop.sent("OmniStockCancelOrder")[0]


def test_an_order_already_cancelled_is_not_cancelled_again() -> None:
    shop = ScriptedShop(cancel_script(["2025-07-02T09:00:00Z"]))
    reply = make(shop).CancelOrder(
        pb.CancelOrderRequest(connection=connection(), external_order_id="1001"), None
    )
    assert reply.external_id == "gid://shopify/Order/1001"
    assert shop.sent("OmniStockCancelOrder") == []


def test_user_errors_and_a_job_that_did_not_cancel_are_refusals() -> None:
    refused = ScriptedShop(
        cancel_script([None], errors=[{"field": ["orderId"], "message": "<b>no</b>", "code": "INVALID"}])
    )
    with pytest.raises(FailedPrecondition) as exc:
        make(refused).CancelOrder(
            pb.CancelOrderRequest(connection=connection(), external_order_id="1001"), None
        )
    assert str(exc.value) == "Shopify refused to cancel the order (INVALID)"
    assert exc.value.reason == ORDER_CANCEL_REFUSED
    stuck = ScriptedShop(cancel_script([None]))
    with pytest.raises(FailedPrecondition):
        make(stuck).CancelOrder(
            pb.CancelOrderRequest(connection=connection(), external_order_id="1001"), None
        )


def test_cancel_of_an_unknown_order_is_not_found() -> None:
    shop = ScriptedShop({"OmniStockOrderCancelled": lambda v: {"order": None}})
    with pytest.raises(NotFound):
        make(shop).CancelOrder(pb.CancelOrderRequest(connection=connection(), external_order_id="7"), None)


# ------------------------------------------------------------------------------ CreateFulfillment
def fulfillment_script(existing: list[dict[str, Any]]) -> Script:
    fulfillment_order = {
        "id": "gid://shopify/FulfillmentOrder/1",
        "status": "OPEN",
        "lineItems": {
            "nodes": [
                {
                    "id": "FOL1",
                    "remainingQuantity": 2,
                    "lineItem": {"id": "gid://shopify/LineItem/5", "sku": "MUG"},
                }
            ]
        },
    }
    return {
        "OmniStockFulfillmentOrders": lambda v: {
            "order": {
                "id": v["id"],
                "fulfillments": existing,
                "fulfillmentOrders": {"nodes": [fulfillment_order]},
            }
        },
        "OmniStockFulfil": lambda v: {
            "fulfillmentCreate": {
                "fulfillment": {"id": "gid://shopify/Fulfillment/77", "status": "SUCCESS"},
                "userErrors": [],
            }
        },
    }


def fulfil(shop: ScriptedShop) -> pb.CreateFulfillmentResponse:
    return make(shop).CreateFulfillment(
        pb.CreateFulfillmentRequest(
            connection=connection(),
            external_order_id="1001",
            carrier="UPS",
            tracking_number="1Z999",
            tracking_url="https://ups.example/1Z999",
            lines=[pb.FulfillmentLine(external_line_id="5", quantity=2)],
        ),
        None,
    )


def test_fulfillment_sends_carrier_number_and_url_as_tracking_info() -> None:
    shop = ScriptedShop(fulfillment_script([]))
    assert fulfil(shop).external_fulfillment_id == "77"
    (sent,) = shop.sent("OmniStockFulfil")
    assert sent["fulfillment"]["trackingInfo"] == {
        "company": "UPS",
        "number": "1Z999",
        "url": "https://ups.example/1Z999",
    }
    assert sent["fulfillment"]["lineItemsByFulfillmentOrder"] == [
        {
            "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1",
            "fulfillmentOrderLineItems": [{"id": "FOL1", "quantity": 2}],
        }
    ]


def test_a_retried_fulfillment_finds_the_first_one_by_its_tracking_number() -> None:
    earlier = [
        {
            "id": "gid://shopify/Fulfillment/70",
            "trackingInfo": [{"company": "UPS", "number": "1Z999", "url": None}],
        }
    ]
    shop = ScriptedShop(fulfillment_script(earlier))
    assert fulfil(shop).external_fulfillment_id == "70"
    assert shop.sent("OmniStockFulfil") == []
    assert p.tracking_input("", "", "") == {}
    assert p.already_shipped(earlier, "") == ""


def test_units_the_channel_shipped_are_read_per_line_from_both_shapes() -> None:
    """GraphQL: currentQuantity - unfulfilledQuantity; REST: by the line's fulfillment_status,
    current_quantity - fulfillable_quantity when partial (see protocol/orders.py for the docs)."""
    (line,) = GRAPHQL_ORDER["lineItems"]["nodes"]
    partly = {**line, "quantity": 3, "currentQuantity": 3, "unfulfilledQuantity": 1}
    node = {**GRAPHQL_ORDER, "lineItems": {"nodes": [partly]}}
    assert [x.quantity_fulfilled for x in p.order_from_graphql(node).lines] == [2]
    assert [x.quantity_fulfilled for x in p.order_from_graphql(GRAPHQL_ORDER).lines] == [0]  # not asked

    (rest_line,) = REST_ORDER["line_items"]
    shapes = [
        ({"fulfillment_status": None, "fulfillable_quantity": 2}, 0),
        ({"fulfillment_status": "partial", "current_quantity": 3, "fulfillable_quantity": 1}, 2),
        ({"fulfillment_status": "fulfilled", "current_quantity": 2, "fulfillable_quantity": 0}, 2),
    ]
    for fields, shipped in shapes:
        order = p.order_from_rest({**REST_ORDER, "line_items": [{**rest_line, **fields}]})
        assert m.order_to_proto(order).lines[0].quantity_fulfilled == shipped, fields
