"""The eBay sandbox's vendor behaviour: OAuth with a RuName, Basic-auth tokens that do not rotate
the refresh token, 401 errorId 1001, bulkUpdatePriceQuantity (200/207/400 over 25), the revision
cap, getOrders with encoded brackets and paging, shipping fulfillments, signed notifications and
the endpoint challenge."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, Response, request

from channel_sandboxes.common import serve

CLIENT = ("sandbox-ebay-client-id", "sandbox-ebay-client-secret")
RU_NAME = "OmniStock-Sandbox-RuName"
SCOPES = "https://api.ebay.com/oauth/api_scope/sell.inventory https://api.ebay.com/oauth/api_scope/sell.fulfillment"


def _consent(ebay: httpx.Client, scopes: str = SCOPES) -> dict[str, list[str]]:
    answer = ebay.get(
        "/oauth2/authorize",
        params={
            "client_id": CLIENT[0],
            "redirect_uri": RU_NAME,
            "response_type": "code",
            "scope": scopes,
            "state": "st",
        },
    )
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith("http://127.0.0.1:9/callback?")
    return parse_qs(urlsplit(location).query)


def _tokens(ebay: httpx.Client) -> dict:
    code = _consent(ebay)["code"][0]
    answer = ebay.post(
        "/identity/v1/oauth2/token",
        auth=CLIENT,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": RU_NAME},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_consent_and_code_exchange(ebay: httpx.Client) -> None:
    query = _consent(ebay)
    assert query["state"] == ["st"] and query["code"][0].startswith("v^1.1#")
    url_instead = ebay.get(
        "/oauth2/authorize",
        params={
            "client_id": CLIENT[0],
            "redirect_uri": "http://127.0.0.1:9/callback",
            "response_type": "code",
            "state": "s",
        },
    )
    assert url_instead.status_code == 400
    tokens = ebay.post(
        "/identity/v1/oauth2/token",
        auth=CLIENT,
        data={"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": RU_NAME},
    ).json()
    assert tokens["expires_in"] == 7200 and tokens["refresh_token_expires_in"] == 47_304_000
    again = ebay.post(
        "/identity/v1/oauth2/token",
        auth=CLIENT,
        data={"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": RU_NAME},
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    wrong_client = ebay.post(
        "/identity/v1/oauth2/token", auth=("x", "y"), data={"grant_type": "client_credentials"}
    )
    assert wrong_client.status_code == 401


def test_refresh_does_not_rotate_and_expired_tokens_answer_1001(ebay: httpx.Client) -> None:
    tokens = _tokens(ebay)
    assert (
        ebay.get("/sell/inventory/v1/inventory_item", headers=_bearer(tokens["access_token"])).status_code
        == 200
    )
    assert ebay.post("/_sandbox/expire-tokens").json()["expired"] == 1
    expired = ebay.get("/sell/inventory/v1/inventory_item", headers=_bearer(tokens["access_token"]))
    assert expired.status_code == 401 and expired.json()["errors"][0]["errorId"] == 1001
    refreshed = ebay.post(
        "/identity/v1/oauth2/token",
        auth=CLIENT,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "scope": SCOPES},
    ).json()
    assert "refresh_token" not in refreshed and refreshed["expires_in"] == 7200
    assert (
        ebay.get("/sell/inventory/v1/inventory_item", headers=_bearer(refreshed["access_token"])).status_code
        == 200
    )
    wider = ebay.post(
        "/identity/v1/oauth2/token",
        auth=CLIENT,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": SCOPES + " https://api.ebay.com/oauth/api_scope/sell.account",
        },
    )
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    ebay.post("/_sandbox/revoke-refresh-tokens")
    revoked = ebay.post(
        "/identity/v1/oauth2/token",
        auth=CLIENT,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"


def test_bulk_update_200_207_and_400_over_25(ebay: httpx.Client) -> None:
    seeded = ebay.post(
        "/_sandbox/products",
        json={"items": [{"sku": "A", "quantity": 5, "price": "9.99"}, {"sku": "B", "quantity": 1}]},
    ).json()["items"]
    offer_a = seeded[0]["offer_id"]
    token = _bearer(_tokens(ebay)["access_token"])
    ok = ebay.post(
        "/sell/inventory/v1/bulk_update_price_quantity",
        headers=token,
        json={
            "requests": [
                {
                    "sku": "A",
                    "shipToLocationAvailability": {"quantity": 3},
                    "offers": [
                        {
                            "offerId": offer_a,
                            "availableQuantity": 3,
                            "price": {"value": "12.50", "currency": "USD"},
                        }
                    ],
                }
            ]
        },
    )
    assert ok.status_code == 200 and ok.json()["responses"] == [
        {"statusCode": 200, "sku": "A", "offerId": offer_a}
    ]
    assert ebay.get("/_sandbox/inventory").json() == {"A": 3, "B": 1}
    assert ebay.get("/_sandbox/prices").json()["A"]["price"] == "12.50"
    mixed = ebay.post(
        "/sell/inventory/v1/bulk_update_price_quantity",
        headers=token,
        json={
            "requests": [
                {"sku": "B", "shipToLocationAvailability": {"quantity": 4}},
                {"sku": "NOPE", "shipToLocationAvailability": {"quantity": 1}},
            ]
        },
    )
    assert mixed.status_code == 207
    assert [r["statusCode"] for r in mixed.json()["responses"]] == [200, 404]
    too_many = ebay.post(
        "/sell/inventory/v1/bulk_update_price_quantity",
        headers=token,
        json={"requests": [{"sku": "A", "shipToLocationAvailability": {"quantity": 1}}] * 26},
    )
    assert too_many.status_code == 400
    revisions = ebay.get("/_sandbox/revisions").json()
    assert revisions["by_sku"] == {"A": 1, "B": 1} and revisions["max_listed"] == {"A": 5, "B": 4}


def test_the_251st_revision_of_a_listing_is_refused_per_item(ebay: httpx.Client) -> None:
    ebay.post(
        "/_sandbox/products", json={"items": [{"sku": "A", "quantity": 5}, {"sku": "B", "quantity": 5}]}
    )
    token = _bearer(_tokens(ebay)["access_token"])
    body = {"requests": [{"sku": "A", "shipToLocationAvailability": {"quantity": 4}}] * 25}
    for _ in range(10):
        assert (
            ebay.post("/sell/inventory/v1/bulk_update_price_quantity", headers=token, json=body).status_code
            == 200
        )
    refused = ebay.post(
        "/sell/inventory/v1/bulk_update_price_quantity",
        headers=token,
        json={
            "requests": [
                {"sku": "A", "shipToLocationAvailability": {"quantity": 0}},
                {"sku": "B", "shipToLocationAvailability": {"quantity": 0}},
            ]
        },
    )
    assert refused.status_code == 207
    first, second = refused.json()["responses"]
    assert first["statusCode"] == 400 and "250 times" in first["errors"][0]["message"]
    assert second["statusCode"] == 200
    assert ebay.get("/_sandbox/inventory").json() == {"A": 4, "B": 0}
    assert ebay.get("/_sandbox/revisions").json()["by_sku"] == {"A": 250, "B": 1}


def test_orders_filter_paging_and_shipping_fulfillment(ebay: httpx.Client) -> None:
    ebay.post("/_sandbox/products", json={"items": [{"sku": "A", "quantity": 5, "price": "10.00"}]})
    ids = [
        ebay.post("/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 1}]}).json()["id"]
        for _ in range(3)
    ]
    assert all(len(i.split("-")) == 3 for i in ids)
    oversold = ebay.post("/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 9}]})
    assert oversold.status_code == 409
    token = _bearer(_tokens(ebay)["access_token"])
    raw = ebay.get(
        "/sell/fulfillment/v1/order?filter=lastmodifieddate:[2020-01-01T00:00:00.000Z..]", headers=token
    )
    assert raw.status_code == 400
    page = ebay.get(
        "/sell/fulfillment/v1/order?filter=lastmodifieddate:%5B2020-01-01T00:00:00.000Z..%5D&limit=2&offset=0",
        headers=token,
    ).json()
    assert page["total"] == 3 and len(page["orders"]) == 2 and "offset=2" in page["next"]
    rest = ebay.get(page["next"], headers=token).json()
    assert [o["orderId"] for o in page["orders"] + rest["orders"]] == ids and "next" not in rest
    future = ebay.get(
        "/sell/fulfillment/v1/order?filter=lastmodifieddate:%5B2999-01-01T00:00:00.000Z..%5D", headers=token
    ).json()
    assert future["orders"] == []
    line = page["orders"][0]["lineItems"][0]["lineItemId"]
    shipped = ebay.post(
        f"/sell/fulfillment/v1/order/{ids[0]}/shipping_fulfillment",
        headers=token,
        json={
            "lineItems": [{"lineItemId": line, "quantity": 1}],
            "shippingCarrierCode": "USPS",
            "trackingNumber": "9400111",
        },
    )
    assert shipped.status_code == 201
    fulfillment_id = shipped.headers["location"].rsplit("/shipping_fulfillment/", 1)[1]
    view = ebay.get(f"/_sandbox/orders/{ids[0]}").json()
    assert view["status"] == "FULFILLED"
    assert view["fulfillments"] == [
        {
            "id": fulfillment_id,
            "carrier": "USPS",
            "tracking_number": "9400111",
            "shipped_date": view["fulfillments"][0]["shipped_date"],
            "lines": [{"lineItemId": line, "quantity": 1}],
        }
    ]
    twice = ebay.post(
        f"/sell/fulfillment/v1/order/{ids[0]}/shipping_fulfillment",
        headers=token,
        json={
            "lineItems": [{"lineItemId": line, "quantity": 1}],
            "shippingCarrierCode": "USPS",
            "trackingNumber": "2",
        },
    )
    assert twice.status_code == 400


def test_throttle_answers_429_for_the_next_calls(ebay: httpx.Client) -> None:
    token = _bearer(_tokens(ebay)["access_token"])
    ebay.post("/_sandbox/throttle", json={"count": 2})
    assert [ebay.get("/sell/inventory/v1/inventory_item", headers=token).status_code for _ in range(3)] == [
        429,
        429,
        200,
    ]


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict, bytes]]]]:
    app = Flask("ebay-receiver")
    got: list[tuple[dict, bytes]] = []
    lock = threading.Lock()

    @app.route("/hook", methods=["GET", "POST"])
    def hook() -> Response:
        if request.method == "GET":
            code = request.args["challenge_code"]
            digest = hashlib.sha256(
                (code + "token-1234567890123456789012345678901" + request.url.split("?")[0]).encode()
            ).hexdigest()
            return Response(json.dumps({"challengeResponse": digest}), mimetype="application/json")
        with lock:
            got.append((dict(request.headers), request.get_data()))
        return Response(status=204)

    server, _thread = serve(app)
    yield f"http://127.0.0.1:{server.server_port}/hook", got
    server.shutdown()


def test_account_deletion_is_signed_with_the_key_the_public_key_endpoint_serves(
    ebay: httpx.Client, receiver
) -> None:
    address, got = receiver
    delivery = ebay.post("/_sandbox/account-deletion", json={"address": address}).json()
    assert delivery["delivered"] is True
    ((headers, body),) = got
    header = json.loads(base64.b64decode(headers["X-Ebay-Signature"]))
    app_token = ebay.post(
        "/identity/v1/oauth2/token",
        auth=CLIENT,
        data={"grant_type": "client_credentials", "scope": "https://api.ebay.com/oauth/api_scope"},
    ).json()["access_token"]
    key = ebay.get(f"/commerce/notification/v1/public_key/{header['kid']}", headers=_bearer(app_token)).json()
    assert key["algorithm"] == "ECDSA" and key["digest"] == "SHA1" and "\n" not in key["key"]
    pem = (
        key["key"]
        .replace("-----BEGIN PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\n")
        .replace("-----END PUBLIC KEY-----", "\n-----END PUBLIC KEY-----")
    )
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(base64.b64decode(header["signature"]), body, ec.ECDSA(hashes.SHA1()))
    payload = json.loads(body)
    assert payload["metadata"]["topic"] == "MARKETPLACE_ACCOUNT_DELETION"
    assert payload["notification"]["notificationId"] == delivery["delivery_id"]
    assert payload["notification"]["data"]["username"] == "sandbox_seller"


def test_challenge_reports_whether_the_endpoint_answered_right(ebay: httpx.Client, receiver) -> None:
    address, _got = receiver
    right = ebay.post(
        "/_sandbox/challenge",
        json={"address": address, "verification_token": "token-1234567890123456789012345678901"},
    ).json()
    assert right["ok"] is True and right["status"] == 200
    wrong = ebay.post(
        "/_sandbox/challenge",
        json={"address": address, "verification_token": "another-token-0000000000000000000000"},
    ).json()
    assert wrong["ok"] is False


INV = "/sell/inventory/v1"
LISTING = {
    "categoryId": "11450",
    "merchantLocationKey": "WH",
    "listingPolicies": {"fulfillmentPolicyId": "F", "paymentPolicyId": "P", "returnPolicyId": "R"},
}


def _item(title: str = "Tee", **product: object) -> dict:
    return {
        "product": {"title": title, "description": "Cotton", "imageUrls": ["https://x/t.jpg"], **product},
        "condition": "NEW",
        "availability": {"shipToLocationAvailability": {"quantity": 2}},
    }


def _offer(sku: str, value: str = "15.00", **fields: object) -> dict:
    return {
        "sku": sku,
        "marketplaceId": "EBAY_US",
        "format": "FIXED_PRICE",
        "pricingSummary": {"price": {"value": value, "currency": "USD"}},
        **fields,
    }


def test_listing_creation_needs_content_language_and_publish_names_what_is_missing(
    ebay: httpx.Client,
) -> None:
    token = _bearer(_tokens(ebay)["access_token"])
    lang = {**token, "Content-Language": "en-US"}
    no_language = ebay.put(f"{INV}/inventory_item/TEE", headers=token, json=_item())
    assert no_language.status_code == 400 and no_language.json()["errors"][0]["errorId"] == 25709
    too_long = ebay.put(f"{INV}/inventory_item/TEE", headers=lang, json=_item("x" * 81))
    assert too_long.status_code == 400 and "title" in too_long.json()["errors"][0]["message"]
    assert ebay.put(f"{INV}/inventory_item/TEE", headers=lang, json=_item()).status_code == 204
    missing = ebay.post(f"{INV}/offer", headers=lang, json={"sku": "TEE", "marketplaceId": "EBAY_US"})
    assert missing.status_code == 400 and missing.json()["errors"][0]["parameters"] == [
        {"name": "fieldName", "value": "format"}
    ]
    created = ebay.post(f"{INV}/offer", headers=lang, json=_offer("TEE"))
    assert created.status_code == 201
    offer_id = created.json()["offerId"]
    twice = ebay.post(f"{INV}/offer", headers=lang, json=_offer("TEE"))
    assert twice.json()["errors"][0]["parameters"] == [{"name": "offerId", "value": offer_id}]
    unlisted = ebay.post(f"{INV}/offer/{offer_id}/publish", headers=token)
    assert unlisted.status_code == 400 and unlisted.json()["errors"][0]["message"] == "categoryId is missing."
    assert (
        ebay.get(f"{INV}/offer", headers=token, params={"sku": "TEE"}).json()["offers"][0]["status"]
        == "UNPUBLISHED"
    )
    assert ebay.put(f"{INV}/offer/{offer_id}", headers=lang, json=_offer("TEE", **LISTING)).status_code == 200
    published = ebay.post(f"{INV}/offer/{offer_id}/publish", headers=token)
    assert published.status_code == 200
    listing_id = published.json()["listingId"]
    [offer] = ebay.get(f"{INV}/offer", headers=token, params={"sku": "TEE"}).json()["offers"]
    assert offer["listing"]["listingId"] == listing_id and offer["status"] == "PUBLISHED"

    # The new listing takes bulk updates and counts their revisions; a live replace counts one too.
    bulk = {"requests": [{"sku": "TEE", "offers": [{"offerId": offer_id, "availableQuantity": 1}]}]}
    assert ebay.post(f"{INV}/bulk_update_price_quantity", headers=token, json=bulk).status_code == 200
    assert ebay.put(f"{INV}/inventory_item/TEE", headers=lang, json=_item("Tee 2")).status_code == 204
    assert ebay.get("/_sandbox/revisions").json()["listings"][listing_id] == {"sku": "TEE", "revisions": 2}
    withdrawn = ebay.post(f"{INV}/offer/{offer_id}/withdraw", headers=token)
    assert withdrawn.status_code == 200 and withdrawn.json()["listingId"] == listing_id
    assert "listing" not in ebay.get("/_sandbox/offers").json()["TEE"]


def test_a_group_publishes_as_one_listing_and_withdraws_whole(ebay: httpx.Client) -> None:
    token = _bearer(_tokens(ebay)["access_token"])
    lang = {**token, "Content-Language": "en-US"}
    for sku, size in (("T-S", "S"), ("T-M", "M")):
        ebay.put(f"{INV}/inventory_item/{sku}", headers=lang, json=_item(aspects={"Size": [size]}))
    group = {
        "title": "Tee",
        "variantSKUs": ["T-S", "T-M"],
        "variesBy": {"specifications": [{"name": "Size", "values": ["S", "M"]}]},
    }
    assert (
        ebay.put(f"{INV}/inventory_item_group/G1", headers=token, json=group).status_code == 400
    )  # no language
    assert ebay.put(f"{INV}/inventory_item_group/G1", headers=lang, json=group).status_code == 204
    assert ebay.get(f"{INV}/inventory_item_group/G1", headers=token).json()["variantSKUs"] == ["T-S", "T-M"]
    assert ebay.get(f"{INV}/inventory_item_group/NOPE", headers=token).status_code == 404
    for sku in ("T-S", "T-M"):
        assert ebay.post(f"{INV}/offer", headers=lang, json=_offer(sku, **LISTING)).status_code == 201
    single = ebay.post(
        f"{INV}/offer/{ebay.get('/_sandbox/offers').json()['T-S']['offerId']}/publish", headers=token
    )
    assert single.status_code == 400 and "group" in single.json()["errors"][0]["message"]
    body = {"inventoryItemGroupKey": "G1", "marketplaceId": "EBAY_US"}
    published = ebay.post(f"{INV}/offer/publish_by_inventory_item_group", headers=token, json=body)
    assert published.status_code == 200
    offers = ebay.get("/_sandbox/offers").json()
    assert {o["listing"]["listingId"] for o in offers.values()} == {published.json()["listingId"]}
    [product] = ebay.get("/_sandbox/catalog").json()["products"]
    assert product["product_id"] == "G1" and product["status"] == "PUBLISHED"
    assert [v["options"] for v in product["variants"]] == [{"Size": "S"}, {"Size": "M"}]
    assert ebay.get("/_sandbox/items").json()["T-M"]["groupIds"] == ["G1"]
    withdrawn = ebay.post(f"{INV}/offer/withdraw_by_inventory_item_group", headers=token, json=body)
    assert withdrawn.status_code == 204
    assert {o["status"] for o in ebay.get("/_sandbox/offers").json().values()} == {"UNPUBLISHED"}


def test_post_order_cancellation_takes_iaf_and_refuses_a_shipped_order(ebay: httpx.Client) -> None:
    ebay.post("/_sandbox/products", json={"items": [{"sku": "A", "quantity": 5}]})
    open_id, shipped_id = (
        ebay.post("/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 1}]}).json()["id"]
        for _ in range(2)
    )
    token = _tokens(ebay)["access_token"]
    iaf = {"Authorization": f"IAF {token}", "X-EBAY-C-MARKETPLACE-ID": "EBAY_US"}
    line = ebay.get(f"/_sandbox/orders/{shipped_id}").json()["lines"][0]["lineItemId"]
    ebay.post(
        f"/sell/fulfillment/v1/order/{shipped_id}/shipping_fulfillment",
        headers=_bearer(token),
        json={
            "lineItems": [{"lineItemId": line, "quantity": 1}],
            "shippingCarrierCode": "USPS",
            "trackingNumber": "1",
        },
    )
    body = {"legacyOrderId": open_id, "cancelReason": "OUT_OF_STOCK_OR_CANNOT_FULFILL"}
    bearer = ebay.post(
        "/post-order/v2/cancellation",
        headers={**_bearer(token), "X-EBAY-C-MARKETPLACE-ID": "EBAY_US"},
        json=body,
    )
    assert bearer.status_code == 401 and bearer.json()["errors"][0]["errorId"] == 1001
    no_marketplace = ebay.post(
        "/post-order/v2/cancellation", headers={"Authorization": f"IAF {token}"}, json=body
    )
    assert no_marketplace.status_code == 400
    buyer_reason = ebay.post(
        "/post-order/v2/cancellation", headers=iaf, json={**body, "cancelReason": "ORDER_MISTAKE"}
    )
    assert buyer_reason.status_code == 400
    done = ebay.post("/post-order/v2/cancellation", headers=iaf, json=body)
    assert done.status_code == 201 and done.json()["orderEligibilityResult"] == {"eligible": True}
    assert ebay.get(f"/_sandbox/orders/{open_id}").json()["cancelled"] is True
    again = ebay.post("/post-order/v2/cancellation", headers=iaf, json=body)
    assert again.status_code == 200 and "cancelId" not in again.json()
    shipped = ebay.post(
        "/post-order/v2/cancellation", headers=iaf, json={**body, "legacyOrderId": shipped_id}
    )
    assert shipped.json()["orderEligibilityResult"]["failureReason"] == ["ORDER_ALREADY_SHIPPED"]
    [record] = ebay.get("/_sandbox/cancellations").json()["cancellations"]
    assert record["cancelId"] == done.json()["cancelId"] and record["legacyOrderId"] == open_id
    order = ebay.get(f"/sell/fulfillment/v1/order/{open_id}", headers=_bearer(token)).json()
    assert order["cancelStatus"]["cancelState"] == "CANCELED"
