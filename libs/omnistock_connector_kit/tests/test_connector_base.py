"""connector_base: context → client, channel failures → contract errors, credentials conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.errors import FailedPrecondition, InvalidArgument, Unauthenticated, to_rpc_status
from omnistock_connector_kit.channel_http import ChannelHttpError, InMemoryTokenBucket, RateLimitTimeout
from omnistock_connector_kit.connector_base import (
    ACCESS_TOKEN_EXPIRED,
    CREDENTIALS_MISSING,
    CREDENTIALS_REVOKED,
    ResourceExhausted,
    Unavailable,
    bucket_key,
    build_http_client,
    check_response,
    credentials_from_dict,
    credentials_to_dict,
    expires_after,
    map_channel_error,
    require_secret,
    translate_channel_errors,
)


def connection(**settings: str) -> pb.ConnectionContext:
    return pb.ConnectionContext(
        connection_id="conn-1",
        tenant_id="t1",
        channel_type="shopify",
        settings=settings,
        credentials=pb.Credentials(secrets={"access_token": "tok"}),
    )


def unpack_retry_info(error: ResourceExhausted | Unavailable) -> error_details_pb2.RetryInfo | None:
    for detail in to_rpc_status(error).details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info
    return None


def test_client_uses_the_connection_base_url_and_bucket() -> None:
    seen: list[httpx.Request] = []
    ctx = connection(api_base_url="http://127.0.0.1:8701/")
    client = build_http_client(
        ctx,
        limiter=InMemoryTokenBucket(10, 10),
        transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200)),
    )
    client.request("GET", "/admin/x")
    assert str(seen[0].url) == "http://127.0.0.1:8701/admin/x"
    assert client.bucket_key == bucket_key(ctx) == "connector:shopify:conn-1"


@pytest.mark.parametrize("base", ["", "ftp://x", "not a url"])
def test_bad_or_missing_base_url_is_invalid_argument(base: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        build_http_client(connection(api_base_url=base), limiter=InMemoryTokenBucket(1, 1))
    assert caught.value.violations[0].field == "connection.settings.api_base_url"


def test_missing_secret_is_unauthenticated() -> None:
    with pytest.raises(Unauthenticated) as caught:
        require_secret(connection(), "refresh_token")
    assert caught.value.reason == CREDENTIALS_MISSING
    assert require_secret(connection(), "access_token") == "tok"


def test_exhausted_429_becomes_resource_exhausted_with_retry_info() -> None:
    mapped = map_channel_error(ChannelHttpError("x", status=429, retryable=True, retry_after=2.5))
    assert isinstance(mapped, ResourceExhausted)
    assert mapped.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    info = unpack_retry_info(mapped)
    assert info is not None
    assert (info.retry_delay.seconds, info.retry_delay.nanos) == (2, 500_000_000)

    bucket = map_channel_error(RateLimitTimeout("bucket", retry_after=7))
    assert isinstance(bucket, ResourceExhausted)
    assert unpack_retry_info(bucket).retry_delay.seconds == 7


def test_exhausted_5xx_is_unavailable_and_non_retryable_is_failed_precondition() -> None:
    assert isinstance(map_channel_error(ChannelHttpError("x", status=503, retryable=True)), Unavailable)
    assert isinstance(map_channel_error(ChannelHttpError("x", retryable=True)), Unavailable)
    assert isinstance(map_channel_error(ChannelHttpError("x", status=400)), FailedPrecondition)
    with pytest.raises(Unavailable), translate_channel_errors():
        raise ChannelHttpError("boom", status=502, retryable=True)


def test_check_response_maps_auth_failures() -> None:
    request = httpx.Request("GET", "http://x")
    with pytest.raises(Unauthenticated) as refreshable:
        check_response(httpx.Response(401, request=request), refreshable=True, what="push")
    assert refreshable.value.reason == ACCESS_TOKEN_EXPIRED
    with pytest.raises(Unauthenticated) as revoked:
        check_response(httpx.Response(401, request=request), refreshable=False, what="push")
    assert revoked.value.reason == CREDENTIALS_REVOKED
    with pytest.raises(FailedPrecondition):
        check_response(httpx.Response(422, request=request), refreshable=True, what="push")
    ok = httpx.Response(200, request=request)
    assert check_response(ok, refreshable=True, what="push") is ok


def test_credentials_round_trip_keeps_absolute_times_and_unset_fields() -> None:
    expiry = datetime(2025, 7, 1, 12, 0, 0, 250000, tzinfo=UTC)
    data = {
        "secrets": {"access_token": "a", "refresh_token": "r", "empty": ""},
        "access_token_expires_at": expiry,
        "refresh_token_expires_at": None,
        "scopes": ["read_orders", "write_inventory"],
    }
    message = credentials_from_dict(data)
    assert not message.HasField("refresh_token_expires_at")
    back = credentials_to_dict(message)
    assert back == {
        "secrets": {"access_token": "a", "refresh_token": "r"},
        "access_token_expires_at": expiry,
        "refresh_token_expires_at": None,
        "scopes": ["read_orders", "write_inventory"],
    }
    with pytest.raises(ValueError):
        credentials_from_dict({"access_token_expires_at": datetime(2025, 1, 1)})


def test_expires_after_is_absolute() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert expires_after(3600, now=now) == now + timedelta(hours=1)
    assert expires_after("60", now=now) == now + timedelta(minutes=1)
    assert expires_after(None) is None
