"""connection_settings.changed_settings: only a type's editable settings change, all at once or
none (every bad key and value named)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from channels.connection_settings import MAX_SETTING_VALUE, changed_settings
from channels.domain import CHANNEL_TYPES
from omnistock_common.errors import InvalidArgument

TIKTOK = CHANNEL_TYPES["tiktok"]
CURRENT = {"store_id": "7000", "currency": "USD", "category_id": "600001"}


def test_set_and_remove_editable_settings_keeps_the_others() -> None:
    changed = changed_settings(TIKTOK, CURRENT, {"warehouse_id": " 7311 ", "brand_id": "9"}, ["category_id"])
    assert changed == {"store_id": "7000", "currency": "USD", "warehouse_id": "7311", "brand_id": "9"}
    assert CURRENT["category_id"] == "600001"  # the input is not mutated


@pytest.mark.parametrize(
    ("to_set", "to_remove", "field"),
    [
        ({"store_id": "8000"}, [], "settings.store_id"),
        ({}, ["currency"], "settings.currency"),
        ({"api_base_url": "http://127.0.0.1:1"}, [], "settings.api_base_url"),
        ({"category_id": ""}, [], "settings.category_id"),
        ({"category_id": "x" * (MAX_SETTING_VALUE + 1)}, [], "settings.category_id"),
        ({"category_id": "a\nb"}, [], "settings.category_id"),
        ({"category_id": "1"}, ["category_id"], "settings.category_id"),
        ({}, [], "settings"),
    ],
)
def test_a_bad_change_is_refused_naming_the_field(
    to_set: dict[str, str], to_remove: list[str], field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        changed_settings(TIKTOK, CURRENT, to_set, to_remove)
    assert field in [v.field for v in refused.value.violations]


def test_every_refusal_is_named_at_once() -> None:
    with pytest.raises(InvalidArgument) as refused:
        changed_settings(TIKTOK, CURRENT, {"store_id": "1", "category_id": " "}, ["region"])
    assert {v.field for v in refused.value.violations} == {
        "settings.store_id",
        "settings.category_id",
        "settings.region",
    }


def test_a_type_with_nothing_editable_says_so() -> None:
    closed = replace(CHANNEL_TYPES["shopify"], editable_settings=())
    with pytest.raises(InvalidArgument) as refused:
        changed_settings(closed, {}, {"location_id": "1"}, [])
    assert "editable are none" in refused.value.violations[0].message


def test_no_type_lets_the_store_identity_or_api_host_change() -> None:
    identity = {"store_id", "shop_domain", "shop", "store_url", "api_base_url", "currency", "region"}
    for kind in CHANNEL_TYPES.values():
        assert not identity & set(kind.editable_settings), kind.type
