"""Catalog REST models and their translation to and from the catalog protobufs.

Money crosses here: decimal strings in JSON, integer minor units in protobuf, converted by
omnistock_common.money so a bad amount is a 400 naming its field, never a silent rounding.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from google.protobuf.field_mask_pb2 import FieldMask
from pydantic import Field, field_validator, model_validator

from gateway.schemas import Identifier, MoneyIn, MoneyOut, OutModel, StrictModel
from omnistock.catalog.v1 import catalog_service_pb2 as pb
from omnistock.common.v1 import common_pb2
from omnistock_common.money import from_minor
from omnistock_common.timestamps import from_timestamp, to_timestamp

StatusName = Literal["active", "draft", "archived"]

STATUS_TO_PB: dict[str, int] = {
    "active": pb.PRODUCT_STATUS_ACTIVE,
    "draft": pb.PRODUCT_STATUS_DRAFT,
    "archived": pb.PRODUCT_STATUS_ARCHIVED,
}
STATUS_FROM_PB: dict[int, str] = {value: key for key, value in STATUS_TO_PB.items()}


# ------------------------------------------------------------------------------------- requests
class VariantIn(StrictModel):
    sku: Identifier = Field(min_length=1, max_length=64, examples=["TSHIRT-RED-M"])
    price: MoneyIn
    cost: MoneyIn | None = None
    barcode: Identifier | None = Field(None, max_length=64)
    options: dict[str, str] | None = Field(None, examples=[{"size": "M", "color": "Red"}])
    weight_grams: int | None = Field(None, ge=0, le=10_000_000)

    @field_validator("sku")
    @classmethod
    def _sku(cls, value: str) -> str:
        if value != value.strip() or not value.strip():
            raise ValueError("must not be blank or have surrounding spaces")
        return value


class ProductCreateIn(StrictModel):
    title: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=20_000)
    status: StatusName | None = None
    variants: list[VariantIn] = Field(default_factory=list, max_length=1000)


class ProductPatchIn(StrictModel):
    title: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=20_000)
    status: StatusName | None = None

    @model_validator(mode="after")
    def _something(self) -> ProductPatchIn:
        if not self.model_fields_set:
            raise ValueError("name at least one of title, description, status")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


_CLEARABLE = {"cost", "barcode", "options", "weight_grams"}


class VariantPatchIn(StrictModel):
    """Fields to change; `null` clears cost, barcode, options or weight_grams."""

    sku: Identifier | None = Field(None, min_length=1, max_length=64)
    price: MoneyIn | None = None
    cost: MoneyIn | None = None
    barcode: Identifier | None = Field(None, max_length=64)
    options: dict[str, str] | None = None
    weight_grams: int | None = Field(None, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _something(self) -> VariantPatchIn:
        if not self.model_fields_set:
            raise ValueError("name at least one field to change")
        for name in self.model_fields_set - _CLEARABLE:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ProductListQuery(StrictModel):
    q: str | None = Field(None, max_length=200, description="text over titles and SKUs")
    status: StatusName | None = None
    sku: Identifier | None = Field(None, max_length=100, description="SKU prefix")
    updated_since: datetime | None = Field(None, description="RFC 3339 with a UTC offset")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2048)

    @field_validator("updated_since")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a UTC offset, e.g. 2026-01-31T12:00:00Z")
        return value


class ExportQuery(StrictModel):
    format: Literal["csv"] = "csv"
    status: StatusName | None = None


class ImportQuery(StrictModel):
    default_currency: str | None = Field(
        None, min_length=3, max_length=3, description="currency for rows whose currency column is empty"
    )


# ------------------------------------------------------------------------------------ responses
class VariantOut(OutModel):
    id: str
    product_id: str
    sku: str
    price: MoneyOut
    cost: MoneyOut | None
    barcode: str | None
    options: dict[str, str]
    weight_grams: int | None
    version: int
    created_at: datetime | None
    updated_at: datetime | None


class ProductOut(OutModel):
    id: str
    title: str
    description: str
    status: StatusName
    variants: list[VariantOut]
    version: int
    created_at: datetime | None
    updated_at: datetime | None


class ProductPage(OutModel):
    items: list[ProductOut]
    next_cursor: str | None


class ImportRowErrorOut(OutModel):
    row: int = Field(description="spreadsheet row: the header is row 1")
    column: str
    message: str


# The report lists at most this many row errors; the rest are only counted (errors_not_listed).
MAX_REPORTED_IMPORT_ERRORS = 1000


class ImportReportOut(OutModel):
    created: int
    updated: int
    unchanged: int
    rows: int
    errors: list[ImportRowErrorOut] = Field(
        description=f"the first {MAX_REPORTED_IMPORT_ERRORS} row errors, in row order"
    )
    errors_not_listed: int = Field(0, description="row errors beyond the listed ones")


# ----------------------------------------------------------------------------------- conversion
def money_to_pb(money: MoneyIn) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=money.minor, currency=money.currency)


def money_from_pb(money: common_pb2.Money) -> MoneyOut:
    return MoneyOut(amount=from_minor(money.amount_minor, money.currency), currency=money.currency)


def variant_input(variant: VariantIn) -> pb.VariantInput:
    out = pb.VariantInput(sku=variant.sku, price=money_to_pb(variant.price))
    if variant.cost is not None:
        out.cost.CopyFrom(money_to_pb(variant.cost))
    if variant.barcode is not None:
        out.barcode = variant.barcode
    for name, value in (variant.options or {}).items():
        out.options.add(name=name, value=value)
    if variant.weight_grams is not None:
        out.weight_grams = variant.weight_grams
    return out


def variant_patch(patch: VariantPatchIn) -> tuple[pb.VariantInput, FieldMask]:
    """A VariantInput holding the changed fields, and the mask naming them (null → cleared)."""
    out = pb.VariantInput()
    fields = sorted(patch.model_fields_set)
    if patch.sku is not None:
        out.sku = patch.sku
    if patch.price is not None:
        out.price.CopyFrom(money_to_pb(patch.price))
    if patch.cost is not None:
        out.cost.CopyFrom(money_to_pb(patch.cost))
    if patch.barcode is not None:
        out.barcode = patch.barcode
    for name, value in (patch.options or {}).items():
        out.options.add(name=name, value=value)
    if patch.weight_grams is not None:
        out.weight_grams = patch.weight_grams
    return out, FieldMask(paths=fields)


def create_request(body: ProductCreateIn) -> pb.CreateProductRequest:
    return pb.CreateProductRequest(
        title=body.title,
        description=body.description,
        status=STATUS_TO_PB[body.status] if body.status else pb.PRODUCT_STATUS_UNSPECIFIED,
        variants=[variant_input(v) for v in body.variants],
    )


def product_patch(body: ProductPatchIn) -> tuple[pb.Product, FieldMask]:
    product = pb.Product()
    if body.title is not None:
        product.title = body.title
    if body.description is not None:
        product.description = body.description
    if body.status is not None:
        product.status = STATUS_TO_PB[body.status]  # type: ignore[assignment]
    return product, FieldMask(paths=sorted(body.model_fields_set))


def list_request(query: ProductListQuery) -> pb.ListProductsRequest:
    request = pb.ListProductsRequest(
        page=common_pb2.PageRequest(limit=query.limit, cursor=query.cursor or ""),
        query=query.q or "",
        status=STATUS_TO_PB[query.status] if query.status else pb.PRODUCT_STATUS_UNSPECIFIED,
        sku_prefix=query.sku or "",
    )
    if query.updated_since is not None:
        request.updated_since.CopyFrom(to_timestamp(query.updated_since))
    return request


def variant_out(variant: pb.Variant) -> VariantOut:
    return VariantOut(
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


def product_out(product: pb.Product) -> ProductOut:
    return ProductOut(
        id=product.id,
        title=product.title,
        description=product.description,
        status=STATUS_FROM_PB.get(product.status, "active"),  # type: ignore[arg-type]
        variants=[variant_out(v) for v in product.variants],
        version=product.version,
        created_at=from_timestamp(product.created_at),
        updated_at=from_timestamp(product.updated_at),
    )


def import_report_out(report: pb.ImportProductsResponse) -> ImportReportOut:
    """The catalog caps its error list already; capped again here so the response stays bounded."""
    listed = report.errors[:MAX_REPORTED_IMPORT_ERRORS]
    return ImportReportOut(
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rows=report.rows,
        errors=[ImportRowErrorOut(row=e.row, column=e.column, message=e.message) for e in listed],
        errors_not_listed=report.errors_not_listed + len(report.errors) - len(listed),
    )
