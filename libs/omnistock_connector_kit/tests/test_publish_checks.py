"""The checks every connector makes before publishing (omnistock_connector_kit.publishing): SKUs
as the channel keys them, statuses, unowned new variants, and the required-fields collector."""

from __future__ import annotations

import pytest

from omnistock_connector_kit.publishing import (
    ProductUpsert,
    RequiredFields,
    VariantUpsert,
    adds_unowned_variants,
    sku_problem,
    status_problem,
)

KEY = "the channel's item key"


@pytest.mark.parametrize(
    ("skus", "found"),
    [
        ((), "at least one variant"),
        (("A", "B", "C"), "at most 2 variants"),
        (("A", ""), "every variant needs a SKU (it is the channel's item key)"),
        (("A", "A"), "two variants have the same SKU"),
        (("TOOLONG",), "SKU 'TOOLONG' is longer than 5 characters"),
    ],
)
def test_sku_problems_name_the_channels_key(skus: tuple[str, ...], found: str) -> None:
    product = ProductUpsert("p", variants=tuple(VariantUpsert(s) for s in skus))
    assert found in (sku_problem(product, key=KEY, max_length=5, max_variants=2) or "")


def test_good_skus_and_no_limits() -> None:
    product = ProductUpsert("p", variants=(VariantUpsert("A" * 50), VariantUpsert("B")))
    assert sku_problem(product, key=KEY) is None


def test_a_status_is_checked_only_when_written() -> None:
    assert status_problem(ProductUpsert("p", status="sold")) is not None  # a create writes it
    update = ProductUpsert("p", external_id="1", status="sold", owned_fields=frozenset({"title"}))
    assert status_problem(update) is None
    assert status_problem(ProductUpsert("p", status="archived"), known=("active",)) is not None


def test_new_variants_need_the_variants_field_on_an_update() -> None:
    known, new = VariantUpsert("A", external_id="9"), VariantUpsert("B")
    assert not adds_unowned_variants(ProductUpsert("p", variants=(new,)))  # a create
    titled = frozenset({"title"})
    assert adds_unowned_variants(
        ProductUpsert("p", external_id="1", variants=(known, new), owned_fields=titled)
    )
    assert not adds_unowned_variants(
        ProductUpsert("p", external_id="1", variants=(known,), owned_fields=titled)
    )
    owning = frozenset({"variants"})
    assert not adds_unowned_variants(
        ProductUpsert("p", external_id="1", variants=(new,), owned_fields=owning)
    )


def test_required_fields_are_named_once_when_written() -> None:
    required = RequiredFields()
    required.need("title", present=False)
    required.need("title", present=False)
    required.need("price", present=False, writes=False)
    required.need("image", present=True)
    assert required.missing == ["title"]
