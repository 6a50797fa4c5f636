"""Outgoing calls to the connector services: one DeadlineStub(ConnectorServiceStub) per channel
type, the ConnectionContext built with DECRYPTED credentials only at call time, and the mapping
of a connector's gRPC errors onto our domain errors.

Credentials live in a ConnectionContext only for the length of one call; they are never logged
(protobuf messages are never passed to a logger here) and never stored anywhere but encrypted.

Layering: this is the outbound gRPC adapter of the connector port, so it may build generated
connector messages itself (like catalog's inventory_client.py); use-case modules take their
request messages from mapping.py instead (tests/unit/test_layering.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from channels.domain import ChannelRateLimited, ChannelUnavailable, Credentials
from omnistock.connector.v1 import connector_service_pb2 as cpb
from omnistock.connector.v1 import connector_service_pb2_grpc as cpb_grpc
from omnistock_common.clients import DeadlineStub
from omnistock_common.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)

# ErrorInfo reasons a connector puts on UNAUTHENTICATED.
REASON_TOKEN_EXPIRED = "ACCESS_TOKEN_EXPIRED"
REASON_REVOKED = "CREDENTIALS_REVOKED"

ConnectorStub = cpb_grpc.ConnectorServiceStub


class ConnectorRegistry:
    """channel type -> DeadlineStub of its connector service (channels created lazily, no I/O)."""

    def __init__(
        self, stubs: Mapping[str, DeadlineStub[ConnectorStub]], channels: list[grpc.Channel]
    ) -> None:
        self._stubs = dict(stubs)
        self._channels = channels

    @classmethod
    def from_addresses(cls, addresses: Mapping[str, str], timeout: float) -> ConnectorRegistry:
        channels: list[grpc.Channel] = []
        stubs: dict[str, DeadlineStub[ConnectorStub]] = {}
        for kind, address in addresses.items():
            channel = connector_channel(address)
            channels.append(channel)
            stubs[kind] = DeadlineStub(cpb_grpc.ConnectorServiceStub(channel), timeout)
        return cls(stubs, channels)

    def get(self, channel_type: str) -> DeadlineStub[ConnectorStub]:
        stub = self._stubs.get(channel_type)
        if stub is None:
            raise FailedPrecondition(
                f"no connector service is configured for {channel_type!r}", reason="NO_CONNECTOR"
            )
        return stub

    def close(self) -> None:
        for channel in self._channels:
            channel.close()


def connector_channel(address: str) -> grpc.Channel:
    """A channel WITHOUT gRPC's transparent UNAVAILABLE retries: a connector's UNAVAILABLE already
    means "the channel failed after the connector's own retries", and retrying it here would
    multiply the load on a struggling channel (the sync engine retries later, with backoff)."""
    return grpc.insecure_channel(
        address,
        options=[
            ("grpc.enable_retries", 0),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ],
    )


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def _dt(stamp: Timestamp, present: bool) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present and (stamp.seconds or stamp.nanos) else None


def credentials_to_pb(creds: Credentials) -> cpb.Credentials:
    return cpb.Credentials(
        secrets=dict(creds.secrets),
        access_token_expires_at=_ts(creds.access_token_expires_at),
        refresh_token_expires_at=_ts(creds.refresh_token_expires_at),
        scopes=list(creds.scopes),
    )


def credentials_from_pb(message: cpb.Credentials) -> Credentials:
    return Credentials(
        secrets=dict(message.secrets),
        access_token_expires_at=_dt(
            message.access_token_expires_at, message.HasField("access_token_expires_at")
        ),
        refresh_token_expires_at=_dt(
            message.refresh_token_expires_at, message.HasField("refresh_token_expires_at")
        ),
        scopes=tuple(message.scopes),
    )


def connection_context(
    *,
    connection_id: str,
    tenant_id: str,
    channel_type: str,
    settings: Mapping[str, str],
    credentials: Credentials | None,
) -> cpb.ConnectionContext:
    return cpb.ConnectionContext(
        connection_id=connection_id,
        tenant_id=tenant_id,
        channel_type=channel_type,
        settings=dict(settings),
        credentials=credentials_to_pb(credentials) if credentials is not None else None,
    )


@dataclass(frozen=True)
class ConnectorFailure:
    """What went wrong in one connector call, in a form the service layer can branch on."""

    code: grpc.StatusCode
    message: str
    reason: str
    retry_after_seconds: float | None

    @property
    def token_expired(self) -> bool:
        return self.code is grpc.StatusCode.UNAUTHENTICATED and self.reason == REASON_TOKEN_EXPIRED

    @property
    def credentials_dead(self) -> bool:
        """Re-authorization needed: the contract's UNAUTHENTICATED other than a mere expiry."""
        return self.code is grpc.StatusCode.UNAUTHENTICATED and not self.token_expired


def failure_of(error: grpc.RpcError) -> ConnectorFailure:
    """Code, message, ErrorInfo reason and RetryInfo delay of a failed connector call."""
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    message = (error.details() if isinstance(error, grpc.Call) else "") or code.name
    reason = ""
    retry_after: float | None = None
    status = rpc_status.from_call(error) if isinstance(error, grpc.Call) else None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            retry_after = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    return ConnectorFailure(code, message, reason, retry_after)


def to_domain_error(failure: ConnectorFailure, channel_label: str) -> DomainError:
    """A connector failure as our own error, with a message a merchant can act on."""
    text = f"{channel_label}: {failure.message}"
    code = failure.code
    if code is grpc.StatusCode.UNAUTHENTICATED:
        return FailedPrecondition(
            f"{channel_label} refused the credentials ({failure.message}); reconnect the channel",
            reason=failure.reason or "CHANNEL_CREDENTIALS_REJECTED",
        )
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(text, reason=failure.reason)
    if code is grpc.StatusCode.FAILED_PRECONDITION:
        return FailedPrecondition(text, reason=failure.reason or "CHANNEL_REFUSED")
    if code is grpc.StatusCode.NOT_FOUND:
        return NotFound(text, reason=failure.reason)
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        details = []
        if failure.retry_after_seconds is not None:
            retry = error_details_pb2.RetryInfo()
            retry.retry_delay.FromNanoseconds(int(failure.retry_after_seconds * 1e9))
            details.append(retry)
        return ChannelRateLimited(text, reason=failure.reason or "CHANNEL_RATE_LIMITED", details=details)
    return ChannelUnavailable(
        f"{channel_label} is unavailable ({failure.code.name}: {failure.message})",
        reason=failure.reason or "CHANNEL_UNAVAILABLE",
    )


def signature_rejected(failure: ConnectorFailure, channel_label: str) -> DomainError:
    """ParseWebhook / ExchangeCode UNAUTHENTICATED means a bad signature, not bad credentials."""
    return Unauthenticated(
        f"{channel_label}: signature verification failed ({failure.message})",
        reason=failure.reason or "BAD_SIGNATURE",
    )
