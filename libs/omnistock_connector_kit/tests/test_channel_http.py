"""ChannelHttpClient (retries, backoff, Retry-After, throttling, redaction) and the token buckets.

HTTP goes through httpx.MockTransport and sleeping through a recorder, so nothing really waits;
the Redis bucket runs against the real Redis (`redis_url`).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from omnistock_connector_kit.channel_http import (
    ChannelHttpClient,
    ChannelHttpError,
    InMemoryTokenBucket,
    RateLimitTimeout,
    RedisTokenBucket,
    RetryPolicy,
    parse_retry_after,
    redact_headers,
    redact_text,
)


class VirtualClock:
    """A clock that advances only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """A MockTransport handler replaying a list of responses (or exceptions) in order."""

    def __init__(
        self, *steps: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]
    ) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        if callable(step) and not isinstance(step, httpx.Response):
            return step(request)
        return step


def make_client(
    script: Script,
    *,
    clock: VirtualClock | None = None,
    limiter: InMemoryTokenBucket | None = None,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008
    throttle_delay: Callable[[httpx.Response], float | None] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[ChannelHttpClient, VirtualClock]:
    clock = clock or VirtualClock()
    limiter = limiter or InMemoryTokenBucket(1000, 1000, clock=clock, sleep=clock.sleep)
    client = ChannelHttpClient(
        base_url="https://shop.test",
        limiter=limiter,
        bucket_key="connector:test:c1",
        retry=retry,
        transport=httpx.MockTransport(script),
        sleep=clock.sleep,
        throttle_delay=throttle_delay,
        headers=headers,
        rng=random.Random(7),
    )
    return client, clock


def test_success_first_time_records_one_call_without_sleeping() -> None:
    script = Script(httpx.Response(200, json={"ok": True}))
    client, clock = make_client(script)
    response = client.request("post", "/admin/api/2025-07/graphql.json", json={"query": "{shop{name}}"})
    assert response.json() == {"ok": True}
    assert clock.sleeps == []
    assert len(client.calls) == 1
    record = client.calls[0]
    assert (record.method, record.url_path, record.status, record.attempts, record.error) == (
        "POST",
        "/admin/api/2025-07/graphql.json",
        200,
        1,
        None,
    )
    assert json.loads(script.requests[0].content) == {"query": "{shop{name}}"}


def test_retries_on_5xx_then_succeeds_with_bounded_jittered_backoff() -> None:
    script = Script(httpx.Response(500), httpx.Response(502), httpx.Response(503), httpx.Response(200))
    policy = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=1.5)
    client, clock = make_client(script, retry=policy)
    assert client.request("GET", "/x").status_code == 200
    assert [c.status for c in client.calls] == [500, 502, 503, 200]
    assert [c.attempts for c in client.calls] == [1, 2, 3, 4]
    # full jitter: attempt n sleeps within [0, min(max_delay, base * 2**(n-1))]
    assert len(clock.sleeps) == 3
    for n, slept in enumerate(clock.sleeps, start=1):
        assert 0 <= slept <= min(1.5, 0.5 * 2 ** (n - 1))


def test_retry_after_seconds_wins_when_larger_than_backoff() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "2.0"}), httpx.Response(200))
    client, clock = make_client(script, retry=RetryPolicy(base_delay=0.01, max_delay=5))
    assert client.request("GET", "/x").status_code == 200
    assert clock.sleeps == [2.0]


def test_retry_after_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=3)
    seconds = parse_retry_after(format_datetime(when, usegmt=True))
    assert seconds is not None and 1.0 <= seconds <= 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retry_after_longer_than_max_delay_gives_up_at_once() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "120"}))
    client, clock = make_client(script, retry=RetryPolicy(max_delay=10))
    with pytest.raises(ChannelHttpError) as caught:
        client.request("GET", "/x")
    assert caught.value.retryable is True
    assert caught.value.status == 429
    assert caught.value.retry_after == 120.0
    assert clock.sleeps == []
    assert len(client.calls) == 1


def test_exhausted_retries_raise_retryable_error_with_last_response() -> None:
    script = Script(httpx.Response(503, text="down"))
    client, clock = make_client(script, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(ChannelHttpError) as caught:
        client.request("GET", "/x")
    error = caught.value
    assert error.retryable is True
    assert error.status == 503
    assert error.response is not None and error.response.text == "down"
    assert len(client.calls) == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_never_retried(status: int) -> None:
    script = Script(httpx.Response(status))
    client, clock = make_client(script, throttle_delay=lambda r: 1.0)
    assert client.request("GET", "/x").status_code == status
    assert len(script.requests) == 1
    assert clock.sleeps == []


def test_non_retryable_status_is_returned_as_is() -> None:
    script = Script(httpx.Response(404, json={"errors": "Not Found"}))
    client, _ = make_client(script)
    response = client.request("GET", "/x")
    assert response.status_code == 404
    assert client.calls[0].error == "HTTP 404"
    assert len(script.requests) == 1


def test_timeouts_and_transport_errors_are_retried() -> None:
    script = Script(
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("server hung up"),
        httpx.Response(200),
    )
    client, clock = make_client(script)
    assert client.request("GET", "/x").status_code == 200
    assert [c.status for c in client.calls] == [None, None, None, 200]
    # Fixed words, never the exception's own text (it may carry addresses or remote output).
    assert [c.error for c in client.calls] == ["timed out", "timed out", "connection broken", None]
    assert len(clock.sleeps) == 3


def test_transport_errors_exhausted_raise_retryable() -> None:
    script = Script(httpx.ConnectError("refused"))
    client, _ = make_client(script, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(ChannelHttpError) as caught:
        client.request("GET", "/x")
    assert caught.value.retryable is True
    assert caught.value.status is None
    assert len(script.requests) == 2


def test_non_idempotent_request_is_not_retried_after_it_may_have_been_processed() -> None:
    script = Script(httpx.ReadTimeout("read timed out"), httpx.Response(200))
    client, _ = make_client(script)
    with pytest.raises(ChannelHttpError):
        client.request("POST", "/fulfil", idempotent=False)
    assert len(script.requests) == 1

    script = Script(httpx.Response(500), httpx.Response(200))
    client, _ = make_client(script)
    assert client.request("POST", "/fulfil", idempotent=False).status_code == 500
    assert len(script.requests) == 1

    # 429 and connection failures mean the channel did not act: safe to retry.
    script = Script(httpx.Response(429), httpx.ConnectError("refused"), httpx.Response(201))
    client, _ = make_client(script)
    assert client.request("POST", "/fulfil", idempotent=False).status_code == 201
    assert len(script.requests) == 3


def test_throttle_delay_hook_retries_http_200() -> None:
    throttled = httpx.Response(200, json={"errors": [{"extensions": {"code": "THROTTLED"}}]})

    def delay(response: httpx.Response) -> float | None:
        body = response.json()
        return 1.5 if "errors" in body else None

    script = Script(throttled, throttled, httpx.Response(200, json={"data": {}}))
    client, clock = make_client(script, throttle_delay=delay, retry=RetryPolicy(base_delay=0.01))
    assert client.request("POST", "/graphql.json").json() == {"data": {}}
    assert clock.sleeps == [1.5, 1.5]
    assert [c.error for c in client.calls] == ["throttled", "throttled", None]


def test_every_attempt_takes_a_token_from_the_bucket() -> None:
    clock = VirtualClock()
    bucket = InMemoryTokenBucket(2, 1.0, clock=clock, sleep=clock.sleep)
    script = Script(httpx.Response(200))
    client, _ = make_client(script, clock=clock, limiter=bucket, retry=RetryPolicy(max_attempts=1))
    for _ in range(4):
        client.request("GET", "/x")
    # 2 tokens up front, then one token per second of virtual time
    assert clock.sleeps == [pytest.approx(1.0), pytest.approx(1.0)]
    assert len(client.calls) == 4


def test_cost_is_taken_from_the_bucket() -> None:
    clock = VirtualClock()
    bucket = InMemoryTokenBucket(100, 10.0, clock=clock, sleep=clock.sleep)
    client, _ = make_client(Script(httpx.Response(200)), clock=clock, limiter=bucket)
    client.request("POST", "/g", cost=60)
    client.request("POST", "/g", cost=60)  # 40 left: needs 20 more = 2 s
    assert clock.sleeps == [pytest.approx(2.0)]


def test_in_memory_bucket_times_out_without_waiting_when_the_wait_is_too_long() -> None:
    clock = VirtualClock()
    bucket = InMemoryTokenBucket(1, 0.01, clock=clock, sleep=clock.sleep)
    bucket.acquire("k")
    with pytest.raises(RateLimitTimeout) as caught:
        bucket.acquire("k", max_wait=5)
    assert caught.value.retryable is True
    assert caught.value.retry_after == pytest.approx(100.0)
    assert clock.sleeps == []
    bucket.acquire("other")  # keys are independent


def test_bucket_rejects_nonsense_sizes() -> None:
    with pytest.raises(ValueError):
        InMemoryTokenBucket(0, 1)
    with pytest.raises(ValueError):
        InMemoryTokenBucket(1, 0)


def test_redaction_of_headers_and_query_secrets() -> None:
    headers = {"Authorization": "Basic abc", "X-Shopify-Access-Token": "shpat_1", "Accept": "json"}
    assert redact_headers(headers) == {
        "Authorization": "***",
        "X-Shopify-Access-Token": "***",
        "Accept": "json",
    }
    text = "GET /wp-json/wc/v3/products?consumer_key=ck_1&consumer_secret=cs_2&page=3"
    redacted = redact_text(text)
    assert "cs_2" not in redacted and "ck_1" not in redacted
    assert "page=3" in redacted


def test_secrets_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    script = Script(httpx.ConnectError("boom consumer_secret=cs_top&x=1"), httpx.Response(200))
    client, _ = make_client(script, headers={"X-Shopify-Access-Token": "shpat_secret"})
    with caplog.at_level(logging.DEBUG, logger="omnistock_connector_kit.channel_http"):
        client.request("GET", "/products", params={"consumer_secret": "cs_top", "page": 1})
    assert caplog.records, "a retry must be logged"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "cs_top" not in logged and "shpat_secret" not in logged
    assert all("cs_top" not in (c.error or "") and "cs_top" not in c.url_path for c in client.calls)
    # The secret was actually sent (the client is not redacting the request itself).
    assert script.requests[-1].headers["X-Shopify-Access-Token"] == "shpat_secret"


# -- Redis ---------------------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_bucket_takes_and_reports_the_wait(redis_url: str) -> None:
    import redis

    r = redis.Redis.from_url(redis_url)
    try:
        bucket = RedisTokenBucket(r, capacity=3, refill_per_second=0.001)
        assert [bucket.try_take("c1") for _ in range(3)] == [0.0, 0.0, 0.0]
        wait = bucket.try_take("c1")
        assert 900 < wait <= 1000  # one token at 0.001/s
        assert bucket.try_take("c2") == 0.0  # another connection has its own bucket
        assert r.ttl("omnistock:bucket:c1") > 0  # idle buckets expire
    finally:
        r.close()


@pytest.mark.redis
def test_two_clients_share_one_redis_bucket(redis_url: str) -> None:
    import redis

    r1 = redis.Redis.from_url(redis_url)
    r2 = redis.Redis.from_url(redis_url)
    try:
        sleeps: list[float] = []
        # Two replicas, each with its own Redis connection and client, one connection's bucket.
        clients = [
            ChannelHttpClient(
                base_url="https://shop.test",
                limiter=RedisTokenBucket(r, capacity=4, refill_per_second=0.001, sleep=sleeps.append),
                bucket_key="connector:shopify:conn-1",
                transport=httpx.MockTransport(lambda request: httpx.Response(200)),
                sleep=sleeps.append,
                max_wait=1.0,
            )
            for r in (r1, r2)
        ]
        for i in range(4):
            clients[i % 2].request("GET", "/x")
        for client in clients:
            with pytest.raises(RateLimitTimeout):
                client.request("GET", "/x")
        assert sleeps == []
        assert sum(len(c.calls) for c in clients) == 4
    finally:
        r1.close()
        r2.close()


@pytest.mark.redis
def test_redis_bucket_refills_by_server_time(redis_url: str) -> None:
    import redis

    r = redis.Redis.from_url(redis_url)
    try:
        # Fast refill: the acquire loop really sleeps the reported (millisecond) wait.
        bucket = RedisTokenBucket(r, capacity=1, refill_per_second=200)
        bucket.acquire("fast")
        assert bucket.try_take("fast") > 0
        bucket.acquire("fast", max_wait=1.0)
        fields = r.hgetall("omnistock:bucket:fast")
        assert float(fields[b"tokens"]) < 1.0
    finally:
        r.close()


def test_bucket_follows_the_level_the_channel_reports() -> None:
    """The channel's own bucket report replaces our estimate, up or down."""
    clock = [0.0]
    bucket = InMemoryTokenBucket(1000, 50, clock=lambda: clock[0], sleep=lambda _s: None)
    assert bucket.try_take("k", 950) == 0.0
    bucket.observe("k", 990)  # the channel only charged 10 of our 950
    assert bucket.try_take("k", 900) == 0.0
    bucket.observe("k", 0)  # someone else drained it
    assert bucket.try_take("k", 100) == pytest.approx(2.0)


def test_client_feeds_reported_levels_to_the_limiter() -> None:
    observed: list[tuple[str, float]] = []

    class Recording(InMemoryTokenBucket):
        def observe(self, key: str, available: float) -> None:
            observed.append((key, available))
            super().observe(key, available)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": {}, "left": 777})

    client = ChannelHttpClient(
        base_url="http://channel.test",
        limiter=Recording(1000, 50),
        bucket_key="conn-1",
        transport=httpx.MockTransport(handler),
        bucket_observer=lambda response: float(response.json()["left"]),
    )
    client.request("POST", "/graphql.json", json={}, cost=500)
    assert observed == [("conn-1", 777.0)]


def test_redis_bucket_observe(redis_url: str) -> None:
    import redis as redis_lib

    bucket = RedisTokenBucket(redis_lib.Redis.from_url(redis_url), 1000, 50, prefix="omnistock:test:")
    assert bucket.try_take("k", 1000) == 0.0
    bucket.observe("k", 600)
    assert bucket.try_take("k", 500) == 0.0
    assert bucket.try_take("k", 500) > 0
