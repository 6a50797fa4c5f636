"""The fake connector's publishing RPCs over real gRPC, as the channels service's tests use them:
it records what it got, applies owned fields on update, rejects a blank title alone."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from omnistock.common.v1 import common_pb2
from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock.connector.v1 import connector_service_pb2_grpc as cpb_grpc
from omnistock_common.service_auth import internal_metadata
from omnistock_devtools.fake_connector import GOOD_KEY, GOOD_SECRET, FakeConnector, serve_fake

CONN = cpb.ConnectionContext(
    connection_id="c1",
    tenant_id="t1",
    channel_type="woocommerce",
    credentials=cpb.Credentials(secrets={"consumer_key": GOOD_KEY, "consumer_secret": GOOD_SECRET}),
)


@pytest.fixture
def fake() -> Iterator[tuple[FakeConnector, cpb_grpc.ConnectorServiceStub]]:
    connector = FakeConnector()
    running = serve_fake(connector)
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield connector, cpb_grpc.ConnectorServiceStub(channel)
    finally:
        channel.close()
        running.server.stop(None).wait()


def product(product_id: str, title: str, *skus: str, external_id: str = "") -> cpb.ProductUpsert:
    return cpb.ProductUpsert(
        product_id=product_id,
        product=cpb.CatalogProduct(
            external_id=external_id,
            title=title,
            description="desc",
            variants=[
                cpb.CatalogVariant(sku=s, price=common_pb2.Money(amount_minor=100, currency="USD"))
                for s in skus
            ],
        ),
    )


def test_upsert_records_rejects_a_blank_title_alone_and_updates_owned_fields(fake) -> None:  # type: ignore[no-untyped-def]
    connector, stub = fake
    meta = internal_metadata("t1")
    assert stub.Describe(cpb.DescribeRequest(), metadata=meta).max_product_batch == 50
    answer = stub.UpsertProducts(
        cpb.UpsertProductsRequest(
            connection=CONN,
            products=[product("p1", "Tee", "A", "B"), product("p2", " ", "C"), product("p3", "Mug", "D")],
        ),
        metadata=meta,
    )
    outcomes = [(r.product_id, r.outcome) for r in answer.results]
    assert outcomes == [
        ("p1", cpb.ITEM_OUTCOME_APPLIED),
        ("p2", cpb.ITEM_OUTCOME_REJECTED),
        ("p3", cpb.ITEM_OUTCOME_APPLIED),
    ]
    assert answer.results[1].message == "Title can't be blank"
    tee = answer.results[0]
    assert [v.sku for v in tee.variants] == ["A", "B"]
    assert tee.variants[0].remote.ids["product_id"] == tee.external_id
    assert [u.product_id for u in connector.upserts] == ["p1", "p2", "p3"]

    update = product("p1", "Tee 2", "A", external_id=tee.external_id)
    update.product.description = "not owned"
    update.owned_fields.append("title")
    [updated] = stub.UpsertProducts(
        cpb.UpsertProductsRequest(connection=CONN, products=[update]), metadata=meta
    ).results
    assert (updated.outcome, updated.external_id) == (cpb.ITEM_OUTCOME_APPLIED, tee.external_id)
    assert updated.variants[0].external_id == tee.variants[0].external_id
    stored = connector.published[tee.external_id]
    assert (stored.title, stored.description, len(stored.variants)) == ("Tee 2", "desc", 2)

    archived = stub.ArchiveProducts(
        cpb.ArchiveProductsRequest(
            connection=CONN,
            products=[
                cpb.ProductRef(product_id="p1", external_id=tee.external_id),
                cpb.ProductRef(product_id="p9", external_id="nope"),
            ],
        ),
        metadata=meta,
    )
    assert [r.outcome for r in archived.results] == [cpb.ITEM_OUTCOME_APPLIED, cpb.ITEM_OUTCOME_REJECTED]
    assert connector.archived == [tee.external_id] and stored.status == "archived"
    assert connector.calls["UpsertProducts"] == 2 and connector.calls["ArchiveProducts"] == 1
