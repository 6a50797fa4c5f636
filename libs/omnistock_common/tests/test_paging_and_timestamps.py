"""The shared cursor and timestamp helpers: round trips, and what they refuse."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from omnistock_common import paging
from omnistock_common.errors import InvalidArgument
from omnistock_common.timestamps import (
    from_timestamp,
    iso_utc,
    iso_z,
    to_optional_timestamp,
    to_timestamp,
)


def test_cursor_round_trip_is_url_safe_and_unpadded() -> None:
    key = ["2026-01-02T03:04:05.000006+00:00", "id/with+chars?"]
    token = paging.encode_cursor(key)
    assert "=" not in token and "+" not in token and "/" not in token
    assert paging.decode_cursor(token) == key
    assert paging.decode_cursor(token, arity=2) == key
    assert paging.decode_cursor(token, arity=1) is None
    # Cursors issued padded (channels did) still read back.
    assert paging.decode_cursor(token + "=" * (-len(token) % 4)) == key


@pytest.mark.parametrize(
    "token",
    ["", "!!!!", "bm90IGpzb24", paging.b64_encode(b'{"a": 1}'), paging.b64_encode(b"\xff\xfe")],
)
def test_anything_not_a_cursor_decodes_to_none(token: str) -> None:
    assert paging.decode_cursor(token) is None


def test_b64_is_strict() -> None:
    assert paging.b64_decode(paging.b64_encode(b"user-1")) == b"user-1"
    assert paging.b64_decode("dXNlci0x\n") is None
    assert paging.b64_decode("a") is None


def test_a_request_cursor_reads_back_typed_and_empty_is_the_first_page() -> None:
    opened = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    token = paging.encode_cursor([opened.isoformat(), "alert-1"])
    assert paging.read_cursor(token, datetime, str) == [opened, "alert-1"]
    assert paging.read_cursor(paging.encode_cursor(["A", "default"]), str, str) == ["A", "default"]
    assert paging.read_cursor(paging.encode_cursor([42]), int) == [42]
    assert paging.read_cursor("", str, str) is None
    # An offset-less time is UTC.
    naive = paging.encode_cursor(["2026-01-02T03:04:05", "a"])
    assert paging.read_cursor(naive, datetime, str) == [datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "a"]


def test_cursors_issued_by_the_old_inventory_helper_still_read_back() -> None:
    """inventory issued padded base64 of spaced JSON; a page in flight keeps working."""
    old = base64.urlsafe_b64encode(json.dumps(["A", "default"]).encode()).decode()
    assert old.endswith("=") and paging.read_cursor(old, str, str) == ["A", "default"]


@pytest.mark.parametrize(
    ("token", "types"),
    [
        ("!!!", (str, str)),
        (paging.encode_cursor(["only-one"]), (str, str)),
        (paging.encode_cursor(["x"]), (int,)),
        (paging.encode_cursor([True]), (int,)),
        (paging.encode_cursor([1, "a"]), (str, str)),
        (paging.encode_cursor(["yesterday", "a"]), (datetime, str)),
        (paging.encode_cursor([5, "a"]), (datetime, str)),
    ],
)
def test_a_cursor_we_did_not_issue_is_invalid_argument_on_the_page_field(
    token: str, types: tuple[type, ...]
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        paging.read_cursor(token, *types)
    assert [v.field for v in caught.value.violations] == ["page.cursor"]


def test_page_limit_defaults_caps_and_refuses_negative() -> None:
    assert paging.page_limit(0) == 50
    assert paging.page_limit(7) == 7
    assert paging.page_limit(10_000) == 500
    with pytest.raises(InvalidArgument) as caught:
        paging.page_limit(-1)
    assert [v.field for v in caught.value.violations] == ["page.limit"]


def test_timestamp_is_exact_to_the_microsecond_and_agrees_with_protobuf() -> None:
    moments = [
        datetime(2026, 12, 6, 2, 30, 1, 999_999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=-7))),
    ]
    for moment in moments:
        reference = Timestamp()
        reference.FromDatetime(moment)
        assert to_timestamp(moment) == reference, moment
        assert from_timestamp(to_timestamp(moment)) == moment
    assert from_timestamp(to_timestamp(moments[2])).tzinfo == UTC


def test_unset_timestamps_are_none_both_ways() -> None:
    assert to_optional_timestamp(None) is None
    assert from_timestamp(Timestamp()) is None
    assert from_timestamp(Timestamp(nanos=1000)) == datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)


def test_iso_forms() -> None:
    moment = datetime(2026, 1, 2, 4, 4, 5, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert iso_z(moment) == "2026-01-02T03:04:05Z"
    assert iso_utc(moment) == "2026-01-02T03:04:05.123456+00:00"
    assert iso_utc(None) is None
