"""The Amazon SP-API sandbox speaks the vendor's protocol: LWA, the consent redirect, the token
and usage-plan guards, listings patches, the JSON listings feed lifecycle, orders v0 paging and
shipment confirmation, and its own control routes."""

from __future__ import annotations

import gzip
import json
from urllib.parse import parse_qsl, urlsplit

import httpx

from channel_sandboxes.amazon import AmazonConfig

CFG = AmazonConfig()
SELLER = CFG.seller_id
MARKET = "ATVPDKIKX0DER"
ITEMS = f"/listings/2021-08-01/items/{SELLER}"


def token(amazon: httpx.Client) -> dict[str, str]:
    return {"x-amz-access-token": amazon.post("/_sandbox/tokens").json()["access_token"]}


def lwa(amazon: httpx.Client, **form: str) -> httpx.Response:
    return amazon.post(
        "/auth/o2/token", data={"client_id": CFG.client_id, "client_secret": CFG.client_secret, **form}
    )


def test_consent_redirects_with_a_single_use_code_that_lwa_exchanges(amazon: httpx.Client) -> None:
    consent = amazon.get(
        "/apps/authorize/consent",
        params={
            "application_id": CFG.app_id,
            "state": "st",
            "redirect_uri": "http://x.test/cb",
            "version": "beta",
        },
    )
    assert consent.status_code == 302
    params = dict(parse_qsl(urlsplit(consent.headers["location"]).query))
    assert params["state"] == "st" and params["selling_partner_id"] == SELLER
    granted = lwa(
        amazon,
        grant_type="authorization_code",
        code=params["spapi_oauth_code"],
        redirect_uri="http://x.test/cb",
    )
    body = granted.json()
    assert granted.status_code == 200 and body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("Atza|") and body["refresh_token"].startswith("Atzr|")
    again = lwa(amazon, grant_type="authorization_code", code=params["spapi_oauth_code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    refreshed = lwa(amazon, grant_type="refresh_token", refresh_token=body["refresh_token"]).json()
    assert (
        refreshed["refresh_token"] == body["refresh_token"]
        and refreshed["access_token"] != body["access_token"]
    )
    assert (
        lwa(amazon, grant_type="refresh_token", refresh_token="Atzr|nope").json()["error"] == "invalid_grant"
    )
    wrong = amazon.post(
        "/auth/o2/token", data={"grant_type": "refresh_token", "client_id": "x", "client_secret": "y"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert amazon.get("/apps/authorize/consent", params={"application_id": "other"}).status_code == 400


def test_tokens_and_usage_plans_guard_every_call(amazon: httpx.Client) -> None:
    missing = amazon.get("/sellers/v1/marketplaceParticipations")
    assert missing.status_code == 403 and missing.json()["errors"][0]["code"] == "Unauthorized"
    headers = token(amazon)
    answers = [amazon.get("/sellers/v1/marketplaceParticipations", headers=headers) for _ in range(16)]
    assert [a.status_code for a in answers] == [200] * 15 + [429]  # burst 15, 0.016/s
    assert answers[0].headers["x-amzn-RateLimit-Limit"] == "0.016"
    assert answers[0].json()["payload"][0]["marketplace"]["id"] == MARKET
    assert answers[15].json()["errors"][0]["code"] == "QuotaExceeded"
    amazon.post("/_sandbox/expire-tokens")
    expired = amazon.get(ITEMS, params={"marketplaceIds": MARKET}, headers=headers)
    assert expired.status_code == 403 and "expired" in expired.json()["errors"][0]["details"]
    calls = amazon.get("/_sandbox/calls").json()
    assert calls["unauthorized"] == 2 and calls["throttled"] == 1


def test_patch_accepts_or_reports_issues_and_preview_changes_nothing(amazon: httpx.Client) -> None:
    amazon.post("/_sandbox/products", json={"items": [{"sku": "A/1", "quantity": 2, "price": "5.00"}]})
    headers = token(amazon)
    path = f"{ITEMS}/A%2F1"
    quantity = {
        "op": "merge",
        "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 8}],
    }
    preview = amazon.patch(
        path,
        params={"marketplaceIds": MARKET, "mode": "VALIDATION_PREVIEW"},
        headers=headers,
        json={"productType": "PRODUCT", "patches": [quantity]},
    )
    assert preview.json()["status"] == "VALID" and amazon.get("/_sandbox/inventory").json() == {"A/1": 2}
    done = amazon.patch(
        path,
        params={"marketplaceIds": MARKET},
        headers=headers,
        json={"productType": "PRODUCT", "patches": [quantity]},
    )
    assert done.json()["status"] == "ACCEPTED" and amazon.get("/_sandbox/inventory").json() == {"A/1": 8}
    offer = {
        "op": "replace",
        "path": "/attributes/purchasable_offer",
        "value": [
            {
                "marketplace_id": MARKET,
                "currency": "EUR",
                "our_price": [{"schedule": [{"value_with_tax": 3}]}],
            }
        ],
    }
    invalid = amazon.patch(
        path,
        params={"marketplaceIds": MARKET},
        headers=headers,
        json={"productType": "PRODUCT", "patches": [offer]},
    ).json()
    assert invalid["status"] == "INVALID" and invalid["issues"][0]["severity"] == "ERROR"
    unknown = amazon.patch(
        f"{ITEMS}/NOPE",
        params={"marketplaceIds": MARKET},
        headers=headers,
        json={"productType": "PRODUCT", "patches": [quantity]},
    ).json()
    assert unknown["status"] == "INVALID"
    item = amazon.get(
        path,
        params={"marketplaceIds": MARKET, "includedData": "offers,fulfillmentAvailability"},
        headers=headers,
    ).json()
    assert item["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 8}]
    assert item["offers"][0]["price"] == {"currencyCode": "USD", "amount": "5.00"}
    assert amazon.get(f"{ITEMS}/NOPE", params={"marketplaceIds": MARKET}, headers=headers).status_code == 404
    assert (
        amazon.get(ITEMS, params={"marketplaceIds": MARKET, "pageSize": 21}, headers=headers).status_code
        == 400
    )


def test_a_json_listings_feed_goes_through_its_lifecycle_and_reports_per_message(
    amazon: httpx.Client,
) -> None:
    amazon.post(
        "/_sandbox/products", json={"items": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}]}
    )
    headers = token(amazon)
    document = amazon.post(
        "/feeds/2021-06-30/documents",
        headers=headers,
        json={"contentType": "application/json; charset=UTF-8"},
    ).json()
    patch = {
        "op": "merge",
        "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}],
    }
    feed = {
        "header": {"sellerId": SELLER, "version": "2.0"},
        "messages": [
            {
                "messageId": n,
                "sku": sku,
                "operationType": "PATCH",
                "productType": "PRODUCT",
                "patches": [patch],
            }
            for n, sku in ((1, "A"), (2, "GHOST"))
        ],
    }
    assert (
        httpx.put(document["url"].replace("X-Amz-Signature=", "X-Amz-Signature=0"), content=b"{}").status_code
        == 403
    )
    assert httpx.put(document["url"], content=json.dumps(feed).encode()).status_code == 200
    created = amazon.post(
        "/feeds/2021-06-30/feeds",
        headers=headers,
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [MARKET],
            "inputFeedDocumentId": document["feedDocumentId"],
        },
    )
    assert created.status_code == 202
    feed_id = created.json()["feedId"]
    statuses = [amazon.get(f"/feeds/2021-06-30/feeds/{feed_id}", headers=headers).json() for _ in range(3)]
    assert [s["processingStatus"] for s in statuses] == ["IN_PROGRESS", "DONE", "DONE"]
    result = amazon.get(
        f"/feeds/2021-06-30/documents/{statuses[1]['resultFeedDocumentId']}", headers=headers
    ).json()
    assert result["compressionAlgorithm"] == "GZIP"
    report = json.loads(gzip.decompress(httpx.get(result["url"]).content))
    assert [(i["messageId"], i["sku"], i["severity"]) for i in report["issues"]] == [(2, "GHOST", "ERROR")]
    assert report["summary"]["messagesAccepted"] == 1 and report["summary"]["messagesInvalid"] == 1
    assert amazon.get("/_sandbox/inventory").json() == {"A": 4, "B": 1}


def test_a_feed_that_is_not_a_listings_feed_is_fatal(amazon: httpx.Client) -> None:
    headers = token(amazon)
    document = amazon.post(
        "/feeds/2021-06-30/documents", headers=headers, json={"contentType": "text/xml"}
    ).json()
    httpx.put(document["url"], content=b"<xml/>")
    feed_id = amazon.post(
        "/feeds/2021-06-30/feeds",
        headers=headers,
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [MARKET],
            "inputFeedDocumentId": document["feedDocumentId"],
        },
    ).json()["feedId"]
    statuses = [
        amazon.get(f"/feeds/2021-06-30/feeds/{feed_id}", headers=headers).json()["processingStatus"]
        for _ in range(2)
    ]
    assert statuses == ["IN_PROGRESS", "FATAL"]
    other = amazon.post(
        "/feeds/2021-06-30/feeds",
        headers=headers,
        json={
            "feedType": "POST_PRODUCT_DATA",
            "marketplaceIds": [MARKET],
            "inputFeedDocumentId": document["feedDocumentId"],
        },
    )
    assert other.status_code == 400 and other.json()["errors"][0]["code"] == "InvalidInput"


def test_orders_page_by_next_token_and_confirm_shipments(amazon: httpx.Client) -> None:
    amazon.post(
        "/_sandbox/products", json={"items": [{"sku": s, "quantity": 5, "price": "2.00"} for s in "ABC"]}
    )
    headers = token(amazon)
    ids = [
        amazon.post(
            "/_sandbox/orders", json={"lines": [{"sku": s, "quantity": 1} for s in "ABC"][:n]}
        ).json()["id"]
        for n in (3, 1, 2)
    ]
    assert amazon.post("/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 50}]}).status_code == 422
    assert (
        amazon.get("/orders/v0/orders", params={"MarketplaceIds": MARKET}, headers=headers).status_code == 400
    )
    first = amazon.get(
        "/orders/v0/orders",
        params={"MarketplaceIds": MARKET, "LastUpdatedAfter": "2020-01-01T00:00:00Z", "MaxResultsPerPage": 2},
        headers=headers,
    ).json()["payload"]
    second = amazon.get(
        "/orders/v0/orders",
        params={"MarketplaceIds": MARKET, "NextToken": first["NextToken"]},
        headers=headers,
    ).json()["payload"]
    assert [
        o["AmazonOrderId"] for o in first["Orders"] + second["Orders"]
    ] == ids and "NextToken" not in second
    page = amazon.get(f"/orders/v0/orders/{ids[0]}/orderItems", headers=headers).json()["payload"]
    rest = amazon.get(
        f"/orders/v0/orders/{ids[0]}/orderItems", params={"NextToken": page["NextToken"]}, headers=headers
    ).json()["payload"]
    items = page["OrderItems"] + rest["OrderItems"]
    assert [i["SellerSKU"] for i in items] == ["A", "B", "C"] and items[0]["ItemPrice"]["Amount"] == "2.00"
    detail = {
        "packageReferenceId": "1",
        "carrierCode": "UPS",
        "trackingNumber": "1Z",
        "shipDate": "2026-01-01T00:00:00Z",
        "orderItems": [{"orderItemId": items[0]["OrderItemId"], "quantity": 1}],
    }
    path = f"/orders/v0/orders/{ids[0]}/shipmentConfirmation"
    assert (
        amazon.post(
            path, headers=headers, json={"marketplaceId": MARKET, "packageDetail": detail}
        ).status_code
        == 204
    )
    assert (
        amazon.post(
            path, headers=headers, json={"marketplaceId": MARKET, "packageDetail": detail}
        ).status_code
        == 400
    )
    view = amazon.get(f"/_sandbox/orders/{ids[0]}").json()
    assert view["status"] == "PartiallyShipped" and view["shipments"][0]["trackingNumber"] == "1Z"


def test_throttle_control_answers_quota_exceeded_for_the_next_calls(amazon: httpx.Client) -> None:
    headers = token(amazon)
    assert amazon.post("/_sandbox/throttle", json={"count": 2}).json() == {"throttle_next": 2}
    codes = [
        amazon.get(ITEMS, params={"marketplaceIds": MARKET}, headers=headers).status_code for _ in range(3)
    ]
    assert codes == [429, 429, 200]
    assert amazon.post("/_sandbox/throttle", json={"count": "x"}).status_code == 400
