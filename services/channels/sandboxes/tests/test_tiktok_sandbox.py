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


def _product(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "save_mode": "AS_DRAFT",
        "title": "Linen Tee",
        "description": "<p>Linen</p>",
        "category_id": "600001",
        "package_weight": {"value": "0.3", "unit": "KILOGRAM"},
        "package_dimensions": {"length": "20", "width": "15", "height": "5", "unit": "CENTIMETER"},
        "skus": [
            {
                "seller_sku": size,
                "price": {"amount": "25.00", "currency": "USD"},
                "inventory": [{"warehouse_id": "7200000000000000001", "quantity": 0}],
                "sales_attributes": [{"name": "Size", "value_name": size}],
            }
            for size in ("TEE-S", "TEE-M")
        ],
    }
    body.update(changes)
    return body


def test_create_product_checks_required_fields_and_partial_edit_deletes_omitted_skus(
    tiktok: httpx.Client,
) -> None:
    t = tokens(tiktok)

    def call(method: str, path: str, body: Any = None) -> dict[str, Any]:
        return signed(tiktok, method, path, token=t["access_token"], cipher=t["shop_cipher"], body=body)

    listing = call("POST", "/product/202309/products", _product(save_mode="LISTING"))
    assert listing["code"] == 12019002 and "main_images is required" in listing["message"]
    for field in ("category_id", "package_weight", "package_dimensions", "description"):
        refused = call("POST", "/product/202309/products", {**_product(), field: None})
        assert refused["code"] == 12019002 and field in refused["message"], field
    same = _product()
    del same["skus"][1]["sales_attributes"]
    assert "sales_attributes" in call("POST", "/product/202309/products", same)["message"]
    created = call("POST", "/product/202309/products", _product())
    assert created["code"] == 0
    product_id = created["data"]["product_id"]
    small, medium = created["data"]["skus"]
    detail = call("GET", f"/product/202309/products/{product_id}")["data"]
    assert detail["status"] == "DRAFT" and detail["skus"][0]["sales_attributes"][0]["value_name"] == "TEE-S"

    edited = call(
        "POST",
        f"/product/202309/products/{product_id}/partial_edit",
        {"title": "Tee II", "skus": [{**_product()["skus"][0], "id": small["id"]}]},
    )
    assert edited["code"] == 0 and [s["id"] for s in edited["data"]["skus"]] == [small["id"]]
    view = {p["product_id"]: p for p in tiktok.get("/_sandbox/catalog").json()["products"]}[product_id]
    assert view["title"] == "Tee II" and [v["sku"] for v in view["variants"]] == ["TEE-S"]
    assert medium["seller_sku"] not in tiktok.get("/_sandbox/inventory").json()

    answer = call("POST", "/product/202309/products/deactivate", {"product_ids": [product_id, "404"]})
    assert answer["code"] == 0 and [e["detail"]["product_id"] for e in answer["data"]["errors"]] == ["404"]
    assert call("GET", f"/product/202309/products/{product_id}")["data"]["status"] == "SELLER_DEACTIVATED"


def test_warehouses_delivery_options_and_shipping_providers(tiktok: httpx.Client) -> None:
    t = tokens(tiktok)

    def get(path: str) -> dict[str, Any]:
        return signed(tiktok, "GET", path, token=t["access_token"], cipher=t["shop_cipher"])

    warehouses = get("/logistics/202309/warehouses")["data"]["warehouses"]
    default = next(w for w in warehouses if w["is_default"])
    assert default["type"] == "SALES_WAREHOUSE" and default["effect_status"] == "ENABLED"
    (option,) = get(f"/logistics/202309/warehouses/{default['id']}/delivery_options")["data"][
        "delivery_options"
    ]
    providers = get(f"/logistics/202309/delivery_options/{option['id']}/shipping_providers")["data"]
    assert {p["name"] for p in providers["shipping_providers"]} == {"USPS", "UPS", "FedEx"}
    assert get("/logistics/202309/delivery_options/1/shipping_providers")["code"] != 0
    tiktok.post("/_sandbox/products", json={"items": [{"sku": "A", "quantity": 3}]})
    order = tiktok.post("/_sandbox/orders", json={"lines": [{"sku": "A", "quantity": 1}]}).json()["order"]
    assert order["delivery_option_id"] == option["id"]


def test_image_upload_is_multipart_signed_without_its_body_and_listing_needs_uploaded_uris(
    tiktok: httpx.Client,
) -> None:
    t = tokens(tiktok)
    path = "/product/202309/images/upload"

    def upload(name: str, secret: str = CFG.app_secret) -> dict[str, Any]:
        params = {"app_key": CFG.app_key, "timestamp": str(int(time.time())), "shop_cipher": t["shop_cipher"]}
        text = path + "".join(f"{k}{params[k]}" for k in sorted(params))
        params["sign"] = hmac.new(
            secret.encode(), (secret + text + secret).encode(), hashlib.sha256
        ).hexdigest()
        image = tiktok.get(f"/_sandbox/images/{name}").content
        response = tiktok.post(
            path,
            params=params,
            files={"data": (name, image, "image/png")},
            data={"use_case": "MAIN_IMAGE"},
            headers={"x-tts-access-token": t["access_token"]},
        )
        return response.json()

    good = upload("tee.png")
    assert good["code"] == 0 and good["data"]["width"] == 300 and good["data"]["uri"]
    assert upload("tee.png", secret="x")["code"] == 106001
    assert "100 x 100" in upload("tiny-1.png")["message"]
    assert tiktok.get("/_sandbox/images/missing-1.png").status_code == 404

    def create(uri: str) -> dict[str, Any]:
        body = _product(save_mode="LISTING", main_images=[{"uri": uri}])
        return signed(
            tiktok,
            "POST",
            "/product/202309/products",
            token=t["access_token"],
            cipher=t["shop_cipher"],
            body=body,
        )

    assert "was not uploaded" in create("tos-made-up")["message"]
    listed = create(good["data"]["uri"])
    assert listed["code"] == 0
    view = {p["product_id"]: p for p in tiktok.get("/_sandbox/catalog").json()["products"]}[
        listed["data"]["product_id"]
    ]
    assert view["status"] == "ACTIVATE" and view["images"] == [good["data"]["url"]]
