"""The connector template: servicer base, context → client factory, OAuth grants, composition."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest

from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock.connector.v1 import connector_service_pb2_grpc as pb_grpc
from omnistock_common.config import EnvReader, ServiceSettings
from omnistock_common.egress import AllowList
from omnistock_common.errors import FailedPrecondition, InvalidArgument, Unauthenticated
from omnistock_common.service_auth import internal_metadata
from omnistock_connector_kit import composition
from omnistock_connector_kit.clients import ChannelHttpFactory
from omnistock_connector_kit.composition import (
    ConnectorSettings,
    Seams,
    build_connector_server,
    channel_http,
    connector_limiter,
    egress_policy,
    with_port,
)
from omnistock_connector_kit.connector_base import (
    CHANNEL_UNAVAILABLE,
    HOST_NOT_ALLOWED_REASON,
    Unavailable,
    credentials_from_dict,
)
from omnistock_connector_kit.oauth import TokenGrant, credentials_from_grant, parse_token_response
from omnistock_connector_kit.rate_limit import InMemoryTokenBucket, RedisTokenBucket
from omnistock_connector_kit.retry import RetryPolicy
from omnistock_connector_kit.servicer import (
    WEBHOOK_SIGNATURE_INVALID,
    ApiKeyConnectorServicer,
    ChannelDescription,
    lowercase_headers,
    webhook_refused,
)
from omnistock_connector_kit.webhook_payloads import is_count, is_positive_id

DESCRIPTION = ChannelDescription(
    channel_type="example",
    auth_kind=pb.AUTH_KIND_API_KEY,
    capabilities=(pb.CAPABILITY_INVENTORY, pb.CAPABILITY_ORDERS),
    max_inventory_batch=50,
    max_price_batch=25,
    api_version="v9",
)


class ExampleServicer(ApiKeyConnectorServicer[object]):
    description = DESCRIPTION
    no_oauth_message = "Example uses API keys"


def connection() -> pb.ConnectionContext:
    return pb.ConnectionContext(connection_id="c1", tenant_id="t1", channel_type="example")


# -- servicer ---------------------------------------------------------------------------------


def test_describe_answers_from_the_description() -> None:
    response = ExampleServicer(clients=None).Describe(pb.DescribeRequest(), None)  # type: ignore[arg-type]
    assert response == pb.DescribeResponse(
        channel_type="example",
        auth_kind=pb.AUTH_KIND_API_KEY,
        capabilities=[pb.CAPABILITY_INVENTORY, pb.CAPABILITY_ORDERS],
        max_inventory_batch=50,
        max_price_batch=25,
        api_version="v9",
    )


@pytest.mark.parametrize("method", ["BuildAuthorizationUrl", "ExchangeCode"])
def test_an_api_key_channel_refuses_the_oauth_rpcs(method: str) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        getattr(ExampleServicer(clients=None), method)(None, None)  # type: ignore[arg-type]
    assert caught.value.message == "Example uses API keys"


def test_an_api_key_channel_has_nothing_to_refresh() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        ExampleServicer(clients=None).RefreshCredentials(None, None)  # type: ignore[arg-type]
    assert "nothing to refresh" in caught.value.message


def test_every_webhook_refusal_has_one_status_and_reason() -> None:
    error = webhook_refused("webhook refused: bad signature")
    assert isinstance(error, Unauthenticated)
    assert error.reason == WEBHOOK_SIGNATURE_INVALID
    assert error.message == "webhook refused: bad signature"


def test_webhook_headers_are_matched_case_insensitively() -> None:
    assert lowercase_headers({"X-Shopify-Topic": "orders/create"}) == {"x-shopify-topic": "orders/create"}


@pytest.mark.parametrize(
    ("value", "positive_id", "count"),
    [
        (1, True, True),
        ("42", True, False),
        (0, False, True),
        ("0", False, False),
        (-1, False, False),
        (True, False, False),
        ("1a", False, False),
        (None, False, False),
        (2.0, False, False),
    ],
)
def test_webhook_payload_predicates(value: object, positive_id: bool, count: bool) -> None:
    assert is_positive_id(value) is positive_id
    assert is_count(value) is count


# -- context → client -------------------------------------------------------------------------


class RecordingTransport(httpx.MockTransport):
    """A scripted channel that remembers whether the client closed it."""

    def __init__(self, status: int) -> None:
        self.requests: list[httpx.Request] = []
        self.closed = False

        def handler(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return httpx.Response(status, json={})

        super().__init__(handler)

    def close(self) -> None:
        self.closed = True


def test_the_factory_builds_a_client_on_the_base_url_with_the_channels_headers() -> None:
    transport = RecordingTransport(200)
    factory = ChannelHttpFactory(limiter=InMemoryTokenBucket(100, 100), transport=lambda: transport)
    with factory.open(connection(), "https://shop.example/api", headers={"X-Token": "t"}) as http:
        assert http.request("GET", "/things").status_code == 200
    assert str(transport.requests[0].url) == "https://shop.example/api/things"
    assert transport.requests[0].headers["X-Token"] == "t"
    assert transport.closed


def test_channel_failures_leave_the_factory_as_contract_errors_and_the_client_is_closed() -> None:
    transport = RecordingTransport(503)
    factory = ChannelHttpFactory(
        limiter=InMemoryTokenBucket(100, 100),
        retry=RetryPolicy(max_attempts=2, base_delay=0.0),
        sleep=lambda seconds: None,
        transport=lambda: transport,
    )
    with pytest.raises(Unavailable) as caught, factory.open(connection(), "https://shop.example") as http:
        http.request("GET", "/things")
    assert caught.value.reason == CHANNEL_UNAVAILABLE
    assert len(transport.requests) == 2
    assert transport.closed


def test_without_a_test_transport_the_egress_guard_applies() -> None:
    lookups: list[str] = []

    def private(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["10.0.0.7"]  # a private address: refused before any connection

    settings = example_settings()
    factory = ChannelHttpFactory(
        limiter=InMemoryTokenBucket(100, 100), egress=egress_policy(settings, private)
    )
    with pytest.raises(InvalidArgument) as caught, factory.open(connection(), "https://shop.example") as http:
        http.request("GET", "/things")
    assert caught.value.reason == HOST_NOT_ALLOWED_REASON
    assert lookups == ["shop.example"]


# -- OAuth ------------------------------------------------------------------------------------


def test_token_answers_split_scopes_on_the_channels_separator() -> None:
    body = {"access_token": "a", "scope": "read write", "expires_in": "3600"}
    assert parse_token_response(body).scopes == ("read", "write")
    assert parse_token_response({**body, "scope": "read,write"}, scope_separator=",").scopes == (
        "read",
        "write",
    )
    assert parse_token_response(body).expires_in == 3600.0
    with pytest.raises(ValueError):
        parse_token_response({"scope": "read"})


def test_a_grant_becomes_credentials_with_absolute_expiry() -> None:
    before = datetime.now(UTC)
    credentials = credentials_from_grant(TokenGrant("a1", "r1", 3600.0, 7200.0, ("read",)))
    assert dict(credentials.secrets) == {"access_token": "a1", "refresh_token": "r1"}
    expires = credentials.access_token_expires_at.ToDatetime(tzinfo=UTC)
    assert before + timedelta(seconds=3599) <= expires <= datetime.now(UTC) + timedelta(seconds=3601)
    assert list(credentials.scopes) == ["read"]


def test_a_refresh_without_a_new_refresh_token_keeps_the_previous_one() -> None:
    kept_until = datetime(2030, 1, 1, tzinfo=UTC)
    previous = credentials_from_dict(
        {
            "secrets": {"access_token": "old", "refresh_token": "r0"},
            "refresh_token_expires_at": kept_until,
            "scopes": ["read", "write"],
        }
    )
    refreshed = credentials_from_grant(TokenGrant("a2", "", 60.0, None, ()), previous=previous)
    assert dict(refreshed.secrets) == {"access_token": "a2", "refresh_token": "r0"}
    assert refreshed.refresh_token_expires_at.ToDatetime(tzinfo=UTC) == kept_until
    assert list(refreshed.scopes) == ["read", "write"]


# -- composition ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExampleSettings(ConnectorSettings):
    service: ServiceSettings
    bucket_capacity: float = 10.0
    bucket_refill_per_second: float = 5.0
    allowed_hosts: AllowList = field(default_factory=AllowList)


def example_settings() -> ExampleSettings:
    env = EnvReader({"REDIS_URL": "redis://127.0.0.1:6379/11"})
    return ExampleSettings(service=ServiceSettings.read("woocommerce_connector", env))


def test_settings_expose_what_the_composition_root_reads() -> None:
    settings = with_port(example_settings(), "127.0.0.1", 0)
    assert settings.bind_address == "127.0.0.1:0"
    assert settings.redis_url == "redis://127.0.0.1:6379/11"
    assert isinstance(settings, ExampleSettings)


def test_the_limiter_is_the_given_one_or_a_redis_bucket() -> None:
    given = InMemoryTokenBucket(1, 1)
    assert connector_limiter(example_settings(), given) is given
    assert isinstance(connector_limiter(example_settings()), RedisTokenBucket)


def test_the_connector_server_serves_the_servicer_with_the_connector_access_policy() -> None:
    running = build_connector_server(
        with_port(example_settings(), "127.0.0.1", 0), ExampleServicer(clients=None)
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.ConnectorServiceStub(channel)
            response = stub.Describe(pb.DescribeRequest(), metadata=internal_metadata("t1"), timeout=10)
            assert response.channel_type == "example"
            # Describe is read-only: a viewer may call it; ExchangeCode changes credentials: it may not.
            viewer = internal_metadata("t1", "u1", "viewer")
            assert stub.Describe(pb.DescribeRequest(), metadata=viewer, timeout=10).channel_type == "example"
            with pytest.raises(grpc.RpcError) as denied:
                stub.ExchangeCode(pb.ExchangeCodeRequest(), metadata=viewer, timeout=10)
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
            with pytest.raises(grpc.RpcError) as caught:
                stub.ExchangeCode(pb.ExchangeCodeRequest(), metadata=internal_metadata("t1"), timeout=10)
            assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    finally:
        running.stop()


def test_channel_http_takes_the_seams_and_the_channels_options() -> None:
    given = InMemoryTokenBucket(1, 1)
    transport = RecordingTransport(200)
    seams = Seams(limiter=given, sleep=lambda seconds: None, transport=lambda: transport)
    factory = channel_http(example_settings(), seams, timeout=3.0, max_wait=1.5)
    assert factory.limiter is given
    assert (factory.timeout, factory.max_wait, factory.transport) == (3.0, 1.5, seams.transport)
    assert isinstance(channel_http(example_settings(), Seams()).limiter, RedisTokenBucket)


def test_serve_connector_is_settings_logging_identity_then_the_built_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, object]] = []
    settings = example_settings()
    built = object()
    monkeypatch.setattr(composition, "setup_logging", lambda name, *args: calls.append(("logging", name)))
    monkeypatch.setattr(composition, "serve_forever", lambda running, grace: calls.append(("serve", running)))
    monkeypatch.setattr(
        composition.service_auth, "configure", lambda issuer: calls.append(("identity", issuer))
    )

    def build(given: ExampleSettings) -> object:
        assert given is settings
        calls.append(("build", given))
        return built

    composition.serve_connector("example_connector", lambda: settings, build)  # type: ignore[arg-type]
    assert calls == [
        ("logging", "example_connector"),
        ("identity", "example_connector"),
        ("build", settings),
        ("serve", built),
    ]
