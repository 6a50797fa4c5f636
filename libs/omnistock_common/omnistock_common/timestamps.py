"""Datetimes at the gRPC edge (google.protobuf.Timestamp) and in JSON (ISO 8601): one
conversion for every service, always in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_timestamp(value: datetime) -> Timestamp:
    """Exact to the microsecond, by integer arithmetic (Timestamp.FromDatetime is Python code
    and showed in the inventory's Reserve profile). A naive value is local time, as
    `datetime.astimezone` reads it."""
    if value.tzinfo is None:
        value = value.astimezone(UTC)
    micros = (value - _EPOCH) // _MICROSECOND
    return Timestamp(seconds=micros // 1_000_000, nanos=micros % 1_000_000 * 1000)


def to_optional_timestamp(value: datetime | None) -> Timestamp | None:
    """None stays None: the message field is left unset."""
    return None if value is None else to_timestamp(value)


def from_timestamp(stamp: Timestamp) -> datetime | None:
    """A UTC datetime; None for the unset (zero) Timestamp, which proto3 cannot tell apart."""
    return stamp.ToDatetime(tzinfo=UTC) if stamp.seconds or stamp.nanos else None


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC to the second with a `Z` suffix (Shopify's GraphQL DateTime form)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with its offset and microseconds (`+00:00`), None for None."""
    return value.astimezone(UTC).isoformat() if value else None
