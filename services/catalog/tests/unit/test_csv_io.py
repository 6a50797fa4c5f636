"""Streaming CSV parsing, per-row validation and export formatting, without any I/O."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from catalog.csv_io import (
    COLUMNS,
    CsvImport,
    ImportRow,
    decode_lines,
    export_chunks,
    parse_header,
    parse_record,
)
from catalog.domain import Money, Option, Product, ProductStatus, RowError, VariantSpec, new_variant
from omnistock_common.errors import InvalidArgument

NOW = datetime(2026, 1, 31, tzinfo=UTC)


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def run(text: str | bytes, *, size: int = 3, currency: str = "") -> list[ImportRow | list[RowError]]:
    data = text.encode() if isinstance(text, str) else text
    return list(CsvImport(pieces(data, size), currency))


def errors(results: list[ImportRow | list[RowError]]) -> list[tuple[int, str]]:
    return [(e.row, e.column) for r in results if isinstance(r, list) for e in r]


def test_decode_lines_handles_bom_and_split_multibyte_characters() -> None:
    data = "\ufeffa,b\r\nCafé ☕,ü\nlast".encode()
    # 1-byte chunks split every multi-byte character (and the BOM) across chunks.
    assert list(decode_lines(pieces(data, 1))) == ["a,b\r\n", "Café ☕,ü\n", "last"]


def test_rows_are_numbered_like_a_spreadsheet_with_multiline_fields() -> None:
    text = 'product_title,sku,price\n"Two\nline, title",A,1.00\n\nShirt,B,oops\n'
    results = run(text, size=4)
    first = results[0]
    assert isinstance(first, ImportRow)
    assert (first.row, first.item.product_title) == (2, "Two\nline, title")
    # Row 3 is blank (skipped but counted), so the bad price is on spreadsheet row 4.
    assert results[1] == [RowError(4, "price", "invalid price: 'oops' is not a decimal amount")]


def test_header_missing_required_column_fails_the_whole_import() -> None:
    with pytest.raises(InvalidArgument) as exc:
        run("product_title,price\nShirt,1.00\n")
    assert "sku" in exc.value.message
    with pytest.raises(InvalidArgument):
        run("")
    with pytest.raises(InvalidArgument):
        run("sku,SKU,price,product_title\n")


def test_repeated_sku_is_an_error_on_the_later_row_only() -> None:
    results = run("product_title,sku,price\nA,X1,1\nB,X2,2\nC,X1,3\n")
    assert [r.row for r in results if isinstance(r, ImportRow)] == [2, 3]
    assert results[2] == [RowError(4, "sku", "SKU 'X1' already appears on row 2")]


def test_row_validation_names_each_column() -> None:
    text = (
        "product_title,sku,price,currency,cost,barcode,option1_name,option1_value,status,quantity,location\n"
        ",,1.00,,,,,,,,\n"  # row 2: title, sku
        "T,A,1.001,USD,,,,,,,\n"  # row 3: too many decimals
        "T,B,1.00,ZZZ,,,,,,,\n"  # row 4: currency
        "T,C,1.00,,-2,,,,,,\n"  # row 5: negative cost
        "T,D,1.00,,,,Size,,,,\n"  # row 6: option without value
        "T,E,1.00,,,,,M,,,\n"  # row 7: value without option
        "T,F,1.00,,,,,,gone,,\n"  # row 8: status
        "T,G,1.00,,,,,,,-1,\n"  # row 9: quantity
        "T,H,1.00,,,,,,,1.5,\n"  # row 10: quantity
        "T,I,1.00,,,,,,,,Main\n"  # row 11: location without quantity
        "T,J,1.00,,,,,,,,,extra\n"  # row 12: more fields than the header
    )
    assert errors(run(text)) == [
        (2, "product_title"),
        (2, "sku"),
        (3, "price"),
        (4, "currency"),
        (5, "cost"),
        (6, "option1_value"),
        (7, "option1_name"),
        (8, "status"),
        (9, "quantity"),
        (10, "quantity"),
        (11, "location"),
        (12, ""),
    ]


def test_valid_row_becomes_an_upsert_item() -> None:
    text = (
        "SKU,Product_Title,price,cost,currency,option2_name,option2_value,status,quantity,location\n"
        "  ABC-1 , Tee ,10.5,4,eur,Colour,Red,Draft,7,WH1\n"
    )
    (row,) = run(text, currency="GBP")
    assert isinstance(row, ImportRow)
    assert row.item.product_title == "Tee"
    assert row.item.product_status is ProductStatus.DRAFT
    assert row.item.spec == VariantSpec(
        sku="ABC-1", price=Money(1050, "EUR"), cost=Money(400, "EUR"), options=(Option("Colour", "Red"),)
    )
    # barcode is not a column, so an existing variant's barcode is left alone.
    assert row.item.fields == frozenset({"sku", "price", "cost", "options"})
    assert (row.quantity, row.location) == (7, "WH1")


def test_empty_currency_uses_the_default() -> None:
    (row,) = run("product_title,sku,price\nT,A,100\n", currency="jpy")
    assert isinstance(row, ImportRow)
    assert row.item.spec.price == Money(100, "JPY")
    (row,) = run("product_title,sku,price\nT,A,1.25\n")
    assert isinstance(row, ImportRow)
    assert row.item.spec.price == Money(125, "USD")
    with pytest.raises(InvalidArgument):
        CsvImport(iter([]), "NOPE")


def test_invalid_utf8_is_a_row_error_not_a_crash() -> None:
    data = b"product_title,sku,price\nGood,A,1\nBad\xff\xfe,B,1\n"
    results = run(data)
    assert isinstance(results[0], ImportRow)
    assert results[1] == [RowError(3, "product_title", "not valid UTF-8 text")]


def test_malformed_quoting_is_reported_and_parsing_continues() -> None:
    results = run('product_title,sku,price\n"Bad"x,A,1\nGood,B,1\n')
    assert errors(results) == [(2, "")]
    assert [r.item.spec.sku for r in results if isinstance(r, ImportRow)] == ["B"]


def test_export_rows_parse_back_to_the_same_values() -> None:
    product = Product(
        id="p",
        title='Mug "XL", 500ml\nceramic',
        description="",
        status=ProductStatus.ARCHIVED,
        version=1,
        created_at=NOW,
        updated_at=NOW,
    )
    variant = new_variant(
        VariantSpec(
            sku="MUG-1",
            price=Money(123, "KWD"),
            cost=Money(5, "KWD"),
            barcode="0042",
            options=(Option("Colour", "Blue, dark"), Option("Size", "XL")),
        ),
        id="v",
        product_id="p",
        position=0,
        now=NOW,
    )
    product = Product(**{**product.__dict__, "variants": (variant,)})
    data = b"".join(export_chunks([product]))
    (row,) = run(data, size=5)
    assert isinstance(row, ImportRow)
    assert row.item.product_title == product.title
    assert row.item.product_status is ProductStatus.ARCHIVED
    assert row.item.spec == VariantSpec(
        sku="MUG-1", price=variant.price, cost=variant.cost, barcode="0042", options=variant.options
    )
    assert data.decode().splitlines()[0] == ",".join(COLUMNS)


def test_export_is_chunked() -> None:
    product = Product("p", "T", "", ProductStatus.ACTIVE, 1, NOW, NOW)
    variants = tuple(
        new_variant(
            VariantSpec(sku=f"S{i}", price=Money(i, "USD")), id=f"v{i}", product_id="p", position=i, now=NOW
        )
        for i in range(2000)
    )
    chunks = list(export_chunks([Product(**{**product.__dict__, "variants": variants})], chunk_bytes=4096))
    assert len(chunks) > 10
    assert all(len(c) < 4096 + 200 for c in chunks)
    assert b"".join(chunks).count(b"\r\n") == 2001


def test_parse_header_reports_which_fields_the_file_carries() -> None:
    header = parse_header(["product_title", "sku", "price", "barcode", "option3_value"])
    assert header.fields == frozenset({"sku", "price", "barcode", "options"})
    row = parse_record(2, ["T", "S", "1"], header, "USD")
    assert isinstance(row, ImportRow)
    assert row.item.spec == VariantSpec(sku="S", price=Money(100, "USD"))
    assert (row.quantity, row.location) == (None, "")


def test_export_then_import_keeps_weight_grams() -> None:
    product = Product("p", "Crate", "", ProductStatus.ACTIVE, 1, NOW, NOW)
    heavy, weightless = (
        new_variant(
            VariantSpec(sku=sku, price=Money(100, "USD"), weight_grams=weight),
            id=sku,
            product_id="p",
            position=i,
            now=NOW,
        )
        for i, (sku, weight) in enumerate([("CRATE-1", 12_500), ("CRATE-2", None)])
    )
    data = b"".join(export_chunks([Product(**{**product.__dict__, "variants": (heavy, weightless)})]))
    header, first, second = data.decode().splitlines()
    assert "weight_grams" in header.split(",")
    assert dict(zip(COLUMNS, first.split(","), strict=True))["weight_grams"] == "12500"
    assert dict(zip(COLUMNS, second.split(","), strict=True))["weight_grams"] == ""
    rows = run(data, size=7)
    assert [r.item.spec.weight_grams for r in rows if isinstance(r, ImportRow)] == [12_500, None]
    # The file carries the column, so an empty cell clears an existing variant's weight.
    assert all("weight_grams" in r.item.fields for r in rows if isinstance(r, ImportRow))


def test_a_file_without_the_weight_column_leaves_weights_alone() -> None:
    (row,) = run("product_title,sku,price\nCrate,CRATE-1,1.00\n")
    assert isinstance(row, ImportRow) and "weight_grams" not in row.item.fields


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("heavy", "weight_grams 'heavy' is not a whole number of grams"),
        ("12.5", "weight_grams '12.5' is not a whole number of grams"),
        ("9" * 5000, f"weight_grams '{'9' * 5000}' is not a whole number of grams"),
        ("-3", "must not be negative"),
        ("10000001", "must be at most 10000000 grams"),
    ],
)
def test_a_bad_weight_is_an_error_of_its_row_only(cell: str, message: str) -> None:
    results = run(
        f"product_title,sku,price,weight_grams\nCrate,C-1,1.00,{cell}\nCrate,C-2,1.00,250\n", size=64
    )
    assert results[0] == [RowError(2, "weight_grams", message)]
    assert isinstance(results[1], ImportRow) and results[1].item.spec.weight_grams == 250


def test_a_huge_quantity_is_an_error_of_its_row_not_a_crash() -> None:
    huge = "9" * 5000  # int() refuses strings of more than 4300 digits
    results = run(f"product_title,sku,price,quantity\nT,S-1,1.00,{huge}\nT,S-2,1.00,{2**63 - 1}\n", size=512)
    assert results[0] == [RowError(2, "quantity", f"quantity {huge!r} is not a whole number >= 0")]
    assert isinstance(results[1], ImportRow) and results[1].quantity == 2**63 - 1
