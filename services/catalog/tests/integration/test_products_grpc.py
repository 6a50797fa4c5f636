"""Products and variants through the real gRPC server: CRUD, tenancy, versions, listing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from omnistock.catalog.v1 import catalog_service_pb2 as pb
from omnistock.common.v1.common_pb2 import Money, PageRequest

if TYPE_CHECKING:
    from conftest import Catalog  # type: ignore[import-not-found]


def usd(minor: int) -> Money:
    return Money(amount_minor=minor, currency="USD")


def variant_input(sku: str, price: int = 1000, **kwargs: object) -> pb.VariantInput:
    return pb.VariantInput(sku=sku, price=usd(price), **kwargs)  # type: ignore[arg-type]


def create(
    catalog: Catalog, title: str, *skus: str, tenant: str = "tenant-a", **kwargs: object
) -> pb.Product:
    request = pb.CreateProductRequest(title=title, variants=[variant_input(s) for s in skus], **kwargs)  # type: ignore[arg-type]
    return catalog.stub.CreateProduct(request, metadata=catalog.md(tenant)).product


def rpc_error(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as exc:
        call()  # type: ignore[operator]
    return exc.value


def violations(error: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "INVALID_ARGUMENT must carry google.rpc details"
    found: dict[str, str] = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found.update((v.field, v.description) for v in bad.field_violations)
    return found


def test_product_lifecycle(catalog: Catalog) -> None:
    stub, md = catalog.stub, catalog.md()
    request = pb.CreateProductRequest(
        title="  T-shirt ",
        description="Organic cotton",
        variants=[
            variant_input("TS-S", 1999, options=[pb.VariantOption(name="Size", value="S")], barcode="0001"),
            variant_input("TS-M", 1999, options=[pb.VariantOption(name="Size", value="M")], weight_grams=180),
            variant_input("TS-L", 2199, cost=usd(800)),
        ],
    )
    product = stub.CreateProduct(request, metadata=md).product
    assert (product.title, product.status, product.version) == ("T-shirt", pb.PRODUCT_STATUS_ACTIVE, 1)
    assert [v.sku for v in product.variants] == ["TS-S", "TS-M", "TS-L"]
    assert product.variants[0].barcode == "0001" and not product.variants[1].HasField("barcode")
    assert product.variants[1].weight_grams == 180 and product.variants[2].cost.amount_minor == 800
    assert product.created_at.ToDatetime() == product.updated_at.ToDatetime()

    fetched = stub.GetProduct(pb.GetProductRequest(product_id=product.id), metadata=md).product
    assert fetched == product

    updated = stub.UpdateProduct(
        pb.UpdateProductRequest(
            product_id=product.id,
            product=pb.Product(title="Tee", status=pb.PRODUCT_STATUS_DRAFT, description="ignored"),
            update_mask=FieldMask(paths=["title", "status"]),
            expected_version=1,
        ),
        metadata=md,
    ).product
    assert (updated.title, updated.status, updated.description, updated.version) == (
        "Tee",
        pb.PRODUCT_STATUS_DRAFT,
        "Organic cotton",
        2,
    )
    assert updated.updated_at.ToDatetime() >= product.updated_at.ToDatetime()

    added = stub.AddVariant(
        pb.AddVariantRequest(product_id=product.id, variant=variant_input("TS-XL", 2399)), metadata=md
    ).variant
    assert (added.version, added.product_id) == (1, product.id)

    changed = stub.UpdateVariant(
        pb.UpdateVariantRequest(
            variant_id=added.id,
            variant=pb.VariantInput(price=usd(2499), sku="ignored-not-in-mask"),
            update_mask=FieldMask(paths=["price"]),
            expected_version=1,
        ),
        metadata=md,
    ).variant
    assert (changed.sku, changed.price.amount_minor, changed.version) == ("TS-XL", 2499, 2)

    stub.DeleteVariant(pb.DeleteVariantRequest(variant_id=added.id, expected_version=2), metadata=md)
    current = stub.GetProduct(pb.GetProductRequest(product_id=product.id), metadata=md).product
    # title+status, add, variant update and variant delete: every change bumps the product.
    assert current.version == 5
    assert [v.sku for v in current.variants] == ["TS-S", "TS-M", "TS-L"]

    stub.DeleteProduct(pb.DeleteProductRequest(product_id=product.id), metadata=md)
    error = rpc_error(lambda: stub.GetProduct(pb.GetProductRequest(product_id=product.id), metadata=md))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    found = stub.GetVariantsBySku(pb.GetVariantsBySkuRequest(skus=["TS-S"]), metadata=md)
    assert list(found.missing_skus) == ["TS-S"] and not found.variants


def test_validation_errors_name_the_fields(catalog: Catalog) -> None:
    request = pb.CreateProductRequest(
        title="Bad",
        variants=[
            variant_input("OK-1"),
            pb.VariantInput(sku="BAD 2", price=Money(amount_minor=-5, currency="EUX")),
        ],
    )
    error = rpc_error(lambda: catalog.stub.CreateProduct(request, metadata=catalog.md()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(error)) == {
        "variants[1].sku",
        "variants[1].price.currency",
        "variants[1].price.amount_minor",
    }
    error = rpc_error(
        lambda: catalog.stub.CreateProduct(
            pb.CreateProductRequest(title="No variants"), metadata=catalog.md()
        )
    )
    assert set(violations(error)) == {"variants"}


def test_duplicate_sku_is_already_exists(catalog: Catalog) -> None:
    product = create(catalog, "First", "DUP-1", "OTHER-1")
    error = rpc_error(lambda: create(catalog, "Second", "NEW-1", "DUP-1"))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "DUP-1" in error.details()
    error = rpc_error(
        lambda: catalog.stub.UpdateVariant(
            pb.UpdateVariantRequest(
                variant_id=product.variants[1].id,
                variant=pb.VariantInput(sku="DUP-1"),
                update_mask=FieldMask(paths=["sku"]),
            ),
            metadata=catalog.md(),
        )
    )
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    # The same SKU is free in another tenant.
    assert create(catalog, "Theirs", "DUP-1", tenant="tenant-b").variants[0].sku == "DUP-1"


def test_another_tenants_objects_are_not_found(catalog: Catalog) -> None:
    mine = create(catalog, "Mine", "MINE-1", "MINE-2")
    theirs = catalog.md("tenant-b")
    stub = catalog.stub
    missing = rpc_error(
        lambda: stub.GetProduct(pb.GetProductRequest(product_id="no-such-id"), metadata=theirs)
    )
    calls = [
        lambda: stub.GetProduct(pb.GetProductRequest(product_id=mine.id), metadata=theirs),
        lambda: stub.UpdateProduct(
            pb.UpdateProductRequest(
                product_id=mine.id, product=pb.Product(title="Hijack"), update_mask=FieldMask(paths=["title"])
            ),
            metadata=theirs,
        ),
        lambda: stub.DeleteProduct(pb.DeleteProductRequest(product_id=mine.id), metadata=theirs),
        lambda: stub.AddVariant(
            pb.AddVariantRequest(product_id=mine.id, variant=variant_input("X")), metadata=theirs
        ),
    ]
    for call in calls:
        error = rpc_error(call)
        assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, missing.details())
    variant_calls = [
        lambda: stub.UpdateVariant(
            pb.UpdateVariantRequest(
                variant_id=mine.variants[0].id,
                variant=variant_input("X"),
                update_mask=FieldMask(paths=["sku"]),
            ),
            metadata=theirs,
        ),
        lambda: stub.DeleteVariant(pb.DeleteVariantRequest(variant_id=mine.variants[0].id), metadata=theirs),
    ]
    missing_variant = rpc_error(variant_calls[1])
    for call in variant_calls:
        error = rpc_error(call)
        assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, missing_variant.details())
    assert not stub.ListProducts(pb.ListProductsRequest(), metadata=theirs).products
    assert list(
        stub.GetVariantsBySku(pb.GetVariantsBySkuRequest(skus=["MINE-1"]), metadata=theirs).missing_skus
    ) == ["MINE-1"]
    # Nothing of tenant A changed.
    assert stub.GetProduct(pb.GetProductRequest(product_id=mine.id), metadata=catalog.md()).product == mine


def test_missing_tenant_is_rejected(catalog: Catalog) -> None:
    error = rpc_error(lambda: catalog.stub.ListProducts(pb.ListProductsRequest()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def test_version_conflicts_are_aborted(catalog: Catalog) -> None:
    product = create(catalog, "Versioned", "V-1", "V-2")
    stub, md = catalog.stub, catalog.md()
    rename = pb.UpdateProductRequest(
        product_id=product.id,
        product=pb.Product(title="B"),
        update_mask=FieldMask(paths=["title"]),
        expected_version=1,
    )
    assert stub.UpdateProduct(rename, metadata=md).product.version == 2
    rename.product.title = "C"
    error = rpc_error(lambda: stub.UpdateProduct(rename, metadata=md))  # still expects 1
    assert error.code() == grpc.StatusCode.ABORTED
    error = rpc_error(
        lambda: stub.DeleteProduct(
            pb.DeleteProductRequest(product_id=product.id, expected_version=1), metadata=md
        )
    )
    assert error.code() == grpc.StatusCode.ABORTED
    error = rpc_error(
        lambda: stub.UpdateVariant(
            pb.UpdateVariantRequest(
                variant_id=product.variants[0].id,
                variant=pb.VariantInput(barcode="1"),
                update_mask=FieldMask(paths=["barcode"]),
                expected_version=3,
            ),
            metadata=md,
        )
    )
    assert error.code() == grpc.StatusCode.ABORTED
    current = stub.GetProduct(pb.GetProductRequest(product_id=product.id), metadata=md).product
    assert (current.title, current.version) == ("B", 2)


def test_unknown_mask_path_and_last_variant(catalog: Catalog) -> None:
    product = create(catalog, "Masked", "M-1")
    error = rpc_error(
        lambda: catalog.stub.UpdateProduct(
            pb.UpdateProductRequest(
                product_id=product.id,
                product=pb.Product(title="Renamed"),
                update_mask=FieldMask(paths=["title", "variants"]),
            ),
            metadata=catalog.md(),
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == {"update_mask": "unknown field 'variants'"}
    error = rpc_error(
        lambda: catalog.stub.UpdateVariant(
            pb.UpdateVariantRequest(
                variant_id=product.variants[0].id, update_mask=FieldMask(paths=["colour"])
            ),
            metadata=catalog.md(),
        )
    )
    assert set(violations(error)) == {"update_mask"}
    error = rpc_error(
        lambda: catalog.stub.DeleteVariant(
            pb.DeleteVariantRequest(variant_id=product.variants[0].id), metadata=catalog.md()
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_list_filters(catalog: Catalog) -> None:
    shirt = create(catalog, "Blue Shirt", "SH-BLUE-1", "SH-BLUE-2")
    mug = create(catalog, "Coffee mug", "MUG_100%", status=pb.PRODUCT_STATUS_DRAFT)
    cap = create(catalog, "Cap", "CAP-1", status=pb.PRODUCT_STATUS_ARCHIVED)
    create(catalog, "Blue Shirt", "OTHER-TENANT", tenant="tenant-b")
    stub, md = catalog.stub, catalog.md()

    def ids(**kwargs: object) -> list[str]:
        found = [p.id for p in stub.ListProducts(pb.ListProductsRequest(**kwargs), metadata=md).products]  # type: ignore[arg-type]
        # CountProducts applies the very same filters.
        assert stub.CountProducts(pb.CountProductsRequest(**kwargs), metadata=md).count == len(found)  # type: ignore[arg-type]
        return found

    assert ids() == [shirt.id, mug.id, cap.id]
    assert ids(query="SHIRT") == [shirt.id]
    assert ids(query="blue-2") == [shirt.id]  # matches a SKU, case-insensitively
    assert ids(query="_100%") == [mug.id]  # LIKE wildcards are literal
    assert ids(query="-1") == [shirt.id, cap.id]
    assert ids(status=pb.PRODUCT_STATUS_DRAFT) == [mug.id]
    assert ids(sku_prefix="SH-") == [shirt.id]
    assert ids(sku_prefix="sh-") == []
    assert ids(sku_prefix="CAP", status=pb.PRODUCT_STATUS_ACTIVE) == []

    since = Timestamp()
    since.FromDatetime(datetime.now(UTC))
    assert ids(updated_since=since) == []
    stub.UpdateProduct(
        pb.UpdateProductRequest(
            product_id=mug.id, product=pb.Product(title="Tea mug"), update_mask=FieldMask(paths=["title"])
        ),
        metadata=md,
    )
    assert ids(updated_since=since) == [mug.id]

    too_long = pb.CountProductsRequest(query="x" * 256)
    assert (
        rpc_error(lambda: stub.CountProducts(too_long, metadata=md)).code()
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    for bad in (PageRequest(limit=501), PageRequest(limit=-1), PageRequest(cursor="garbage!")):
        error = rpc_error(lambda bad=bad: stub.ListProducts(pb.ListProductsRequest(page=bad), metadata=md))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_pagination_is_stable_under_concurrent_inserts(catalog: Catalog) -> None:
    stub, md = catalog.stub, catalog.md()
    existing = [create(catalog, f"Product {i:02d}", f"P-{i:02d}").id for i in range(23)]
    seen: list[str] = []
    cursor, inserted = "", 0
    while True:
        response = stub.ListProducts(
            pb.ListProductsRequest(page=PageRequest(limit=5, cursor=cursor)), metadata=md
        )
        assert len(response.products) <= 5
        seen += [p.id for p in response.products]
        # Someone else keeps adding products while we page.
        for _ in range(2):
            create(catalog, f"Concurrent {inserted}", f"C-{inserted}")
            inserted += 1
        cursor = response.page.next_cursor
        if not cursor or inserted > 60:
            break
    assert len(seen) == len(set(seen)), "a product was listed twice"
    assert [i for i in seen if i in set(existing)] == existing, "a pre-existing product was skipped"
    # Every page carries its variants (loaded in one query per page).
    first = stub.ListProducts(pb.ListProductsRequest(page=PageRequest(limit=2)), metadata=md).products
    assert [p.variants[0].sku for p in first] == ["P-00", "P-01"]
