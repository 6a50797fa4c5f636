"""Money and product translation between REST JSON and the catalog protobufs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from gateway import catalog_schemas as cs
from gateway.mapping import catalog as cm
from gateway.mapping import money_to_pb
from gateway.schemas import MoneyIn, field_path, validation_errors
from omnistock.catalog.v1 import catalog_service_pb2 as pb
from omnistock.common.v1 import common_pb2


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("19.99", "USD", 1999),
        ("19.9", "USD", 1990),
        ("0", "USD", 0),
        ("1000", "JPY", 1000),
        ("1.234", "KWD", 1234),
    ],
)
def test_money_in_to_minor_units(amount: str, currency: str, minor: int) -> None:
    money = MoneyIn(amount=amount, currency=currency)
    assert money_to_pb(money) == common_pb2.Money(amount_minor=minor, currency=currency)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"amount": "19.999", "currency": "USD"}, "body"),
        ({"amount": "1.5", "currency": "JPY"}, "body"),
        ({"amount": 19.99, "currency": "USD"}, "amount"),
        ({"amount": "NaN", "currency": "USD"}, "amount"),
        ({"amount": "-5", "currency": "USD"}, "amount"),
        ({"amount": "5", "currency": "usd"}, "currency"),
        ({"amount": "5", "currency": "USD", "extra": 1}, "extra"),
    ],
)
def test_money_in_rejects(payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        MoneyIn.model_validate(payload)
    assert field in [e["field"] for e in validation_errors(exc.value)]


def test_field_path_renders_indices() -> None:
    assert field_path(("variants", 0, "price", "amount")) == "variants[0].price.amount"
    assert field_path(()) == ""


def test_bad_variant_price_is_reported_at_its_path() -> None:
    with pytest.raises(ValidationError) as exc:
        cs.ProductCreateIn.model_validate(
            {
                "title": "T",
                "variants": [
                    {"sku": "A", "price": {"amount": "1", "currency": "USD"}},
                    {"sku": "B", "price": {"amount": "1.001", "currency": "USD"}},
                ],
            }
        )
    errors = validation_errors(exc.value)
    assert errors[0]["field"] == "variants[1].price"
    assert "decimal places" in errors[0]["message"]


def test_variant_from_pb_formats_money_and_optional_fields() -> None:
    variant = pb.Variant(
        id="v1",
        product_id="p1",
        sku="A",
        price=common_pb2.Money(amount_minor=1999, currency="USD"),
        options=[pb.VariantOption(name="size", value="M"), pb.VariantOption(name="color", value="Red")],
        version=3,
    )
    variant.created_at.FromDatetime(datetime(2026, 1, 31, 12, 0, tzinfo=UTC))
    out = cm.variant_out(variant).model_dump(mode="json")
    assert out["price"] == {"amount": "19.99", "currency": "USD"}
    assert out["cost"] is None and out["barcode"] is None and out["weight_grams"] is None
    assert list(out["options"].items()) == [("size", "M"), ("color", "Red")]
    assert out["created_at"] == "2026-01-31T12:00:00Z"
    assert out["updated_at"] is None

    variant.cost.CopyFrom(common_pb2.Money(amount_minor=5, currency="JPY"))
    variant.weight_grams = 0
    out = cm.variant_out(variant).model_dump(mode="json")
    assert out["cost"] == {"amount": "5", "currency": "JPY"} and out["weight_grams"] == 0


def test_variant_patch_mask_includes_cleared_fields() -> None:
    patch = cs.VariantPatchIn.model_validate({"price": {"amount": "2", "currency": "EUR"}, "cost": None})
    message, mask = cm.variant_patch(patch)
    assert list(mask.paths) == ["cost", "price"]
    assert message.price.amount_minor == 200 and not message.HasField("cost")
    with pytest.raises(ValidationError):
        cs.VariantPatchIn.model_validate({"sku": None})
    with pytest.raises(ValidationError):
        cs.VariantPatchIn.model_validate({})


def test_create_and_list_requests() -> None:
    body = cs.ProductCreateIn.model_validate(
        {
            "title": "T",
            "status": "archived",
            "variants": [
                {"sku": "A", "price": {"amount": "1", "currency": "USD"}, "barcode": "123", "weight_grams": 5}
            ],
        }
    )
    request = cm.create_request(body)
    assert request.status == pb.PRODUCT_STATUS_ARCHIVED
    assert request.variants[0].barcode == "123" and request.variants[0].weight_grams == 5
    assert cm.create_request(cs.ProductCreateIn(title="T")).status == pb.PRODUCT_STATUS_UNSPECIFIED

    query = cs.ProductListQuery.model_validate(
        {"sku": "AB", "limit": "10", "updated_since": "2026-01-31T13:00:00+01:00"}
    )
    listed = cm.list_request(query)
    assert listed.sku_prefix == "AB" and listed.page.limit == 10
    assert listed.updated_since.ToJsonString() == "2026-01-31T12:00:00Z"
