"""Benchmark: the onboarding import (issue 15) of a 300-product / 900-variant shop, per channel.

In one process, on loopback: the Shopify and WooCommerce sandboxes (the shop made by
`POST /_sandbox/catalog {"generate": ...}`), both connector gRPC servers, catalog and inventory
gRPC servers and the channels gRPC server on fresh SQLite databases. For each channel it connects,
runs the preview job and the import job as the channels worker runs them (channels.jobs.run_job)
and prints variants/s of each, the connector pages and the calls the sandbox answered; then runs
the import again (nothing changes) and checks that catalog and stock match the shop.

    .venv/bin/python bench/onboarding_import.py [--products 300] [--variants 3] [--redis-url redis://127.0.0.1:6379/9]

Shopify pages are small by design (6 whole products per query: Shopify refuses a query whose
requested cost exceeds 1,000 points), so its rate is bound by sandbox round trips; WooCommerce
reads 100 products a page plus one variations call per variable product.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

import httpx

from catalog.config import load_settings as catalog_settings
from catalog.server import build as build_catalog
from catalog.server import with_port as catalog_port
from channel_sandboxes.common import serve
from channel_sandboxes.shopify.app import ShopifyConfig
from channel_sandboxes.shopify.app import create_app as shopify_sandbox
from channel_sandboxes.woocommerce.app import WooConfig
from channel_sandboxes.woocommerce.app import create_app as woo_sandbox
from channels import jobs
from channels.config import load_settings
from channels.import_clients import GrpcImportTargets
from channels.server import build
from inventory.config import load_settings as inventory_settings
from inventory.server import build as build_inventory
from omnistock.catalog.v1 import catalog_service_pb2 as cat_pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock.channels.v1 import channels_service_pb2_grpc as pb_grpc
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

TENANT = "bench-tenant"
BINDING = hashlib.sha256(b"bench-browser-nonce").hexdigest()


def _run_job(deps: Any, client: Any, md: Any, request: pb.StartCatalogImportRequest) -> tuple[pb.Job, float]:
    job_id = client.StartCatalogImport(request, metadata=md()).job_id
    started = time.perf_counter()
    assert jobs.run_job(deps, job_id) == "done"
    elapsed = time.perf_counter() - started
    return client.GetJob(pb.GetJobRequest(job_id=job_id), metadata=md()).job, elapsed


def _connect_shopify(client: Any, md: Any, base: str, shop: ShopifyConfig) -> str:
    start = client.StartOAuth(
        pb.StartOAuthRequest(
            type="shopify",
            settings={"shop_domain": shop.shop_domain, "api_base_url": base},
            redirect_uri="http://bench.test/callback",
            session_binding=BINDING,
        ),
        metadata=md(),
    )
    consent = httpx.get(start.authorization_url, follow_redirects=False)
    params = dict(parse_qsl(urlparse(consent.headers["location"]).query))
    done = client.CompleteOAuth(
        pb.CompleteOAuthRequest(
            callback_params=params, redirect_uri="http://bench.test/callback", session_binding=BINDING
        ),
        metadata=md(),
    )
    return str(done.connection.id)


def _connect_woo(client: Any, md: Any, base: str, woo: WooConfig) -> str:
    reply = client.CreateConnection(
        pb.CreateConnectionRequest(
            type="woocommerce",
            name="Woo",
            settings={"store_url": base},
            credentials={"consumer_key": woo.consumer_key, "consumer_secret": woo.consumer_secret},
        ),
        metadata=md(),
    )
    return str(reply.connection.id)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--variants", type=int, default=3, help="variants per product (1..6)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="onboarding-bench-"))
    env = {"REDIS_URL": args.redis_url, "LOG_LEVEL": "WARNING", "CHANNEL_ALLOWED_HOSTS": "127.0.0.1:*"}
    shop, woo = ShopifyConfig(restore_rate=100_000), WooConfig()
    shop_http, _ = serve(shopify_sandbox(shop))
    woo_http, _ = serve(woo_sandbox(woo))
    bases = {
        "shopify": f"http://127.0.0.1:{shop_http.server_port}",
        "woocommerce": f"http://127.0.0.1:{woo_http.server_port}",
    }
    connectors = {
        "shopify": shopify_server.build(
            shopify_server.with_port(shopify_config.load_settings(env), "127.0.0.1", 0)
        ),
        "woocommerce": woo_server.build(woo_server.with_port(woo_config.load_settings(env), "127.0.0.1", 0)),
    }
    urls = {name: f"sqlite:///{tmp / (name + '.db')}" for name in ("channels", "catalog", "inventory")}
    for name, url in urls.items():
        migrate(name, url)
    inventory = build_inventory(
        inventory_settings({"INVENTORY_DATABASE_URL": urls["inventory"], "INVENTORY_GRPC_PORT": "0", **env})
    )
    inventory_addr = f"127.0.0.1:{inventory.port}"
    catalog = build_catalog(
        catalog_port(
            catalog_settings(
                {"CATALOG_DATABASE_URL": urls["catalog"], "INVENTORY_ADDR": inventory_addr, **env}
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
                "PUBLIC_BASE_URL": "http://bench.test",
                "OAUTH_STATE_SECRET": "bench-oauth-state-secret-0123456789abcdef",
                "SHOPIFY_CONNECTOR_ADDR": f"127.0.0.1:{connectors['shopify'].port}",
                "WOOCOMMERCE_CONNECTOR_ADDR": f"127.0.0.1:{connectors['woocommerce'].port}",
                "CATALOG_ADDR": catalog_addr,
            }
        )
    )
    targets = GrpcImportTargets(catalog_addr, inventory_addr, 60.0)
    deps = dataclasses.replace(channels.parts.deps, imports=targets)
    grpc_channels = [
        make_channel(f"127.0.0.1:{channels.port}"),
        make_channel(catalog_addr),
        make_channel(inventory_addr),
    ]
    client = pb_grpc.ChannelsServiceStub(grpc_channels[0])
    catalog_stub = cat_grpc.CatalogServiceStub(grpc_channels[1])
    inventory_stub = inv_grpc.InventoryServiceStub(grpc_channels[2])
    # Fresh internal credentials per call: the WooCommerce import outlives one token.
    md = partial(internal_metadata, TENANT, "bench", "owner")
    failures = 0
    try:
        for channel_type in ("shopify", "woocommerce"):
            base = bases[channel_type]
            prefix = "SH" if channel_type == "shopify" else "WC"
            body = {
                "generate": {
                    "products": args.products,
                    "variants_per_product": args.variants,
                    "prefix": prefix,
                }
            }
            made = httpx.post(f"{base}/_sandbox/catalog", json=body, timeout=120)
            made.raise_for_status()
            shop_stock = {
                k: v
                for k, v in httpx.get(f"{base}/_sandbox/inventory").json().items()
                if k.startswith(prefix)
            }
            if channel_type == "shopify":
                connection = _connect_shopify(client, md, base, shop)
            else:
                connection = _connect_woo(client, md, base, woo)
            httpx.post(f"{base}/_sandbox/calls/reset")
            preview, preview_s = _run_job(
                deps, client, md, pb.StartCatalogImportRequest(connection_id=connection, dry_run=True)
            )
            imported, import_s = _run_job(
                deps, client, md, pb.StartCatalogImportRequest(connection_id=connection)
            )
            calls = httpx.get(f"{base}/_sandbox/calls").json()["total"]
            again, again_s = _run_job(
                deps, client, md, pb.StartCatalogImportRequest(connection_id=connection)
            )
            variants = imported.catalog_import.variants
            print(
                f"{channel_type:12} {imported.catalog_import.products} products / {variants} variants: "
                f"preview {preview_s:.2f}s ({variants / preview_s:.0f} variants/s), "
                f"import {import_s:.2f}s ({variants / import_s:.0f} variants/s), "
                f"second run {again_s:.2f}s; sandbox calls (preview + import) {calls}"
            )
            # Checks: everything created and stocked as the shop says; the second run changed nothing.
            stock = {}
            for sku in shop_stock:
                stock[sku] = inventory_stub.GetSkuStock(
                    inv_pb.GetSkuStockRequest(sku=sku), metadata=md()
                ).on_hand
            found = catalog_stub.GetVariantsBySku(
                cat_pb.GetVariantsBySkuRequest(skus=list(shop_stock)), metadata=md()
            )
            ok = (
                preview.catalog_import.to_create == variants
                and imported.catalog_import.to_create == variants
                and not found.missing_skus
                and stock == shop_stock
                and again.catalog_import.to_create == again.catalog_import.to_update == 0
                and again.catalog_import.quantities_set == 0
            )
            failures += not ok
            print(f"{'':12} checks: {'ok' if ok else 'FAILED'}")
        listed = catalog_stub.ListProducts(
            cat_pb.ListProductsRequest(page=common_pb2.PageRequest(limit=1)), metadata=md()
        ).products
        assert listed, "the catalog holds the imported products"
    finally:
        for ch in grpc_channels:
            ch.close()
        targets.close()
        channels.stop()
        catalog.stop()
        inventory.stop()
        for running in connectors.values():
            running.stop()
        shop_http.shutdown()
        woo_http.shutdown()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
