"""`mirrored`: a response model filled from a message by field name."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway import channels_schemas as s
from gateway.mapping import mirrored
from omnistock.channels.v1 import channels_service_pb2 as pb
from omnistock_common.timestamps import to_timestamp


def test_timestamps_become_datetimes_or_null_and_scalars_are_copied() -> None:
    synced = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    health = pb.ConnectionHealth(last_sync_at=to_timestamp(synced), error_count=3, last_error="HTTP 500")
    out = mirrored(s.HealthOut, health)
    assert out.last_sync_at == synced and out.last_success_at is None and out.token_expires_at is None
    assert (out.error_count, out.last_error, out.increases_held_reason) == (3, "HTTP 500", "")


def test_overrides_replace_what_needs_translating() -> None:
    assert mirrored(s.HealthOut, pb.ConnectionHealth(error_count=1), error_count=7).error_count == 7
