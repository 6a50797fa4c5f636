"""The store as the merchant knows it: a WooCommerce store in a sub-folder, reached through an
allowed sandbox whose `api_base_url` moves only the scheme, host and port (the REST root keeps
/shop/wp-json/wc/v3), with OAuth 1.0a signing because the sandbox is plain http."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest

from channel_sandboxes.woocommerce import WooConfig, create_app, serve
from omnistock.connector.v1 import connector_service_pb2 as pb

STORE_URL = "https://example.com/shop"
HOOK_SECRET = "sub-folder-hook-secret"


@dataclass
class SubfolderStore:
    origin: str  # http://127.0.0.1:<port>, what api_base_url names
    control: httpx.Client
    config: dict[str, Any]


@pytest.fixture
def shop() -> Iterator[SubfolderStore]:
    server, thread = serve(create_app(WooConfig(home_path="/shop")), "127.0.0.1", 0)
    origin = f"http://127.0.0.1:{server.server_port}"
    control = httpx.Client(base_url=origin, timeout=10)
    try:
        yield SubfolderStore(origin, control, control.get("/_sandbox/config").json())
    finally:
        control.close()
        server.shutdown()
        thread.join(timeout=10)


def _connection(make_connection, shop: SubfolderStore, **settings: str) -> pb.ConnectionContext:  # type: ignore[no-untyped-def]
    return make_connection(
        STORE_URL,
        consumer_key=shop.config["consumer_key"],
        consumer_secret=shop.config["consumer_secret"],
        webhook_secret=HOOK_SECRET,
        **{"api_base_url": shop.origin, **settings},
    )


def test_a_sub_folder_store_through_an_allowed_sandbox(connector, make_connection, shop) -> None:  # type: ignore[no-untyped-def]
    assert shop.config["store_url"] == f"{shop.origin}/shop"
    ctx = _connection(make_connection, shop)
    valid = connector.call("ValidateCredentials", pb.ValidateCredentialsRequest(connection=ctx))
    assert valid.account_name == "OmniStock WooCommerce Sandbox"  # read from /shop/wp-json/

    seeded = shop.control.post("/_sandbox/products", json={"items": [{"sku": "MUG", "quantity": 1}]})
    product_id = seeded.json()["items"][0]["product_id"]
    item = pb.InventoryItem(sku="MUG", quantity=7, remote=pb.RemoteIds(ids={"product_id": str(product_id)}))
    pushed = connector.call("PushInventory", pb.PushInventoryRequest(connection=ctx, items=[item]))
    assert [r.outcome for r in pushed.results] == [pb.ITEM_OUTCOME_APPLIED]
    assert shop.control.get("/_sandbox/inventory").json() == {"MUG": 7}
    # Every call was OAuth-signed for the store's URL and none was refused.
    assert shop.control.get("/_sandbox/calls").json()["unauthorized"] == 0


def test_its_webhooks_come_from_the_store_as_the_connection_reaches_it(
    connector, make_connection, shop
) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"id": 5, "sku": "MUG", "stock_quantity": 3}).encode()
    signature = base64.b64encode(hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "x-wc-webhook-topic": "product.updated",
        "x-wc-webhook-resource": "product",
        "x-wc-webhook-event": "updated",
        "x-wc-webhook-signature": signature,
        "x-wc-webhook-delivery-id": "d-1",
    }
    ctx = _connection(make_connection, shop)

    def parse(source: str) -> pb.ParseWebhookResponse:
        request = pb.ParseWebhookRequest(
            connection=ctx, headers={**headers, "x-wc-webhook-source": source}, raw_body=body
        )
        return connector.call("ParseWebhook", request)

    # home_url('/') of the sandbox: the store URL with api_base_url's scheme, host and port.
    assert parse(f"{shop.config['store_url']}/").delivery_id == "d-1"
    for other in (f"{shop.origin}/", f"{STORE_URL}/other/"):
        with pytest.raises(grpc.RpcError) as caught:
            parse(other)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_an_api_base_url_with_a_path_of_its_own_is_refused(connector, make_connection, shop) -> None:  # type: ignore[no-untyped-def]
    ctx = _connection(make_connection, shop, api_base_url=f"{shop.origin}/wp-json/wc/v3")
    with pytest.raises(grpc.RpcError) as caught:
        connector.call("ValidateCredentials", pb.ValidateCredentialsRequest(connection=ctx))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "scheme, host and port" in caught.value.details()
    assert shop.control.get("/_sandbox/calls").json()["total"] == 0
