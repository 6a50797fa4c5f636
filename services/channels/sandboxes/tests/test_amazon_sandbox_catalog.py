"""The Amazon sandbox's catalog side: putListingsItem (offers matched against the seeded catalog,
full listings and their missing attributes), deleteListingsItem, variation families in
searchListingsItems (relationships, variationParentSku), feed UPDATE messages, control routes."""

from __future__ import annotations

from typing import Any

import httpx

from channel_sandboxes.amazon import AmazonConfig

CFG = AmazonConfig()
MARKET = "ATVPDKIKX0DER"
ITEMS = f"/listings/2021-08-01/items/{CFG.seller_id}"


def token(amazon: httpx.Client) -> dict[str, str]:
    return {"x-amz-access-token": amazon.post("/_sandbox/tokens").json()["access_token"]}


def offer_attributes(**extra: Any) -> dict[str, Any]:
    return {
        "condition_type": [{"value": "new_new", "marketplace_id": MARKET}],
        "purchasable_offer": [
            {
                "marketplace_id": MARKET,
                "currency": "USD",
                "our_price": [{"schedule": [{"value_with_tax": 12.5}]}],
            }
        ],
        "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
        **extra,
    }


def code(value: str) -> list[dict[str, str]]:
    return [{"type": "ean", "value": value, "marketplace_id": MARKET}]


def put(
    amazon: httpx.Client, sku: str, requirements: str, attributes: dict[str, Any], **params: str
) -> httpx.Response:
    return amazon.put(
        f"{ITEMS}/{sku}",
        params={"marketplaceIds": MARKET, **params},
        headers=token(amazon),
        json={"productType": "SHIRT", "requirements": requirements, "attributes": attributes},
    )


def test_an_offer_needs_a_catalog_match_and_a_full_listing_its_facts(amazon: httpx.Client) -> None:
    unmatched = put(
        amazon,
        "TEE",
        "LISTING_OFFER_ONLY",
        offer_attributes(externally_assigned_product_identifier=code("4006381333931")),
    )
    body = unmatched.json()
    assert (
        unmatched.status_code == 200 and body["status"] == "INVALID" and body["issues"][0]["code"] == "8541"
    )
    made = amazon.post(
        "/_sandbox/catalog-items", json={"items": [{"barcode": "4006381333931", "title": "Tee"}]}
    )
    asin = made.json()["items"][0]["asin"]
    preview = put(
        amazon,
        "TEE",
        "LISTING_OFFER_ONLY",
        offer_attributes(externally_assigned_product_identifier=code("4006381333931")),
        mode="VALIDATION_PREVIEW",
    )
    assert preview.json()["status"] == "VALID" and amazon.get("/_sandbox/inventory").json() == {}
    accepted = put(
        amazon,
        "TEE",
        "LISTING_OFFER_ONLY",
        offer_attributes(externally_assigned_product_identifier=code("4006381333931")),
    )
    assert accepted.json()["status"] == "ACCEPTED"
    assert accepted.json()["identifiers"] == [{"marketplaceId": MARKET, "asin": asin}]
    view = amazon.get("/_sandbox/listings").json()
    assert view["puts"] == {"TEE": 1} and view["listings"][0]["requirements"] == "LISTING_OFFER_ONLY"
    assert view["listings"][0]["summaries"][0]["itemName"] == "Tee"

    full = put(amazon, "SHIRT-1", "LISTING", offer_attributes(item_name=[{"value": "Shirt"}]))
    issues = full.json()["issues"]
    assert full.json()["status"] == "INVALID"
    missing = {i["attributeNames"][0] for i in issues}
    assert missing == {"brand", "main_product_image_locator", "externally_assigned_product_identifier"}
    assert all(i["categories"] == ["MISSING_ATTRIBUTE"] and i["code"] == "90220" for i in issues)
    assert amazon.put(f"{ITEMS}/X", params={"marketplaceIds": MARKET}, json={}).status_code == 403


def test_delete_removes_a_listing_and_feeds_take_update_messages(amazon: httpx.Client) -> None:
    amazon.post("/_sandbox/products", json={"items": [{"sku": "OLD", "quantity": 2}]})
    headers = token(amazon)
    gone = amazon.delete(f"{ITEMS}/OLD", params={"marketplaceIds": MARKET}, headers=headers).json()
    assert gone["status"] == "ACCEPTED" and amazon.get("/_sandbox/inventory").json() == {}
    again = amazon.delete(f"{ITEMS}/OLD", params={"marketplaceIds": MARKET}, headers=headers).json()
    assert again["status"] == "INVALID" and amazon.get("/_sandbox/listings").json()["deleted"] == ["OLD"]

    document = amazon.post(
        "/feeds/2021-06-30/documents", headers=headers, json={"contentType": "application/json"}
    ).json()
    full = offer_attributes(
        item_name=[{"value": "Shirt"}],
        brand=[{"value": "Acme"}],
        main_product_image_locator=[{"media_location": "https://cdn.test/s.jpg"}],
        externally_assigned_product_identifier=code("012345678905"),
    )
    feed = {
        "header": {"sellerId": CFG.seller_id, "version": "2.0"},
        "messages": [
            {
                "messageId": 1,
                "sku": "S-1",
                "operationType": "UPDATE",
                "productType": "SHIRT",
                "requirements": "LISTING",
                "attributes": full,
            },
            {
                "messageId": 2,
                "sku": "S-2",
                "operationType": "UPDATE",
                "productType": "SHIRT",
                "requirements": "LISTING",
                "attributes": offer_attributes(),
            },
        ],
    }
    assert httpx.put(document["url"], json=feed).status_code == 200
    feed_id = amazon.post(
        "/feeds/2021-06-30/feeds",
        headers=headers,
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [MARKET],
            "inputFeedDocumentId": document["feedDocumentId"],
        },
    ).json()["feedId"]
    for _ in range(2):
        status = amazon.get(f"/feeds/2021-06-30/feeds/{feed_id}", headers=headers).json()
    assert status["processingStatus"] == "DONE"
    assert amazon.get("/_sandbox/inventory").json() == {"S-1": 0}


def test_families_come_with_relationships_and_filter_by_parent(amazon: httpx.Client) -> None:
    body = {
        "products": [
            {
                "title": "Hoodie",
                "vendor": "Acme",
                "variants": [
                    {"sku": "HOOD-S", "options": {"Size": "S"}, "quantity": 1},
                    {"sku": "HOOD-M", "options": {"Size": "M"}, "quantity": 2},
                ],
            },
            {"title": "Mug", "variants": [{"sku": "MUG", "quantity": 3}]},
        ]
    }
    seeded = amazon.post("/_sandbox/catalog", json=body).json()["products"]
    assert seeded[0]["product_id"] != seeded[0]["variants"][0]["variant_id"]  # the parent's ASIN
    assert amazon.get("/_sandbox/inventory").json() == {"HOOD-S": 1, "HOOD-M": 2, "MUG": 3}
    headers = token(amazon)
    page = amazon.get(
        ITEMS,
        params={
            "marketplaceIds": MARKET,
            "includedData": "summaries,relationships,attributes,offers",
            "pageSize": 20,
        },
        headers=headers,
    ).json()
    items = {i["sku"]: i for i in page["items"]}
    parent = items["HOOD"]["relationships"][0]["relationships"][0]
    assert parent["childSkus"] == ["HOOD-M", "HOOD-S"] and parent["variationTheme"]["attributes"] == ["size"]
    assert "offers" not in items["HOOD"]
    child = items["HOOD-S"]["relationships"][0]["relationships"][0]
    assert child["parentSkus"] == ["HOOD"] and items["HOOD-S"]["attributes"]["size"][0]["value"] == "S"
    assert items["MUG"]["relationships"][0]["relationships"] == []
    children = amazon.get(
        ITEMS, params={"marketplaceIds": MARKET, "variationParentSku": "HOOD"}, headers=headers
    )
    assert [i["sku"] for i in children.json()["items"]] == ["HOOD-M", "HOOD-S"]
    both = amazon.get(
        ITEMS,
        params={
            "marketplaceIds": MARKET,
            "variationParentSku": "HOOD",
            "identifiers": "MUG",
            "identifiersType": "SKU",
        },
        headers=headers,
    )
    assert both.status_code == 400 and both.json()["errors"][0]["code"] == "InvalidInput"
    catalog = amazon.get("/_sandbox/catalog").json()["products"]
    assert [len(p["variants"]) for p in catalog] == [2, 1]
    plans = amazon.get("/_sandbox/config").json()["usage_plans"]
    assert plans["putListingsItem"] == {"rate": 5.0, "burst": 10}
