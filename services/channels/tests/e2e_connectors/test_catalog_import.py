"""Onboarding import (issue 15) end to end with the REAL connectors, sandboxes, catalog and
inventory: gateway (Flask test client) -> channels gRPC -> connector -> sandbox, and the job (run
here as the worker runs it: jobs.run_job) -> catalog BulkUpsertVariants + inventory BatchAdjust.

A small shop on each channel: 6 products / 15 variants, one variant without a SKU, one SKU that
OmniStock already has with another price. Preview first; then the import (quantities with reason
IMPORTED, listings mapped); a second run changes nothing; a run killed after 2 pages and taken
over by another worker ends with the same catalog, stock, ledger and listings as an uncrashed one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

import httpx
import pytest
from sqlalchemy import select

from catalog.config import load_settings as catalog_settings
from catalog.server import build as build_catalog
from catalog.server import with_port as catalog_port
from channel_sandboxes.common import serve
from channel_sandboxes.shopify.app import ShopifyConfig
from channel_sandboxes.shopify.app import create_app as shopify_sandbox
from channel_sandboxes.woocommerce.app import WooConfig
from channel_sandboxes.woocommerce.app import create_app as woo_sandbox
from channels import catalog_import, jobs, models
from channels.config import load_settings
from channels.deps import ChannelsDeps
from channels.import_clients import GrpcImportTargets
from channels.job_domain import STALE_AFTER
from channels.server import Channels, build
from gateway.app import create_app
from gateway.config import Settings as GatewaySettings
from inventory.config import load_settings as inventory_settings
from inventory.server import build as build_inventory
from omnistock.catalog.v1 import catalog_service_pb2 as cat_pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from omnistock.common.v1 import common_pb2
from omnistock.inventory.v1 import inventory_service_pb2 as inv_pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from omnistock_common.clients import make_channel
from omnistock_common.service_auth import internal_metadata
from omnistock_devtools.migrated import migrate
from shopify_connector import config as shopify_config
from shopify_connector import server as shopify_server
from woocommerce_connector import config as woo_config
from woocommerce_connector import server as woo_server

pytestmark = pytest.mark.redis


def shop_products() -> list[dict[str, Any]]:
    """6 products, 15 variants: 4 x 3 sizes, 1 x 2 colours (one without a SKU), 1 simple."""
    products: list[dict[str, Any]] = [
        {
            "title": f"Tee {i}",
            "description": f"Tee number {i}",
            "tags": ["tee"],
            "images": [f"https://cdn.example.test/tee{i}.jpg"],
            "variants": [
                {
                    "sku": f"TEE{i}-{size}",
                    "options": {"Size": size},
                    "price": "19.99",
                    "weight_grams": 180,
                    "quantity": 3 * i + j,
                }
                for j, size in enumerate(("S", "M", "L"))
            ],
        }
        for i in range(4)
    ]
    products.append(
        {
            "title": "Cap",
            "variants": [
                {"sku": "CAP-RED", "options": {"Colour": "Red"}, "price": "9.50", "quantity": 5},
                {"sku": "", "options": {"Colour": "Blue"}, "price": "9.50", "quantity": 6},
            ],
        }
    )
    products.append({"title": "Mug", "variants": [{"sku": "MUG", "price": "7.00", "quantity": 8}]})
    return products


@dataclass
class Stack:
    gateway: Any
    channels: Channels
    deps: ChannelsDeps
    catalog: cat_grpc.CatalogServiceStub
    inventory: inv_grpc.InventoryServiceStub
    shopify_url: str
    woo_url: str
    shop: ShopifyConfig
    woo: WooConfig
    auth: dict[str, str]
    tenant: str = ""

    def md(self) -> Any:
        return internal_metadata(self.tenant, "tester", "owner")

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.gateway.get(f"/api/v1/jobs/{job_id}", headers=self.auth)
        assert response.status_code == 200, response.json
        return dict(response.json)

    def start(self, connection_id: str, **body: Any) -> str:
        response = self.gateway.post(
            f"/api/v1/channels/{connection_id}/catalog-import", json=body, headers=self.auth
        )
        assert response.status_code == 202, response.json
        return str(response.json["job_id"])

    def run(self, job_id: str) -> dict[str, Any]:
        assert jobs.run_job(self.deps, job_id) == "done", self.job(job_id)
        return self.job(job_id)

    def state(
        self, connection_id: str
    ) -> tuple[dict[str, Any], dict[str, int], list[tuple[str, int]], dict[str, Any]]:
        """Catalog (sku -> product title, price, options), stock (sku -> on hand), IMPORTED ledger
        rows (sku, delta) and listings (sku -> ids): what an import leaves behind."""
        products = self.catalog.ListProducts(
            cat_pb.ListProductsRequest(page=common_pb2.PageRequest(limit=500)), metadata=self.md()
        ).products
        catalog = {
            v.sku: (p.title, v.price.amount_minor, [(o.name, o.value) for o in v.options], v.weight_grams)
            for p in products
            for v in p.variants
        }
        stock: dict[str, int] = {}
        ledger: list[tuple[str, int]] = []
        for sku in sorted(catalog):
            reply = self.inventory.GetSkuStock(inv_pb.GetSkuStockRequest(sku=sku), metadata=self.md())
            stock[sku] = reply.on_hand
            moves = self.inventory.ListMovements(inv_pb.ListMovementsRequest(sku=sku), metadata=self.md())
            ledger += [
                (sku, m.on_hand_delta)
                for m in moves.movements
                if m.reason == inv_pb.ADJUSTMENT_REASON_IMPORTED
            ]
        with self.channels.parts.engine.connect() as conn:
            t = models.listings
            rows = conn.execute(select(t.c.sku, t.c.external_ids).where(t.c.connection_id == connection_id))
            listings = {row.sku: row.external_ids for row in rows}
        return catalog, stock, sorted(ledger), listings


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[Stack]:
    shop, woo = ShopifyConfig(restore_rate=100_000), WooConfig()
    shop_http, _ = serve(shopify_sandbox(shop))
    woo_http, _ = serve(woo_sandbox(woo))
    env = {"REDIS_URL": redis_url, "LOG_LEVEL": "WARNING", "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*"}
    shop_connector = shopify_server.build(
        shopify_server.with_port(shopify_config.load_settings(env), "127.0.0.1", 0)
    )
    woo_connector = woo_server.build(woo_server.with_port(woo_config.load_settings(env), "127.0.0.1", 0))
    urls = {
        name: f"sqlite:///{tmp_path / (name + '.db')}"
        for name in ("channels", "gateway", "catalog", "inventory")
    }
    for name, url in urls.items():
        migrate(name, url)
    inventory = build_inventory(
        inventory_settings(
            {"INVENTORY_DATABASE_URL": urls["inventory"], "INVENTORY_GRPC_PORT": "0", "LOG_LEVEL": "WARNING"}
        )
    )
    inventory_addr = f"127.0.0.1:{inventory.port}"
    catalog = build_catalog(
        catalog_port(
            catalog_settings(
                {
                    "CATALOG_DATABASE_URL": urls["catalog"],
                    "INVENTORY_ADDR": inventory_addr,
                    "LOG_LEVEL": "WARNING",
                }
            ),
            "127.0.0.1",
            0,
        )
    )
    catalog_addr = f"127.0.0.1:{catalog.port}"
    channels = build(
        load_settings(
            {
                **env,
                "CHANNELS_DATABASE_URL": urls["channels"],
                "CHANNELS_GRPC_PORT": "0",
                "PUBLIC_BASE_URL": "http://gateway.test",
                "OAUTH_STATE_SECRET": "e2e-oauth-state-secret-0123456789abcdef",
                "SHOPIFY_CONNECTOR_ADDR": f"127.0.0.1:{shop_connector.port}",
                "WOOCOMMERCE_CONNECTOR_ADDR": f"127.0.0.1:{woo_connector.port}",
                "CATALOG_ADDR": catalog_addr,
            }
        )
    )
    targets = GrpcImportTargets(catalog_addr, inventory_addr, 30.0)
    app = create_app(
        GatewaySettings(
            database_url=urls["gateway"],
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
    client = app.test_client()
    registered = client.post(
        "/api/v1/auth/register",
        json={"tenant_name": "Acme", "email": "owner@acme.test", "password": "correct-horse"},
    )
    assert registered.status_code == 201, registered.json
    grpc_channels = [make_channel(catalog_addr), make_channel(inventory_addr)]
    try:
        yield Stack(
            client,
            channels,
            dataclasses.replace(channels.parts.deps, imports=targets),
            cat_grpc.CatalogServiceStub(grpc_channels[0]),
            inv_grpc.InventoryServiceStub(grpc_channels[1]),
            f"http://127.0.0.1:{shop_http.server_port}",
            f"http://127.0.0.1:{woo_http.server_port}",
            shop,
            woo,
            {"Authorization": f"Bearer {registered.json['access_token']}"},
        )
    finally:
        for ch in grpc_channels:
            ch.close()
        targets.close()
        app.extensions["omnistock"].close()
        channels.stop()
        catalog.stop()
        inventory.stop()
        shop_connector.stop()
        woo_connector.stop()
        shop_http.shutdown()
        woo_http.shutdown()


def _tenant_of(stack: Stack, connection_id: str) -> str:
    with stack.channels.parts.engine.connect() as conn:
        t = models.connections
        return str(conn.execute(select(t.c.tenant_id).where(t.c.id == connection_id)).scalar_one())


def connect_shopify(stack: Stack) -> str:
    start = stack.gateway.get(
        f"/api/v1/channels/shopify/oauth/start?shop={stack.shop.shop_domain}&api_base_url={stack.shopify_url}",
        headers=stack.auth,
    )
    assert start.status_code == 302, start.json
    consent = httpx.get(start.headers["Location"], follow_redirects=False)
    back = urlparse(consent.headers["location"])
    done = stack.gateway.get(f"{back.path}?{back.query}")
    assert done.status_code == 200, done.json
    assert dict(parse_qsl(back.query))
    return str(done.json["id"])


def connect_woo(stack: Stack) -> str:
    body = {
        "type": "woocommerce",
        "name": "Woo",
        "settings": {"store_url": stack.woo_url},
        "credentials": {"consumer_key": stack.woo.consumer_key, "consumer_secret": stack.woo.consumer_secret},
    }
    created = stack.gateway.post("/api/v1/channels", json=body, headers=stack.auth)
    assert created.status_code == 201, created.json
    return str(created.json["id"])


def seed_omnistock_collision(stack: Stack) -> None:
    """OmniStock already sells MUG at 6.00 (the shop says 7.00)."""
    stack.catalog.CreateProduct(
        cat_pb.CreateProductRequest(
            title="Mug",
            variants=[
                cat_pb.VariantInput(sku="MUG", price=common_pb2.Money(amount_minor=600, currency="USD"))
            ],
        ),
        metadata=stack.md(),
    )


@pytest.mark.parametrize("channel", ["shopify", "woocommerce"])
def test_preview_then_import_then_a_second_run_changes_nothing(stack: Stack, channel: str) -> None:
    url = stack.shopify_url if channel == "shopify" else stack.woo_url
    assert httpx.post(f"{url}/_sandbox/catalog", json={"products": shop_products()}).status_code == 201
    connection = connect_shopify(stack) if channel == "shopify" else connect_woo(stack)
    stack.tenant = _tenant_of(stack, connection)
    seed_omnistock_collision(stack)

    for bad in (
        {"default": "theirs"},
        {"resolutions": {"MUG": {"colour": "channel"}}},
        {"dry_run": "yes please"},
    ):
        refused = stack.gateway.post(
            f"/api/v1/channels/{connection}/catalog-import", json=bad, headers=stack.auth
        )
        assert refused.status_code == 400 and refused.content_type == "application/problem+json", refused.json
    preview_id = stack.start(connection, dry_run=True)
    assert stack.start(connection, dry_run=True) == preview_id  # the same request while queued
    preview = stack.run(preview_id)
    assert preview["kind"] == "catalog_import" and preview["status"] == "succeeded"
    result = preview["result"]
    assert (result["dry_run"], result["products"], result["variants"]) == (True, 6, 15)
    assert (result["to_create"], result["unchanged"], result["skipped"]) == (13, 1, 1)
    assert result["collisions"] == [
        {"sku": "MUG", "field": "price", "omnistock_value": "600 USD", "channel_value": "700 USD"}
    ]
    [no_sku] = result["without_sku"]
    assert no_sku["generated_sku"].startswith("IMP-") and no_sku["title"]
    before = stack.state(connection)
    assert set(before[0]) == {"MUG"} and before[3] == {}  # a dry run changes nothing

    first = stack.run(
        stack.start(connection, without_sku="generate", resolutions={"MUG": {"price": "channel"}})
    )
    assert first["status"] == "succeeded", first
    r = first["result"]
    assert (r["to_create"], r["to_update"], r["mapped"], r["quantities_set"], r["errors"]) == (
        14,
        1,
        15,
        13,
        [],
    )
    assert first["progress"] == {"done": 15, "total": 15}
    catalog, stock, ledger, listings = stack.state(connection)
    assert len(catalog) == 15 and no_sku["generated_sku"] in catalog
    assert catalog["TEE1-M"] == ("Tee 1", 1999, [("Size", "M")], 180)
    assert catalog["MUG"][1] == 700  # the merchant took the channel's price
    products = stack.catalog.ListProducts(
        cat_pb.ListProductsRequest(page=common_pb2.PageRequest(limit=50)), metadata=stack.md()
    ).products
    described = {p.title: p.description for p in products}
    assert described["Tee 1"] == "Tee number 1" and described["Mug"] == ""  # OmniStock's Mug kept as it was
    images = {p.title: list(p.image_urls) for p in products}
    assert images["Tee 1"] == ["https://cdn.example.test/tee1.jpg"] and images["Mug"] == []
    assert stock["TEE3-L"] == 11 and stock[no_sku["generated_sku"]] == 6
    assert stock["MUG"] == 0  # an existing SKU keeps OmniStock's stock
    assert len(ledger) == 13 and ("TEE1-M", 4) in ledger  # TEE0-S starts at 0: no movement
    [move] = stack.inventory.ListMovements(
        inv_pb.ListMovementsRequest(sku="TEE1-M"), metadata=stack.md()
    ).movements
    assert (
        channel in move.note and connection in move.note and move.reference == f"channel-import:{connection}"
    )
    assert set(listings) == set(catalog)

    second = stack.run(
        stack.start(connection, without_sku="generate", resolutions={"MUG": {"price": "channel"}})
    )
    r2 = second["result"]
    assert (r2["to_create"], r2["to_update"], r2["unchanged"], r2["quantities_set"]) == (0, 0, 15, 0)
    assert stack.state(connection) == (catalog, stock, ledger, listings)


class Killed(BaseException):
    """A worker process dying (not an error the job would record)."""


def test_an_import_killed_halfway_resumes_and_ends_like_an_uncrashed_one(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 100 are asked; the Shopify connector answers 6 products a page, so the 14-product
    shop takes 3 pages. The first worker dies after 2 pages; the second takes the stale job over
    and dies on page 3 between its writes and its checkpoint; the third finishes. The tally, the
    stock and the ledger are those of an import that never crashed: nothing twice, nothing lost."""
    products = shop_products()
    products += [
        {"title": f"Sock {i}", "variants": [{"sku": f"SOCK-{i}", "price": "3", "quantity": i}]}
        for i in range(8)
    ]
    assert httpx.post(f"{stack.shopify_url}/_sandbox/catalog", json={"products": products}).status_code == 201
    connection = connect_shopify(stack)
    stack.tenant = _tenant_of(stack, connection)

    job_id = stack.start(connection, without_sku="generate")
    row_of = lambda: stack.deps.uow.run(lambda repo: repo.get_job_any_tenant(job_id))  # noqa: E731
    now = stack.deps.clock()
    assert stack.deps.uow.run(lambda repo: repo.claim_job(job_id, now, now - STALE_AFTER))
    stopped = catalog_import.run_catalog_import(stack.deps, job_id, row_of(), stop_after_pages=2)
    assert stopped == catalog_import.Stopped(2)
    halfway = stack.job(job_id)
    assert halfway["status"] == "running" and halfway["progress"]["done"] == 21  # 15 + 6 variants
    catalog_half, _, ledger_half, _ = stack.state(connection)
    assert 0 < len(catalog_half) < 23 and ledger_half

    assert jobs.run_job(stack.deps, job_id) == "skipped"  # its heartbeat is fresh: not taken over
    # The second worker dies on page 3 after its writes (stock set, variants upserted) but before
    # its checkpoint; a third one replays that page.
    later = now + STALE_AFTER + timedelta(seconds=1)
    real_commit = catalog_import._commit_page

    def die(*args: Any, **kwargs: Any) -> None:
        raise Killed

    monkeypatch.setattr(catalog_import, "_commit_page", die)
    with pytest.raises(Killed):
        jobs.run_job(stack.deps, job_id, now=later)
    monkeypatch.setattr(catalog_import, "_commit_page", real_commit)
    assert stack.job(job_id)["status"] == "running"
    even_later = later + STALE_AFTER + timedelta(seconds=1)
    assert jobs.run_job(stack.deps, job_id, now=even_later) == "done"
    done = stack.job(job_id)
    assert done["status"] == "succeeded", done
    r = done["result"]
    assert (r["products"], r["variants"], r["to_create"], r["quantities_set"]) == (14, 23, 23, 21)
    resumed = stack.state(connection)
    assert len(resumed[0]) == 23 and len(resumed[2]) == 21  # TEE0-S and SOCK-0 start at 0
    assert resumed[1]["SOCK-7"] == 7 and sum(resumed[1].values()) == sum(d for _, d in resumed[2])

    # Replaying the last page (a worker dying after its writes, before its checkpoint) changes
    # nothing either: the same key, the same SKUs.
    again = stack.run(stack.start(connection, without_sku="generate"))
    assert again["result"]["to_create"] == 0 and stack.state(connection) == resumed
