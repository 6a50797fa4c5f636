"""catalog/fields.py is the one declaration of catalog fields: every layer that lists them agrees.

Domain, proto mapping, repository, CSV and the gateway's REST schema each list the product and
variant fields; the lists that are not derived from the declaration are checked here, so adding a
field in one place and forgetting another fails this file.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import create_engine, insert, select

from catalog import domain, fields, mapping
from catalog.csv_io import COLUMNS, CsvImport, ImportRow, export_chunks, parse_header
from catalog.domain import Money, Option, Product, ProductStatus, Variant, VariantSpec, new_variant
from catalog.models import metadata, products, variants
from catalog.repository import _product_values, _variant, _variant_values
from gateway import catalog_schemas as rest
from omnistock.catalog.v1 import catalog_service_pb2 as pb

NOW = datetime(2026, 1, 31, tzinfo=UTC)
VARIANT_META = ("id", "product_id", "position", "version", "created_at", "updated_at")
PRODUCT_META = ("id", "version", "created_at", "updated_at", "variants")
# Every variant field set to a non-default value.
FULL = VariantSpec(
    sku="MUG-1",
    price=Money(1250, "USD"),
    cost=Money(400, "USD"),
    barcode="0042",
    options=(Option("Colour", "Blue"), Option("Size", "XL")),
    weight_grams=350,
)
NAMES = fields.VARIANT_NAMES


def full_variant() -> Variant:
    return new_variant(FULL, id="v", product_id="p", position=0, now=NOW)


def full_product() -> Product:
    return Product("p", "Mug", "", ProductStatus.DRAFT, 1, NOW, NOW, (full_variant(),))


def names(obj: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(obj)]


def without(items: list[str], meta: tuple[str, ...]) -> list[str]:
    return [name for name in items if name not in meta]


def test_declaration_is_consistent() -> None:
    assert len(set(NAMES)) == len(NAMES) and len(set(fields.PRODUCT_NAMES)) == len(fields.PRODUCT_NAMES)
    assert {"cost", "barcode", "options", "weight_grams"} == fields.CLEARABLE_VARIANT_NAMES
    assert "weight_grams" in fields.VARIANT_CSV_COLUMNS
    defaults = VariantSpec(sku="", price=None)
    assert all(getattr(FULL, name) != getattr(defaults, name) for name in NAMES), "FULL must set every field"


def test_domain_objects_carry_exactly_the_declared_fields() -> None:
    assert names(VariantSpec) == list(NAMES)
    assert without(names(Variant), VARIANT_META) == list(NAMES)
    assert without(names(Product), PRODUCT_META) == list(fields.PRODUCT_NAMES)
    assert names(domain.NewProduct) == [*fields.PRODUCT_NAMES, "variants"]
    assert set(NAMES) == domain.VARIANT_FIELDS and set(fields.PRODUCT_NAMES) == domain.PRODUCT_FIELDS


def test_domain_limits_are_the_declared_ones() -> None:
    too_long = dataclasses.replace(FULL, sku="S" * (fields.SKU.max_length or 0) + "S", barcode="9" * 65)
    heavy = dataclasses.replace(FULL, weight_grams=(fields.WEIGHT_GRAMS.max_value or 0) + 1)
    assert {v.field for v in domain.validate_variant(too_long, "")} == {"sku", "barcode"}
    assert [v.field for v in domain.validate_variant(heavy, "")] == ["weight_grams"]


def test_protobuf_messages_carry_exactly_the_declared_fields() -> None:
    proto_names = [f.name for f in pb.VariantInput.DESCRIPTOR.fields]
    assert proto_names == list(NAMES)
    assert without([f.name for f in pb.Variant.DESCRIPTOR.fields], VARIANT_META) == list(NAMES)
    assert without([f.name for f in pb.Product.DESCRIPTOR.fields], PRODUCT_META) == list(fields.PRODUCT_NAMES)
    assert [f.name for f in pb.CreateProductRequest.DESCRIPTOR.fields] == [*fields.PRODUCT_NAMES, "variants"]


def test_mapping_round_trips_every_field() -> None:
    message = mapping.variant_to_proto(full_variant())
    assert all(getattr(message, name) for name in NAMES)
    as_input = pb.VariantInput(**{name: getattr(message, name) for name in NAMES})
    assert mapping.spec_from_proto(as_input) == FULL


def test_upsert_keeps_absent_optional_fields_and_replaces_the_rest() -> None:
    request = pb.BulkUpsertVariantsRequest(
        items=[
            pb.VariantUpsert(product_title="T", variant=pb.VariantInput(sku="A")),
            pb.VariantUpsert(product_title="T", variant=pb.VariantInput(sku="B", weight_grams=0)),
        ]
    )
    bare, weighed = mapping.upsert_items(request)
    assert bare.fields == {"sku", "price", "options"}
    assert weighed.fields == {"sku", "price", "options", "weight_grams"}


def test_tables_hold_exactly_the_declared_columns() -> None:
    variant_columns = {c.name for c in variants.columns}
    assert variant_columns == {*fields.VARIANT_DB_COLUMNS, *VARIANT_META, "tenant_id"}
    product_db = {c for f in fields.PRODUCT for c in f.db_columns}
    assert {c.name for c in products.columns} == product_db | {
        "id",
        "tenant_id",
        "version",
        "created_at",
        "updated_at",
    }
    assert set(_variant_values("t", full_variant())) == variant_columns
    assert set(_product_values("t", full_product())) == {c.name for c in products.columns}


def test_repository_round_trips_every_field() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(products), [_product_values("t", full_product())])
        conn.execute(insert(variants), [_variant_values("t", full_variant())])
        row = conn.execute(select(variants)).one()
    engine.dispose()
    assert _variant(row) == full_variant()


def test_csv_columns_carry_every_declared_field() -> None:
    for spec in (*fields.VARIANT, fields.TITLE, fields.STATUS):
        assert set(spec.csv_columns) <= set(COLUMNS), spec.name
    assert parse_header(list(COLUMNS)).fields == set(NAMES)


def test_csv_export_then_import_keeps_every_field() -> None:
    data = b"".join(export_chunks([full_product()]))
    (row,) = list(CsvImport([data]))
    assert isinstance(row, ImportRow)
    assert row.item.spec == FULL
    assert row.item.fields == set(NAMES)


# The gateway is another deployable and cannot import the catalog package in production, so its
# schema is checked against the declaration here rather than derived from it.
def _constraint(model: type[BaseModel], name: str, attribute: str) -> Any:
    for item in model.model_fields[name].metadata:
        if hasattr(item, attribute):
            return getattr(item, attribute)
    return None


@pytest.mark.parametrize("model", [rest.VariantIn, rest.VariantPatchIn])
def test_gateway_variant_input_matches_the_declaration(model: type[BaseModel]) -> None:
    assert list(model.model_fields) == list(NAMES)
    for spec in fields.VARIANT:
        if spec.max_length is not None:
            assert _constraint(model, spec.name, "max_length") == spec.max_length, spec.name
        if spec.min_value is not None:
            assert _constraint(model, spec.name, "ge") == spec.min_value, spec.name
        if spec.max_value is not None:
            assert _constraint(model, spec.name, "le") == spec.max_value, spec.name


def test_gateway_required_and_clearable_fields_match_the_declaration() -> None:
    required = {name for name, info in rest.VariantIn.model_fields.items() if info.is_required()}
    assert required == {spec.name for spec in fields.VARIANT if spec.required}
    assert rest._CLEARABLE == fields.CLEARABLE_VARIANT_NAMES


def test_gateway_product_models_match_the_declaration() -> None:
    assert list(rest.ProductCreateIn.model_fields) == [*fields.PRODUCT_NAMES, "variants"]
    assert list(rest.ProductPatchIn.model_fields) == list(fields.PRODUCT_NAMES)
    for model in (rest.ProductCreateIn, rest.ProductPatchIn):
        for spec in (fields.TITLE, fields.DESCRIPTION):
            assert _constraint(model, spec.name, "max_length") == spec.max_length, (model, spec.name)


def test_gateway_output_models_match_the_declaration() -> None:
    assert without(list(rest.VariantOut.model_fields), VARIANT_META) == list(NAMES)
    assert without(list(rest.ProductOut.model_fields), PRODUCT_META) == list(fields.PRODUCT_NAMES)
