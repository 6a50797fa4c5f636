"""Translation between catalog protobuf messages and domain objects (no rules, no I/O).

Text that people type (titles, option names and values, barcodes) is trimmed here, once, so the
API and the CSV importer store the same value for the same input and exports re-import as-is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC

from catalog import fields as catalog_fields
from catalog.domain import (
    ImportCounts,
    ListFilter,
    Money,
    NewProduct,
    Option,
    Outcome,
    Page,
    Product,
    ProductPatch,
    ProductStatus,
    UpsertItem,
    UpsertResult,
    Variant,
    VariantPatch,
    VariantSpec,
)
from catalog.service import ImportOptions
from omnistock.catalog.v1 import catalog_service_pb2 as pb
from omnistock.common.v1 import common_pb2
from omnistock_common.errors import FieldViolation, InvalidArgument
from omnistock_common.timestamps import to_timestamp

_STATUS_FROM_PROTO = {
    pb.PRODUCT_STATUS_ACTIVE: ProductStatus.ACTIVE,
    pb.PRODUCT_STATUS_DRAFT: ProductStatus.DRAFT,
    pb.PRODUCT_STATUS_ARCHIVED: ProductStatus.ARCHIVED,
}
_STATUS_TO_PROTO = {status: value for value, status in _STATUS_FROM_PROTO.items()}
_OUTCOME_TO_PROTO = {
    Outcome.CREATED: pb.UPSERT_OUTCOME_CREATED,
    Outcome.UPDATED: pb.UPSERT_OUTCOME_UPDATED,
    Outcome.UNCHANGED: pb.UPSERT_OUTCOME_UNCHANGED,
    Outcome.FAILED: pb.UPSERT_OUTCOME_FAILED,
}


def status_from_proto(value: int, field_path: str) -> ProductStatus | None:
    """UNSPECIFIED is None; a number outside the enum is the caller's error."""
    if value == pb.PRODUCT_STATUS_UNSPECIFIED:
        return None
    try:
        return _STATUS_FROM_PROTO[value]  # type: ignore[index]
    except KeyError:
        raise InvalidArgument(
            f"unknown product status {value}", violations=[FieldViolation(field_path, "unknown status")]
        ) from None


def _money(message: common_pb2.Money) -> Money:
    return Money(message.amount_minor, message.currency.strip().upper())


def spec_from_proto(message: pb.VariantInput) -> VariantSpec:
    return VariantSpec(
        sku=message.sku,
        price=_money(message.price) if message.HasField("price") else None,
        cost=_money(message.cost) if message.HasField("cost") else None,
        barcode=message.barcode.strip() or None if message.HasField("barcode") else None,
        options=tuple(Option(o.name.strip(), o.value.strip()) for o in message.options),
        weight_grams=message.weight_grams if message.HasField("weight_grams") else None,
    )


def new_product(request: pb.CreateProductRequest) -> NewProduct:
    return NewProduct(
        title=request.title.strip(),
        description=request.description,
        status=status_from_proto(request.status, "status"),
        image_urls=tuple(url.strip() for url in request.image_urls),
        variants=tuple(spec_from_proto(v) for v in request.variants),
    )


def product_patch(request: pb.UpdateProductRequest) -> ProductPatch:
    paths = frozenset(request.update_mask.paths)
    status_value = request.product.status
    return ProductPatch(
        paths=paths,
        title=request.product.title.strip(),
        description=request.product.description,
        status=status_from_proto(status_value, "product.status") if "status" in paths else None,
        image_urls=tuple(url.strip() for url in request.product.image_urls),
    )


def variant_patch(request: pb.UpdateVariantRequest) -> VariantPatch:
    return VariantPatch(paths=frozenset(request.update_mask.paths), spec=spec_from_proto(request.variant))


def list_filter(request: pb.ListProductsRequest | pb.CountProductsRequest) -> ListFilter:
    return ListFilter(
        query=request.query.strip(),
        status=status_from_proto(request.status, "status"),
        sku_prefix=request.sku_prefix.strip(),
        updated_since=request.updated_since.ToDatetime(tzinfo=UTC)
        if request.HasField("updated_since")
        else None,
    )


# Optional VariantInput fields with presence (cost, barcode, weight_grams): an upsert that leaves
# one out keeps the existing value; the others (sku, price, repeated options) always replace.
_KEEP_WHEN_ABSENT = tuple(
    spec.name
    for spec in catalog_fields.VARIANT
    if not spec.required and pb.VariantInput.DESCRIPTOR.fields_by_name[spec.name].has_presence
)


def upsert_items(request: pb.BulkUpsertVariantsRequest) -> list[UpsertItem]:
    """Absent cost/barcode/weight leave an existing variant's value alone (price, options replace)."""
    items = []
    for i, item in enumerate(request.items):
        fields = set(catalog_fields.VARIANT_NAMES).difference(_KEEP_WHEN_ABSENT)
        fields |= {name for name in _KEEP_WHEN_ABSENT if item.variant.HasField(name)}
        items.append(
            UpsertItem(
                product_title=item.product_title.strip(),
                product_status=status_from_proto(item.product_status, f"items[{i}].product_status"),
                spec=spec_from_proto(item.variant),
                fields=frozenset(fields),
            )
        )
    return items


def import_stream(requests: Iterator[pb.ImportProductsRequest]) -> tuple[ImportOptions, Iterator[bytes]]:
    """Split the client stream into its leading options message and the CSV byte chunks."""
    first = next(requests, None)
    options = ImportOptions()
    leading: list[bytes] = []
    if first is not None and first.WhichOneof("payload") == "options":
        options = ImportOptions(first.options.default_currency.strip(), first.options.batch_size)
    elif first is not None:
        leading.append(first.chunk)

    def chunks() -> Iterator[bytes]:
        yield from leading
        for message in requests:
            if message.WhichOneof("payload") == "options":
                raise InvalidArgument(
                    "options must be the first message of the stream",
                    violations=[FieldViolation("options", "only allowed as the first message")],
                )
            yield message.chunk

    return options, chunks()


def variant_to_proto(variant: Variant) -> pb.Variant:
    message = pb.Variant(
        id=variant.id,
        product_id=variant.product_id,
        sku=variant.sku,
        price=common_pb2.Money(amount_minor=variant.price.amount_minor, currency=variant.price.currency),
        options=[pb.VariantOption(name=o.name, value=o.value) for o in variant.options],
        version=variant.version,
        created_at=to_timestamp(variant.created_at),
        updated_at=to_timestamp(variant.updated_at),
    )
    if variant.cost is not None:
        message.cost.CopyFrom(
            common_pb2.Money(amount_minor=variant.cost.amount_minor, currency=variant.cost.currency)
        )
    if variant.barcode is not None:
        message.barcode = variant.barcode
    if variant.weight_grams is not None:
        message.weight_grams = variant.weight_grams
    return message


def product_to_proto(product: Product) -> pb.Product:
    return pb.Product(
        id=product.id,
        title=product.title,
        description=product.description,
        status=_STATUS_TO_PROTO[product.status],
        image_urls=list(product.image_urls),
        variants=[variant_to_proto(v) for v in product.variants],
        version=product.version,
        created_at=to_timestamp(product.created_at),
        updated_at=to_timestamp(product.updated_at),
    )


def page_to_proto(page: Page) -> pb.ListProductsResponse:
    return pb.ListProductsResponse(
        products=[product_to_proto(p) for p in page.products],
        page=common_pb2.PageResponse(next_cursor=page.next_cursor),
    )


def upsert_results_to_proto(results: Iterable[UpsertResult]) -> pb.BulkUpsertVariantsResponse:
    return pb.BulkUpsertVariantsResponse(
        results=[
            pb.UpsertResult(
                index=r.index,
                sku=r.sku,
                outcome=_OUTCOME_TO_PROTO[r.outcome],
                product_id=r.product_id,
                variant_id=r.variant_id,
                field=r.field,
                error_message=r.message,
            )
            for r in results
        ]
    )


def import_report_to_proto(counts: ImportCounts) -> pb.ImportProductsResponse:
    return pb.ImportProductsResponse(
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rows=counts.rows,
        errors=[pb.ImportRowError(row=e.row, column=e.column, message=e.message) for e in counts.errors],
        errors_not_listed=getattr(counts.errors, "omitted", 0),
    )
