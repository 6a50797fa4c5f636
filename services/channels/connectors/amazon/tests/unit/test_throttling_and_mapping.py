"""Per-operation buckets sized by the usage plans (and by what Amazon reports), and the mapping's
enums against connector.v1."""

from __future__ import annotations

import httpx
import pytest

from amazon_connector import mapping as m
from amazon_connector import protocol as p
from amazon_connector.throttling import OperationLimiter, RateReport, rate_report
from omnistock.connector.v1 import connector_service_pb2 as pb
from omnistock_connector_kit.channel_errors import RateLimitTimeout
from omnistock_connector_kit.rate_limit import InMemoryTokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limiter(clock: Clock) -> OperationLimiter:
    return OperationLimiter(
        lambda capacity, rate: InMemoryTokenBucket(capacity, rate, clock=clock, sleep=clock.sleep)
    )


def test_each_operation_has_its_own_bucket_of_its_plan(clock: Clock) -> None:
    buckets = limiter(clock)
    for _ in range(5):  # patchListingsItem: burst 5
        buckets.acquire("c1:patchListingsItem", 1, max_wait=0)
    with pytest.raises(RateLimitTimeout) as waited:
        buckets.acquire("c1:patchListingsItem", 1, max_wait=0)
    assert waited.value.retry_after == pytest.approx(0.2)  # 5 per second
    buckets.acquire("c1:getListingsItem", 1, max_wait=0)  # another operation: untouched
    buckets.acquire("c2:patchListingsItem", 1, max_wait=0)  # another connection: untouched
    for _ in range(14):
        buckets.acquire("c1:createFeed", 1, max_wait=0)
    buckets.acquire("c1:createFeed", 1, max_wait=0)
    with pytest.raises(RateLimitTimeout) as feed:
        buckets.acquire("c1:createFeed", 1, max_wait=10)
    assert feed.value.retry_after == pytest.approx(1 / 0.0083, rel=0.01)


def test_publishing_and_cancelling_operations_have_their_plans(clock: Clock) -> None:
    buckets = limiter(clock)
    assert buckets.plan("c1:putListingsItem") == (5.0, 10.0)
    assert buckets.plan("c1:deleteListingsItem") == (5.0, 5.0)
    assert buckets.plan("c1:getOrder") == (0.5, 30.0)
    for _ in range(10):  # putListingsItem: burst 10
        buckets.acquire("c1:putListingsItem", 1, max_wait=0)
    with pytest.raises(RateLimitTimeout):
        buckets.acquire("c1:putListingsItem", 1, max_wait=0)


def test_the_reported_rate_and_a_429_reshape_the_bucket(clock: Clock) -> None:
    buckets = limiter(clock)
    assert buckets.plan("c1:getOrders") == (0.0167, 20.0)
    buckets.observe("c1:getOrders", RateReport(0.0, refill_per_second=2.0))
    assert buckets.plan("c1:getOrders") == (2.0, 20.0)
    buckets.acquire("c1:getOrders", 1, max_wait=0)
    buckets.observe("c1:getOrders", RateReport(0.0, refill_per_second=None, throttled=True))
    with pytest.raises(RateLimitTimeout) as empty:
        buckets.acquire("c1:getOrders", 1, max_wait=0)
    assert empty.value.retry_after == pytest.approx(0.5)


def test_rate_report_reads_the_header_and_429() -> None:
    report = rate_report(httpx.Response(200, headers={"x-amzn-RateLimit-Limit": "5.0"}))
    assert isinstance(report, RateReport) and report.refill_per_second == 5.0 and not report.throttled
    throttled = rate_report(httpx.Response(429))
    assert isinstance(throttled, RateReport) and throttled.throttled
    assert rate_report(httpx.Response(200)) is None


def test_every_unified_status_is_a_connector_v1_status() -> None:
    assert m.ORDER_STATUSES[p.UnifiedStatus.PAID] == pb.ORDER_STATUS_PAID
    assert set(m.ORDER_STATUSES) == set(p.UnifiedStatus)


def test_read_back_maps_found_and_currency() -> None:
    items = [p.InventoryInput("A", ids={"sku": "amz-A"}), p.InventoryInput("B")]
    views = {"amz-A": p.ListingView("amz-A", 4, "9.99", "USD")}
    assert [(q.sku, q.quantity, q.found) for q in m.quantities_to_proto(items, views)] == [
        ("A", 4, True),
        ("B", 0, False),
    ]
    prices = [
        p.PriceInput("A", p.Amount(0, "USD"), ids={"sku": "amz-A"}),
        p.PriceInput("C", p.Amount(0, "EUR"), ids={"sku": "amz-A"}),
    ]
    read = m.remote_prices(prices, views, "")
    assert read[0] == p.RemotePrice("A", True, p.Amount(999, "USD"), None)
    assert read[1] == p.RemotePrice("C", False, None, None)  # shown in USD, expected EUR: not guessed
