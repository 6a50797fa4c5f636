"""Rows to CSV or XLSX downloads in constant memory, whatever the number of rows.

CSV is streamed: rows are formatted into a buffer that is handed out every EXPORT_CHUNK_BYTES.
XLSX cannot be streamed while it is written (a zip whose sheet is only complete at the end), so
openpyxl's write-only mode writes the sheet row by row to its own temporary file, `save` zips it
into another temporary file, and the finished file is read back out in chunks. Neither path keeps
a row after it is written, so memory does not grow with the number of rows (the size check in
tests/unit/test_tabular.py; figures in docs/performance.md).

Text cells are made safe for spreadsheets: in CSV a cell that would be evaluated as a formula
gets a leading single quote (omnistock_common.spreadsheet, OWASP CSV Injection); in XLSX every
text cell is typed as a string (never a formula or an error value), and the control characters
an XLSX cannot hold are removed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from omnistock_common.spreadsheet import neutralise_formula

EXPORT_CHUNK_BYTES = 64 * 1024
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel keeps about 15 significant digits of a number: a longer amount stays exact as text.
_MAX_NUMERIC_DIGITS = 15
_DECIMALS = re.compile(r"^-?\d+(?:\.(\d+))?$")


class Kind(Enum):
    TEXT = "text"
    INTEGER = "integer"
    # A decimal string such as "19.99": a number with that many decimals in XLSX.
    AMOUNT = "amount"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT
    description: str = ""


Cell = str | int | bool | None
Row = Sequence[Cell]


# ------------------------------------------------------------------------------------------ CSV
def csv_cell(value: Cell, kind: Kind) -> str:
    if value is None:
        return ""
    if kind is Kind.BOOLEAN:
        return "true" if value else "false"
    if kind is Kind.TEXT:
        return neutralise_formula(str(value))
    return str(value)


def csv_chunks(
    columns: Sequence[Column], rows: Iterable[Row], chunk_bytes: int = EXPORT_CHUNK_BYTES
) -> Iterator[bytes]:
    """UTF-8 CSV (RFC 4180: quoted where needed, CRLF) with a header row, in chunks of about
    `chunk_bytes`; the header alone is the first chunk, so a response can start at once."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.name for column in columns])
    kinds = [column.kind for column in columns]
    yield _drain(buffer)
    for row in rows:
        writer.writerow([csv_cell(value, kind) for value, kind in zip(row, kinds, strict=True)])
        if buffer.tell() >= chunk_bytes:
            yield _drain(buffer)
    if buffer.tell():
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


# ----------------------------------------------------------------------------------------- XLSX
def write_xlsx(columns: Sequence[Column], rows: Iterable[Row], out: IO[bytes], *, sheet: str) -> None:
    """The rows as one worksheet (bold, frozen header row) written to `out`. If `rows` raises,
    openpyxl's temporary sheet file is removed and the error goes on."""
    workbook = Workbook(write_only=True)
    worksheet: WriteOnlyWorksheet = workbook.create_sheet(sheet)
    worksheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(worksheet, value=_text(column.name))
        cell.font = bold
        header.append(cell)
    try:
        worksheet.append(header)
        kinds = [column.kind for column in columns]
        for row in rows:
            worksheet.append(
                [_xlsx_cell(worksheet, value, kind) for value, kind in zip(row, kinds, strict=True)]
            )
    except BaseException:
        _discard_sheet_file(worksheet)
        raise
    workbook.save(out)


def _xlsx_cell(worksheet: WriteOnlyWorksheet, value: Cell, kind: Kind) -> object:
    if value is None or value == "":
        return None
    if kind is Kind.INTEGER or kind is Kind.BOOLEAN:
        return value
    text = str(value)
    match = _DECIMALS.match(text) if kind is Kind.AMOUNT else None
    if match and sum(ch.isdigit() for ch in text) <= _MAX_NUMERIC_DIGITS:
        cell = WriteOnlyCell(worksheet, value=Decimal(text))
        decimals = len(match.group(1) or "")
        cell.number_format = "0." + "0" * decimals if decimals else "0"
        return cell
    return _string_cell(worksheet, _text(text))


def _text(value: str) -> str:
    """Without the control characters an XLSX cannot hold (tab, CR and LF stay)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _string_cell(worksheet: WriteOnlyWorksheet, text: str) -> object:
    """Plain text: openpyxl would store "=..." as a formula and "#N/A" as an error value, so
    those are given as cells typed string; every other text is a string already."""
    if text.startswith("=") or text in ERROR_CODES:
        cell = WriteOnlyCell(worksheet, value=text)
        cell.data_type = "s"
        return cell
    return text


def _discard_sheet_file(worksheet: WriteOnlyWorksheet) -> None:
    """openpyxl (3.1) removes its temporary sheet file only when the workbook is saved; an export
    that fails midway closes the sheet and removes the file here (its writer's `out` is the path)."""
    with contextlib.suppress(Exception):
        worksheet.close()
    writer = getattr(worksheet, "_writer", None)
    path = getattr(writer, "out", None)
    if writer is None or not isinstance(path, str):
        return
    with contextlib.suppress(Exception):
        writer.cleanup()
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def temporary_file() -> IO[bytes]:
    """Where a finished XLSX waits to be sent: on disk, deleted when closed. (A spooled file
    would keep its first megabyte in memory and copy it on rollover: memory would depend on the
    export's size again.)"""
    return tempfile.TemporaryFile(mode="w+b")


def file_chunks(file: IO[bytes], chunk_bytes: int = EXPORT_CHUNK_BYTES) -> Iterator[bytes]:
    """`file` from its start in chunks; closed (and so deleted) when done or abandoned."""
    try:
        file.seek(0)
        while chunk := file.read(chunk_bytes):
            yield chunk
    finally:
        file.close()
