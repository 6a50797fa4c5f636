"""gateway.tabular: CSV and XLSX downloads that are safe to open and do not grow with the rows."""

from __future__ import annotations

import csv
import io
import tempfile
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gateway.mapping.order_rows import COLUMNS, export_rows
from gateway.tabular import Column, Kind, csv_chunks, file_chunks, temporary_file, write_xlsx
from omnistock.common.v1 import common_pb2
from omnistock.orders.v1 import orders_service_pb2 as pb

COLS = (
    Column("name"),
    Column("quantity", Kind.INTEGER),
    Column("price", Kind.AMOUNT),
    Column("known", Kind.BOOLEAN),
)
HOSTILE = ["=cmd|'/c calc'!A1", "+1", "-2+3", "@SUM(A1)", "\tx", "#N/A", "plain"]


def read_csv(chunks: Iterator[bytes]) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8"))))


def xlsx_bytes(columns: tuple[Column, ...], rows: list[tuple[object, ...]]) -> bytes:
    out = temporary_file()
    write_xlsx(columns, rows, out, sheet="S")  # type: ignore[arg-type]
    return b"".join(file_chunks(out))


def test_csv_has_the_header_and_quotes_formula_cells_in_text_columns_only() -> None:
    rows = [(text, 3, "19.99", True) for text in HOSTILE] + [('a,b\n"c"', None, "-1.50", False)]
    out = read_csv(csv_chunks(COLS, rows))
    assert out[0] == ["name", "quantity", "price", "known"]
    assert [row[0] for row in out[1:-1]] == ["'" + h for h in HOSTILE[:5]] + ["#N/A", "plain"]
    # Numbers are the gateway's own formatting, never a formula: a negative amount stays a number.
    assert out[-1] == ['a,b\n"c"', "", "-1.50", "false"]
    assert out[1][1:] == ["3", "19.99", "true"]


def test_csv_comes_in_chunks_header_first() -> None:
    chunks = list(csv_chunks(COLS, [("x" * 100, 1, "1.00", True)] * 50, chunk_bytes=1000))
    assert chunks[0] == b"name,quantity,price,known\r\n"
    assert len(chunks) > 3 and all(len(chunk) < 1200 for chunk in chunks)


def test_xlsx_cells_are_typed_and_text_is_never_a_formula() -> None:
    rows: list[tuple[object, ...]] = [(text, 2, "19.99", True) for text in HOSTILE]
    rows += [
        ("bell\x07 and tab\t", 0, "1999", False),
        ("jpy", 1, "0", None),
        ("long", 1, "1" * 20 + ".00", True),
    ]
    sheet = load_workbook(io.BytesIO(xlsx_bytes(COLS, rows)), read_only=True)["S"]
    got = [[cell.value for cell in row] for row in sheet.iter_rows()]
    types = [[cell.data_type for cell in row] for row in sheet.iter_rows()]
    assert got[0] == ["name", "quantity", "price", "known"]
    assert [row[0] for row in got[1:8]] == HOSTILE
    assert {row[0] for row in types[1:8]} == {"s"}  # a string, never "f" (formula) or "e" (error)
    assert got[1][1:] == [2, 19.99, True] and types[1][2] == "n"
    assert got[8] == ["bell and tab\t", 0, 1999, False]  # control characters an XLSX cannot hold: gone
    assert got[9][2] == 0
    # More digits than a spreadsheet number keeps: exact, as text.
    assert got[10][2] == "1" * 20 + ".00" and types[10][2] == "s"


def test_xlsx_amounts_show_the_currencys_decimals() -> None:
    data = xlsx_bytes(COLS, [("usd", 1, "19.90", True), ("jpy", 1, "1990", True), ("bhd", 1, "1.990", True)])
    sheet = load_workbook(io.BytesIO(data))["S"]
    assert [sheet[f"C{row}"].number_format for row in (2, 3, 4)] == ["0.00", "0", "0.000"]
    assert Decimal(str(sheet["C4"].value)) == Decimal("1.99")


def test_a_failing_row_source_leaves_no_temporary_sheet_behind(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def rows() -> Iterator[tuple[object, ...]]:
        yield ("a", 1, "1.00", True)
        raise RuntimeError("backend went away")

    with pytest.raises(RuntimeError, match="went away"):
        write_xlsx(COLS, rows(), io.BytesIO(), sheet="S")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ memory does not grow with rows
def _orders(count: int, page: int = 500) -> Iterator[pb.ExportOrdersResponse]:
    """`count` one-line orders, made page by page as the orders service streams them."""
    usd = common_pb2.Money
    for start in range(0, count, page):
        yield pb.ExportOrdersResponse(
            orders=[
                pb.Order(
                    id=f"order-{i:08d}",
                    source="SHOPIFY",
                    external_name=f"#{i}",
                    customer_email=f"c{i}@example.test",
                    status=pb.ORDER_STATUS_PAID,
                    totals=pb.Totals(total=usd(amount_minor=1999 + i, currency="USD")),
                    lines=[
                        pb.OrderLine(
                            sku=f"SKU-{i % 97}",
                            quantity=1,
                            unit_price=usd(amount_minor=1999 + i, currency="USD"),
                        )
                    ],
                )
                for i in range(start, min(count, start + page))
            ]
        )


def _xlsx_export_peak(orders: int) -> tuple[int, int]:
    """(peak traced bytes, bytes sent) of the export's XLSX path: rows → workbook → chunks out."""
    tracemalloc.start()
    try:
        out = temporary_file()
        write_xlsx(COLUMNS, export_rows(_orders(orders)), out, sheet="Orders")
        sent = sum(len(chunk) for chunk in file_chunks(out))
        return tracemalloc.get_traced_memory()[1], sent
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_xlsx_export_memory_stays_flat_from_1000_to_10000_rows() -> None:
    """A size check, not a timing: ten times the rows may not cost measurably more memory. Any
    per-row retention (a list of rows, an in-memory output) would add about a megabyte or more
    here (9,000 extra rows)."""
    small_peak, small_size = _xlsx_export_peak(1_000)
    large_peak, large_size = _xlsx_export_peak(10_000)
    assert large_size > 8 * small_size  # the large export really is ten times the work
    assert large_peak < small_peak + 256 * 1024, (small_peak, large_peak)
    assert large_peak < 4 * 1024 * 1024
