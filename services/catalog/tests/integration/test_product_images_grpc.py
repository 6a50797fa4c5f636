"""Product image URLs through the real gRPC server: stored in order, replaced by UpdateProduct's
mask path `image_urls`, kept by upserts; invalid ones are INVALID_ARGUMENT naming each bad item,
with nothing stored and no event written."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import func, select

from catalog.models import outbox
from omnistock.catalog.v1 import catalog_service_pb2 as pb
from omnistock.common.v1.common_pb2 import Money
from omnistock_common.db import make_engine

if TYPE_CHECKING:
    from conftest import Catalog  # type: ignore[import-not-found]

FRONT, BACK = "https://cdn.example.com/front.jpg", "HTTP://cdn.example.com:8080/back.png?w=1"


def variant(sku: str) -> pb.VariantInput:
    return pb.VariantInput(sku=sku, price=Money(amount_minor=1000, currency="USD"))


def violations(error: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT
    found: dict[str, str] = {}
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.update((v.field, v.description) for v in bad.field_violations)
    return found


def outbox_rows(catalog: Catalog) -> int:
    engine = make_engine(catalog.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())
    finally:
        engine.dispose()


def test_image_urls_round_trip_and_are_replaced_by_the_mask(catalog: Catalog) -> None:
    stub, md = catalog.stub, catalog.md()
    created = stub.CreateProduct(
        pb.CreateProductRequest(title="Tee", image_urls=[f" {FRONT} ", BACK], variants=[variant("T-1")]),
        metadata=md,
    ).product
    assert list(created.image_urls) == [FRONT, BACK]
    assert list(
        stub.GetProduct(pb.GetProductRequest(product_id=created.id), metadata=md).product.image_urls
    ) == [
        FRONT,
        BACK,
    ]

    def update(urls: list[str], paths: list[str]) -> pb.Product:
        request = pb.UpdateProductRequest(
            product_id=created.id,
            product=pb.Product(title="Tee", image_urls=urls),
            update_mask=FieldMask(paths=paths),
        )
        return stub.UpdateProduct(request, metadata=md).product

    # Not in the mask: ignored, and the same list again is no change (no new version).
    assert list(update([BACK], ["title"]).image_urls) == [FRONT, BACK]
    assert update([FRONT, BACK], ["image_urls"]).version == 1
    replaced = update([BACK, FRONT], ["image_urls"])
    assert (list(replaced.image_urls), replaced.version) == ([BACK, FRONT], 2)
    # An upsert of one of its variants keeps the images.
    stub.BulkUpsertVariants(
        pb.BulkUpsertVariantsRequest(items=[pb.VariantUpsert(product_title="Tee", variant=variant("T-2"))]),
        metadata=md,
    )
    after = stub.GetProduct(pb.GetProductRequest(product_id=created.id), metadata=md).product
    assert (list(after.image_urls), after.version) == ([BACK, FRONT], 3)
    assert update([], ["image_urls"]).image_urls == []


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        (["ftp://cdn.example.com/a.jpg", FRONT, "cdn.example.com/a.jpg"], {"image_urls[0]", "image_urls[2]"}),
        (["https:///no-host.jpg"], {"image_urls[0]"}),
        (["https://a:b@cdn.example.com/x.jpg"], {"image_urls[0]"}),
        (["https://cdn.example.com/\x00.jpg"], {"image_urls[0]"}),
        (["https://cdn.example.com/" + "a" * 2030], {"image_urls[0]"}),
        ([FRONT, BACK, FRONT], {"image_urls[2]"}),
        ([f"https://cdn.example.com/{i}.jpg" for i in range(21)], {"image_urls"}),
        ([""], {"image_urls[0]"}),
    ],
)
def test_invalid_image_urls_are_refused_with_details(
    catalog: Catalog, urls: list[str], expected: set[str]
) -> None:
    stub, md = catalog.stub, catalog.md()
    with pytest.raises(grpc.RpcError) as refused:
        stub.CreateProduct(
            pb.CreateProductRequest(title="Bad", image_urls=urls, variants=[variant("B-1")]), metadata=md
        )
    assert set(violations(refused.value)) == expected
    assert list(stub.ListProducts(pb.ListProductsRequest(), metadata=md).products) == []
    assert outbox_rows(catalog) == 0


def test_an_invalid_update_stores_nothing(catalog: Catalog) -> None:
    stub, md = catalog.stub, catalog.md()
    created = stub.CreateProduct(
        pb.CreateProductRequest(title="Tee", image_urls=[FRONT], variants=[variant("T-1")]), metadata=md
    ).product
    rows = outbox_rows(catalog)
    request = pb.UpdateProductRequest(
        product_id=created.id,
        product=pb.Product(title="Renamed", image_urls=[BACK, "mailto:x@example.com"]),
        update_mask=FieldMask(paths=["title", "image_urls"]),
    )
    with pytest.raises(grpc.RpcError) as refused:
        stub.UpdateProduct(request, metadata=md)
    assert set(violations(refused.value)) == {"product.image_urls[1]"}
    stored = stub.GetProduct(pb.GetProductRequest(product_id=created.id), metadata=md).product
    assert (stored.title, list(stored.image_urls), stored.version) == ("Tee", [FRONT], 1)
    assert outbox_rows(catalog) == rows
