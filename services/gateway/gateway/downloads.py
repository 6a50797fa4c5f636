"""Tables as file downloads (Content-Disposition: attachment), the Flask side of gateway.tabular:
one place that turns columns and rows into a CSV or XLSX response, used by the order export, the
inventory report and the analytics endpoints' `format=csv|xlsx`.

An XLSX is complete only at its end, so it is built in a temporary file first and then sent with
its Content-Length (a failure while building it is a problem+json answer, not a broken file). A
CSV goes out while the rows are read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal

from flask import Response

from gateway.tabular import XLSX_MEDIA_TYPE, Column, Row, csv_chunks, file_chunks, temporary_file, write_xlsx

Format = Literal["csv", "xlsx"]


def _disposition(filename: str) -> str:
    return f'attachment; filename="{filename}"'


def csv_download(body: Iterable[bytes], filename: str) -> Response:
    """CSV chunks (gateway.tabular.csv_chunks, maybe wrapped by the caller) as an attachment."""
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": _disposition(filename)})


def xlsx_download(columns: Sequence[Column], rows: Iterable[Row], filename: str, *, sheet: str) -> Response:
    """The rows as a one-sheet workbook, written to a temporary file, then sent from it."""
    out = temporary_file()
    try:
        write_xlsx(columns, rows, out, sheet=sheet)
        size = out.seek(0, os.SEEK_END)
    except BaseException:
        out.close()
        raise
    response = Response(
        file_chunks(out),
        mimetype=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": _disposition(filename), "Content-Length": str(size)},
    )
    response.call_on_close(out.close)
    return response


def table_download(
    fmt: Format, columns: Sequence[Column], rows: Iterable[Row], name: str, *, sheet: str
) -> Response:
    """`name`.csv or `name`.xlsx."""
    if fmt == "xlsx":
        return xlsx_download(columns, rows, f"{name}.xlsx", sheet=sheet)
    chunks: Iterator[bytes] = csv_chunks(columns, rows)
    return csv_download(chunks, f"{name}.csv")
