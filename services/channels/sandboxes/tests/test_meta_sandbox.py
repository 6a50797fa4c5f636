"""The Meta sandbox answers as the Graph API v25.0 does for what the Meta connector uses: Login
(dialog → code → short → long-lived token), the error envelope and token expiry, items_batch
limits and its asynchronous status, filtered and paged products, commerce orders with idempotent
actions, throttling with usage headers, and the webhook subscription check."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flask import Flask, Response, request

from channel_sandboxes.common import serve
from channel_sandboxes.meta.sandbox import MetaConfig, sign

V = "/v25.0"
APP = MetaConfig()
CATALOG = "300000000000001"
CMS = "500000000000001"


def login(meta: httpx.Client, redirect_uri: str = "https://app.test/cb") -> str:
    """The long-lived user token of a completed login."""
    dialog = meta.get(
        f"{V}/dialog/oauth",
        params={
            "client_id": APP.app_id,
            "redirect_uri": redirect_uri,
            "state": "st-1",
            "scope": "catalog_management",
        },
    )
    assert dialog.status_code == 302
    query = parse_qs(urlsplit(dialog.headers["location"]).query)
    assert query["state"] == ["st-1"]
    short = meta.get(
        f"{V}/oauth/access_token",
        params={
            "client_id": APP.app_id,
            "client_secret": APP.app_secret,
            "redirect_uri": redirect_uri,
            "code": query["code"][0],
        },
    ).json()
    assert short["expires_in"] == 7200
    long = meta.get(
        f"{V}/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": APP.app_id,
            "client_secret": APP.app_secret,
            "fb_exchange_token": short["access_token"],
        },
    ).json()
    assert long["expires_in"] == 60 * 24 * 3600
    return str(long["access_token"])


@pytest.fixture
def token(meta: httpx.Client) -> str:
    meta.post(
        "/_sandbox/products",
        json={"items": [{"sku": "A", "quantity": 5, "price": "9.99"}, {"sku": "B", "quantity": 1}]},
    )
    return login(meta)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def batch(meta: httpx.Client, token: str, requests: list, **extra: str) -> httpx.Response:
    return meta.post(
        f"{V}/{CATALOG}/items_batch",
        headers=auth(token),
        data={"item_type": "PRODUCT_ITEM", "requests": json.dumps(requests), **extra},
    )


def test_a_code_works_once_and_only_with_its_redirect_uri(meta: httpx.Client) -> None:
    dialog = meta.get(
        f"{V}/dialog/oauth",
        params={"client_id": APP.app_id, "redirect_uri": "https://a.test/cb", "state": "s"},
    )
    code = parse_qs(urlsplit(dialog.headers["location"]).query)["code"][0]
    params = {"client_id": APP.app_id, "client_secret": APP.app_secret, "code": code}
    wrong = meta.get(f"{V}/oauth/access_token", params={**params, "redirect_uri": "https://b.test/cb"})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 100
    assert (
        meta.get(
            f"{V}/oauth/access_token", params={**params, "redirect_uri": "https://a.test/cb"}
        ).status_code
        == 200
    )
    again = meta.get(f"{V}/oauth/access_token", params={**params, "redirect_uri": "https://a.test/cb"})
    assert again.status_code == 400 and "used" in again.json()["error"]["message"]
    bad_secret = meta.get(
        f"{V}/oauth/access_token",
        params={**params, "client_secret": "x", "redirect_uri": "https://a.test/cb"},
    )
    assert bad_secret.json()["error"]["code"] == 1


def test_expired_tokens_answer_190_463_and_cannot_be_exchanged(meta: httpx.Client, token: str) -> None:
    assert meta.get(f"{V}/me", headers=auth(token)).status_code == 200
    meta.post("/_sandbox/expire-tokens")
    error = meta.get(f"{V}/me", headers=auth(token)).json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (190, 463, "OAuthException")
    exchange = meta.get(
        f"{V}/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": APP.app_id,
            "client_secret": APP.app_secret,
            "fb_exchange_token": token,
        },
    )
    assert exchange.json()["error"]["error_subcode"] == 463


def test_token_lifetime_setting_and_access_token_parameter(meta: httpx.Client) -> None:
    assert meta.post("/_sandbox/tokens", json={"user_token_lifetime_seconds": 0}).status_code == 400
    meta.post("/_sandbox/tokens", json={"user_token_lifetime_seconds": 120})
    token = login_with_lifetime(meta)
    assert meta.get(f"{V}/me", params={"access_token": token}).json()["id"]
    assert meta.get(f"{V}/me").json()["error"]["code"] == 2500


def login_with_lifetime(meta: httpx.Client) -> str:
    dialog = meta.get(
        f"{V}/dialog/oauth",
        params={"client_id": APP.app_id, "redirect_uri": "https://a.test/cb", "state": "s"},
    )
    code = parse_qs(urlsplit(dialog.headers["location"]).query)["code"][0]
    short = meta.get(
        f"{V}/oauth/access_token",
        params={
            "client_id": APP.app_id,
            "client_secret": APP.app_secret,
            "redirect_uri": "https://a.test/cb",
            "code": code,
        },
    ).json()["access_token"]
    long = meta.get(
        f"{V}/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": APP.app_id,
            "client_secret": APP.app_secret,
            "fb_exchange_token": short,
        },
    ).json()
    assert long["expires_in"] == 120
    return str(long["access_token"])


def test_items_batch_is_in_progress_then_finished_with_invalid_ids(meta: httpx.Client, token: str) -> None:
    answer = batch(
        meta,
        token,
        [
            {
                "method": "UPDATE",
                "data": {"id": "A", "inventory": 2, "price": "12.50 USD", "sale_price": "10.00 USD"},
            },
            {"method": "UPDATE", "data": {"id": "B", "inventory": -1}},
            {"method": "UPDATE", "data": {"id": "GHOST", "inventory": 1}},
        ],
        allow_upsert="false",
    )
    handle = answer.json()["handles"][0]
    params = {"handle": handle, "load_ids_of_invalid_requests": "true"}
    first = meta.get(f"{V}/{CATALOG}/check_batch_request_status", params=params, headers=auth(token)).json()[
        "data"
    ][0]
    assert first["status"] == "in_progress"
    done = meta.get(f"{V}/{CATALOG}/check_batch_request_status", params=params, headers=auth(token)).json()[
        "data"
    ][0]
    assert done["status"] == "finished"
    assert sorted(done["ids_of_invalid_requests"]) == ["B", "GHOST"]
    assert {e["id"] for e in done["errors"]} == {"B", "GHOST"}
    assert meta.get("/_sandbox/inventory").json() == {"A": 2, "B": 1}
    assert meta.get("/_sandbox/prices").json()["A"] == {"price": "10.00", "compare_at_price": "12.50"}


def test_items_batch_limits(meta: httpx.Client, token: str) -> None:
    too_many = batch(meta, token, [{"method": "UPDATE", "data": {"id": "A", "inventory": 1}}] * 5001)
    assert too_many.status_code == 400 and "5000" in too_many.json()["error"]["message"]
    wrong_type = meta.post(
        f"{V}/{CATALOG}/items_batch", headers=auth(token), data={"item_type": "X", "requests": "[]"}
    )
    assert wrong_type.status_code == 400
    upsert = batch(meta, token, [{"method": "UPDATE", "data": {"id": "NEW", "inventory": 4}}])
    assert upsert.status_code == 200 and meta.get("/_sandbox/inventory").json()["NEW"] == 4


def test_products_filter_and_cursor_paging(meta: httpx.Client, token: str) -> None:
    meta.post("/_sandbox/catalog", json={"generate": {"products": 3, "variants_per_product": 2}})
    first = meta.get(
        f"{V}/{CATALOG}/products", params={"fields": "retailer_id,inventory", "limit": 5}, headers=auth(token)
    ).json()
    assert len(first["data"]) == 5 and "next" in first["paging"]
    rest = meta.get(
        f"{V}/{CATALOG}/products",
        params={"fields": "retailer_id,inventory", "limit": 5, "after": first["paging"]["cursors"]["after"]},
        headers=auth(token),
    ).json()
    assert len(rest["data"]) == 3 and "next" not in rest["paging"]
    filtered = meta.get(
        f"{V}/{CATALOG}/products",
        params={
            "fields": "retailer_id,price,currency",
            "filter": json.dumps({"retailer_id": {"is_any": ["A", "GEN-1-M"]}}),
        },
        headers=auth(token),
    ).json()["data"]
    assert {i["retailer_id"] for i in filtered} == {"A", "GEN-1-M"}
    assert next(i for i in filtered if i["retailer_id"] == "A")["price"] == "$9.99"


def test_items_batch_create_needs_the_required_fields_and_archives_by_visibility(
    meta: httpx.Client, token: str
) -> None:
    full = {
        "id": "NEW-S",
        "item_group_id": "G1",
        "title": "Tee",
        "description": "Soft",
        "availability": "out of stock",
        "condition": "new",
        "price": "10.00 USD",
        "link": "https://shop.test/p/1",
        "image_link": "https://img.test/1.jpg",
        "brand": "Acme",
        "size": "S",
    }
    bare = {k: v for k, v in full.items() if k not in ("image_link", "brand")}
    handle = batch(
        meta,
        token,
        [{"method": "CREATE", "data": full}, {"method": "CREATE", "data": {**bare, "id": "NEW-M"}}],
        allow_upsert="false",
    ).json()["handles"][0]
    params = {"handle": handle, "load_ids_of_invalid_requests": "true"}
    status_path = f"{V}/{CATALOG}/check_batch_request_status"
    meta.get(status_path, params=params, headers=auth(token))
    done = meta.get(status_path, params=params, headers=auth(token)).json()["data"][0]
    assert done["ids_of_invalid_requests"] == ["NEW-M"]
    assert [e["line"] for e in done["errors"]] == [2]
    assert "image_link" in done["errors"][0]["message"] and "brand" in done["errors"][0]["message"]
    read = meta.get(
        f"{V}/{CATALOG}/products",
        params={
            "fields": "retailer_id,retailer_product_group_id,name,url,image_url,brand,visibility,size",
            "filter": json.dumps({"retailer_product_group_id": {"eq": "G1"}}),
        },
        headers=auth(token),
    ).json()["data"]
    assert [(i["retailer_id"], i["name"], i["url"], i["size"], i["visibility"]) for i in read] == [
        ("NEW-S", "Tee", "https://shop.test/p/1", "S", "published")
    ]
    batch(meta, token, [{"method": "UPDATE", "data": {"id": "NEW-S", "visibility": "staging"}}])
    (product,) = [p for p in meta.get("/_sandbox/catalog").json()["products"] if p["product_id"] == "G1"]
    assert product["status"] == "staging" and product["variants"][0]["sku"] == "NEW-S"
    wrong = batch(meta, token, [{"method": "UPDATE", "data": {"id": "NEW-S", "visibility": "gone"}}])
    wrong_params = {"handle": wrong.json()["handles"][0]}
    meta.get(status_path, params=wrong_params, headers=auth(token))
    refused = meta.get(status_path, params=wrong_params, headers=auth(token)).json()["data"][0]
    assert "visibility" in refused["errors"][0]["message"]


def test_order_acknowledge_ship_and_cancel_are_idempotent(meta: httpx.Client, token: str) -> None:
    made = meta.post("/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 2}], "email": "b@x.test"})
    assert made.status_code == 201
    order_id = made.json()["id"]
    assert meta.get("/_sandbox/inventory").json()["A"] == 3
    listed = meta.get(f"{V}/{CMS}/commerce_orders", params={"state": "CREATED"}, headers=auth(token)).json()[
        "data"
    ]
    assert [o["id"] for o in listed] == [order_id]
    ship = {
        "items": [{"retailer_id": "A", "quantity": 1}],
        "tracking_info": {"tracking_number": "1Z", "carrier": "UPS"},
        "idempotency_key": "s1",
    }
    assert (
        meta.post(f"{V}/{order_id}/shipments", json=ship, headers=auth(token)).status_code == 400
    )  # not acknowledged
    for _ in range(2):
        ack = meta.post(
            f"{V}/{order_id}/acknowledge_order", data={"idempotency_key": "k1"}, headers=auth(token)
        )
        assert ack.json()["success"] is True
    assert (
        meta.post(
            f"{V}/{order_id}/acknowledge_order", data={"idempotency_key": "k2"}, headers=auth(token)
        ).status_code
        == 400
    )
    for _ in range(2):
        assert (
            meta.post(f"{V}/{order_id}/shipments", json=ship, headers=auth(token)).json()["success"] is True
        )
    cancel = {
        "cancel_reason": {"reason_code": "CUSTOMER_REQUESTED"},
        "restock_items": True,
        "idempotency_key": "c1",
    }
    assert (
        meta.post(f"{V}/{order_id}/cancellations", json=cancel, headers=auth(token)).json()["success"] is True
    )
    view = meta.get(f"/_sandbox/orders/{order_id}").json()
    assert view["state"] == "COMPLETED" and view["acknowledged"] is True
    assert len(view["shipments"]) == 1 and view["shipments"][0]["tracking_info"]["carrier"] == "UPS"
    assert view["cancellations"][0]["items"] == [{"retailer_id": "A", "quantity": 1}]
    assert meta.get("/_sandbox/inventory").json()["A"] == 4  # the cancelled unit restocked


def test_no_onsite_checkout_has_no_commerce_account(meta: httpx.Client, token: str) -> None:
    meta.post("/_sandbox/settings", json={"onsite_checkout": False})
    page = "400000000000001"
    assert meta.get(f"{V}/{page}/commerce_merchant_settings", headers=auth(token)).json()["data"] == []
    assert meta.get(f"{V}/{CMS}/commerce_orders", headers=auth(token)).json()["error"]["error_subcode"] == 33
    assert meta.post("/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 1}]}).status_code == 409


def test_throttle_answers_the_rate_limit_error_with_usage_headers(meta: httpx.Client, token: str) -> None:
    meta.post("/_sandbox/throttle", json={"count": 1, "estimated_time_to_regain_access": 3, "code": 80014})
    limited = meta.get(f"{V}/me", headers=auth(token))
    assert limited.status_code == 400 and limited.json()["error"]["code"] == 80014
    usage = json.loads(limited.headers["X-Business-Use-Case-Usage"])
    assert next(iter(usage.values()))[0]["estimated_time_to_regain_access"] == 3
    assert "X-App-Usage" in limited.headers
    assert meta.get(f"{V}/me", headers=auth(token)).status_code == 200


@pytest.fixture
def hub() -> Iterator[str]:
    """A webhook endpoint that answers Meta's subscription check with the right verify token and
    accepts deliveries."""
    app = Flask("hub")

    @app.get("/hook")
    def check() -> Response:
        ok = (
            request.args.get("hub.mode") == "subscribe"
            and request.args.get("hub.verify_token") == APP.verify_token
        )
        return Response(request.args.get("hub.challenge", ""), 200) if ok else Response("no", 403)

    @app.post("/hook")
    def deliver() -> Response:
        return Response("ok", 200)

    server, _thread = serve(app)
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_webhook_verify_and_signed_delivery(meta: httpx.Client, hub: str) -> None:
    good = meta.post("/_sandbox/webhooks/verify", json={"address": hub}).json()
    assert good["verified"] is True and good["body"] == good["challenge"]
    bad = meta.post("/_sandbox/webhooks/verify", json={"address": hub, "verify_token": "wrong"}).json()
    assert bad["verified"] is False and bad["status"] == 403
    meta.post("/_sandbox/webhooks", json={"address": hub})
    sent = meta.post("/_sandbox/webhooks/send", json={"field": "feed", "value": {"item": "post"}}).json()
    assert sent["deliveries"][0]["delivered"] is True
    delivered = meta.get("/_sandbox/webhooks/deliveries").json()["deliveries"]
    assert delivered and delivered[0]["topic"] == "page/feed"


def test_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    assert sign("s", b"{}") == "sha256=" + hmac.new(b"s", b"{}", hashlib.sha256).hexdigest()
