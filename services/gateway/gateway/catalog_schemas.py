"""Catalog REST models (API.md "Catalog"): what the catalog routes accept and answer.

Their translation to and from the catalog protobufs is gateway.mapping.catalog. Amounts are
decimal strings here (MoneyIn checks them exactly), integer minor units in protobuf.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from gateway.schemas import Identifier, MoneyIn, MoneyOut, OutModel, StrictModel, check_patch

StatusName = Literal["active", "draft", "archived"]
# Bounds only: the catalog checks the URLs themselves (absolute http/https, no credentials, no
# repeats) and its 400 names the item (`image_urls[1]`).
ImageUrl = Annotated[str, Field(min_length=1, max_length=2048, examples=["https://cdn.example.com/tee.jpg"])]
ImageUrls = Annotated[
    list[ImageUrl], Field(max_length=20, description="absolute http(s) URLs, in display order")
]


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
    image_urls: ImageUrls = Field(default_factory=list)
    variants: list[VariantIn] = Field(default_factory=list, max_length=1000)


class ProductPatchIn(StrictModel):
    title: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=20_000)
    status: StatusName | None = None
    image_urls: ImageUrls | None = Field(None, description="replaces the whole list; [] removes every image")

    @model_validator(mode="after")
    def _something(self) -> ProductPatchIn:
        check_patch(self, empty="name at least one of title, description, status, image_urls")
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
        check_patch(self, empty="name at least one field to change", clearable=_CLEARABLE)
        return self


class ProductFilterQuery(StrictModel):
    q: str | None = Field(None, max_length=200, description="text over titles and SKUs")
    status: StatusName | None = None
    sku: Identifier | None = Field(None, max_length=100, description="SKU prefix")
    updated_since: datetime | None = Field(None, description="RFC 3339 with a UTC offset")

    @field_validator("updated_since")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a UTC offset, e.g. 2026-01-31T12:00:00Z")
        return value


class ProductListQuery(ProductFilterQuery):
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2048)


class ProductCountOut(OutModel):
    count: int


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
    image_urls: list[str]
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
