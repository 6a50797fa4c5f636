"""BulkUpsertVariants, ImportProducts and ExportProducts through the real gRPC server."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import grpc
import pytest

from omnistock.catalog.v1 import catalog_service_pb2 as pb
from omnistock.common.v1.common_pb2 import Money

if TYPE_CHECKING:
    from conftest import Catalog  # type: ignore[import-not-found]

HEADER = (
    "product_title,sku,price,currency,cost,barcode,"
    "option1_name,option1_value,option2_name,option2_value,status,quantity,location\n"
)


def usd(minor: int) -> Money:
    return Money(amount_minor=minor, currency="USD")


def upsert(title: str, sku: str, price: int, status: int = 0, **variant: object) -> pb.VariantUpsert:
    return pb.VariantUpsert(
        product_title=title,
        product_status=status,  # type: ignore[arg-type]
        variant=pb.VariantInput(sku=sku, price=usd(price), **variant),  # type: ignore[arg-type]
    )


def import_csv(
    catalog: Catalog, data: bytes, *, chunk: int = 64 * 1024, tenant: str = "tenant-a", **options: object
) -> pb.ImportProductsResponse:
    def requests() -> Iterator[pb.ImportProductsRequest]:
        yield pb.ImportProductsRequest(options=pb.ImportOptions(**options))  # type: ignore[arg-type]
        for start in range(0, len(data), chunk):
            yield pb.ImportProductsRequest(chunk=data[start : start + chunk])

    return catalog.stub.ImportProducts(requests(), metadata=catalog.md(tenant))


def export_csv(catalog: Catalog, tenant: str = "tenant-a", status: int = 0) -> bytes:
    responses = catalog.stub.ExportProducts(
        pb.ExportProductsRequest(status=status), metadata=catalog.md(tenant)
    )  # type: ignore[arg-type]
    return b"".join(r.chunk for r in responses)


def all_products(catalog: Catalog, tenant: str = "tenant-a") -> list[pb.Product]:
    return list(catalog.stub.ListProducts(pb.ListProductsRequest(), metadata=catalog.md(tenant)).products)


def test_bulk_upsert_outcomes(catalog: Catalog) -> None:
    stub, md = catalog.stub, catalog.md()
    first = stub.BulkUpsertVariants(
        pb.BulkUpsertVariantsRequest(
            items=[
                upsert("Hoodie", "HD-S", 4000, barcode="111"),
                upsert("Hoodie", "HD-M", 4000),  # joins the product created by the item before
                upsert("Beanie", "BN-1", 1500, pb.PRODUCT_STATUS_DRAFT),
                upsert("Broken", "BR-1", 100, cost=Money(amount_minor=1, currency="XXX")),
                upsert("Hoodie", "HD-S", 4100),  # same SKU twice in one request
            ]
        ),
        metadata=md,
    ).results
    assert [r.outcome for r in first] == [
        pb.UPSERT_OUTCOME_CREATED,
        pb.UPSERT_OUTCOME_CREATED,
        pb.UPSERT_OUTCOME_CREATED,
        pb.UPSERT_OUTCOME_FAILED,
        pb.UPSERT_OUTCOME_FAILED,
    ]
    assert first[0].product_id == first[1].product_id != first[2].product_id
    assert (first[3].field, first[3].index) == ("variant.cost.currency", 3)
    assert "unsupported currency" in first[3].error_message
    assert (first[4].field, first[4].sku) == ("variant.sku", "HD-S")

    second = stub.BulkUpsertVariants(
        pb.BulkUpsertVariantsRequest(
            items=[
                upsert("Hoodie", "HD-S", 4000),  # barcode absent: left alone
                upsert("Hoodie", "HD-M", 4500),  # price change
                upsert("Beanie (wool)", "BN-1", 1500),  # product renamed
                upsert("Hoodie", "HD-L", 4000),  # new SKU joins the existing Hoodie
                upsert("Beanie", "BN-2", 1500, pb.PRODUCT_STATUS_ARCHIVED),  # "Beanie" no longer exists
            ]
        ),
        metadata=md,
    ).results
    assert [r.outcome for r in second] == [
        pb.UPSERT_OUTCOME_UNCHANGED,
        pb.UPSERT_OUTCOME_UPDATED,
        pb.UPSERT_OUTCOME_UPDATED,
        pb.UPSERT_OUTCOME_CREATED,
        pb.UPSERT_OUTCOME_CREATED,
    ]
    assert second[3].product_id == first[0].product_id
    assert second[4].product_id not in {first[0].product_id, first[2].product_id}
    products = {p.title: p for p in all_products(catalog)}
    assert set(products) == {"Hoodie", "Beanie (wool)", "Beanie"}
    hoodie = products["Hoodie"]
    assert [(v.sku, v.price.amount_minor, v.version) for v in hoodie.variants] == [
        ("HD-S", 4000, 1),
        ("HD-M", 4500, 2),
        ("HD-L", 4000, 1),
    ]
    assert hoodie.variants[0].barcode == "111"
    assert hoodie.version == 2  # one change per batch transaction
    assert products["Beanie (wool)"].status == pb.PRODUCT_STATUS_DRAFT
    assert products["Beanie"].status == pb.PRODUCT_STATUS_ARCHIVED


def generated_csv(rows: int) -> tuple[bytes, dict[int, str]]:
    """`rows` data rows; three are malformed. Returns the file and {row: bad column}."""
    out = io.StringIO()
    out.write(HEADER)
    bad: dict[int, str] = {}
    for i in range(rows):
        row = i + 2
        title = f"Product {i // 4}"
        sku, price = f"SKU-{i:05d}", f"{(i % 50) + 1}.{i % 100:02d}"
        if i == 100:
            price, bad[row] = "12.3.4", "price"
        elif i == 500:
            sku, bad[row] = "", "sku"
        elif i == 900:
            sku, bad[row] = "SKU-00010", "sku"  # the SKU of row 12, again
        size = ("S", "M", "L", "XL")[i % 4]
        csv.writer(out).writerow([title, sku, price, "", "", "", "Size", size, "", "", "", "", ""])
    return out.getvalue().encode(), bad


def test_import_1000_rows_with_3_malformed(catalog: Catalog) -> None:
    data, bad = generated_csv(1000)
    report = import_csv(catalog, data, chunk=1000, batch_size=128)
    assert (report.created, report.updated, report.unchanged, report.rows) == (997, 0, 0, 1000)
    assert [(e.row, e.column) for e in report.errors] == sorted(bad.items())
    by_row = {e.row: e.message for e in report.errors}
    assert "12.3.4" in by_row[102]
    assert "required" in by_row[502]
    assert "row 12" in by_row[902] and "SKU-00010" in by_row[902]
    found = catalog.stub.GetVariantsBySku(
        pb.GetVariantsBySkuRequest(skus=["SKU-00010", "SKU-00100", "SKU-00999", "SKU-00900"]),
        metadata=catalog.md(),
    )
    assert [v.sku for v in found.variants] == ["SKU-00010", "SKU-00999"]
    assert sorted(found.missing_skus) == ["SKU-00100", "SKU-00900"]
    assert found.variants[0].options[0] == pb.VariantOption(name="Size", value="L")  # row 12 is i=10
    assert not catalog.stock.calls  # no quantity column values: inventory is not called


def test_export_reimports_as_unchanged(catalog: Catalog) -> None:
    stub, md = catalog.stub, catalog.md()
    stub.CreateProduct(
        pb.CreateProductRequest(
            title='Mug "XL", 500ml\nceramic',
            status=pb.PRODUCT_STATUS_ARCHIVED,
            variants=[
                pb.VariantInput(
                    sku="MUG-1",
                    price=Money(amount_minor=1234, currency="KWD"),
                    cost=Money(amount_minor=5, currency="KWD"),
                    barcode="004200",
                    weight_grams=350,
                    options=[
                        pb.VariantOption(name="Colour", value="Blue, dark"),
                        pb.VariantOption(name="Größe", value="XL"),
                        pb.VariantOption(name="Finish", value="Matte"),
                    ],
                ),
                pb.VariantInput(sku="MUG-2", price=Money(amount_minor=900, currency="JPY")),
            ],
        ),
        metadata=md,
    )
    data, _ = generated_csv(300)
    assert import_csv(catalog, data).created == 299  # row 102 has a bad price
    before = all_products(catalog)

    exported = export_csv(catalog)
    lines = exported.decode().splitlines()
    assert lines[0].split(",") == [
        "product_title", "sku", "price", "currency", "cost", "barcode", "option1_name", "option1_value",
        "option2_name", "option2_value", "option3_name", "option3_value", "weight_grams", "status",
        "quantity", "location",
    ]  # fmt: skip
    report = import_csv(catalog, exported, chunk=777)
    assert (report.created, report.updated, report.unchanged, report.rows) == (0, 0, 301, 301)
    assert not report.errors
    assert all_products(catalog) == before  # not even a version bump

    only_archived = export_csv(catalog, status=pb.PRODUCT_STATUS_ARCHIVED).decode()
    assert only_archived.count("MUG-") == 2 and "SKU-" not in only_archived
    assert export_csv(catalog, tenant="tenant-b").decode().splitlines() == lines[:1]


def test_export_then_import_into_another_tenant_keeps_weight_grams(catalog: Catalog) -> None:
    catalog.stub.CreateProduct(
        pb.CreateProductRequest(
            title="Crate",
            variants=[
                pb.VariantInput(sku="CRATE-1", price=usd(100), weight_grams=12_500),
                pb.VariantInput(sku="CRATE-2", price=usd(100)),
            ],
        ),
        metadata=catalog.md(),
    )
    report = import_csv(catalog, export_csv(catalog), tenant="tenant-b")
    assert (report.created, list(report.errors)) == (2, [])
    (crate,) = all_products(catalog, tenant="tenant-b")
    weights = {v.sku: v.weight_grams if v.HasField("weight_grams") else None for v in crate.variants}
    assert weights == {"CRATE-1": 12_500, "CRATE-2": None}


def test_weight_column_updates_and_a_bad_weight_fails_only_its_row(catalog: Catalog) -> None:
    import_csv(catalog, b"product_title,sku,price\nCrate,C-1,1.00\nCrate,C-2,1.00\n")
    report = import_csv(
        catalog, b"product_title,sku,price,weight_grams\nCrate,C-1,1.00,750\nCrate,C-2,1.00,-5\n"
    )
    assert (report.updated, report.unchanged) == (1, 0)
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (3, "weight_grams", "must not be negative")
    ]
    (crate,) = all_products(catalog)
    assert [(v.sku, v.HasField("weight_grams"), v.weight_grams) for v in crate.variants] == [
        ("C-1", True, 750),
        ("C-2", False, 0),
    ]


def test_reimport_with_changes_reports_updates(catalog: Catalog) -> None:
    import_csv(catalog, (HEADER + "Tee,T-1,10.00,,,,Size,S,,,,,\nTee,T-2,10.00,,,,Size,M,,,,,\n").encode())
    report = import_csv(
        catalog,
        (
            HEADER + "Tee,T-1,10.00,,,,Size,S,,,,,\nTee,T-2,11.00,,,,Size,M,,,draft,,\nTee,T-3,12,,,,,,,,,,\n"
        ).encode(),
    )
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    (tee,) = all_products(catalog)
    assert (tee.status, [v.sku for v in tee.variants]) == (pb.PRODUCT_STATUS_DRAFT, ["T-1", "T-2", "T-3"])


def test_header_missing_a_column_changes_nothing(catalog: Catalog) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        import_csv(catalog, b"product_title,price,currency\nShirt,1.00,USD\n")
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "sku" in exc.value.details()
    assert all_products(catalog) == []


def test_options_after_data_is_rejected(catalog: Catalog) -> None:
    requests = iter(
        [
            pb.ImportProductsRequest(chunk=b"product_title,sku,price\n"),
            pb.ImportProductsRequest(options=pb.ImportOptions(default_currency="EUR")),
        ]
    )
    with pytest.raises(grpc.RpcError) as exc:
        catalog.stub.ImportProducts(requests, metadata=catalog.md())
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_import_options(catalog: Catalog) -> None:
    report = import_csv(
        catalog, b"\xef\xbb\xbfproduct_title,sku,price\nYen,Y-1,500\n", default_currency="jpy"
    )
    assert report.created == 1
    (product,) = all_products(catalog)
    assert product.variants[0].price == Money(amount_minor=500, currency="JPY")
    with pytest.raises(grpc.RpcError) as exc:
        import_csv(catalog, b"product_title,sku,price\n", batch_size=10_001)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_initial_stock_goes_to_the_stock_port(catalog: Catalog) -> None:
    data = (
        HEADER
        + "Tee,T-1,10,,,,,,,,,5,WH1\n"
        + "Tee,T-2,10,,,,,,,,,0,\n"
        + "Tee,REFUSE-3,10,,,,,,,,,2,NOWHERE\n"
        + "Tee,T-4,10,,,,,,,,,,\n"
        + "Tee,T-5,10,,,,,,,,,-3,\n"
        + "Tee,T-6,10,,,,,,,,,,WH1\n"
    ).encode()
    report = import_csv(catalog, data, batch_size=2, tenant="tenant-s")
    assert (report.created, report.rows) == (4, 6)
    assert [(e.row, e.column) for e in report.errors] == [(4, "quantity"), (6, "quantity"), (7, "location")]
    assert "unknown location" in report.errors[0].message
    sent = [(line.sku, line.location, line.quantity) for _, lines in catalog.stock.calls for line in lines]
    assert sent == [("T-1", "WH1", 5), ("T-2", "", 0), ("REFUSE-3", "NOWHERE", 2)]
    assert {ctx.tenant_id for ctx, _ in catalog.stock.calls} == {"tenant-s"}
    assert len(catalog.stock.calls) == 2  # one call per batch that has stock lines


def test_inventory_down_is_reported_per_row(catalog: Catalog) -> None:
    catalog.stock.down = True
    report = import_csv(catalog, (HEADER + "Tee,T-1,10,,,,,,,,,5,\nTee,T-2,10,,,,,,,,,,\n").encode())
    assert report.created == 2  # product data is saved even though stock could not be
    assert [(e.row, e.column) for e in report.errors] == [(2, "quantity")]
    assert "UNAVAILABLE" in report.errors[0].message


def test_concurrent_upserts_of_the_same_skus_create_each_once(catalog: Catalog) -> None:
    """Two callers race to create the same SKUs: the loser re-plans and sees them as existing."""
    request = pb.BulkUpsertVariantsRequest(items=[upsert("Race", f"RACE-{i}", 100) for i in range(50)])
    barrier = threading.Barrier(4)

    def call() -> list[int]:
        barrier.wait()
        results = catalog.stub.BulkUpsertVariants(request, metadata=catalog.md(), timeout=60).results
        return [r.outcome for r in results]

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda _: call(), range(4)))
    for i in range(50):
        per_caller = [caller[i] for caller in outcomes]
        assert sorted(per_caller) == [pb.UPSERT_OUTCOME_CREATED] + [pb.UPSERT_OUTCOME_UNCHANGED] * 3
    (race,) = all_products(catalog)
    assert len(race.variants) == 50
