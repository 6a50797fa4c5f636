"""gateway.mapping: the pieces every area shares, and translations that must not drift."""

from __future__ import annotations

import io

import pytest

from gateway import catalog_schemas as cs
from gateway import inventory_schemas as inv
from gateway.mapping import catalog as cm
from gateway.mapping import inventory as im
from gateway.mapping import next_cursor, page_request
from gateway.schemas import MoneyIn, StrictModel, check_patch
from omnistock.catalog.v1 import catalog_service_pb2 as catalog_pb
from omnistock.common.v1 import common_pb2
from omnistock.inventory.v1 import inventory_service_pb2 as inventory_pb


def test_pages_no_cursor_is_first_page_and_empty_next_is_null() -> None:
    assert page_request(20, None) == common_pb2.PageRequest(limit=20, cursor="")
    assert page_request(20, "abc") == common_pb2.PageRequest(limit=20, cursor="abc")
    assert next_cursor(common_pb2.PageResponse()) is None
    assert next_cursor(common_pb2.PageResponse(next_cursor="n")) == "n"


def test_new_variant_and_patch_share_one_copier() -> None:
    body = cs.VariantIn(sku="MUG-1", price=MoneyIn(amount="12.50", currency="USD"), weight_grams=0)
    out = cm.variant_input(body)
    assert out.sku == "MUG-1" and out.price == common_pb2.Money(amount_minor=1250, currency="USD")
    assert out.HasField("weight_grams") and out.weight_grams == 0  # 0 grams is a value, not "unset"
    assert not out.HasField("cost") and not out.HasField("barcode")
    patch, mask = cm.variant_patch(cs.VariantPatchIn(barcode=None, weight_grams=7))
    assert list(mask.paths) == ["barcode", "weight_grams"]
    assert not patch.HasField("barcode") and patch.weight_grams == 7 and patch.sku == ""


def test_if_match_absent_is_unconditional_on_the_wire() -> None:
    assert cm.delete_product_request("p", None).expected_version == 0
    assert cm.delete_variant_request("v", 4).expected_version == 4
    body = cs.ProductPatchIn(title="T")
    assert cm.update_product_request("p", body, None).expected_version == 0
    assert cm.update_product_request("p", body, 3).expected_version == 3


def test_import_messages_send_options_then_chunks() -> None:
    messages = list(cm.import_messages(io.BytesIO(b"abcdefg"), None, 3))
    assert messages[0].options == catalog_pb.ImportOptions(default_currency="")
    assert [msg.chunk for msg in messages[1:]] == [b"abc", b"def", b"g"]


def test_adjustment_sets_exactly_the_given_change() -> None:
    relative = im.adjustment_line(inv.AdjustmentIn(sku="A", delta=-2, reason="sale"))
    absolute = im.adjustment_line(inv.AdjustmentIn(sku="A", set=0, reason="cycle_count"))
    assert relative.WhichOneof("change") == "delta" and relative.delta == -2
    assert absolute.WhichOneof("change") == "set" and absolute.set == 0
    assert relative.reason == inventory_pb.ADJUSTMENT_REASON_SALE


def test_allocation_leaves_absent_caps_unset() -> None:
    rule = im.allocation_rule("c1", inv.AllocationIn(buffer=2, percentage=0))
    assert not rule.HasField("max_quantity") and rule.HasField("percentage") and rule.percentage == 0
    assert im.allocation_out(rule).max_quantity is None and im.allocation_out(rule).percentage == 0


class _Patch(StrictModel):
    a: int | None = None
    b: int | None = None


@pytest.mark.parametrize(
    ("fields", "clearable", "message"),
    [({}, (), "say what"), ({"a": None}, (), "a cannot be null"), ({"a": None}, ("a",), None)],
)
def test_check_patch(fields: dict[str, int | None], clearable: tuple[str, ...], message: str | None) -> None:
    model = _Patch(**fields)
    if message is None:
        check_patch(model, empty="say what", clearable=clearable)
        return
    with pytest.raises(ValueError, match=message):
        check_patch(model, empty="say what", clearable=clearable)
