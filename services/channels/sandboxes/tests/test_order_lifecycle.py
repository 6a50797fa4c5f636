"""Orders through their life in both sandboxes: full money and addresses in the vendor's shape,
fulfilment with tracking visible on `/_sandbox/orders/<id>`, cancellation (Shopify's orderCancel and
its job, WooCommerce's PUT status), and the signed orders webhooks that updates and cancels fire."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx

from channel_sandboxes.common import serve
from channel_sandboxes.woocommerce import WooConfig
from channel_sandboxes.woocommerce import create_app as create_woo

GQL = "/admin/api/2025-07/graphql.json"
WOO = "/wp-json/wc/v3"
Receiver = Any  # conftest.Receiver


def gql(shop: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    token = shop.post("/_sandbox/tokens", json={}).json()["access_token"]
    reply = shop.post(
        GQL, json={"query": query, "variables": variables or {}}, headers={"X-Shopify-Access-Token": token}
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def signed_by(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_order(shop: httpx.Client, **extra: Any) -> dict[str, Any]:
    shop.post("/_sandbox/products", json={"items": [{"sku": "MUG", "quantity": 10, "price": "10.00"}]})
    lines = [{"sku": "MUG", "quantity": 2, "discount": "1.50", "tax": "2.00", "tax_rate": 0.1}]
    placed = shop.post("/_sandbox/orders", json={"lines": lines, "shipping": "4.00", **extra})
    assert placed.status_code == 201, placed.text
    return placed.json()


ORDER_QUERY = """
query O($id: ID!) {
  order(id: $id) {
    cancelledAt cancelReason displayFinancialStatus
    totalPriceSet { shopMoney { amount } } subtotalPriceSet { shopMoney { amount } }
    totalDiscountsSet { shopMoney { amount } } totalShippingPriceSet { shopMoney { amount } }
    totalTaxSet { shopMoney { amount } }
    shippingAddress { name city countryCodeV2 } billingAddress { name }
    lineItems(first: 5) { nodes {
      discountAllocations { allocatedAmountSet { shopMoney { amount } } }
      taxLines { rate priceSet { shopMoney { amount } } }
    } }
  }
}
"""


def test_shopify_order_money_and_addresses_in_both_shapes(shopify: httpx.Client) -> None:
    placed = shopify_order(
        shopify, shipping_address={"name": "Ann Buyer", "city": "Lyon", "country_code": "FR"}
    )
    rest = placed["order"]
    assert (rest["subtotal_price"], rest["total_discounts"], rest["total_tax"], rest["total_price"]) == (
        "18.50",
        "1.50",
        "2.00",
        "24.50",
    )
    assert rest["total_shipping_price_set"]["shop_money"]["amount"] == "4.00"
    assert rest["line_items"][0]["discount_allocations"][0]["amount"] == "1.50"
    assert rest["line_items"][0]["tax_lines"][0]["price"] == "2.00"
    assert rest["customer"]["first_name"] == "Sandbox"
    order = gql(shopify, ORDER_QUERY, {"id": placed["id"]})["data"]["order"]
    money = {k: order[k]["shopMoney"]["amount"] for k in order if k.endswith("Set")}
    assert money == {
        "totalPriceSet": "24.50",
        "subtotalPriceSet": "18.50",
        "totalDiscountsSet": "1.50",
        "totalShippingPriceSet": "4.00",
        "totalTaxSet": "2.00",
    }
    assert order["shippingAddress"] == {"name": "Ann Buyer", "city": "Lyon", "countryCodeV2": "FR"}
    line = order["lineItems"]["nodes"][0]
    assert line["discountAllocations"] == [{"allocatedAmountSet": {"shopMoney": {"amount": "1.50"}}}]
    assert line["taxLines"] == [{"rate": 0.1, "priceSet": {"shopMoney": {"amount": "2.00"}}}]


CANCEL = """
mutation C($orderId: ID!, $reason: OrderCancelReason!, $refundMethod: OrderCancelRefundMethodInput,
           $restock: Boolean!, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refundMethod: $refundMethod, restock: $restock, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""


def test_shopify_order_cancel_job_webhooks_and_refusals(shopify: httpx.Client, receiver: Receiver) -> None:
    for topic in ("orders/cancelled", "orders/updated"):
        shopify.post("/_sandbox/webhooks", json={"topic": topic, "address": f"{receiver.url}/{topic}"})
    placed = shopify_order(shopify)
    variables = {
        "orderId": placed["id"],
        "reason": "CUSTOMER",
        "refundMethod": {"originalPaymentMethodsRefund": True},
        "restock": False,
        "staffNote": "from a test",
    }
    result = gql(shopify, CANCEL, variables)["data"]["orderCancel"]
    assert result["orderCancelUserErrors"] == [] and result["job"]["done"] is True
    job = gql(shopify, "query J($id: ID!) { job(id: $id) { id done } }", {"id": result["job"]["id"]})
    assert job["data"]["job"] == result["job"]
    view = shopify.get(f"/_sandbox/orders/{placed['legacy_id']}").json()
    assert view["cancelled"] and (view["cancel_reason"], view["staff_note"]) == ("customer", "from a test")
    assert view["order"]["financial_status"] == "refunded"
    assert shopify.get("/_sandbox/inventory").json() == {"MUG": 8}  # restock: false
    shopify.get("/_sandbox/webhooks/deliveries")
    hooks = {r.path: r for r in receiver.received()}
    assert set(hooks) == {"orders/cancelled", "orders/updated"}
    cancelled = hooks["orders/cancelled"]
    assert cancelled.headers["X-Shopify-Hmac-Sha256"] == signed_by("test-secret-hush", cancelled.body)
    assert json.loads(cancelled.body)["cancelled_at"]

    again = gql(shopify, CANCEL, variables)["data"]["orderCancel"]
    assert (again["job"], again["orderCancelUserErrors"][0]["code"]) == (None, "INVALID")
    unknown = gql(shopify, CANCEL, {**variables, "orderId": "gid://shopify/Order/1"})["data"]["orderCancel"]
    assert unknown["orderCancelUserErrors"][0]["code"] == "NOT_FOUND"
    bad_reason = gql(shopify, CANCEL, {**variables, "reason": "BORED"})
    assert bad_reason["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"


def test_shopify_fulfilled_orders_cannot_be_cancelled_and_the_admin_actions_fire_webhooks(
    shopify: httpx.Client, receiver: Receiver
) -> None:
    shopify.post("/_sandbox/webhooks", json={"topic": "orders/paid", "address": f"{receiver.url}/paid"})
    placed = shopify_order(shopify, financial_status="pending")
    paid = shopify.post(f"/_sandbox/orders/{placed['legacy_id']}", json={"action": "pay"})
    assert paid.json()["order"]["financial_status"] == "paid" and paid.json()["deliveries"]
    fulfil = """mutation F($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { fulfillment { id } userErrors { message } } }"""
    created = gql(
        shopify,
        fulfil,
        {
            "f": {
                "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": placed["fulfillment_order_ids"][0]}],
                "trackingInfo": {"company": "UPS", "number": "1Z"},
            }
        },
    )
    assert created["data"]["fulfillmentCreate"]["userErrors"] == []
    view = shopify.get(f"/_sandbox/orders/{placed['legacy_id']}").json()
    assert [(f["tracking_company"], f["tracking_number"]) for f in view["fulfillments"]] == [("UPS", "1Z")]
    refused = shopify.post(f"/_sandbox/orders/{placed['legacy_id']}", json={"action": "cancel"})
    assert (refused.status_code, refused.json()["code"]) == (422, "INVALID")
    assert shopify.post(f"/_sandbox/orders/{placed['legacy_id']}", json={"action": "x"}).status_code == 400
    assert shopify.get("/_sandbox/orders/1").status_code == 404


def test_woo_order_money_tracking_and_cancel(woo: httpx.Client, receiver: Receiver) -> None:
    woo.post("/_sandbox/webhooks", json={"topic": "order.updated", "address": f"{receiver.url}/updated"})
    woo.post("/_sandbox/products", json={"items": [{"sku": "MUG", "quantity": 10, "price": "9.50"}]})
    placed = woo.post(
        "/_sandbox/orders",
        json={
            "lines": [{"sku": "MUG", "quantity": 2, "discount": "1.00", "tax": "3.60"}],
            "billing": {"first_name": "Ann"},
            "shipping": {"city": "Lyon", "country": "FR"},
            "shipping_total": "5.00",
            "status": "checkout-draft",
        },
    ).json()
    order = placed["order"]
    assert (order["discount_total"], order["shipping_total"], order["total_tax"], order["total"]) == (
        "1.00",
        "5.00",
        "3.60",
        "26.60",
    )
    line = order["line_items"][0]
    assert (line["subtotal"], line["total"], line["total_tax"]) == ("19.00", "18.00", "3.60")
    assert (order["billing"]["first_name"], order["shipping"]["city"], order["status"]) == (
        "Ann",
        "Lyon",
        "checkout-draft",
    )

    path = f"/wp-json/wc-shipment-tracking/v3/orders/{placed['id']}/shipment-trackings"
    body = {
        "custom_tracking_provider": "UPS",
        "custom_tracking_link": "https://ups.test/%1$s",
        "tracking_number": "1Z",
    }
    created = woo.post(path, json=body)
    assert created.status_code == 201 and created.json()["tracking_link"] == "https://ups.test/1Z"
    assert woo.post(path, json={"tracking_number": "1Z"}).status_code == 400
    assert woo.post(path, json=body, auth=None).status_code == 401  # keys are required
    assert [t["tracking_number"] for t in woo.get(path).json()] == ["1Z"]
    view = woo.get(f"/_sandbox/orders/{placed['id']}").json()
    assert [t["tracking_number"] for t in view["trackings"]] == ["1Z"]

    cancelled = woo.put(f"{WOO}/orders/{placed['id']}", json={"status": "cancelled"})
    assert cancelled.json()["status"] == "cancelled"
    woo.get("/_sandbox/webhooks/deliveries")
    # The subscription's unsigned activation ping went to the same address first.
    (hook,) = [r for r in receiver.received() if r.headers.get("X-WC-Webhook-Topic") == "order.updated"]
    assert json.loads(hook.body)["status"] == "cancelled"
    assert hook.headers["X-WC-Webhook-Signature"] == signed_by(
        "sandbox-woocommerce-webhook-secret", hook.body
    )
    assert woo.put(f"{WOO}/orders/1", json={"status": "cancelled"}).status_code == 400


def test_a_store_without_the_shipment_tracking_extension_has_no_such_route() -> None:
    server, _thread = serve(
        create_woo(WooConfig(consumer_key="ck_test", consumer_secret="cs_test", shipment_tracking=False))
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}") as woo:
            woo.post("/_sandbox/products", json={"items": [{"sku": "MUG", "quantity": 1}]})
            order = woo.post("/_sandbox/orders", json={"lines": [{"sku": "MUG", "quantity": 1}]}).json()
            # No such route: 404 before any authentication, as WordPress routes it.
            reply = woo.get(f"/wp-json/wc-shipment-tracking/v3/orders/{order['id']}/shipment-trackings")
            assert (reply.status_code, reply.json()["code"]) == (404, "rest_no_route")
    finally:
        server.shutdown()
