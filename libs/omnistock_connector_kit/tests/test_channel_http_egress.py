"""The channel HTTP client under the egress rules (omnistock_common.egress): a refused destination
never gets a request and becomes EgressRefusedError, and an oversized body becomes the kit's
ResponseTooLarge (a ChannelHttpError) with the call recorded.

Only loopback sockets and MockTransports; nothing here can send a packet off the machine.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import pytest

from omnistock_common import egress_transport
from omnistock_common.egress import HOST_NOT_ALLOWED, AllowList, EgressPolicy
from omnistock_connector_kit.channel_http import (
    ChannelHttpClient,
    ChannelHttpError,
    EgressRefusedError,
    InMemoryTokenBucket,
    ResponseTooLarge,
)
from omnistock_devtools.egress_testing import StubResolver, loopback_recorder


# ------------------------------------------------------------------------------ transport (loopback only)
@pytest.fixture
def recorder() -> Iterator[int]:
    with loopback_recorder() as (port, seen):
        RECORDED.clear()
        RECORDED.append(seen)
        yield port


# What the recording server of the current test received (set by the `recorder` fixture).
RECORDED: list[list[tuple[str, str]]] = []


@pytest.mark.parametrize(
    "base", ["https://store.example", "https://127.0.0.1", "https://[::1]", "https://169.254.169.254"]
)
def test_refused_destination_never_gets_a_request(base: str) -> None:
    # The inner transport records instead of using the network: were the guard skipped, the
    # request would show up here (and no packet can leave the machine either way).
    reached: list[httpx.Request] = []
    resolver = StubResolver({"store.example": ["10.0.0.8"]})
    client = ChannelHttpClient(
        base_url=base,
        limiter=InMemoryTokenBucket(10, 10),
        bucket_key="k",
        transport=httpx.MockTransport(lambda r: reached.append(r) or httpx.Response(200)),
        egress=EgressPolicy(resolver=resolver),
    )
    with pytest.raises(EgressRefusedError) as caught:
        client.request("GET", "/x")
    assert caught.value.message == HOST_NOT_ALLOWED and caught.value.retryable is False
    assert [c.error for c in client.calls] == [HOST_NOT_ALLOWED]
    assert reached == []


def test_allowed_loopback_host_is_reached_and_others_are_not(recorder: int) -> None:
    def client(allowed: str) -> ChannelHttpClient:
        return ChannelHttpClient(
            base_url=f"http://127.0.0.2:{recorder}",
            limiter=InMemoryTokenBucket(10, 10),
            bucket_key="k",
            egress=EgressPolicy(allowed=AllowList.parse(allowed)),
        )

    with pytest.raises(EgressRefusedError):
        client("127.0.0.1:*").request("GET", "/ping")
    assert RECORDED[0] == []
    assert client(f"127.0.0.2:{recorder}").request("GET", "/ping").status_code == 200
    assert RECORDED[0] == [("/ping", f"127.0.0.2:{recorder}")]


# ------------------------------------------------------------------------------ body cap
def _client(handler: httpx.MockTransport, limit: int) -> ChannelHttpClient:
    return ChannelHttpClient(
        base_url="https://shop.test",
        limiter=InMemoryTokenBucket(10, 10),
        bucket_key="k",
        transport=handler,
        max_response_bytes=limit,
        sleep=lambda s: None,
    )


def test_response_bodies_are_capped_while_streaming() -> None:
    def stream(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"x" * 1024] * 64))  # no Content-Length

    with pytest.raises(ResponseTooLarge):
        _client(httpx.MockTransport(stream), 16 * 1024).request("GET", "/big")
    small = _client(httpx.MockTransport(lambda r: httpx.Response(200, json={"a": 1})), 1024)
    assert small.request("GET", "/ok").json() == {"a": 1}


def test_declared_length_over_the_cap_is_refused_before_reading() -> None:
    handler = httpx.MockTransport(lambda r: httpx.Response(200, content=b"y" * 5000))
    with pytest.raises(ResponseTooLarge):
        _client(handler, 4096).request("GET", "/big")


def test_decompressed_size_counts_not_the_compressed_one() -> None:
    bomb = gzip.compress(b"\0" * (4 * 1024 * 1024))
    assert len(bomb) < 16 * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})

    with pytest.raises(ResponseTooLarge):
        _client(httpx.MockTransport(handler), 64 * 1024).request("GET", "/bomb")


def test_too_large_body_is_the_kits_channel_error_with_the_call_recorded() -> None:
    # read_capped raises omnistock_common's ResponseTooLarge; the client maps it to its own,
    # a non-retryable ChannelHttpError, as before the guard moved to omnistock_common.
    client = _client(httpx.MockTransport(lambda r: httpx.Response(413, content=b"z" * 5000)), 4096)
    with pytest.raises(ResponseTooLarge) as caught:
        client.request("GET", "/big")
    assert isinstance(caught.value, ChannelHttpError)
    assert not isinstance(caught.value, egress_transport.ResponseTooLarge)
    assert caught.value.status == 413 and caught.value.retryable is False
    assert caught.value.message == "channel response too large"
    assert [(c.status, c.error) for c in client.calls] == [(413, "channel response too large")]
