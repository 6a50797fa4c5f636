"""The order export: every order matching the list's filters as CSV or XLSX, one row per line.

The orders service streams the orders page by page (ExportOrders); rows are formatted as they
arrive and nothing holds more than a page (gateway.tabular). CSV goes out while it is read. An
XLSX is complete only at its end, so it is built first (in a temporary file) and then sent with
its Content-Length; a backend failure while building it is a problem+json answer, not a broken
file. Exports are rate limited per tenant (GATEWAY_ORDER_EXPORT_RATE_LIMIT per window).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

import grpc
from flask import Response

from gateway import orders_examples as ex
from gateway import orders_schemas as s
from gateway.api import RouteGroup, current_claims, deps
from gateway.domain import Permission
from gateway.downloads import csv_download, xlsx_download
from gateway.errors import ApiProblem
from gateway.mapping import orders as m
from gateway.mapping.order_rows import COLUMNS, export_rows
from gateway.routes.orders.client import orders_bulk
from gateway.tabular import XLSX_MEDIA_TYPE, csv_chunks

log = logging.getLogger(__name__)

routes = RouteGroup()

_EXPORT_CONTENT = {
    "text/csv": {"schema": {"type": "string"}, "example": ex.CSV_EXAMPLE},
    XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
}


def _limit_exports() -> None:
    """Each export reads every matching order: a tenant gets a few per window (429 beyond)."""
    current = deps()
    if current.export_limiter is None:
        return
    settings = current.settings
    retry = current.export_limiter.attempt(
        "orders-export:" + current_claims().tenant_id,
        settings.order_export_rate_limit,
        settings.order_export_rate_window_seconds,
    )
    if retry:
        raise ApiProblem(429, "too many order exports; try again later", headers={"Retry-After": str(retry)})


@routes.route(
    "GET",
    "/orders/export",
    summary="Export orders",
    permission=Permission.ORDERS_READ,
    query=s.OrderExportQuery,
    problems=(429,),
    response_content=_EXPORT_CONTENT,
    response_headers={"Content-Disposition": 'attachment; filename="orders.csv"|"orders.xlsx"'},
)
def export_orders(query: s.OrderExportQuery) -> Response:
    """`format=csv` (default) or `xlsx`, with the list's filters. One row per order line with the
    order's columns repeated (an order without lines is one row); columns in docs/api.md."""
    _limit_exports()
    stream = orders_bulk().ExportOrders(m.export_request(query))
    if query.format == "xlsx":
        return _xlsx_response(stream)
    return _csv_response(stream)


def _csv_response(stream: Any) -> Response:
    """`stream` is the gRPC response iterator (pages of orders; `cancel()` ends it)."""
    # The first page is read before answering, so a failing backend is a problem response rather
    # than a 200 with a header row only.
    first = next(stream, None)
    pages = itertools.chain([first] if first is not None else [], stream)

    def body() -> Iterator[bytes]:
        try:
            yield from csv_chunks(COLUMNS, export_rows(pages))
        except grpc.RpcError as err:
            # Headers are gone already: break the connection so the client sees an incomplete
            # download instead of a CSV that looks whole.
            log.error("order export failed midway: %s", err.code() if isinstance(err, grpc.Call) else err)
            raise
        finally:
            stream.cancel()

    response = csv_download(body(), "orders.csv")
    # A body never read (client gone before the first byte) ends the backend stream here,
    # explicitly, rather than whenever the call object is collected.
    response.call_on_close(stream.cancel)
    return response


def _xlsx_response(stream: Any) -> Response:
    try:
        return xlsx_download(COLUMNS, export_rows(stream), "orders.xlsx", sheet="Orders")
    finally:
        stream.cancel()
