"""Every product or variant change writes exactly one `catalog.product_changed` outbox row per
product, in its transaction, with the product's version after the change; a refused change
writes none. Through the real gRPC server, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import select

from catalog.models import outbox
from omnistock.catalog.v1 import catalog_service_pb2 as pb
from omnistock.common.v1.common_pb2 import Money
from omnistock_common.db import make_engine

if TYPE_CHECKING:
    from conftest import Catalog  # type: ignore[import-not-found]

TENANT = "tenant-a"
KEYS = {"tenant_id", "product_id", "version", "change", "skus", "removed_skus", "changed_at"}


def usd(minor: int) -> Money:
    return Money(amount_minor=minor, currency="USD")


def variant(sku: str, price: int = 1000) -> pb.VariantInput:
    return pb.VariantInput(sku=sku, price=usd(price))


class Outbox:
    """Reads the events written since the last call (each test's database is its own)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.seen = 0

    def new(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(outbox.c.id, outbox.c.tenant_id, outbox.c.event_type, outbox.c.payload)
                .where(outbox.c.id > self.seen)
                .order_by(outbox.c.id)
            ).all()
        if rows:
            self.seen = rows[-1].id
        events = []
        for row in rows:
            assert row.event_type == "catalog.product_changed" and row.tenant_id == TENANT
            payload = json.loads(row.payload)
            assert set(payload) == KEYS and payload["tenant_id"] == TENANT
            events.append(payload)
        return events

    def one(self) -> dict[str, Any]:
        events = self.new()
        assert len(events) == 1, events
        return events[0]


@pytest.fixture
def events(catalog: Catalog) -> Iterator[Outbox]:
    box = Outbox(catalog.database_url)
    yield box
    box.engine.dispose()


def refused(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as exc:
        call()
    return exc.value.code()


def test_each_product_and_variant_change_writes_one_event(catalog: Catalog, events: Outbox) -> None:
    stub, md = catalog.stub, catalog.md(TENANT)
    product = stub.CreateProduct(
        pb.CreateProductRequest(title="Tee", variants=[variant("TEE-S"), variant("TEE-M")]), metadata=md
    ).product
    created = events.one()
    assert created["product_id"] == product.id and created["change"] == "created"
    assert (created["version"], created["skus"], created["removed_skus"]) == (1, ["TEE-S", "TEE-M"], [])
    assert created["changed_at"].endswith("Z")

    updated = stub.UpdateProduct(
        pb.UpdateProductRequest(
            product_id=product.id, product=pb.Product(title="Tee 2"), update_mask=FieldMask(paths=["title"])
        ),
        metadata=md,
    ).product
    event = events.one()
    assert (event["change"], event["version"]) == ("updated", updated.version) and updated.version == 2
    assert event["skus"] == ["TEE-S", "TEE-M"]

    # Nothing changed: no new version, no event.
    stub.UpdateProduct(
        pb.UpdateProductRequest(
            product_id=product.id, product=pb.Product(title="Tee 2"), update_mask=FieldMask(paths=["title"])
        ),
        metadata=md,
    )
    assert events.new() == []

    added = stub.AddVariant(
        pb.AddVariantRequest(product_id=product.id, variant=variant("TEE-L")), metadata=md
    )
    event = events.one()
    assert (event["version"], event["skus"]) == (3, ["TEE-S", "TEE-M", "TEE-L"])

    stub.UpdateVariant(
        pb.UpdateVariantRequest(
            variant_id=added.variant.id, variant=variant("TEE-XL", 1200), update_mask=FieldMask(paths=["sku"])
        ),
        metadata=md,
    )
    event = events.one()
    assert (event["version"], event["skus"], event["removed_skus"]) == (
        4,
        ["TEE-S", "TEE-M", "TEE-XL"],
        ["TEE-L"],
    )

    stub.UpdateVariant(
        pb.UpdateVariantRequest(
            variant_id=added.variant.id, variant=variant("", 1300), update_mask=FieldMask(paths=["price"])
        ),
        metadata=md,
    )
    event = events.one()
    assert (event["version"], event["removed_skus"]) == (5, [])

    stub.DeleteVariant(pb.DeleteVariantRequest(variant_id=added.variant.id), metadata=md)
    event = events.one()
    assert (event["version"], event["skus"], event["removed_skus"]) == (6, ["TEE-S", "TEE-M"], ["TEE-XL"])
    fetched = stub.GetProduct(pb.GetProductRequest(product_id=product.id), metadata=md).product
    assert fetched.version == 6, "every variant change bumps the product's version"

    stub.DeleteProduct(pb.DeleteProductRequest(product_id=product.id, expected_version=6), metadata=md)
    gone = events.one()
    assert (gone["change"], gone["version"]) == ("deleted", 7)
    assert (gone["skus"], gone["removed_skus"]) == ([], ["TEE-M", "TEE-S"])


def test_refused_changes_write_no_event(catalog: Catalog, events: Outbox) -> None:
    stub, md = catalog.stub, catalog.md(TENANT)
    product = stub.CreateProduct(
        pb.CreateProductRequest(title="Mug", variants=[variant("MUG-1")]), metadata=md
    ).product
    events.one()
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    assert (
        refused(
            lambda: stub.CreateProduct(
                pb.CreateProductRequest(title=" ", variants=[variant("X-1")]), metadata=md
            )
        )
        == invalid
    )
    taken = pb.CreateProductRequest(title="Other", variants=[variant("NEW-1"), variant("MUG-1")])
    assert refused(lambda: stub.CreateProduct(taken, metadata=md)) == grpc.StatusCode.ALREADY_EXISTS
    bad_title = pb.UpdateProductRequest(
        product_id=product.id, product=pb.Product(title=""), update_mask=FieldMask(paths=["title"])
    )
    assert refused(lambda: stub.UpdateProduct(bad_title, metadata=md)) == invalid
    stale = pb.DeleteProductRequest(product_id=product.id, expected_version=9)
    assert refused(lambda: stub.DeleteProduct(stale, metadata=md)) == grpc.StatusCode.ABORTED
    bad_price = pb.AddVariantRequest(
        product_id=product.id,
        variant=pb.VariantInput(sku="MUG-2", price=Money(amount_minor=-1, currency="USD")),
    )
    assert refused(lambda: stub.AddVariant(bad_price, metadata=md)) == invalid
    last = stub.GetProduct(pb.GetProductRequest(product_id=product.id), metadata=md).product.variants[0]
    last_one = pb.DeleteVariantRequest(variant_id=last.id)
    assert refused(lambda: stub.DeleteVariant(last_one, metadata=md)) == grpc.StatusCode.FAILED_PRECONDITION
    assert events.new() == []


def test_bulk_upsert_writes_one_event_per_product(catalog: Catalog, events: Outbox) -> None:
    stub, md = catalog.stub, catalog.md(TENANT)
    existing = stub.CreateProduct(
        pb.CreateProductRequest(title="Hoodie", variants=[variant("HD-S")]), metadata=md
    ).product
    events.one()
    items = [
        pb.VariantUpsert(product_title="Hoodie", variant=variant("HD-S", 4100)),
        pb.VariantUpsert(product_title="Hoodie", variant=variant("HD-M", 4000)),
        pb.VariantUpsert(product_title="Beanie", variant=variant("BN-1", 1500)),
        pb.VariantUpsert(product_title="Beanie", variant=variant("BN-2", 1500)),
        pb.VariantUpsert(product_title="Broken", variant=pb.VariantInput(sku="BR-1")),  # no price
    ]
    results = stub.BulkUpsertVariants(pb.BulkUpsertVariantsRequest(items=items), metadata=md).results
    assert results[-1].outcome == pb.UPSERT_OUTCOME_FAILED
    by_product = {event["product_id"]: event for event in events.new()}
    assert len(by_product) == 2
    hoodie = by_product.pop(existing.id)
    assert (hoodie["change"], hoodie["version"], hoodie["skus"]) == ("updated", 2, ["HD-S", "HD-M"])
    [beanie] = by_product.values()
    assert (beanie["change"], beanie["version"], beanie["skus"]) == ("created", 1, ["BN-1", "BN-2"])

    # The same items again change nothing: no event.
    stub.BulkUpsertVariants(pb.BulkUpsertVariantsRequest(items=items[:4]), metadata=md)
    assert events.new() == []


def test_csv_import_writes_one_event_per_product_not_per_row(catalog: Catalog, events: Outbox) -> None:
    data = (
        b"product_title,sku,price,currency\n"
        b"Sock,SOCK-1,500,USD\nSock,SOCK-2,500,USD\nSock,SOCK-3,500,USD\nCap,CAP-1,900,USD\n"
        b"Bad,BAD-1,not-a-price,USD\n"
    )

    def requests() -> Iterator[pb.ImportProductsRequest]:
        yield pb.ImportProductsRequest(options=pb.ImportOptions())
        yield pb.ImportProductsRequest(chunk=data)

    report = catalog.stub.ImportProducts(requests(), metadata=catalog.md(TENANT))
    assert (report.created, len(report.errors)) == (4, 1)
    found = sorted((e["skus"], e["change"], e["version"]) for e in events.new())
    assert found == [(["CAP-1"], "created", 1), (["SOCK-1", "SOCK-2", "SOCK-3"], "created", 1)]
