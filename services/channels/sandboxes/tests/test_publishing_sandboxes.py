"""Publishing in the sandboxes, straight through the vendor APIs: Shopify's productSet and
productUpdate (userErrors, the variant list replaced, cost, stocked at the primary location) and
WooCommerce's products/batch and variations/batch (per-item errors, the 100-object limit)."""

from __future__ import annotations

from typing import Any

import httpx

GQL = "/admin/api/2025-07/graphql.json"
API = "/wp-json/wc/v3"

PRODUCT_SET = """
mutation Set($identifier: ProductSetIdentifiers, $input: ProductSetInput!) {
  productSet(identifier: $identifier, input: $input, synchronous: true) {
    product { id title status variants(first: 20) { nodes { id sku price selectedOptions { name value }
      inventoryItem { id sku inventoryLevels(first: 2) { nodes { location { id }
        quantities(names: ["available"]) { name quantity } } } } } } }
    userErrors { code field message }
  }
}
"""
ARCHIVE = """
mutation Archive($product: ProductUpdateInput!) {
  productUpdate(product: $product) { product { id status } userErrors { field message } }
}
"""


def gql(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    token = client.post("/_sandbox/tokens", json={}).json()["access_token"]
    response = client.post(
        GQL, json={"query": query, "variables": variables}, headers={"X-Shopify-Access-Token": token}
    )
    assert response.status_code == 200, response.text
    return response.json()


def sizes(*values: str, skus: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "productOptions": [{"name": "Size", "values": [{"name": v} for v in values]}],
        "variants": [
            {
                "optionValues": [{"optionName": "Size", "name": v}],
                "price": "10.00",
                "inventoryItem": {"sku": sku, "measurement": {"weight": {"unit": "GRAMS", "value": 100}}},
            }
            for v, sku in zip(values, skus or tuple(f"S-{v}" for v in values), strict=True)
        ],
    }


def test_shopify_product_set_creates_then_replaces_the_variant_list(shopify: httpx.Client) -> None:
    created = gql(shopify, PRODUCT_SET, input={"title": "Tee", "status": "DRAFT", **sizes("S", "M")})
    assert created["extensions"]["cost"]["requestedQueryCost"] == 10  # charged as every mutation
    payload = created["data"]["productSet"]
    assert payload["userErrors"] == []
    product = payload["product"]
    assert (product["title"], product["status"]) == ("Tee", "DRAFT")
    small, _medium = product["variants"]["nodes"]
    assert (small["sku"], small["price"], small["selectedOptions"]) == (
        "S-S",
        "10.00",
        [{"name": "Size", "value": "S"}],
    )
    location = shopify.get("/_sandbox/config").json()["location_id"]
    [level] = small["inventoryItem"]["inventoryLevels"]["nodes"]
    assert level == {"location": {"id": location}, "quantities": [{"name": "available", "quantity": 0}]}
    assert shopify.get("/_sandbox/inventory").json() == {"S-S": 0, "S-M": 0}

    # Update: a variant not listed is deleted (the real productSet's list semantics).
    update = sizes("S", "L", skus=("S-S", "S-L"))
    update["variants"][0]["id"] = small["id"]
    updated = gql(shopify, PRODUCT_SET, identifier={"id": product["id"]}, input={"title": "Tee 2", **update})
    nodes = updated["data"]["productSet"]["product"]["variants"]["nodes"]
    assert [(n["id"] == small["id"], n["sku"]) for n in nodes] == [(True, "S-S"), (False, "S-L")]
    assert "S-M" not in shopify.get("/_sandbox/inventory").json()

    archived = gql(shopify, ARCHIVE, product={"id": product["id"], "status": "ARCHIVED"})["data"][
        "productUpdate"
    ]
    assert archived == {"product": {"id": product["id"], "status": "ARCHIVED"}, "userErrors": []}
    # The control API's catalog view shows it as the admin would.
    [view] = [
        p for p in shopify.get("/_sandbox/catalog").json()["products"] if p["product_id"] == product["id"]
    ]
    assert (view["title"], view["status"]) == ("Tee 2", "ARCHIVED")
    assert [(v["sku"], v["options"]) for v in view["variants"]] == [
        ("S-S", {"Size": "S"}),
        ("S-L", {"Size": "L"}),
    ]


def test_shopify_product_set_user_errors_change_nothing(shopify: httpx.Client) -> None:
    blank = gql(shopify, PRODUCT_SET, input={"title": "  ", **sizes("S")})["data"]["productSet"]
    assert blank == {
        "product": None,
        "userErrors": [
            {"code": "INVALID_PRODUCT", "field": ["input", "title"], "message": "Title can't be blank"}
        ],
    }
    twice = sizes("S", "S", skus=("A", "B"))
    dup = gql(shopify, PRODUCT_SET, input={"title": "Dup", **twice})["data"]["productSet"]
    assert dup["product"] is None
    assert dup["userErrors"][0]["code"] == "INVALID_VARIANT"
    assert dup["userErrors"][0]["message"] == "The variant 'S' already exists."
    unknown = sizes("S")
    unknown["variants"][0]["optionValues"][0]["name"] = "XXL"
    refused = gql(shopify, PRODUCT_SET, input={"title": "Odd", **unknown})["data"]["productSet"]
    assert refused["userErrors"][0]["code"] == "OPTION_VALUE_DOES_NOT_EXIST"
    missing = gql(shopify, PRODUCT_SET, identifier={"id": "gid://shopify/Product/1"}, input={"title": "X"})
    assert missing["data"]["productSet"]["userErrors"][0]["code"] == "PRODUCT_DOES_NOT_EXIST"
    assert shopify.get("/_sandbox/inventory").json() == {}
    bad_status = gql(shopify, ARCHIVE, product={"id": "gid://shopify/Product/1", "status": "GONE"})
    assert bad_status["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"


def test_woocommerce_batch_creates_a_variable_product_and_its_variations(woo: httpx.Client) -> None:
    created = woo.post(
        f"{API}/products/batch",
        json={
            "create": [
                {
                    "name": "Tee",
                    "type": "variable",
                    "status": "draft",
                    "attributes": [{"name": "Size", "options": ["S", "M"], "variation": True}],
                },
                {"name": "Mug", "sku": "MUG", "regular_price": "8.50", "manage_stock": True, "weight": "0.3"},
                {"name": "Clash", "sku": "MUG"},
            ]
        },
    ).json()["create"]
    tee, mug, clash = created
    assert (tee["type"], tee["status"], tee["attributes"][0]["options"]) == ("variable", "draft", ["S", "M"])
    assert (mug["sku"], mug["stock_quantity"], mug["weight"]) == ("MUG", 0, "0.3")
    assert clash["error"] == {
        "code": "product_invalid_sku",
        "message": "Invalid or duplicated SKU.",
        "data": {"status": 400},
    }
    variations = woo.post(
        f"{API}/products/{tee['id']}/variations/batch",
        json={
            "create": [
                {
                    "sku": f"TEE-{s}",
                    "regular_price": "12",
                    "manage_stock": True,
                    "attributes": [{"name": "Size", "option": s}],
                }
                for s in ("S", "M")
            ]
        },
    ).json()["create"]
    assert [(v["sku"], v["attributes"], v["stock_quantity"]) for v in variations] == [
        ("TEE-S", [{"id": 0, "name": "Size", "option": "S"}], 0),
        ("TEE-M", [{"id": 0, "name": "Size", "option": "M"}], 0),
    ]
    assert woo.get("/_sandbox/inventory").json() == {"MUG": 0, "TEE-S": 0, "TEE-M": 0}
    views = {p["title"]: p for p in woo.get("/_sandbox/catalog").json()["products"]}
    assert [(v["sku"], v["price"], v["options"]) for v in views["Tee"]["variants"]] == [
        ("TEE-S", "12", {"Size": "S"}),
        ("TEE-M", "12", {"Size": "M"}),
    ]
    assert (views["Mug"]["status"], views["Mug"]["variants"][0]["sku"]) == ("publish", "MUG")
    # A product without a name is saved untitled, as WooCommerce does (issue 33655).
    [untitled] = woo.post(f"{API}/products/batch", json={"create": [{"sku": "NONAME"}]}).json()["create"]
    assert untitled["name"] == "" and "error" not in untitled


def test_woocommerce_batch_takes_at_most_100_objects(woo: httpx.Client) -> None:
    response = woo.post(f"{API}/products/batch", json={"create": [{"name": f"P{i}"} for i in range(101)]})
    assert response.status_code == 413
    assert response.json()["code"] == "woocommerce_rest_request_entity_too_large"
