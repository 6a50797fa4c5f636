"""Catalog rules and the list cursor, without any I/O."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from catalog.domain import (
    Cursor,
    Money,
    NewProduct,
    Option,
    ProductPatch,
    ProductStatus,
    VariantPatch,
    VariantSpec,
    apply_variant_changes,
    check_version,
    decode_cursor,
    encode_cursor,
    merged_violations,
    new_variant,
    page_size,
    validate_new_product,
    validate_product_patch,
    validate_variant,
    validate_variant_patch,
    variant_changes,
)
from omnistock_common.errors import Aborted, InvalidArgument

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def spec(sku: str = "SKU-1", **overrides: object) -> VariantSpec:
    values: dict[str, object] = {"sku": sku, "price": Money(1999, "USD")}
    values.update(overrides)
    return VariantSpec(**values)  # type: ignore[arg-type]


def fields_of(exc: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {v.field: v.message for v in exc.value.violations}


def test_new_product_reports_every_violation_with_its_path() -> None:
    cmd = NewProduct(
        title=" ",
        description="",
        status=None,
        variants=(spec("A"), spec("B", price=Money(-1, "XYZ")), spec("A"), spec("has space")),
    )
    with pytest.raises(InvalidArgument) as exc:
        validate_new_product(cmd)
    fields = fields_of(exc)
    assert set(fields) == {
        "title",
        "variants[1].price.currency",
        "variants[1].price.amount_minor",
        "variants[2].sku",
        "variants[3].sku",
    }
    assert "variants[0].sku" in fields["variants[2].sku"]
    assert "whitespace" in fields["variants[3].sku"]


def test_product_needs_a_variant() -> None:
    with pytest.raises(InvalidArgument) as exc:
        validate_new_product(NewProduct("Shirt", "", None, ()))
    assert set(fields_of(exc)) == {"variants"}


@pytest.mark.parametrize(
    ("variant", "field"),
    [
        (spec(""), "sku"),
        (spec("X" * 65), "sku"),
        (spec("A\tB"), "sku"),
        (spec(price=None), "price"),
        (spec(cost=Money(-5, "USD")), "cost.amount_minor"),
        (spec(cost=Money(5, "EUR")), "cost.currency"),
        (spec(weight_grams=-1), "weight_grams"),
        (spec(weight_grams=10_000_001), "weight_grams"),
        (spec(barcode="9" * 65), "barcode"),
        (spec(options=tuple(Option(f"o{i}", "v") for i in range(4))), "options"),
        (spec(options=(Option("Size", "M"), Option("size", "L"))), "options[1].name"),
        (spec(options=(Option("Size", ""),)), "options[0].value"),
        (spec(options=(Option("", "M"),)), "options[0].name"),
    ],
)
def test_variant_rules(variant: VariantSpec, field: str) -> None:
    assert [v.field for v in validate_variant(variant, "")] == [field]


def test_valid_variant_has_no_violations() -> None:
    variant = spec(
        "ABC-1", cost=Money(500, "USD"), barcode="0123", weight_grams=0, options=(Option("Size", "M"),)
    )
    assert validate_variant(variant, "variants[0]") == []
    assert validate_variant(spec("X" * 64), "") == []
    assert validate_variant(spec(weight_grams=10_000_000), "") == []


def test_update_masks_reject_unknown_paths() -> None:
    with pytest.raises(InvalidArgument) as exc:
        validate_product_patch(ProductPatch(frozenset({"title", "price"}), title="New"))
    assert fields_of(exc) == {"update_mask": "unknown field 'price'"}
    with pytest.raises(InvalidArgument) as exc:
        validate_variant_patch(VariantPatch(frozenset({"colour"}), spec()))
    assert set(fields_of(exc)) == {"update_mask"}
    with pytest.raises(InvalidArgument):
        validate_product_patch(ProductPatch(frozenset()))
    with pytest.raises(InvalidArgument) as exc:
        validate_product_patch(ProductPatch(frozenset({"status"}), status=None))
    assert set(fields_of(exc)) == {"product.status"}


def test_variant_patch_only_checks_masked_fields() -> None:
    # price is None but not in the mask, so only the barcode matters.
    validate_variant_patch(VariantPatch(frozenset({"barcode"}), VariantSpec(sku="", price=None, barcode="1")))
    with pytest.raises(InvalidArgument) as exc:
        validate_variant_patch(VariantPatch(frozenset({"price"}), VariantSpec(sku="", price=Money(1, "XXX"))))
    assert set(fields_of(exc)) == {"variant.price.currency"}


def test_version_check() -> None:
    check_version(0, 7, "the product")  # 0 = unconditional
    check_version(7, 7, "the product")
    with pytest.raises(Aborted):
        check_version(6, 7, "the product")


def test_variant_changes_bump_version_only_when_something_differs() -> None:
    variant = new_variant(spec(barcode=None), id="v1", product_id="p1", position=0, now=NOW)
    assert variant_changes(variant, spec(barcode=""), {"sku", "price", "barcode", "options"}) == {}
    later = NOW + timedelta(seconds=1)
    changes = variant_changes(variant, spec(price=Money(2500, "USD")), {"price", "cost"})
    assert changes == {"price": Money(2500, "USD")}
    changed = apply_variant_changes(variant, changes, later)
    assert (changed.version, changed.updated_at, changed.created_at) == (2, later, NOW)
    assert apply_variant_changes(variant, {}, later) is variant


def test_merged_variant_keeps_cost_in_price_currency() -> None:
    variant = new_variant(spec(cost=Money(100, "USD")), id="v", product_id="p", position=0, now=NOW)
    euro = apply_variant_changes(variant, {"price": Money(100, "EUR")}, NOW)
    assert [v.field for v in merged_violations(euro, "variant")] == ["variant.cost.currency"]


def test_cursor_round_trip_and_tampering() -> None:
    cursor = Cursor(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "abc")
    token = encode_cursor(cursor)
    assert decode_cursor(token) == cursor
    assert decode_cursor("") is None
    for bad in ("not-base64!", base64.urlsafe_b64encode(b'{"a": 1}').decode(), "W10", "WyJ4IiwgMV0"):
        with pytest.raises(InvalidArgument) as exc:
            decode_cursor(bad)
        assert set(fields_of(exc)) == {"page.cursor"}


def test_page_size_defaults_and_bounds() -> None:
    assert page_size(0) == 50
    assert page_size(500) == 500
    for bad in (-1, 501):
        with pytest.raises(InvalidArgument) as exc:
            page_size(bad)
        assert set(fields_of(exc)) == {"page.limit"}


def test_status_values_match_the_csv_spelling() -> None:
    assert [s.value for s in ProductStatus] == ["active", "draft", "archived"]
