"""End to end with the REAL connectors and sandboxes: gateway (Flask test client) -> channels
gRPC server -> Shopify / WooCommerce connector services -> sandbox HTTP servers.

Acceptance: connect Shopify by OAuth against its sandbox and WooCommerce with keys through the
gateway; wrong keys are refused with a clear error and nothing is stored; an access token that
expires is refreshed once and the call completes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import func, select

from channel_sandboxes.common import serve
from channel_sandboxes.shopify.app import ShopifyConfig
from channel_sandboxes.shopify.app import create_app as shopify_sandbox
from channel_sandboxes.woocommerce.app import WooConfig
from channel_sandboxes.woocommerce.app import create_app as woo_sandbox
from channels import models
from channels.config import load_settings
from channels.server import Channels, build
from gateway.app import create_app
from gateway.config import Settings as GatewaySettings
from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock_devtools.migrated import migrate
from shopify_connector import config as shopify_config
from shopify_connector import server as shopify_server
from woocommerce_connector import config as woo_config
from woocommerce_connector import server as woo_server

pytestmark = pytest.mark.redis


@dataclass
class Stack:
    gateway: Any  # Flask test client
    channels: Channels
    shopify_url: str
    woo_url: str
    shop: ShopifyConfig
    woo: WooConfig

    def connections(self) -> int:
        with self.channels.parts.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(models.connections)).scalar_one())


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[Stack]:
    shop, woo = ShopifyConfig(), WooConfig()
    shop_http, _ = serve(shopify_sandbox(shop))
    woo_http, _ = serve(woo_sandbox(woo))
    # The sandboxes listen on loopback: the operator's allow-list admits them (production: empty).
    env = {"REDIS_URL": redis_url, "LOG_LEVEL": "WARNING", "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*"}
    shop_connector = shopify_server.build(
        shopify_server.with_port(shopify_config.load_settings(env), "127.0.0.1", 0)
    )
    woo_connector = woo_server.build(woo_server.with_port(woo_config.load_settings(env), "127.0.0.1", 0))
    channels_url = f"sqlite:///{tmp_path / 'channels.db'}"
    migrate("channels", channels_url)
    channels = build(
        load_settings(
            {
                **env,
                "CHANNELS_DATABASE_URL": channels_url,
                "CHANNELS_GRPC_PORT": "0",
                "PUBLIC_BASE_URL": "http://gateway.test",
                "OAUTH_STATE_SECRET": "e2e-oauth-state-secret-0123456789abcdef",
                "SHOPIFY_CONNECTOR_ADDR": f"127.0.0.1:{shop_connector.port}",
                "WOOCOMMERCE_CONNECTOR_ADDR": f"127.0.0.1:{woo_connector.port}",
            }
        )
    )
    gateway_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    migrate("gateway", gateway_url)
    app = create_app(
        GatewaySettings(
            database_url=gateway_url,
            redis_url=redis_url,
            jwt_secret="e2e-secret-" + "x" * 40,
            channels_addr=f"127.0.0.1:{channels.port}",
            backends={},
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            argon2_parallelism=1,
            grpc_timeout_seconds=30.0,
        )
    )
    app.config["TESTING"] = True
    try:
        yield Stack(
            app.test_client(),
            channels,
            f"http://127.0.0.1:{shop_http.server_port}",
            f"http://127.0.0.1:{woo_http.server_port}",
            shop,
            woo,
        )
    finally:
        app.extensions["omnistock"].close()
        channels.stop()
        shop_connector.stop()
        woo_connector.stop()
        shop_http.shutdown()
        woo_http.shutdown()


@pytest.fixture
def auth(stack: Stack) -> dict[str, str]:
    response = stack.gateway.post(
        "/api/v1/auth/register",
        json={"tenant_name": "Acme", "email": "owner@acme.test", "password": "correct-horse"},
    )
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def test_connect_shopify_by_oauth_against_the_sandbox(stack: Stack, auth: dict[str, str]) -> None:
    start = stack.gateway.get(
        f"/api/v1/channels/shopify/oauth/start?shop={stack.shop.shop_domain}&api_base_url={stack.shopify_url}",
        headers=auth,
    )
    assert start.status_code == 302, start.json
    consent = httpx.get(start.headers["Location"], follow_redirects=False)  # auto-approved consent page
    assert consent.status_code == 302, consent.text
    back = urlparse(consent.headers["location"])
    assert back.path == "/api/v1/channels/oauth/callback"

    done = stack.gateway.get(f"{back.path}?{back.query}")  # the browser lands on the gateway
    assert done.status_code == 200, done.json
    conn = done.json
    assert (conn["type"], conn["status"]) == ("shopify", "connected")
    assert conn["health"]["token_expires_at"] is not None  # expiring offline token
    assert "access_token" not in str(conn)

    replay = stack.gateway.get(f"{back.path}?{back.query}")
    assert replay.status_code == 400

    # The sandbox expires every token: the next call refreshes once and completes.
    assert httpx.post(f"{stack.shopify_url}/_sandbox/expire-tokens").status_code == 200
    reply = stack.channels.parts.deps.caller.with_connection(
        conn["tenant_id"] if "tenant_id" in conn else _tenant(stack, conn["id"]),
        conn["id"],
        "list_remote_products",
        lambda stub, ctx: stub.ListRemoteProducts(cpb.ListRemoteProductsRequest(connection=ctx, limit=50)),
    )
    assert reply is not None
    log = stack.gateway.get(f"/api/v1/channels/{conn['id']}/sync-log?limit=10", headers=auth).json["items"]
    ops = [(e["operation"], e["outcome"]) for e in log]
    assert ops.count(("refresh_token", "ok")) == 1
    assert ops[0] == ("list_remote_products", "ok")


def _tenant(stack: Stack, connection_id: str) -> str:
    with stack.channels.parts.engine.connect() as conn:
        return str(
            conn.execute(
                select(models.connections.c.tenant_id).where(models.connections.c.id == connection_id)
            ).scalar_one()
        )


def test_connect_woocommerce_with_keys_and_refuse_wrong_ones(stack: Stack, auth: dict[str, str]) -> None:
    wrong_url = stack.gateway.post(
        "/api/v1/channels",
        json={
            "type": "woocommerce",
            "settings": {"store_url": f"{stack.woo_url}/not-wordpress"},
            "credentials": {
                "consumer_key": stack.woo.consumer_key,
                "consumer_secret": stack.woo.consumer_secret,
            },
        },
        headers=auth,
    )
    assert wrong_url.status_code == 400, wrong_url.json
    assert "check the store URL" in wrong_url.json["detail"]
    body = {
        "type": "woocommerce",
        "name": "Woo",
        "settings": {"store_url": stack.woo_url},
        "credentials": {"consumer_key": stack.woo.consumer_key, "consumer_secret": "cs_" + "9" * 40},
    }
    wrong = stack.gateway.post("/api/v1/channels", json=body, headers=auth)
    assert wrong.status_code == 400, wrong.json
    assert "rejected these credentials" in wrong.json["detail"]
    assert stack.connections() == 0

    body["credentials"]["consumer_secret"] = stack.woo.consumer_secret
    created = stack.gateway.post("/api/v1/channels", json=body, headers=auth)
    assert created.status_code == 201, created.json
    assert created.json["status"] == "connected" and stack.connections() == 1
    assert stack.woo.consumer_key not in created.get_data(as_text=True)
    assert stack.woo.consumer_secret not in created.get_data(as_text=True)


EXAMPLE_SANDBOX = "woocommerce-sandbox:8702"


def _post_channels_examples(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The request examples of POST /channels, as the OpenAPI document publishes them."""
    content = document["paths"]["/api/v1/channels"]["post"]["requestBody"]["content"]
    schema = document["components"]["schemas"][
        content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    ]
    return list(schema["examples"])


def test_the_openapi_examples_connect_as_written(stack: Stack, auth: dict[str, str]) -> None:
    """Each POST /channels example, verbatim but for the sandbox's host:port (woocommerce-sandbox:8702
    under docker compose's demo profile, 127.0.0.1:8702 under `make run`), connects through gateway -> channels -> connector -> sandbox; the one that gives
    only a store URL and keys included. Posting one again re-authorises the same connection."""
    examples = _post_channels_examples(stack.gateway.get("/api/v1/openapi.json").json)
    assert any(set(e["settings"]) == {"store_url"} and e["type"] == "woocommerce" for e in examples)
    sandbox = urlparse(stack.woo_url).netloc
    ids = []
    for example in examples:
        text = json.dumps(example)
        assert EXAMPLE_SANDBOX in text
        created = stack.gateway.post(
            "/api/v1/channels",
            data=text.replace(EXAMPLE_SANDBOX, sandbox),
            content_type="application/json",
            headers=auth,
        )
        assert created.status_code == 201, (example, created.json)
        assert created.json["status"] == "connected" and created.json["name"] == example["name"]
        ids.append(created.json["id"])
    assert len(set(ids)) == len(examples) == stack.connections()
    assert httpx.get(f"{stack.woo_url}/_sandbox/calls").json()["unauthorized"] == 0

    again = stack.gateway.post(
        "/api/v1/channels",
        data=json.dumps(examples[0]).replace(EXAMPLE_SANDBOX, sandbox),
        content_type="application/json",
        headers=auth,
    )
    assert again.status_code == 201 and again.json["id"] == ids[0]
    assert stack.connections() == len(examples)
