"""array_literal: the one-type fast paths render exactly what the per-element path renders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from inventory.domain import MovementKind
from inventory.repository.pg_statements import _array_element, array_literal

NOW = datetime(2026, 11, 23, 10, 30, 0, 123456, tzinfo=UTC)


def per_element(values: list[Any]) -> str:
    return "{" + ",".join(_array_element(value) for value in values) + "}"


@pytest.mark.parametrize(
    "values",
    [
        [],
        [1, 2, -3, 10**15],
        [1, None, 3],
        [True, False],
        [1, True],
        ["a", "b c", "", "NULL", "x,y", "{z}"],
        ['say "hi"', "back\\slash", "plain"],
        ["a", None],
        [MovementKind.RESERVE, "RELEASE"],
        ["Ünïcødé", "emoji 📦"],
        [NOW, NOW + timedelta(seconds=1), NOW.astimezone(timezone(timedelta(hours=6)))],
        [NOW, None],
    ],
)
def test_fast_paths_match_the_per_element_rendering(values: list[Any]) -> None:
    assert array_literal(values) == per_element(values)


def test_quotes_and_backslashes_are_escaped() -> None:
    assert array_literal(['a"b', "c\\d"]) == '{"a\\"b","c\\\\d"}'


def test_an_unsupported_element_is_refused() -> None:
    with pytest.raises(TypeError):
        array_literal([1.5])
