"""Products and variants: REST ↔ catalog gRPC, including streamed CSV import and export."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc
from flask import Response, request, stream_with_context

from gateway import catalog_schemas as cs
from gateway import import_progress as progress
from gateway.api import ApiModule, Reply, call_context, deps, versioned
from gateway.domain import Permission
from gateway.errors import ApiProblem
from gateway.inputs import if_match_version
from gateway.mapping import catalog as m
from omnistock.catalog.v1 import catalog_service_pb2 as pb
from omnistock.catalog.v1 import catalog_service_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

api = ApiModule("catalog", tag="Catalog")

# Uploads are forwarded in chunks of this size: memory stays flat whatever the file's size.
IMPORT_CHUNK_BYTES = 64 * 1024

_MULTIPART_FILE = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "properties": {"file": {"type": "string", "format": "binary", "description": "product CSV"}},
            "required": ["file"],
        }
    }
}
_CSV = {"text/csv": {"schema": {"type": "string"}}}


def _catalog() -> pb_grpc.CatalogServiceStub:
    return deps().catalog.rpc.call(call_context())


@api.route(
    "POST",
    "/products",
    summary="Create a product",
    permission=Permission.CATALOG_WRITE,
    body=cs.ProductCreateIn,
    response=cs.ProductOut,
    status=201,
    problems=(409,),
    response_headers={"ETag": "the product's version"},
)
def create_product(body: cs.ProductCreateIn) -> Reply:
    """Creates a product with its variants; the response carries the variant ids."""
    product = _catalog().CreateProduct(m.create_request(body)).product
    return versioned(m.product_out(product), product.version)


@api.route(
    "GET",
    "/products",
    summary="List products",
    permission=Permission.CATALOG_READ,
    query=cs.ProductListQuery,
    response=cs.ProductPage,
)
def list_products(query: cs.ProductListQuery) -> cs.ProductPage:
    """Filters: q (title/SKU text), status, sku (SKU prefix), updated_since. Keyset-paginated."""
    return m.product_page(_catalog().ListProducts(m.list_request(query)))


@api.route(
    "GET",
    "/products/count",
    summary="Count products",
    permission=Permission.CATALOG_READ,
    query=cs.ProductFilterQuery,
    response=cs.ProductCountOut,
)
def count_products(query: cs.ProductFilterQuery) -> cs.ProductCountOut:
    """How many products the list's filters (q, status, sku, updated_since) match, without
    fetching them: the dashboard's "Products" figure at any catalogue size."""
    return cs.ProductCountOut(count=_catalog().CountProducts(m.count_request(query)).count)


@api.route(
    "GET",
    "/products/<product_id>",
    summary="Get a product",
    permission=Permission.CATALOG_READ,
    response=cs.ProductOut,
    response_headers={"ETag": "the product's version"},
)
def get_product(product_id: str) -> Reply:
    product = _catalog().GetProduct(pb.GetProductRequest(product_id=product_id)).product
    return versioned(m.product_out(product), product.version)


@api.route(
    "PATCH",
    "/products/<product_id>",
    summary="Change a product",
    permission=Permission.CATALOG_WRITE,
    body=cs.ProductPatchIn,
    response=cs.ProductOut,
    problems=(409, 412),
    response_headers={"ETag": "the product's new version"},
)
def update_product(product_id: str, body: cs.ProductPatchIn) -> Reply:
    """title, description, status. With If-Match the change fails with 412 if the product moved on."""
    request_pb = m.update_product_request(product_id, body, if_match_version())
    updated = _catalog().UpdateProduct(request_pb).product
    return versioned(m.product_out(updated), updated.version)


@api.route(
    "DELETE",
    "/products/<product_id>",
    summary="Delete a product",
    permission=Permission.CATALOG_WRITE,
    status=204,
    problems=(412,),
)
def delete_product(product_id: str) -> Reply:
    _catalog().DeleteProduct(m.delete_product_request(product_id, if_match_version()))
    return Reply(status=204)


@api.route(
    "POST",
    "/products/<product_id>/variants",
    summary="Add a variant",
    permission=Permission.CATALOG_WRITE,
    body=cs.VariantIn,
    response=cs.VariantOut,
    status=201,
    problems=(409,),
)
def add_variant(product_id: str, body: cs.VariantIn) -> Reply:
    request_pb = pb.AddVariantRequest(product_id=product_id, variant=m.variant_input(body))
    variant = _catalog().AddVariant(request_pb).variant
    return versioned(m.variant_out(variant), variant.version)


@api.route(
    "PATCH",
    "/variants/<variant_id>",
    summary="Change a variant",
    permission=Permission.CATALOG_WRITE,
    body=cs.VariantPatchIn,
    response=cs.VariantOut,
    problems=(409, 412),
)
def update_variant(variant_id: str, body: cs.VariantPatchIn) -> Reply:
    """If-Match carries the variant's version (from the product's variants[].version)."""
    variant = _catalog().UpdateVariant(m.update_variant_request(variant_id, body, if_match_version())).variant
    return versioned(m.variant_out(variant), variant.version)


@api.route(
    "DELETE",
    "/variants/<variant_id>",
    summary="Delete a variant",
    permission=Permission.CATALOG_WRITE,
    status=204,
    problems=(412,),
)
def delete_variant(variant_id: str) -> Reply:
    _catalog().DeleteVariant(m.delete_variant_request(variant_id, if_match_version()))
    return Reply(status=204)


@api.route(
    "POST",
    "/products/import",
    summary="Import products from CSV",
    permission=Permission.CATALOG_WRITE,
    query=cs.ImportQuery,
    response=cs.ImportReportOut,
    problems=(413, 415),
    request_content=_MULTIPART_FILE,
    response_content=progress.NDJSON_CONTENT,
)
def import_products(query: cs.ImportQuery) -> cs.ImportReportOut | Response:
    """Multipart field `file`. Columns: product_title, sku, price, currency, cost, barcode,
    option1_name … option3_value, weight_grams, status, quantity, location.

    The upload is spooled to disk by the server and streamed to the catalog in 64 KiB chunks,
    so a 100,000-row file never sits in memory. Bad rows are reported, never silently dropped.

    Progress: with `Accept: application/x-ndjson` the answer is 200 with one JSON object per line
    as soon as the upload is accepted: `{"progress": {"bytes_done", "bytes_total"}}` at most every
    250 ms while the file is handed to the catalog, then one `{"report": …}` (the JSON answer) or,
    if the import fails once started, one `{"problem": …}` (the problem document; the 200 is
    already sent). A missing file or a bad query is still a plain problem response.
    """
    if request.mimetype != "multipart/form-data":
        raise ApiProblem(415, "upload the CSV as multipart/form-data with a `file` field")
    upload = request.files.get("file")
    if upload is None:
        raise ApiProblem(400, "missing file", errors=[{"field": "file", "message": "a CSV file is required"}])
    catalog = deps().catalog.bulk.call(call_context())
    if progress.wants_ndjson():
        mapper = deps().errors
        file = progress.take_upload(upload)
        return progress.streamed_import(
            catalog.ImportProducts.future,
            m.import_messages(file, query.default_currency, IMPORT_CHUNK_BYTES),
            file,
            lambda report: m.import_report_out(report).model_dump_json(),
            lambda err: mapper.from_rpc_error(err, had_if_match=False),
        )
    messages = m.import_messages(upload.stream, query.default_currency, IMPORT_CHUNK_BYTES)
    return m.import_report_out(catalog.ImportProducts(messages))


@api.route(
    "GET",
    "/products/export",
    summary="Export products as CSV",
    permission=Permission.CATALOG_READ,
    query=cs.ExportQuery,
    response_content=_CSV,
)
def export_products(query: cs.ExportQuery) -> Response:
    """Streams the catalog as CSV (same columns as the import); re-importing it changes nothing."""
    request_pb = pb.ExportProductsRequest(status=m.status_to_pb(query.status))
    stream = deps().catalog.bulk.call(call_context()).ExportProducts(request_pb)
    # Pull the first chunk before answering, so a failing backend is a proper problem response
    # rather than a 200 with an empty body.
    first = next(stream, None)

    def body() -> Iterator[bytes]:
        try:
            if first is not None:
                yield first.chunk
            for message in stream:
                yield message.chunk
        except grpc.RpcError as err:
            # Headers are gone already: break the connection so the client sees an incomplete
            # download instead of a CSV that looks whole.
            log.error("export stream failed midway: %s", err.code() if isinstance(err, grpc.Call) else err)
            raise
        finally:
            stream.cancel()

    return Response(
        stream_with_context(body()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="products.csv"'},
    )
