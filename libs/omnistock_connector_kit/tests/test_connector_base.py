"""connector_base: context → client, channel failures → contract errors, credentials conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_common.egress import HOST_NOT_ALLOWED, AllowList, EgressPolicy
from omnistock_common.errors import FailedPrecondition, InvalidArgument, Unauthenticated
from omnistock_common.grpc_status import grpc_code, to_rpc_status
from omnistock_connector_kit.channel_http import (
    ChannelHttpError,
    EgressRefusedError,
    InMemoryTokenBucket,
    RateLimitTimeout,
)
from omnistock_connector_kit.connector_base import (
    ACCESS_TOKEN_EXPIRED,
    CREDENTIALS_MISSING,
    CREDENTIALS_REVOKED,
    HOST_NOT_ALLOWED_REASON,
    ResourceExhausted,
    Unavailable,
    bucket_key,
    build_http_client,
    channel_base_url,
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


SANDBOX = EgressPolicy(allowed=AllowList.parse("127.0.0.1:8701"))
DERIVED = "https://demo.myshopify.com"


def test_client_uses_the_given_base_url_and_bucket() -> None:
    seen: list[httpx.Request] = []
    ctx = connection(api_base_url="http://127.0.0.1:8701/")
    client = build_http_client(
        ctx,
        base_url=channel_base_url(ctx, DERIVED, SANDBOX, identity="shop_domain"),
        egress=None,
        limiter=InMemoryTokenBucket(10, 10),
        transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200)),
    )
    client.request("GET", "/admin/x")
    assert str(seen[0].url) == "http://127.0.0.1:8701/admin/x"
    assert client.bucket_key == bucket_key(ctx) == "connector:shopify:conn-1"


def test_base_url_is_the_derived_one_without_an_override() -> None:
    assert channel_base_url(connection(), DERIVED, EgressPolicy(), identity="shop_domain") == DERIVED
    # The same origin written out by the tenant is still the derived host.
    same = connection(api_base_url="https://demo.myshopify.com/")
    assert channel_base_url(same, DERIVED, EgressPolicy(), identity="shop_domain") == DERIVED


@pytest.mark.parametrize(
    "base",
    [
        "ftp://x",
        "not a url",
        "http://127.0.0.1:8702",  # allowed host, other port
        "http://169.254.169.254/latest/meta-data",
        "https://10.0.0.1",
        "https://[::1]:8701",
        "https://attacker.example",  # public, but not the shop's host: the secret must not go there
        "https://user:pw@127.0.0.1:8701",
        "http://demo.myshopify.com",  # the shop's name over plain http
    ],
)
def test_override_outside_the_allow_list_is_refused_the_same_way(base: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        channel_base_url(connection(api_base_url=base), DERIVED, SANDBOX, identity="shop_domain")
    assert (caught.value.message, caught.value.reason) == (HOST_NOT_ALLOWED, HOST_NOT_ALLOWED_REASON)
    assert caught.value.violations[0].field == "connection.settings.api_base_url"


def test_missing_identity_is_required_and_a_plain_http_identity_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        channel_base_url(connection(), "", EgressPolicy(), identity="store_url")
    assert caught.value.violations[0].field == "connection.settings.store_url"
    assert caught.value.message != HOST_NOT_ALLOWED
    with pytest.raises(InvalidArgument) as caught:
        channel_base_url(
            connection(), "http://store.example/wp-json/wc/v3", EgressPolicy(), identity="store_url"
        )
    assert caught.value.message == HOST_NOT_ALLOWED
    allowed = EgressPolicy(allowed=AllowList.parse("store.example:80"))
    derived = "http://store.example/wp-json/wc/v3"
    assert channel_base_url(connection(), derived, allowed, identity="store_url") == derived


def test_a_refused_destination_maps_to_the_one_invalid_argument() -> None:
    mapped = map_channel_error(EgressRefusedError())
    assert isinstance(mapped, InvalidArgument)
    assert (mapped.message, mapped.reason) == (HOST_NOT_ALLOWED, HOST_NOT_ALLOWED_REASON)


def test_missing_secret_is_unauthenticated() -> None:
    with pytest.raises(Unauthenticated) as caught:
        require_secret(connection(), "refresh_token")
    assert caught.value.reason == CREDENTIALS_MISSING
    assert require_secret(connection(), "access_token") == "tok"


def test_exhausted_429_becomes_resource_exhausted_with_retry_info() -> None:
    mapped = map_channel_error(ChannelHttpError("x", status=429, retryable=True, retry_after=2.5))
    assert isinstance(mapped, ResourceExhausted)
    assert grpc_code(mapped) == grpc.StatusCode.RESOURCE_EXHAUSTED
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
