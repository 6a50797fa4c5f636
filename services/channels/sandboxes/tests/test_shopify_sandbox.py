"""Shopify sandbox against the documented protocol: every signature is recomputed here independently."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from channel_sandboxes.shopify import ShopifyConfig, create_app, serve, shopify_query_hmac

GQL = "/admin/api/2025-07/graphql.json"
SECRET = "test-secret-hush"
SET_QUANTITIES = """
mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason referenceDocumentUri changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}
"""


def doc_hmac(params: dict[str, Any], secret: str) -> str:
    """CHANNELS.md 1.2, written out again so the test does not trust the sandbox's own helper."""
    pairs = []
    for key, value in params.items():
        if key in ("hmac", "signature"):
            continue
        if key.endswith("[]"):
            key, value = key[:-2], json.dumps([str(x) for x in value])
        key = str(key).replace("%", "%25").replace("=", "%3D")
        value = str(value).replace("%", "%25")
        pairs.append(f"{key}={value}".replace("&", "%26"))
    return hmac.new(secret.encode(), "&".join(sorted(pairs)).encode(), hashlib.sha256).hexdigest()


def gql(
    client: httpx.Client, token: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = client.post(
        GQL, json={"query": query, "variables": variables or {}}, headers={"X-Shopify-Access-Token": token}
    )
    assert response.status_code == 200, response.text
    return response.json()


def token(client: httpx.Client, scope: str | None = None) -> str:
    body = {"scope": scope} if scope else {}
    return client.post("/_sandbox/tokens", json=body).json()["access_token"]


def seed(client: httpx.Client, count: int, quantity: int = 10) -> list[dict[str, Any]]:
    items = [
        {"sku": f"SKU-{i:03d}", "title": f"Item {i}", "quantity": quantity, "price": "9.50"}
        for i in range(count)
    ]
    response = client.post("/_sandbox/products", json={"items": items})
    assert response.status_code == 201
    return response.json()["items"]


def set_input(quantities: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"input": {"name": "available", "reason": "correction", "quantities": quantities, **extra}}


def test_documented_hmac_vectors_match_both_implementations() -> None:
    params = {
        "code": "0907a61c0c8d55e99db179b68161bc00",
        "shop": "some-shop.myshopify.com",
        "timestamp": "1337178173",
    }
    expected = "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"
    assert doc_hmac(params, "hush") == expected
    assert shopify_query_hmac(params, "hush") == expected
    params["state"] = "0.6784241404160823"
    assert (
        shopify_query_hmac(params, "hush")
        == "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
    )


def authorize(client: httpx.Client, state: str = "nonce-1") -> dict[str, str]:
    response = client.get(
        "/admin/oauth/authorize",
        params={
            "client_id": "test-client",
            "scope": "read_products,write_inventory",
            "redirect_uri": "https://app.example/callback?x=1",
            "state": state,
        },
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "app.example", "/callback")
    return dict(parse_qsl(location.query))


def exchange(client: httpx.Client, **form: str) -> httpx.Response:
    return client.post(
        "/admin/oauth/access_token", data={"client_id": "test-client", "client_secret": SECRET, **form}
    )


def test_oauth_code_grant_round_trip(shopify: httpx.Client) -> None:
    query = authorize(shopify)
    assert query["state"] == "nonce-1"
    assert query["shop"] == "omnistock-demo.myshopify.com"
    assert {"code", "hmac", "host", "timestamp"} <= set(query)
    unsigned = {k: v for k, v in query.items() if k not in ("hmac", "x")}
    assert hmac.compare_digest(query["hmac"], doc_hmac(unsigned, SECRET))
    assert query["hmac"] != doc_hmac(unsigned, "some-other-secret")

    # A wrong client secret is refused without burning the code.
    bad = exchange(shopify, code=query["code"], client_secret="wrong")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"

    granted = exchange(shopify, code=query["code"])
    assert granted.status_code == 200
    tokens = granted.json()
    assert tokens["scope"] == "read_products,write_inventory"
    assert tokens["expires_in"] == 3600 and tokens["refresh_token"] and tokens["refresh_token_expires_in"] > 0
    shop = gql(shopify, tokens["access_token"], "{ shop { myshopifyDomain } }")
    assert shop["data"]["shop"]["myshopifyDomain"] == "omnistock-demo.myshopify.com"

    reused = exchange(shopify, code=query["code"])
    assert reused.status_code == 400
    assert reused.json() == {
        "error": "invalid_request",
        "error_description": "The authorization code was not found or was already used",
    }


def test_code_exchange_accepts_json_bodies(shopify: httpx.Client) -> None:
    code = authorize(shopify)["code"]
    response = shopify.post(
        "/admin/oauth/access_token", json={"client_id": "test-client", "client_secret": SECRET, "code": code}
    )
    assert response.status_code == 200 and response.json()["access_token"].startswith("shpat_")


def test_authorize_rejects_unknown_client(shopify: httpx.Client) -> None:
    response = shopify.get(
        "/admin/oauth/authorize", params={"client_id": "nope", "redirect_uri": "https://app.example/cb"}
    )
    assert response.status_code == 400


def test_refresh_token_rotates(shopify: httpx.Client) -> None:
    first = exchange(shopify, code=authorize(shopify)["code"]).json()
    second = exchange(shopify, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    second_tokens = second.json()
    assert second_tokens["refresh_token"] != first["refresh_token"]
    assert second_tokens["access_token"] != first["access_token"]
    # Until the new refresh token is used, the previous one still works (lost-response grace).
    assert (
        exchange(shopify, grant_type="refresh_token", refresh_token=first["refresh_token"]).status_code == 200
    )
    third = exchange(shopify, grant_type="refresh_token", refresh_token=second_tokens["refresh_token"])
    assert third.status_code == 200
    stale = exchange(shopify, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"
    assert gql(shopify, third.json()["access_token"], "{ shop { name } }")["data"]["shop"]["name"]


def test_expired_and_unknown_tokens_get_401(shopify: httpx.Client) -> None:
    tokens = exchange(shopify, code=authorize(shopify)["code"]).json()
    ok = shopify.post(
        GQL, json={"query": "{ shop { name } }"}, headers={"X-Shopify-Access-Token": tokens["access_token"]}
    )
    assert ok.status_code == 200
    assert shopify.post("/_sandbox/expire-tokens").json()["expired"] >= 1
    expired = shopify.post(
        GQL, json={"query": "{ shop { name } }"}, headers={"X-Shopify-Access-Token": tokens["access_token"]}
    )
    assert expired.status_code == 401
    assert "Invalid API key or access token" in expired.json()["errors"]
    missing = shopify.post(GQL, json={"query": "{ shop { name } }"})
    assert missing.status_code == 401
    refreshed = exchange(shopify, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert gql(shopify, refreshed["access_token"], "{ shop { name } }")["data"]["shop"]["name"]
    assert shopify.get("/_sandbox/calls").json()["unauthorized"] == 2


def test_inventory_set_quantities_and_read_back(shopify: httpx.Client) -> None:
    items = seed(shopify, 2, quantity=10)
    access = token(shopify)
    location = shopify.get("/_sandbox/config").json()["location_id"]
    assert items[0]["location_id"] == location
    result = gql(
        shopify,
        access,
        SET_QUANTITIES,
        set_input(
            [
                {"inventoryItemId": items[0]["inventory_item_id"], "locationId": location, "quantity": 3},
                {"inventoryItemId": items[1]["inventory_item_id"], "locationId": location, "quantity": 25},
            ],
            ignoreCompareQuantity=True,
            referenceDocumentUri="gid://omnistock/Sync/1",
        ),
    )
    payload = result["data"]["inventorySetQuantities"]
    assert payload["userErrors"] == []
    group = payload["inventoryAdjustmentGroup"]
    assert group["referenceDocumentUri"] == "gid://omnistock/Sync/1"
    assert {"name": "available", "delta": -7, "quantityAfterChange": 3} in group["changes"]
    assert {"name": "available", "delta": 15, "quantityAfterChange": 25} in group["changes"]
    assert result["extensions"]["cost"]["requestedQueryCost"] == 10

    read = gql(
        shopify,
        access,
        """query($ids: [ID!]!, $loc: ID!) { nodes(ids: $ids) { ... on InventoryItem { id sku
             inventoryLevel(locationId: $loc) { quantities(names: ["available", "on_hand"]) { name quantity } } } } }""",
        {"ids": [items[0]["inventory_item_id"], items[1]["inventory_item_id"]], "loc": location},
    )
    nodes = read["data"]["nodes"]
    assert nodes[0]["sku"] == "SKU-000"
    assert nodes[0]["inventoryLevel"]["quantities"] == [
        {"name": "available", "quantity": 3},
        {"name": "on_hand", "quantity": 3},
    ]
    variants = gql(shopify, access, "{ productVariants(first: 5) { nodes { sku inventoryQuantity } } }")
    assert {v["sku"]: v["inventoryQuantity"] for v in variants["data"]["productVariants"]["nodes"]} == {
        "SKU-000": 3,
        "SKU-001": 25,
    }
    assert shopify.get("/_sandbox/inventory").json() == {"SKU-000": 3, "SKU-001": 25}
    assert shopify.get("/_sandbox/calls").json()["by_operation"]["inventorySetQuantities"] == 1


def test_compare_quantity_rules_and_atomicity(shopify: httpx.Client) -> None:
    items = seed(shopify, 1, quantity=10)
    access = token(shopify)
    loc = items[0]["location_id"]
    item = items[0]["inventory_item_id"]
    missing = gql(
        shopify,
        access,
        SET_QUANTITIES,
        set_input([{"inventoryItemId": item, "locationId": loc, "quantity": 1}]),
    )
    errors = missing["data"]["inventorySetQuantities"]["userErrors"]
    assert errors[0]["code"] == "COMPARE_QUANTITY_REQUIRED"
    stale = gql(
        shopify,
        access,
        SET_QUANTITIES,
        set_input([{"inventoryItemId": item, "locationId": loc, "quantity": 1, "compareQuantity": 9}]),
    )
    assert stale["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == "COMPARE_QUANTITY_STALE"
    mixed = gql(
        shopify,
        access,
        SET_QUANTITIES,
        set_input(
            [
                {"inventoryItemId": item, "locationId": loc, "quantity": 4},
                {"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": loc, "quantity": 4},
            ],
            ignoreCompareQuantity=True,
        ),
    )
    payload = mixed["data"]["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"] == [
        {
            "code": "INVALID_INVENTORY_ITEM",
            "field": ["input", "quantities", "1", "inventoryItemId"],
            "message": "The specified inventory item could not be found.",
        }
    ]
    matched = gql(
        shopify,
        access,
        SET_QUANTITIES,
        set_input([{"inventoryItemId": item, "locationId": loc, "quantity": 6, "compareQuantity": 10}]),
    )
    assert matched["data"]["inventorySetQuantities"]["userErrors"] == []
    assert shopify.get("/_sandbox/inventory").json() == {"SKU-000": 6}


def test_more_than_250_quantities_is_refused(shopify: httpx.Client) -> None:
    items = seed(shopify, 1)
    quantities = [
        {
            "inventoryItemId": items[0]["inventory_item_id"],
            "locationId": items[0]["location_id"],
            "quantity": 1,
        }
    ] * 251
    result = gql(shopify, token(shopify), SET_QUANTITIES, set_input(quantities, ignoreCompareQuantity=True))
    assert "data" not in result
    assert result["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert shopify.get("/_sandbox/inventory").json() == {"SKU-000": 10}


def test_2026_fields_are_rejected_on_the_pinned_version(shopify: httpx.Client) -> None:
    items = seed(shopify, 1)
    quantity = {
        "inventoryItemId": items[0]["inventory_item_id"],
        "locationId": items[0]["location_id"],
        "quantity": 1,
        "changeFromQuantity": None,
    }
    result = gql(shopify, token(shopify), SET_QUANTITIES, set_input([quantity]))
    assert result["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"


def test_variant_paging_returns_exactly_the_selection(shopify: httpx.Client) -> None:
    seed(shopify, 7)
    access = token(shopify)
    query = """query($after: String) { productVariants(first: 3, after: $after) {
        edges { cursor node { id sku stock: inventoryQuantity inventoryItem { id } } }
        pageInfo { hasNextPage endCursor } } }"""
    skus: list[str] = []
    after = None
    pages = 0
    while True:
        page = gql(shopify, access, query, {"after": after})["data"]["productVariants"]
        pages += 1
        for edge in page["edges"]:
            node = edge["node"]
            assert set(node) == {"id", "sku", "stock", "inventoryItem"}
            assert node["id"].startswith("gid://shopify/ProductVariant/")
            assert node["inventoryItem"]["id"].startswith("gid://shopify/InventoryItem/")
            skus.append(node["sku"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert skus == [f"SKU-{i:03d}" for i in range(7)]
    by_sku = gql(
        shopify, access, '{ productVariants(first: 5, query: "sku:SKU-004") { nodes { sku price } } }'
    )
    assert by_sku["data"]["productVariants"]["nodes"] == [{"sku": "SKU-004", "price": "9.50"}]


def test_unknown_field_is_a_validation_error_and_nothing_runs(shopify: httpx.Client) -> None:
    items = seed(shopify, 1)
    bad = SET_QUANTITIES.replace(
        "userErrors { code field message }", "userErrors { code field message bogus }"
    )
    quantity = {
        "inventoryItemId": items[0]["inventory_item_id"],
        "locationId": items[0]["location_id"],
        "quantity": 1,
    }
    result = gql(shopify, token(shopify), bad, set_input([quantity], ignoreCompareQuantity=True))
    assert result["errors"][0]["extensions"]["code"] == "undefinedField"
    assert shopify.get("/_sandbox/inventory").json() == {"SKU-000": 10}
    missing_first = gql(shopify, token(shopify), "{ products { nodes { id } } }")
    assert missing_first["errors"][0]["message"] == "you must provide one of first or last"


def test_price_bulk_update(shopify: httpx.Client) -> None:
    items = seed(shopify, 1)
    access = token(shopify)
    result = gql(
        shopify,
        access,
        """mutation($p: ID!, $v: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: $p, variants: $v) {
             productVariants { id price compareAtPrice } userErrors { code field message } } }""",
        {
            "p": items[0]["product_id"],
            "v": [{"id": items[0]["variant_id"], "price": "12.5", "compareAtPrice": "15.00"}],
        },
    )
    assert result["data"]["productVariantsBulkUpdate"] == {
        "productVariants": [{"id": items[0]["variant_id"], "price": "12.50", "compareAtPrice": "15.00"}],
        "userErrors": [],
    }
    wrong_product = gql(
        shopify,
        access,
        """mutation($p: ID!, $v: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: $p, variants: $v) {
             userErrors { code field message } } }""",
        {"p": "gid://shopify/Product/42", "v": [{"id": items[0]["variant_id"], "price": "1.00"}]},
    )
    assert (
        wrong_product["data"]["productVariantsBulkUpdate"]["userErrors"][0]["code"]
        == "PRODUCT_DOES_NOT_EXIST"
    )


def test_missing_scope_is_access_denied(shopify: httpx.Client) -> None:
    items = seed(shopify, 1)
    quantity = {
        "inventoryItemId": items[0]["inventory_item_id"],
        "locationId": items[0]["location_id"],
        "quantity": 1,
    }
    result = gql(
        shopify,
        token(shopify, "read_products"),
        SET_QUANTITIES,
        set_input([quantity], ignoreCompareQuantity=True),
    )
    assert result["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert shopify.get("/_sandbox/inventory").json() == {"SKU-000": 10}


@pytest.fixture
def tiny_bucket() -> Iterator[httpx.Client]:
    app = create_app(ShopifyConfig(client_secret=SECRET, bucket_size=30, restore_rate=0))
    server, _thread = serve(app)
    with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}") as client:
        yield client
    server.shutdown()


def test_throttled_once_the_cost_bucket_is_empty(tiny_bucket: httpx.Client) -> None:
    items = seed(tiny_bucket, 1)
    access = token(tiny_bucket)
    quantity = {
        "inventoryItemId": items[0]["inventory_item_id"],
        "locationId": items[0]["location_id"],
        "quantity": 1,
    }
    available = []
    for _ in range(3):
        result = gql(tiny_bucket, access, SET_QUANTITIES, set_input([quantity], ignoreCompareQuantity=True))
        assert "errors" not in result
        available.append(result["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"])
    assert available == [20.0, 10.0, 0.0]
    throttled = tiny_bucket.post(
        GQL,
        json={"query": SET_QUANTITIES, "variables": set_input([quantity], ignoreCompareQuantity=True)},
        headers={"X-Shopify-Access-Token": access},
    )
    assert throttled.status_code == 200
    body = throttled.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10
    assert body["extensions"]["cost"]["throttleStatus"] == {
        "maximumAvailable": 30.0,
        "currentlyAvailable": 0.0,
        "restoreRate": 0.0,
    }
    assert tiny_bucket.get("/_sandbox/calls").json()["throttled"] == 1
    tiny_bucket.post("/_sandbox/throttle", json={"currently_available": 30})
    assert "errors" not in gql(
        tiny_bucket, access, SET_QUANTITIES, set_input([quantity], ignoreCompareQuantity=True)
    )


def test_single_query_above_max_cost_is_refused(shopify: httpx.Client) -> None:
    result = gql(
        shopify,
        token(shopify),
        "{ orders(first: 50) { nodes { id lineItems(first: 50) { nodes { sku originalUnitPriceSet { shopMoney { amount } } } } } } }",
    )
    assert result["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_faults_hit_api_calls_only_then_clear(shopify: httpx.Client) -> None:
    access = token(shopify)
    assert (
        shopify.post("/_sandbox/faults", json={"status": 429, "count": 2, "retry_after": 2}).status_code
        == 200
    )
    for _ in range(2):
        response = shopify.post(
            GQL, json={"query": "{ shop { name } }"}, headers={"X-Shopify-Access-Token": access}
        )
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "2"
        assert shopify.get("/_sandbox/inventory").status_code == 200
    assert gql(shopify, access, "{ shop { name } }")["data"]["shop"]["name"] == "omnistock-demo"
    shopify.post("/_sandbox/faults", json={"status": 503, "count": 5})
    assert (
        shopify.post(
            GQL, json={"query": "{ shop { name } }"}, headers={"X-Shopify-Access-Token": access}
        ).status_code
        == 503
    )
    shopify.post("/_sandbox/faults", json={"status": 0})
    assert gql(shopify, access, "{ shop { name } }")["data"]["shop"]
    calls = shopify.get("/_sandbox/calls").json()
    assert calls["faulted"] == 3 and calls["total"] == 5 and calls["by_operation"]["shop"] == 5
    assert shopify.post("/_sandbox/calls/reset").json()["total"] == 0


def verify_shopify_webhook(body: bytes, headers: Any, secret: str) -> bool:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(digest, headers["X-Shopify-Hmac-Sha256"])


def test_order_decrements_stock_signs_webhooks_and_redelivers(shopify: httpx.Client, receiver: Any) -> None:
    seed(shopify, 1, quantity=5)
    for topic in ("orders/create", "ORDERS_UPDATED"):
        assert (
            shopify.post(
                "/_sandbox/webhooks", json={"topic": topic, "address": f"{receiver.url}/{topic}"}
            ).status_code
            == 201
        )
    placed = shopify.post(
        "/_sandbox/orders", json={"lines": [{"sku": "SKU-000", "quantity": 2}], "email": "a@b.c"}
    )
    assert placed.status_code == 201
    order = placed.json()
    assert order["name"] == "#1001" and order["id"].startswith("gid://shopify/Order/")
    assert shopify.get("/_sandbox/inventory").json() == {"SKU-000": 3}

    [delivery] = receiver.received()
    assert delivery.headers["X-Shopify-Topic"] == "orders/create"
    assert verify_shopify_webhook(delivery.body, delivery.headers, SECRET)
    assert not verify_shopify_webhook(delivery.body + b" ", delivery.headers, SECRET)
    assert delivery.headers["X-Shopify-Shop-Domain"] == "omnistock-demo.myshopify.com"
    assert delivery.headers["X-Shopify-API-Version"] == "2025-07"
    assert delivery.headers["X-Shopify-Event-Id"]
    payload = json.loads(delivery.body)
    assert payload["line_items"][0]["sku"] == "SKU-000" and payload["total_price"] == "19.00"

    delivery_id = delivery.headers["X-Shopify-Webhook-Id"]
    redelivered = shopify.post("/_sandbox/webhooks/redeliver", json={"delivery_id": delivery_id}).json()
    assert redelivered["delivered"] and redelivered["attempts"] == 2
    first, again = receiver.received()
    assert again.headers["X-Shopify-Webhook-Id"] == delivery_id and again.body == first.body

    oversold = shopify.post("/_sandbox/orders", json={"lines": [{"sku": "SKU-000", "quantity": 4}]})
    assert oversold.status_code == 422


def test_orders_query_and_fulfillment(shopify: httpx.Client, receiver: Any) -> None:
    seed(shopify, 2, quantity=5)
    shopify.post(
        "/_sandbox/webhooks", json={"topic": "orders/fulfilled", "address": f"{receiver.url}/fulfilled"}
    )
    placed = shopify.post(
        "/_sandbox/orders",
        json={"lines": [{"sku": "SKU-000", "quantity": 1}, {"sku": "SKU-001", "quantity": 2}]},
    ).json()
    access = token(shopify)
    orders = gql(
        shopify,
        access,
        """query($q: String) { orders(first: 10, query: $q, sortKey: UPDATED_AT) { nodes { id name
             displayFulfillmentStatus totalPriceSet { shopMoney { amount currencyCode } }
             lineItems(first: 10) { nodes { sku quantity } } } pageInfo { hasNextPage } } }""",
        {"q": "updated_at:>=2000-01-01T00:00:00Z"},
    )["data"]["orders"]
    assert [o["name"] for o in orders["nodes"]] == ["#1001"]
    assert orders["nodes"][0]["totalPriceSet"]["shopMoney"] == {"amount": "28.50", "currencyCode": "USD"}
    future = gql(shopify, access, '{ orders(first: 10, query: "updated_at:>=2999-01-01") { nodes { id } } }')
    assert future["data"]["orders"]["nodes"] == []

    fos = gql(
        shopify,
        access,
        """query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id status
             lineItems(first: 10) { nodes { id remainingQuantity lineItem { sku } } } } } } }""",
        {"id": placed["id"]},
    )["data"]["order"]["fulfillmentOrders"]["nodes"]
    assert fos[0]["status"] == "OPEN"
    created = gql(
        shopify,
        access,
        """mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
             fulfillment { id status trackingInfo { company number url } } userErrors { field message } } }""",
        {
            "f": {
                "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fos[0]["id"]}],
                "trackingInfo": {"company": "UPS", "number": "1Z999", "url": "https://ups.example/1Z999"},
                "notifyCustomer": False,
            }
        },
    )["data"]["fulfillmentCreate"]
    assert created["userErrors"] == []
    assert created["fulfillment"]["trackingInfo"] == [
        {"company": "UPS", "number": "1Z999", "url": "https://ups.example/1Z999"}
    ]
    status = gql(
        shopify,
        access,
        "query($id: ID!) { order(id: $id) { displayFulfillmentStatus } }",
        {"id": placed["id"]},
    )
    assert status["data"]["order"]["displayFulfillmentStatus"] == "FULFILLED"
    again = gql(
        shopify,
        access,
        """mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { userErrors { message } } }""",
        {"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fos[0]["id"]}]}},
    )
    assert again["data"]["fulfillmentCreate"]["userErrors"]
    deliveries = shopify.get("/_sandbox/webhooks/deliveries").json()["deliveries"]
    assert [d["topic"] for d in deliveries] == ["orders/fulfilled"]
    assert verify_shopify_webhook(receiver.received()[0].body, receiver.received()[0].headers, SECRET)
