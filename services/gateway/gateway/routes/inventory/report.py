"""The inventory report: every stock level with its value at cost, as CSV or XLSX.

The levels are read page by page from the inventory service (ListStockLevels, the largest page),
each page joined with its SKUs' costs from the catalog (GetVariantsBySku); rows are formatted as
they arrive (gateway.mapping.inventory_report, gateway.tabular), so memory holds one page whatever
the number of levels. As for the order export (routes/orders/export.py): CSV is streamed after the
first page was read (a backend down at the start is a problem+json answer, not a 200 with a
header only; a failure midway breaks the download), XLSX is built in a temporary file first and
sent with its Content-Length.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator

import grpc
from flask import Response

from gateway import inventory_schemas as s
from gateway.api import RouteGroup, call_context, deps
from gateway.domain import Permission
from gateway.downloads import csv_download, xlsx_download
from gateway.mapping import inventory_report as m
from gateway.routes.inventory.client import inventory_binder
from gateway.tabular import XLSX_MEDIA_TYPE, csv_chunks
from omnistock.catalog.v1 import catalog_service_pb2_grpc as catalog_grpc
from omnistock.inventory.v1 import inventory_service_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

routes = RouteGroup()

_CSV_EXAMPLE = (
    "row,sku,location,on_hand,reserved,available,currency,unit_cost,value_at_cost\r\n"
    "level,MUG,default,5,0,5,,,\r\n"
    "level,TEE-M,EAST,3,0,3,USD,4.50,13.50\r\n"
    "level,TEE-M,default,12,2,10,USD,4.50,54.00\r\n"
    "total,,,20,2,18,,,\r\n"
    "total,,,15,2,13,USD,,67.50\r\n"
)
_REPORT_CONTENT = {
    "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
    XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
}


@routes.route(
    "GET",
    "/reports/inventory",
    summary="Inventory report",
    permission=Permission.INVENTORY_READ,
    query=s.InventoryReportQuery,
    response_content=_REPORT_CONTENT,
    response_headers={"Content-Disposition": 'attachment; filename="inventory.csv"|"inventory.xlsx"'},
)
def inventory_report(query: s.InventoryReportQuery) -> Response:
    """`format=csv` (default) or `xlsx`. One row per SKU and location (on hand, reserved,
    available, the catalog cost and on hand x cost; cost columns empty when the variant has no
    cost), then the totals: all units, and units and value per cost currency."""
    inventory = inventory_binder()
    catalog = _catalog_binder()
    pages = _pages(inventory, catalog)
    if query.format == "xlsx":
        return _xlsx_response(pages)
    return _csv_response(pages)


def _catalog_binder() -> Callable[[], catalog_grpc.CatalogServiceStub]:
    """The catalog stub with a fresh token per call (see BackendStubs.bulk_binder)."""
    client, ctx = deps().catalog.bulk, call_context()
    return lambda: client.call(ctx)


def _pages(
    inventory: Callable[[], pb_grpc.InventoryServiceStub],
    catalog: Callable[[], catalog_grpc.CatalogServiceStub],
) -> Iterator[m.Page]:
    """Each page of levels with the costs of its SKUs, until the inventory's last page."""
    cursor = ""
    while True:
        reply = inventory().ListStockLevels(m.levels_request(cursor))
        lookups = (catalog().GetVariantsBySku(request) for request in m.variants_requests(reply.levels))
        yield reply.levels, m.costs_by_sku(lookups)
        cursor = reply.page.next_cursor
        if not cursor:
            return


def _csv_response(pages: Iterator[m.Page]) -> Response:
    first = next(pages)  # read before answering: a failing backend is a problem response

    def body() -> Iterator[bytes]:
        try:
            yield from csv_chunks(m.COLUMNS, m.report_rows(itertools.chain([first], pages)))
        except grpc.RpcError as err:
            # Headers are gone: the broken connection tells the client the file is incomplete.
            log.error("inventory report failed midway: %s", err.code() if isinstance(err, grpc.Call) else err)
            raise

    return csv_download(body(), "inventory.csv")


def _xlsx_response(pages: Iterator[m.Page]) -> Response:
    return xlsx_download(m.COLUMNS, m.report_rows(pages), "inventory.xlsx", sheet="Inventory")
