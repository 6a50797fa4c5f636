"""Retries fit the caller's deadline (call_budget), the retried attempts are reported, and the
token bucket adopts the size and restore rate the channel reports.

HTTP goes through httpx.MockTransport and time through a virtual clock: nothing really waits,
except the one test that runs a real gRPC server to see the deadline travel.
"""

from __future__ import annotations

import random
import time
from concurrent import futures

import grpc
import httpx
import pytest

from omnistock_connector_kit.call_budget import (
    DEADLINE_MARGIN_SECONDS,
    DeadlineInterceptor,
    effective_deadline,
    rpc_deadline,
)
from omnistock_connector_kit.channel_http import (
    ChannelHttpClient,
    ChannelHttpError,
    InMemoryTokenBucket,
    RedisTokenBucket,
    RetryPolicy,
    summarize_failures,
)
from omnistock_connector_kit.rate_limit import BucketLevel


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(
    handler: httpx.MockTransport, clock: Clock, *, deadline: float | None, **retry: float
) -> ChannelHttpClient:
    return ChannelHttpClient(
        base_url="https://shop.test",
        limiter=InMemoryTokenBucket(100, 100, clock=clock, sleep=clock.sleep),
        bucket_key="c1",
        retry=RetryPolicy(**retry),  # type: ignore[arg-type]
        transport=handler,
        sleep=clock.sleep,
        rng=random.Random(7),
        deadline=deadline,
        clock=clock,
    )


def test_the_retry_policy_starts_under_a_second_doubles_and_caps_at_15_s() -> None:
    policy = RetryPolicy()
    assert policy.base_delay <= 1.0 and policy.max_delay <= 15.0
    rng = random.Random(1)
    ceilings = [max(policy.backoff(n, rng) for _ in range(2000)) for n in range(1, 9)]
    assert ceilings[0] <= policy.base_delay and ceilings[1] > policy.base_delay
    assert all(c <= policy.max_delay for c in ceilings)


def test_retries_stop_before_the_deadline_and_say_what_each_attempt_met() -> None:
    clock = Clock()
    answers = iter([500, 503, 500, 500, 500, 500, 500, 500])
    transport = httpx.MockTransport(lambda request: httpx.Response(next(answers)))
    http = client(transport, clock, deadline=clock.now + 1.0, max_attempts=8, base_delay=0.4, max_delay=10)
    with pytest.raises(ChannelHttpError) as error:
        http.request("GET", "/x")
    assert clock.now <= 100.0 + 1.0  # never slept past the deadline
    assert sum(clock.sleeps) < 1.0
    assert error.value.retryable
    tried = len(http.calls)
    assert 1 <= tried < 8
    assert http.retried == [f"HTTP {s}" for s in (500, 503, 500, 500, 500, 500, 500)[: tried - 1]]
    assert "HTTP 500" in error.value.message


def test_a_success_after_retries_lists_them_with_retry_after() -> None:
    clock = Clock()
    answers = iter(
        [httpx.Response(500), httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(200)]
    )
    http = client(httpx.MockTransport(lambda request: next(answers)), clock, deadline=None)
    assert http.request("GET", "/x").status_code == 200
    assert http.retried == ["HTTP 500", "HTTP 429 (Retry-After 1s)"]
    assert clock.sleeps[-1] >= 1.0  # Retry-After honoured
    assert summarize_failures(["HTTP 500", "HTTP 500", "timed out"]) == "HTTP 500 (x2), timed out"


def test_no_attempt_starts_without_time_for_it() -> None:
    clock = Clock()
    http = client(httpx.MockTransport(lambda request: httpx.Response(200)), clock, deadline=clock.now - 1)
    with pytest.raises(ChannelHttpError) as error:
        http.request("GET", "/x")
    assert not http.calls and "deadline" in error.value.message


def test_effective_deadline_is_the_callers_minus_the_margin_or_the_own_budget() -> None:
    assert effective_deadline(None) is None
    token = rpc_deadline.set(1000.0)
    try:
        assert effective_deadline(None) == 1000.0 - DEADLINE_MARGIN_SECONDS
        assert effective_deadline(5.0, now=lambda: 990.0) == 995.0
        assert effective_deadline(50.0, now=lambda: 990.0) == 1000.0 - DEADLINE_MARGIN_SECONDS
    finally:
        rpc_deadline.reset(token)


CLOCK_SLACK = 0.25


def test_the_interceptor_hands_the_grpc_deadline_to_the_handler() -> None:
    seen: list[float | None] = []

    def handler(request: bytes, context: grpc.ServicerContext) -> bytes:
        seen.append(rpc_deadline.get())
        return b"ok"

    generic = grpc.method_handlers_generic_handler("t.S", {"M": grpc.unary_unary_rpc_method_handler(handler)})
    server = grpc.server(futures.ThreadPoolExecutor(2), interceptors=[DeadlineInterceptor()])
    server.add_generic_rpc_handlers((generic,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary("/t.S/M")
            before = time.monotonic()
            assert call(b"x", timeout=7.0) == b"ok"
            assert call(b"x") == b"ok"
    finally:
        server.stop(None)
    # gRPC keeps its own clock: the deadline it reports, turned into time.monotonic(), may lie a few
    # milliseconds past what Python's clock says (CI saw 8 ms), hence the slack on the upper bound.
    assert seen[0] is not None and before + 6.0 < seen[0] <= time.monotonic() + 7.0 + CLOCK_SLACK
    assert seen[1] is None


def test_the_bucket_adopts_the_reported_size_and_rate() -> None:
    clock = Clock()
    bucket = InMemoryTokenBucket(1000, 50, clock=clock, sleep=clock.sleep)
    bucket.observe("shop", BucketLevel(0, capacity=20000, refill_per_second=1000))
    assert bucket.try_take("shop", 1000) == pytest.approx(1.0)  # 1000 points at 1000/s, not 50/s
    clock.now += 30
    assert bucket.try_take("shop", 15000) == 0.0  # the plan's bigger bucket
    assert bucket.try_take("other", 1000) == 0.0 and bucket.try_take("other", 50) == pytest.approx(1.0)


@pytest.mark.redis
def test_the_redis_bucket_adopts_the_reported_size_and_rate(redis_url: str) -> None:
    import redis

    client_ = redis.Redis.from_url(redis_url)
    bucket = RedisTokenBucket(client_, capacity=1000, refill_per_second=50, prefix="test:adopt:")
    try:
        bucket.observe("shop", BucketLevel(0, capacity=2000, refill_per_second=1000))
        wait = bucket.try_take("shop", 500)
        assert 0.45 < wait <= 0.5  # 500 points at 1000/s
        bucket.observe("shop", 10)  # a bare level keeps the adopted rate
        assert 0.45 < bucket.try_take("shop", 500) <= 0.5
    finally:
        client_.delete("test:adopt:shop")
        client_.close()
