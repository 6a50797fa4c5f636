"""The TikTok Shop sandbox as a connector meets it: signed calls, tokens, paging, bounds, orders
one line item per unit, signed webhooks, throttling. Requests are signed here from the docs'
recipe (CHANNELS.md 4.1), apart from the sandbox's checker."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from channel_sandboxes.tiktok import TikTokConfig

from .conftest import Receiver

CFG = TikTokConfig()


def signed(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    token: str,
    cipher: str | None,
    query: dict[str, str] | None = None,
    body: Any = None,
    stamp: int | None = None,
    secret: str = CFG.app_secret,
) -> dict[str, Any]:
    params = {"app_key": CFG.app_key, "timestamp": str(stamp or int(time.time())), **(query or {})}
    if cipher is not None:
        params["shop_cipher"] = cipher
    content = json.dumps(body).encode() if body is not None else b""
    text = path + "".join(f"{k}{params[k]}" for k in sorted(params))
    params["sign"] = hmac.new(
        secret.encode(), (secret + text).encode() + content + secret.encode(), hashlib.sha256
    ).hexdigest()
    response = client.request(
        method, path, params=params, content=content, headers={"x-tts-access-token": token}
    )
    assert response.status_code == 200, response.text
    return response.json()


def tokens(tiktok: httpx.Client) -> dict[str, Any]:
    return tiktok.post("/_sandbox/tokens", json={}).json()


def test_a_correctly_signed_call_is_served_and_every_check_answers_a_code(tiktok: httpx.Client) -> None:
    t = tokens(tiktok)
    path = "/product/202309/products/search"
    good = signed(
        tiktok,
        "POST",
        path,
        token=t["access_token"],
        cipher=t["shop_cipher"],
        query={"page_size": "10"},
        body={},
    )
    assert good["code"] == 0 and good["data"]["products"] == []
    assert (
        signed(
            tiktok,
            "POST",
            path,
            token=t["access_token"],
            cipher=t["shop_cipher"],
            query={"page_size": "10"},
            body={},
            secret="x",
        )["code"]
        == 106001
    )
    assert (
        signed(
            tiktok,
            "POST",
            path,
            token=t["access_token"],
            cipher=t["shop_cipher"],
            query={"page_size": "10"},
            body={},
            stamp=int(time.time()) - 3600,
        )["code"]
        == 36009004
    )
    assert (
        signed(
            tiktok, "POST", path, token="nope", cipher=t["shop_cipher"], query={"page_size": "10"}, body={}
        )["code"]
        == 105001
    )
    assert (
        signed(
            tiktok, "POST", path, token=t["access_token"], cipher=None, query={"page_size": "10"}, body={}
        )["code"]
        == 36009004
    )
    assert (
        signed(
            tiktok,
            "POST",
            path,
            token=t["access_token"],
            cipher=t["shop_cipher"],
            query={"page_size": "101"},
            body={},
        )["code"]
        == 36009004
    )
    shops = signed(tiktok, "GET", "/authorization/202309/shops", token=t["access_token"], cipher=None)
    assert shops["data"]["shops"][0]["cipher"] == t["shop_cipher"]
    tiktok.post("/_sandbox/expire-tokens")
    assert (
        signed(
            tiktok,
            "POST",
            path,
            token=t["access_token"],
            cipher=t["shop_cipher"],
            query={"page_size": "10"},
            body={},
        )["code"]
        == 105002
    )


def test_inventory_bounds_and_per_sku_errors(tiktok: httpx.Client) -> None:
    seeded = tiktok.post("/_sandbox/products", json={"items": [{"sku": "A", "quantity": 1}]}).json()["items"][
        0
    ]
    t = tokens(tiktok)
    path = f"/product/202309/products/{seeded['product_id']}/inventory/update"
    body = {
        "skus": [
            {"id": seeded["sku_id"], "inventory": [{"quantity": 99_999}]},
            {"id": "1", "inventory": [{"quantity": 1}]},
        ]
    }
    answer = signed(tiktok, "POST", path, token=t["access_token"], cipher=t["shop_cipher"], body=body)
    assert answer["code"] == 0
    assert [e["detail"]["sku_id"] for e in answer["data"]["errors"]] == [seeded["sku_id"], "1"]
    body = {"skus": [{"id": seeded["sku_id"], "inventory": [{"quantity": 99_998}]}]}
    assert (
        signed(tiktok, "POST", path, token=t["access_token"], cipher=t["shop_cipher"], body=body)["data"]
        == {}
    )
    assert tiktok.get("/_sandbox/inventory").json() == {"A": 99_998}


def test_orders_come_one_line_item_per_unit_with_a_signed_webhook(
    tiktok: httpx.Client, receiver: Receiver
) -> None:
    tiktok.post("/_sandbox/products", json={"items": [{"sku": "A", "quantity": 3, "price": "2.00"}]})
    assert tiktok.post("/_sandbox/webhooks", json={"address": f"{receiver.url}/tiktok"}).status_code == 201
    too_many = tiktok.post("/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 4}]})
    assert too_many.status_code == 422
    placed = tiktok.post(
        "/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 2}], "email": "e@example.test"}
    )
    assert placed.status_code == 201
    order = placed.json()["order"]
    assert [i["seller_sku"] for i in order["line_items"]] == ["A", "A"] and order["payment"][
        "total_amount"
    ] == "4.00"
    assert tiktok.get("/_sandbox/inventory").json() == {"A": 1}
    (delivery,) = receiver.received()
    expected = hmac.new(
        CFG.app_secret.encode(), CFG.app_key.encode() + delivery.body, hashlib.sha256
    ).hexdigest()
    assert delivery.headers["Authorization"] == expected
    payload = json.loads(delivery.body)
    assert (
        payload["type"] == 1
        and payload["data"]["order_id"] == placed.json()["id"]
        and payload["shop_id"] == CFG.shop_id
    )
    view = tiktok.get(f"/_sandbox/orders/{placed.json()['id']}").json()
    assert view["status"] == "AWAITING_SHIPMENT" and view["shipments"] == [] and not view["cancelled"]
    t = tokens(tiktok)
    found = signed(
        tiktok,
        "POST",
        "/order/202309/orders/search",
        token=t["access_token"],
        cipher=t["shop_cipher"],
        query={"page_size": "1", "sort_field": "update_time"},
        body={"update_time_ge": int(time.time()) - 60},
    )
    assert [o["id"] for o in found["data"]["orders"]] == [placed.json()["id"]] and found["data"][
        "next_page_token"
    ] == ""


def test_authorize_and_token_rotation(tiktok: httpx.Client) -> None:
    redirect = tiktok.get(
        "/open/authorize", params={"service_id": CFG.service_id, "state": "s1"}, follow_redirects=False
    )
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CFG.redirect_uri
    params = dict(parse_qsl(location.query))
    assert params["state"] == "s1"
    app = {"app_key": CFG.app_key, "app_secret": CFG.app_secret}
    got = tiktok.get(
        "/api/v2/token/get", params={**app, "auth_code": params["code"], "grant_type": "authorized_code"}
    ).json()
    assert got["code"] == 0 and got["data"]["access_token_expire_in"] > 1e9
    again = tiktok.get(
        "/api/v2/token/get", params={**app, "auth_code": params["code"], "grant_type": "authorized_code"}
    ).json()
    assert again["code"] != 0
    refresh = {**app, "refresh_token": got["data"]["refresh_token"], "grant_type": "refresh_token"}
    rotated = tiktok.get("/api/v2/token/refresh", params=refresh).json()
    assert rotated["code"] == 0 and rotated["data"]["refresh_token"] != got["data"]["refresh_token"]
    assert tiktok.get("/api/v2/token/refresh", params=refresh).json()["code"] != 0
    assert tiktok.get("/open/authorize", params={"service_id": "other"}).status_code == 400


def test_throttle_and_faults_answer_codes(tiktok: httpx.Client) -> None:
    t = tokens(tiktok)

    def call() -> httpx.Response:
        params = {"app_key": CFG.app_key, "timestamp": str(int(time.time()))}
        return tiktok.get(
            "/authorization/202309/shops", params=params, headers={"x-tts-access-token": t["access_token"]}
        )

    tiktok.post("/_sandbox/throttle", json={"count": 1})
    first = call()
    assert first.status_code == 200 and first.json()["code"] == 36009002
    tiktok.post("/_sandbox/throttle", json={"count": 1, "http_status": 429})
    assert call().status_code == 429
    tiktok.post("/_sandbox/faults", json={"status": 503, "count": 1})
    faulted = call()
    assert faulted.status_code == 503 and faulted.json()["code"] == 36009003
    assert call().json()["code"] == 106001  # unsigned: served again, and refused
    assert tiktok.get("/_sandbox/calls").json()["throttled"] == 2
