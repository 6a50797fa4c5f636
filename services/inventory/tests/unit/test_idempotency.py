"""Request fingerprints of idempotency keys (pure): what makes two requests the same."""

from __future__ import annotations

import pytest

from inventory import domain
from inventory.domain import AdjustmentLine, AdjustmentReason, ReserveLineInput
from inventory.service.reservation_groups import ReserveCommand, commit_fingerprint, reserve_fingerprint
from omnistock_common.errors import InvalidArgument


def test_the_same_request_has_the_same_fingerprint_and_the_key_is_not_part_of_it() -> None:
    cmd = ReserveCommand("o-1", [ReserveLineInput("A", 2)], 0, "key-1")
    twin = ReserveCommand("o-1", (ReserveLineInput("A", 2, ""),), 0, "key-2")  # a tuple, another key
    assert reserve_fingerprint(cmd) == reserve_fingerprint(twin)
    assert len(reserve_fingerprint(cmd)) == 64


@pytest.mark.parametrize(
    "other",
    [
        ReserveCommand("o-2", [ReserveLineInput("A", 2)], 0, "k"),
        ReserveCommand("o-1", [ReserveLineInput("A", 3)], 0, "k"),
        ReserveCommand("o-1", [ReserveLineInput("A", 2, "east")], 0, "k"),
        ReserveCommand("o-1", [ReserveLineInput("A", 2)], 60, "k"),
        ReserveCommand("o-1", [ReserveLineInput("A", 2)], 0, "k", "conn-1"),
        ReserveCommand("o-1", [ReserveLineInput("A", 1), ReserveLineInput("A", 1)], 0, "k"),
    ],
)
def test_any_field_that_defines_a_reserve_changes_its_fingerprint(other: ReserveCommand) -> None:
    assert reserve_fingerprint(other) != reserve_fingerprint(
        ReserveCommand("o-1", [ReserveLineInput("A", 2)], 0, "k")
    )


def test_operations_and_enum_values_are_part_of_the_fingerprint() -> None:
    line = AdjustmentLine("A", "", 5, None, AdjustmentReason.RECEIVED)
    damaged = AdjustmentLine("A", "", 5, None, AdjustmentReason.DAMAGED)
    assert domain.request_fingerprint("adjust", {"lines": [line]}) != domain.request_fingerprint(
        "adjust", {"lines": [damaged]}
    )
    assert domain.request_fingerprint("adjust", {"lines": [line]}) != domain.request_fingerprint(
        "batch_adjust", {"lines": [line]}
    )
    assert commit_fingerprint("r1", [("A", 1)]) != commit_fingerprint("r2", [("A", 1)])
    assert commit_fingerprint("r1", [("A", 1)]) == commit_fingerprint("r1", (("A", 1),))
    with pytest.raises(TypeError):
        domain.request_fingerprint("x", {"when": object()})


def test_a_different_fingerprint_is_refused_and_a_missing_one_is_accepted() -> None:
    assert (
        domain.same_request("f1", "f1") and domain.same_request(None, "f1") and domain.same_request("", "f1")
    )
    with pytest.raises(InvalidArgument) as refused:
        domain.check_same_request("f1", "f2")
    assert refused.value.reason == domain.IDEMPOTENCY_KEY_REUSED
    assert [(v.field, v.message) for v in refused.value.violations] == [
        ("idempotency_key", "reused with a different request")
    ]
