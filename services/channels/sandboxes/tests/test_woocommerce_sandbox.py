"""WooCommerce sandbox against the documented wc/v3 behaviour; signatures recomputed independently."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

API = "/wp-json/wc/v3"
AUTH = ("ck_test", "cs_test")


def seed(client: httpx.Client, count: int, quantity: int = 10) -> list[dict[str, Any]]:
    items = [
        {"sku": f"W-{i:03d}", "title": f"Woo {i}", "quantity": quantity, "price": "4.25"}
        for i in range(count)
    ]
    response = client.post("/_sandbox/products", json={"items": items})
    assert response.status_code == 201
    return response.json()["items"]


def test_key_auth_basic_and_query_string(woo: httpx.Client) -> None:
    assert woo.get(f"{API}/system_status", auth=AUTH).status_code == 200
    query = woo.get(f"{API}/system_status", params={"consumer_key": "ck_test", "consumer_secret": "cs_test"})
    assert query.status_code == 200 and query.json()["environment"]["version"]
    anonymous = woo.get(f"{API}/products")
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }
    assert (
        woo.get(f"{API}/products", auth=("ck_wrong", "cs_test")).json()["code"]
        == "woocommerce_rest_cannot_view"
    )
    wrong_secret = woo.get(f"{API}/products", auth=("ck_test", "cs_wrong"))
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["code"] == "woocommerce_rest_authentication_error"
    assert woo.put(f"{API}/products/100", json={}).json()["code"] == "woocommerce_rest_cannot_edit"
    assert woo.get("/_sandbox/calls").json()["unauthorized"] == 4


def test_products_paging_headers_and_sku_filter(woo: httpx.Client) -> None:
    seed(woo, 25)
    seen: list[str] = []
    for page in (1, 2, 3):
        response = woo.get(
            f"{API}/products",
            params={"per_page": 10, "page": page, "orderby": "id", "order": "asc"},
            auth=AUTH,
        )
        assert response.status_code == 200
        assert response.headers["X-WP-Total"] == "25" and response.headers["X-WP-TotalPages"] == "3"
        assert ('rel="next"' in response.headers.get("Link", "")) == (page < 3)
        seen.extend(p["sku"] for p in response.json())
    assert seen == [f"W-{i:03d}" for i in range(25)]
    past_end = woo.get(f"{API}/products", params={"per_page": 10, "page": 4}, auth=AUTH)
    assert past_end.json() == []
    too_big = woo.get(f"{API}/products", params={"per_page": 101}, auth=AUTH)
    assert too_big.status_code == 400 and too_big.json()["code"] == "rest_invalid_param"
    trimmed = woo.get(f"{API}/products", params={"per_page": 2, "_fields": "id,sku"}, auth=AUTH).json()
    assert [set(p) for p in trimmed] == [{"id", "sku"}, {"id", "sku"}]
    [found] = woo.get(f"{API}/products", params={"sku": "W-007"}, auth=AUTH).json()
    assert (found["sku"], found["regular_price"], found["stock_quantity"], found["manage_stock"]) == (
        "W-007",
        "4.25",
        10,
        True,
    )


def test_batch_limit_and_per_item_errors(woo: httpx.Client) -> None:
    items = seed(woo, 3)
    ids = [i["product_id"] for i in items]
    too_many = woo.post(
        f"{API}/products/batch", json={"update": [{"id": ids[0], "stock_quantity": 1}] * 101}, auth=AUTH
    )
    # Real WooCommerce answers 413 here (WC_REST_Controller::check_batch_limit), not 400.
    assert too_many.status_code == 413
    assert too_many.json() == {
        "code": "woocommerce_rest_request_entity_too_large",
        "message": "Unable to accept more than 100 items for this request.",
        "data": {"status": 413},
    }
    assert woo.get("/_sandbox/inventory").json()["W-000"] == 10
    updates = [
        {"id": ids[0], "stock_quantity": 0},
        {"id": ids[1], "regular_price": "5.00", "stock_quantity": 7},
        {"id": 9999, "stock_quantity": 1},
    ]
    result = woo.post(f"{API}/products/batch", json={"update": updates}, auth=AUTH).json()
    assert result["update"][0]["stock_status"] == "outofstock"
    assert (result["update"][1]["regular_price"], result["update"][1]["stock_quantity"]) == ("5.00", 7)
    assert result["update"][2] == {
        "id": 9999,
        "error": {
            "code": "woocommerce_rest_product_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 400},
        },
    }
    assert woo.get("/_sandbox/inventory").json() == {"W-000": 0, "W-001": 7, "W-002": 10}
    exactly_100 = woo.post(
        f"{API}/products/batch", json={"update": [{"id": ids[2], "stock_quantity": 3}] * 100}, auth=AUTH
    )
    assert exactly_100.status_code == 200
    assert woo.get("/_sandbox/calls").json()["by_operation"]["products/batch"] == 3


def test_single_put_validates_and_respects_manage_stock(woo: httpx.Client) -> None:
    [item] = seed(woo, 1)
    url = f"{API}/products/{item['product_id']}"
    numeric_price = woo.put(url, json={"regular_price": 5}, auth=AUTH)
    assert numeric_price.status_code == 400 and numeric_price.json()["data"]["params"]["regular_price"]
    unmanaged = woo.put(url, json={"manage_stock": False, "stock_quantity": 99}, auth=AUTH).json()
    assert unmanaged["stock_quantity"] is None
    managed = woo.put(url, json={"manage_stock": True, "stock_quantity": 4}, auth=AUTH).json()
    assert (managed["stock_quantity"], managed["stock_status"]) == (4, "instock")
    assert woo.get(f"{API}/products/424242", auth=AUTH).status_code == 404


def test_variations_under_a_variable_parent(woo: httpx.Client) -> None:
    created = woo.post(
        "/_sandbox/products",
        json={
            "items": [
                {"sku": "SHIRT-S", "parent_sku": "SHIRT", "title": "Shirt S", "quantity": 2, "price": "10"},
                {"sku": "SHIRT-M", "parent_sku": "SHIRT", "title": "Shirt M", "quantity": 5, "price": "10"},
            ]
        },
    ).json()["items"]
    parent_id = created[0]["product_id"]
    assert created[1]["product_id"] == parent_id and created[0]["variation_id"] != created[1]["variation_id"]
    [parent] = woo.get(f"{API}/products", params={"sku": "SHIRT"}, auth=AUTH).json()
    assert parent["type"] == "variable" and sorted(parent["variations"]) == sorted(
        c["variation_id"] for c in created
    )
    assert woo.get(f"{API}/products", params={"sku": "SHIRT-S"}, auth=AUTH).json() == []
    listed = woo.get(f"{API}/products/{parent_id}/variations", auth=AUTH)
    assert listed.headers["X-WP-Total"] == "2"
    batch = woo.post(
        f"{API}/products/{parent_id}/variations/batch",
        json={"update": [{"id": created[0]["variation_id"], "stock_quantity": 0}]},
        auth=AUTH,
    ).json()
    assert batch["update"][0]["stock_status"] == "outofstock"
    assert woo.get("/_sandbox/inventory").json() == {"SHIRT-S": 0, "SHIRT-M": 5}


def test_orders_paging_status_notes_and_stock(woo: httpx.Client) -> None:
    seed(woo, 1, quantity=5)
    first = woo.post("/_sandbox/orders", json={"lines": [{"sku": "W-000", "quantity": 2}], "email": "x@y.z"})
    assert first.status_code == 201
    order = first.json()["order"]
    assert order["status"] == "processing" and order["line_items"][0]["sku"] == "W-000"
    assert order["line_items"][0]["price"] == 4.25 and order["total"] == "8.50"
    assert woo.get("/_sandbox/inventory").json() == {"W-000": 3}
    for _ in range(2):
        woo.post("/_sandbox/orders", json={"lines": [{"sku": "W-000", "quantity": 1}]})
    page = woo.get(f"{API}/orders", params={"per_page": 2, "orderby": "id", "order": "asc"}, auth=AUTH)
    assert page.headers["X-WP-TotalPages"] == "2" and page.headers["X-WP-Total"] == "3"
    assert woo.get(f"{API}/orders", params={"modified_after": "2999-01-01T00:00:00"}, auth=AUTH).json() == []
    assert (
        len(woo.get(f"{API}/orders", params={"modified_after": "2000-01-01T00:00:00"}, auth=AUTH).json()) == 3
    )

    done = woo.put(f"{API}/orders/{order['id']}", json={"status": "completed"}, auth=AUTH).json()
    assert done["status"] == "completed" and done["date_completed_gmt"]
    note = woo.post(
        f"{API}/orders/{order['id']}/notes",
        json={"note": "Shipped via UPS 1Z999", "customer_note": True},
        auth=AUTH,
    )
    assert note.status_code == 201 and note.json()["customer_note"] is True
    assert (
        woo.get(f"{API}/orders/{order['id']}/notes", auth=AUTH).json()[0]["note"] == "Shipped via UPS 1Z999"
    )
    bad_status = woo.put(f"{API}/orders/{order['id']}", json={"status": "shipped"}, auth=AUTH)
    assert bad_status.status_code == 400
    cancelled = woo.get(f"{API}/orders", params={"orderby": "id", "order": "asc"}, auth=AUTH).json()[1]
    woo.put(f"{API}/orders/{cancelled['id']}", json={"status": "cancelled"}, auth=AUTH)
    assert woo.get("/_sandbox/inventory").json() == {"W-000": 2}
    assert woo.post("/_sandbox/orders", json={"lines": [{"sku": "W-000", "quantity": 3}]}).status_code == 422


def verify_woo(body: bytes, signature: str, secret: str) -> bool:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(digest, signature)


def test_webhooks_ping_signature_and_redelivery(woo: httpx.Client, receiver: Any) -> None:
    seed(woo, 1)
    sub = woo.post(
        "/_sandbox/webhooks",
        json={"topic": "order.created", "address": f"{receiver.url}/order", "secret": "whsec"},
    )
    assert sub.status_code == 201 and sub.json()["ping"]["delivered"]
    [ping] = receiver.received()
    assert ping.body == f"webhook_id={sub.json()['id']}".encode()
    assert "X-WC-Webhook-Signature" not in ping.headers
    assert ping.headers["Content-Type"].startswith("application/x-www-form-urlencoded")

    placed = woo.post("/_sandbox/orders", json={"lines": [{"sku": "W-000", "quantity": 1}]}).json()
    _, delivery = receiver.received()
    assert verify_woo(delivery.body, delivery.headers["X-WC-Webhook-Signature"], "whsec")
    assert not verify_woo(delivery.body, delivery.headers["X-WC-Webhook-Signature"], "other")
    assert delivery.headers["X-WC-Webhook-Topic"] == "order.created"
    assert delivery.headers["X-WC-Webhook-Resource"] == "order"
    assert delivery.headers["X-WC-Webhook-Event"] == "created"
    assert delivery.headers["X-WC-Webhook-ID"] == str(sub.json()["id"])
    assert delivery.headers["X-WC-Webhook-Source"].startswith("http://127.0.0.1:")
    assert json.loads(delivery.body)["id"] == placed["id"]

    delivery_id = delivery.headers["X-WC-Webhook-Delivery-ID"]
    assert woo.post("/_sandbox/webhooks/redeliver", json={"delivery_id": delivery_id}).json()["attempts"] == 2
    again = receiver.received()[-1]
    assert again.headers["X-WC-Webhook-Delivery-ID"] == delivery_id and again.body == delivery.body
    assert woo.post("/_sandbox/webhooks/redeliver", json={"delivery_id": "nope"}).status_code == 404


def test_rest_webhook_creation_pings(woo: httpx.Client, receiver: Any) -> None:
    created = woo.post(
        f"{API}/webhooks",
        json={"name": "orders", "topic": "order.updated", "delivery_url": f"{receiver.url}/rest"},
        auth=AUTH,
    )
    assert created.status_code == 201
    assert created.json()["resource"] == "order" and created.json()["event"] == "updated"
    assert receiver.received()[0].body == f"webhook_id={created.json()['id']}".encode()
    invalid = woo.post(
        f"{API}/webhooks", json={"topic": "order.shipped", "delivery_url": receiver.url}, auth=AUTH
    )
    assert invalid.status_code == 400


def test_faults_429_with_retry_after_then_recovery(woo: httpx.Client) -> None:
    seed(woo, 1)
    woo.post("/_sandbox/faults", json={"status": 429, "count": 2, "retry_after": 3})
    for _ in range(2):
        response = woo.get(f"{API}/products", auth=AUTH)
        assert response.status_code == 429 and response.headers["Retry-After"] == "3"
        assert response.json()["data"]["status"] == 429
    assert woo.get(f"{API}/products", auth=AUTH).status_code == 200
    woo.post("/_sandbox/faults", json={"status": 500, "count": 1, "operation": "products/batch"})
    assert woo.get(f"{API}/products", auth=AUTH).status_code == 200
    assert woo.post(f"{API}/products/batch", json={"update": []}, auth=AUTH).status_code == 500
    assert woo.post("/_sandbox/faults", json={"status": 200}).status_code == 400
    calls = woo.get("/_sandbox/calls").json()
    assert calls["faulted"] == 3 and calls["total"] == 5


def test_reset_and_manual_inventory(woo: httpx.Client, receiver: Any) -> None:
    seed(woo, 1)
    woo.post("/_sandbox/webhooks", json={"topic": "product.updated", "address": f"{receiver.url}/p"})
    assert woo.post("/_sandbox/inventory", json={"sku": "W-000", "quantity": 42}).json() == {"W-000": 42}
    update = receiver.received()[-1]
    assert json.loads(update.body)["stock_quantity"] == 42
    assert verify_woo(
        update.body, update.headers["X-WC-Webhook-Signature"], "sandbox-woocommerce-webhook-secret"
    )
    assert woo.post("/_sandbox/inventory", json={"sku": "nope", "quantity": 1}).status_code == 404
    woo.post("/_sandbox/reset")
    assert woo.get("/_sandbox/inventory").json() == {}
    assert woo.get("/_sandbox/config").json()["store_url"].startswith("http://127.0.0.1:")


def test_requests_per_second_answers_429_with_the_wait_and_combines_with_a_fault(woo: httpx.Client) -> None:
    seed(woo, 1)
    armed = woo.post("/_sandbox/faults", json={"status": 500, "count": 1, "requests_per_second": 0.2})
    assert armed.json()["requests_per_second"] == 0.2 and armed.json()["count"] == 1
    assert woo.get(f"{API}/products", auth=AUTH).status_code == 500  # admitted by the limit, then faulted
    limited = woo.get(f"{API}/products", auth=AUTH)  # the next slot is 5 s away
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 5
    assert woo.get("/_sandbox/calls").json()["throttled"] == 1
    woo.post("/_sandbox/faults", json={"status": 0})
    assert woo.get("/_sandbox/faults").json() == {"status": 0, "count": 0}
    assert woo.get(f"{API}/products", auth=AUTH).status_code == 200


def test_a_hung_api_answers_nothing_until_cleared(woo: httpx.Client) -> None:
    seed(woo, 1)
    assert woo.post("/_sandbox/faults", json={"hang": True, "operation": "products/list"}).json()["hang"]
    with pytest.raises(httpx.ReadTimeout):
        woo.get(f"{API}/products", auth=AUTH, timeout=0.5)
    assert woo.get(f"{API}/orders", auth=AUTH).status_code == 200  # other operations still answer
    assert woo.post("/_sandbox/faults", json={"hang": True, "status": 500}).status_code == 400
    woo.post("/_sandbox/faults", json={"status": 0})
    assert woo.get(f"{API}/products", auth=AUTH).status_code == 200
