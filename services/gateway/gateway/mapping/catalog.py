"""Catalog REST models ↔ the catalog protobufs: request messages built, replies converted.

Money crosses here: decimal strings in JSON, integer minor units in protobuf (gateway.mapping's
money helpers), so a bad amount is a 400 naming its field, never a silent rounding.
A PATCH becomes the changed fields plus a FieldMask naming them (a null in the mask clears).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from google.protobuf.field_mask_pb2 import FieldMask

from gateway import catalog_schemas as s
from gateway.mapping import money_from_pb, money_to_pb, next_cursor, page_request
from omnistock.catalog.v1 import catalog_service_pb2 as pb
from omnistock_common.timestamps import from_timestamp, to_timestamp

STATUS_TO_PB: dict[str, int] = {
    "active": pb.PRODUCT_STATUS_ACTIVE,
    "draft": pb.PRODUCT_STATUS_DRAFT,
    "archived": pb.PRODUCT_STATUS_ARCHIVED,
}
STATUS_FROM_PB: dict[int, str] = {value: key for key, value in STATUS_TO_PB.items()}


def status_to_pb(status: str | None) -> int:
    """No status: UNSPECIFIED (the catalog's default on create, no filter on list/export)."""
    return STATUS_TO_PB[status] if status else pb.PRODUCT_STATUS_UNSPECIFIED


# ------------------------------------------------------------------------------ JSON → pb
def _variant_fields(variant: s.VariantIn | s.VariantPatchIn) -> pb.VariantInput:
    """The fields of `variant` that are not null (a new variant always has sku and price)."""
    out = pb.VariantInput()
    if variant.sku is not None:
        out.sku = variant.sku
    if variant.price is not None:
        out.price.CopyFrom(money_to_pb(variant.price))
    if variant.cost is not None:
        out.cost.CopyFrom(money_to_pb(variant.cost))
    if variant.barcode is not None:
        out.barcode = variant.barcode
    for name, value in (variant.options or {}).items():
        out.options.add(name=name, value=value)
    if variant.weight_grams is not None:
        out.weight_grams = variant.weight_grams
    return out


def variant_input(variant: s.VariantIn) -> pb.VariantInput:
    return _variant_fields(variant)


def variant_patch(patch: s.VariantPatchIn) -> tuple[pb.VariantInput, FieldMask]:
    """A VariantInput holding the changed fields, and the mask naming them (null → cleared)."""
    return _variant_fields(patch), FieldMask(paths=sorted(patch.model_fields_set))


def create_request(body: s.ProductCreateIn) -> pb.CreateProductRequest:
    return pb.CreateProductRequest(
        title=body.title,
        description=body.description,
        status=status_to_pb(body.status),
        image_urls=body.image_urls,
        variants=[variant_input(v) for v in body.variants],
    )


def product_patch(body: s.ProductPatchIn) -> tuple[pb.Product, FieldMask]:
    product = pb.Product()
    if body.title is not None:
        product.title = body.title
    if body.description is not None:
        product.description = body.description
    if body.status is not None:
        product.status = STATUS_TO_PB[body.status]  # type: ignore[assignment]
    if body.image_urls is not None:
        product.image_urls.extend(body.image_urls)
    return product, FieldMask(paths=sorted(body.model_fields_set))


def update_product_request(
    product_id: str, body: s.ProductPatchIn, expected_version: int | None
) -> pb.UpdateProductRequest:
    """`expected_version` from If-Match; None (no header) is 0 on the wire: unconditional."""
    product, mask = product_patch(body)
    return pb.UpdateProductRequest(
        product_id=product_id, product=product, update_mask=mask, expected_version=expected_version or 0
    )


def update_variant_request(
    variant_id: str, body: s.VariantPatchIn, expected_version: int | None
) -> pb.UpdateVariantRequest:
    """`expected_version` from If-Match; None (no header) is 0 on the wire: unconditional."""
    variant, mask = variant_patch(body)
    return pb.UpdateVariantRequest(
        variant_id=variant_id, variant=variant, update_mask=mask, expected_version=expected_version or 0
    )


def delete_product_request(product_id: str, expected_version: int | None) -> pb.DeleteProductRequest:
    return pb.DeleteProductRequest(product_id=product_id, expected_version=expected_version or 0)


def delete_variant_request(variant_id: str, expected_version: int | None) -> pb.DeleteVariantRequest:
    return pb.DeleteVariantRequest(variant_id=variant_id, expected_version=expected_version or 0)


def import_messages(
    stream: IO[bytes], default_currency: str | None, chunk_bytes: int
) -> Iterator[pb.ImportProductsRequest]:
    """The options first, then the upload in chunks of `chunk_bytes`: memory stays flat."""
    yield pb.ImportProductsRequest(options=pb.ImportOptions(default_currency=default_currency or ""))
    while chunk := stream.read(chunk_bytes):
        yield pb.ImportProductsRequest(chunk=chunk)


def count_request(query: s.ProductFilterQuery) -> pb.CountProductsRequest:
    request = pb.CountProductsRequest(
        query=query.q or "", status=status_to_pb(query.status), sku_prefix=query.sku or ""
    )
    if query.updated_since is not None:
        request.updated_since.CopyFrom(to_timestamp(query.updated_since))
    return request


def list_request(query: s.ProductListQuery) -> pb.ListProductsRequest:
    request = pb.ListProductsRequest(
        page=page_request(query.limit, query.cursor),
        query=query.q or "",
        status=status_to_pb(query.status),
        sku_prefix=query.sku or "",
    )
    if query.updated_since is not None:
        request.updated_since.CopyFrom(to_timestamp(query.updated_since))
    return request


# ------------------------------------------------------------------------------ pb → JSON
def product_page(reply: pb.ListProductsResponse) -> s.ProductPage:
    return s.ProductPage(items=[product_out(p) for p in reply.products], next_cursor=next_cursor(reply.page))


def variant_out(variant: pb.Variant) -> s.VariantOut:
    return s.VariantOut(
        id=variant.id,
        product_id=variant.product_id,
        sku=variant.sku,
        price=money_from_pb(variant.price),
        cost=money_from_pb(variant.cost) if variant.HasField("cost") else None,
        barcode=variant.barcode if variant.HasField("barcode") else None,
        options={option.name: option.value for option in variant.options},
        weight_grams=variant.weight_grams if variant.HasField("weight_grams") else None,
        version=variant.version,
        created_at=from_timestamp(variant.created_at),
        updated_at=from_timestamp(variant.updated_at),
    )


def product_out(product: pb.Product) -> s.ProductOut:
    return s.ProductOut(
        id=product.id,
        title=product.title,
        description=product.description,
        status=STATUS_FROM_PB.get(product.status, "active"),  # type: ignore[arg-type]
        image_urls=list(product.image_urls),
        variants=[variant_out(v) for v in product.variants],
        version=product.version,
        created_at=from_timestamp(product.created_at),
        updated_at=from_timestamp(product.updated_at),
    )


def import_report_out(report: pb.ImportProductsResponse) -> s.ImportReportOut:
    """The catalog caps its error list already; capped again here so the response stays bounded."""
    listed = report.errors[: s.MAX_REPORTED_IMPORT_ERRORS]
    return s.ImportReportOut(
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rows=report.rows,
        errors=[s.ImportRowErrorOut(row=e.row, column=e.column, message=e.message) for e in listed],
        errors_not_listed=report.errors_not_listed + len(report.errors) - len(listed),
    )
