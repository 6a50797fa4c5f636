"""Webhook intake (verify via connector, dedupe, store, no tenant metadata) and listings
(put, keyset pages, auto-map by SKU with unmapped SKUs reported)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from sqlalchemy import Engine

from channels import models
from omnistock.catalog.v1 import catalog_service_pb2 as catalog_pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc as catalog_grpc
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock.common.v1 import common_pb2
from omnistock_common.context import call_context
from omnistock_common.grpc_server import RunningServer, build_server
from omnistock_devtools.fake_connector import (
    DELIVERY_HEADER,
    GOOD_KEY,
    GOOD_SECRET,
    SIGNATURE_HEADER,
    TOPIC_HEADER,
    WEBHOOK_SECRET,
    sign_body,
)

BODY = json.dumps({"id": 1001, "line_items": [{"sku": "TEE", "quantity": 1}]}).encode()


def connect_woo(client: Any) -> pb.Connection:
    return client.CreateConnection(
        pb.CreateConnectionRequest(
            type="woocommerce",
            name="Woo",
            settings={"api_base_url": "http://127.0.0.1:8702"},
            credentials={
                "consumer_key": GOOD_KEY,
                "consumer_secret": GOOD_SECRET,
                "webhook_secret": WEBHOOK_SECRET,
            },
        )
    ).connection


def ingest(raw_stub: Any, connection_id: str, body: bytes, **headers: str) -> pb.IngestWebhookResponse:
    return raw_stub.IngestWebhook(
        pb.IngestWebhookRequest(
            channel_type="woocommerce", connection_id=connection_id, headers=headers, raw_body=body
        ),
        timeout=10,
    )


def deliveries(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(models.webhook_deliveries.select()).all()


def test_webhook_is_verified_deduped_and_stored_raw(client: Any, raw_stub: Any, engine: Engine) -> None:
    woo = connect_woo(client)
    good = {SIGNATURE_HEADER: sign_body(BODY), DELIVERY_HEADER: "d-1", TOPIC_HEADER: "order.created"}
    first = ingest(raw_stub, woo.id, BODY, **good)
    assert (first.accepted, first.delivery_id) == (True, "d-1")
    again = ingest(raw_stub, woo.id, BODY, **good)
    assert (again.accepted, again.delivery_id) == (False, "d-1")
    rows = deliveries(engine)
    assert len(rows) == 1
    row = rows[0]
    assert (bytes(row.raw_body), row.topic, row.kind, row.status, row.tenant_id) == (
        BODY,
        "order.created",
        "order",
        "received",
        "tenant-a",
    )
    with engine.connect() as conn:
        events = [r.event_type for r in conn.execute(models.outbox.select())]
    assert events.count("channels.webhook_received") == 1


def test_bad_signature_is_unauthenticated_and_stores_nothing(
    client: Any, raw_stub: Any, engine: Engine
) -> None:
    woo = connect_woo(client)
    with pytest.raises(grpc.RpcError) as bad:
        ingest(raw_stub, woo.id, BODY, **{SIGNATURE_HEADER: sign_body(BODY, "wrong"), DELIVERY_HEADER: "d-2"})
    assert bad.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert deliveries(engine) == []
    # A bad signature says nothing about the connection's own credentials.
    conn = client.GetConnection(pb.GetConnectionRequest(connection_id=woo.id)).connection
    assert conn.status == pb.CONNECTION_STATUS_CONNECTED


def test_ping_is_accepted_and_nothing_is_stored(client: Any, raw_stub: Any, engine: Engine) -> None:
    woo = connect_woo(client)
    assert ingest(raw_stub, woo.id, b"webhook_id=17").accepted
    assert deliveries(engine) == []


def test_unknown_connection_wrong_type_and_bad_signature_are_the_same_refusal(
    client: Any, raw_stub: Any, engine: Engine, fakes: Any
) -> None:
    """No oracle for which connection ids exist: all three are one UNAUTHENTICATED, word for word,
    and an unknown id is still verified by the connector (a throw-away secret), like a real one."""
    woo = connect_woo(client)
    signed = {SIGNATURE_HEADER: sign_body(BODY), DELIVERY_HEADER: "d-9", TOPIC_HEADER: "order.created"}
    forged = {**signed, SIGNATURE_HEADER: sign_body(BODY, "attacker")}
    before = fakes.woocommerce.calls["ParseWebhook"]
    answers = []
    for channel_type, connection_id, headers in (
        ("woocommerce", "no-such-id", signed),
        ("shopify", woo.id, signed),
        ("woocommerce", woo.id, forged),
        ("etsy", woo.id, signed),  # no such channel type
    ):
        with pytest.raises(grpc.RpcError) as refused:
            raw_stub.IngestWebhook(
                pb.IngestWebhookRequest(
                    channel_type=channel_type, connection_id=connection_id, headers=headers, raw_body=BODY
                ),
                timeout=10,
            )
        answers.append((refused.value.code(), refused.value.details()))
    assert answers == [(grpc.StatusCode.UNAUTHENTICATED, "webhook rejected")] * 4
    # The unknown id and the real one each cost one connector verification.
    assert fakes.woocommerce.calls["ParseWebhook"] - before == 2
    assert deliveries(engine) == []


def test_ping_to_an_unknown_connection_is_acknowledged_like_a_known_one(
    raw_stub: Any, engine: Engine
) -> None:
    reply = ingest(raw_stub, "no-such-id", b"webhook_id=17")
    assert reply.accepted
    assert deliveries(engine) == []


def test_app_uninstalled_webhook_disconnects(client: Any, raw_stub: Any) -> None:
    woo = connect_woo(client)
    body = b'{"id": 1}'
    ingest(
        raw_stub,
        woo.id,
        body,
        **{SIGNATURE_HEADER: sign_body(body), DELIVERY_HEADER: "u", TOPIC_HEADER: "app/uninstalled"},
    )
    conn = client.GetConnection(pb.GetConnectionRequest(connection_id=woo.id)).connection
    assert conn.status == pb.CONNECTION_STATUS_DISCONNECTED and "uninstalled" in conn.status_reason


def test_put_and_page_listings(client: Any, client_for: Any) -> None:
    woo = connect_woo(client)
    for sku in ("C", "A", "B"):
        client.PutListing(
            pb.PutListingRequest(connection_id=woo.id, sku=sku, external_ids={"product_id": sku.lower()})
        )
    updated = client.PutListing(
        pb.PutListingRequest(
            connection_id=woo.id, sku="A", external_ids={"product_id": "1", "variation_id": "2"}
        )
    ).listing
    assert dict(updated.external_ids) == {"product_id": "1", "variation_id": "2"}
    assert not updated.HasField("last_pushed_quantity")
    seen: list[str] = []
    cursor = ""
    while True:
        page = client.ListListings(
            pb.ListListingsRequest(connection_id=woo.id, page=common_pb2.PageRequest(limit=2, cursor=cursor))
        )
        seen += [item.sku for item in page.listings]
        cursor = page.page.next_cursor
        if not cursor:
            break
    assert seen == ["A", "B", "C"]
    with pytest.raises(grpc.RpcError) as empty_ids:
        client.PutListing(pb.PutListingRequest(connection_id=woo.id, sku="D"))
    assert empty_ids.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as foreign:
        client_for("tenant-b").ListListings(pb.ListListingsRequest(connection_id=woo.id))
    assert foreign.value.code() is grpc.StatusCode.NOT_FOUND


def test_auto_map_reports_unmapped_and_unknown_skus(client: Any, fakes: Any) -> None:
    fakes.woocommerce.remote_products = [
        ("TEE-S", {"product_id": "10", "variation_id": "11"}),
        ("TEE-M", {"product_id": "10", "variation_id": "12"}),
        ("MUG", {"product_id": "20"}),
        ("REMOTE-ONLY", {"product_id": "30"}),
    ]
    woo = connect_woo(client)
    result = client.AutoMapListings(
        pb.AutoMapListingsRequest(connection_id=woo.id, skus=["TEE-S", "TEE-M", "MUG", "HAT"])
    )
    assert result.mapped == 3
    assert list(result.unmapped_skus) == ["HAT"]
    assert list(result.unknown_remote_skus) == ["REMOTE-ONLY"]
    assert fakes.woocommerce.calls["ListRemoteProducts"] == 2  # every page was read
    listings = {
        item.sku: dict(item.external_ids)
        for item in client.ListListings(pb.ListListingsRequest(connection_id=woo.id)).listings
    }
    assert listings == {
        "MUG": {"product_id": "20"},
        "TEE-M": {"product_id": "10", "variation_id": "12"},
        "TEE-S": {"product_id": "10", "variation_id": "11"},
    }
    log = client.ListSyncLog(pb.ListSyncLogRequest(connection_id=woo.id, limit=1)).entries[0]
    assert (log.operation, list(log.skus)) == ("auto_map", ["HAT"])


class _Catalog(catalog_grpc.CatalogServiceServicer):
    """Only ListProducts, paged one product at a time, per tenant."""

    def ListProducts(self, request: Any, context: grpc.ServicerContext) -> Any:
        products = {
            "tenant-a": [
                catalog_pb.Product(
                    id="p1", variants=[catalog_pb.Variant(sku="TEE-S"), catalog_pb.Variant(sku="TEE-M")]
                ),
                catalog_pb.Product(id="p2", variants=[catalog_pb.Variant(sku="SOCKS")]),
            ]
        }.get(call_context(context).tenant_id, [])
        start = int(request.page.cursor or 0)
        more = start + 1 < len(products)
        return catalog_pb.ListProductsResponse(
            products=products[start : start + 1],
            page=common_pb2.PageResponse(next_cursor=str(start + 1) if more else ""),
        )


@pytest.fixture
def catalog_port() -> Iterator[int]:
    name = catalog_pb.DESCRIPTOR.services_by_name["CatalogService"].full_name
    servicer = _Catalog()
    running: RunningServer = build_server(
        [lambda s: catalog_grpc.add_CatalogServiceServicer_to_server(servicer, s)], [name], "127.0.0.1:0"
    )
    yield running.port
    running.server.stop(None).wait()


@pytest.fixture
def env(env: dict[str, str], catalog_port: int) -> dict[str, str]:
    return {**env, "CATALOG_ADDR": f"127.0.0.1:{catalog_port}"}


def test_auto_map_without_skus_uses_the_tenants_catalog(client: Any, fakes: Any) -> None:
    fakes.woocommerce.remote_products = [("TEE-S", {"product_id": "1"}), ("OTHER", {"product_id": "2"})]
    woo = connect_woo(client)
    result = client.AutoMapListings(pb.AutoMapListingsRequest(connection_id=woo.id))
    assert result.mapped == 1
    assert list(result.unmapped_skus) == ["TEE-M", "SOCKS"]
    assert list(result.unknown_remote_skus) == ["OTHER"]
