"""The sales read model's arithmetic (domain/sales.py): what an order contributes, the
difference between two of its states (apply, reverse, edit, repeat), the reports' rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from omnistock_common.errors import InvalidArgument
from orders.domain import Order, OrderLine, OrderStatus
from orders.domain.sales import (
    ORDER_ROW,
    DailySales,
    DateRange,
    Figures,
    SalesKey,
    contribution,
    conversion_by_channel,
    date_range,
    difference,
    revenue_by_channel,
    sales_over_time,
    share_ppm,
)

T0 = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
DAY = date(2026, 12, 1)


def order(
    status: OrderStatus = OrderStatus.PAID, lines: list[OrderLine] | None = None, **kw: object
) -> Order:
    return Order(
        id="o1",
        source=str(kw.get("source", "SHOPIFY")),
        connection_id="c1",
        external_id="1",
        currency="USD",
        status=status,
        created_at=kw.get("created_at", T0),  # type: ignore[arg-type]
        updated_at=T0,
        lines=lines
        if lines is not None
        else [
            OrderLine(id="l1", line_no=1, sku="A", quantity=2, unit_price=1000, discount=150, tax=99),
            OrderLine(id="l2", line_no=2, sku="B", quantity=1, unit_price=500),
        ],
    )


def key(sku: str, day: date = DAY, channel: str = "shopify") -> SalesKey:
    return SalesKey(day, channel, "c1", "USD", sku)


def test_a_paid_order_contributes_its_lines_net_of_line_discounts_without_tax() -> None:
    assert contribution(order()) == {
        key("A"): Figures(1, 2, 1850),
        key("B"): Figures(1, 1, 500),
        key(ORDER_ROW): Figures(1, 3, 2350),
    }


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.CANCELLED, OrderStatus.REFUNDED])
def test_pending_cancelled_and_refunded_orders_contribute_nothing(status: OrderStatus) -> None:
    assert contribution(order(status)) == {}
    assert contribution(None) == {}


@pytest.mark.parametrize(
    "status", [OrderStatus.PAID, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED]
)
def test_paid_and_later_statuses_count(status: OrderStatus) -> None:
    assert contribution(order(status))[key(ORDER_ROW)] == Figures(1, 3, 2350)


def test_booked_on_the_utc_day_of_creation_under_the_lower_case_channel() -> None:
    late_evening_in_new_york = datetime(2026, 12, 1, 20, 0, tzinfo=timezone(timedelta(hours=-5)))
    found = contribution(order(created_at=late_evening_in_new_york, source="MANUAL"))
    assert set(found) == {key(s, date(2026, 12, 2), "manual") for s in ("A", "B", ORDER_ROW)}


def test_two_lines_of_one_sku_count_the_order_once_for_that_sku() -> None:
    lines = [
        OrderLine(id="l1", line_no=1, sku="A", quantity=1, unit_price=100),
        OrderLine(id="l2", line_no=2, sku="A", quantity=3, unit_price=100),
    ]
    assert contribution(order(lines=lines))[key("A")] == Figures(1, 4, 400)


def test_a_partial_return_keeps_the_revenue_of_the_units_kept() -> None:
    lines = [
        OrderLine(id="l1", line_no=1, sku="A", quantity=3, unit_price=1000, discount=100, quantity_returned=1)
    ]
    # (3 x 1000 - 100) x 2 // 3 = 1933
    assert contribution(order(lines=lines))[key("A")] == Figures(1, 2, 1933)


def test_paying_applies_and_cancelling_reverses_the_whole_order() -> None:
    pending, paid, cancelled = order(OrderStatus.PENDING), order(), order(OrderStatus.CANCELLED)
    assert difference(contribution(pending), contribution(paid)) == contribution(paid)
    reversed_ = difference(contribution(paid), contribution(cancelled))
    assert reversed_ == {k: Figures(-f.orders, -f.units, -f.revenue) for k, f in contribution(paid).items()}


def test_an_edit_adjusts_by_the_difference_and_a_repeat_changes_nothing() -> None:
    before = order()
    after = replace(
        before,
        lines=[
            OrderLine(id="l1", line_no=1, sku="A", quantity=3, unit_price=1000, discount=150),
            OrderLine(id="l3", line_no=2, sku="C", quantity=1, unit_price=700),
        ],
    )
    assert difference(contribution(before), contribution(after)) == {
        key("A"): Figures(0, 1, 1000),
        key("B"): Figures(-1, -1, -500),
        key("C"): Figures(1, 1, 700),
        key(ORDER_ROW): Figures(0, 1, 1200),
    }
    assert difference(contribution(after), contribution(after)) == {}


def test_shares_are_within_a_currency_and_never_sum_currencies() -> None:
    rows = revenue_by_channel(
        [
            ("shopify", "USD", Figures(2, 3, 3000)),
            ("manual", "USD", Figures(1, 1, 1000)),
            ("ebay", "EUR", Figures(1, 1, 999)),
        ]
    )
    assert [(r.channel, r.currency, r.revenue, r.share_ppm) for r in rows] == [
        ("ebay", "EUR", 999, 1_000_000),
        ("shopify", "USD", 3000, 750_000),
        ("manual", "USD", 1000, 250_000),
    ]


def test_share_rounds_half_up_and_is_zero_without_revenue() -> None:
    assert share_ppm(1, 3) == 333_333
    assert share_ppm(2, 3) == 666_667
    assert share_ppm(0, 0) == 0


def test_date_range_defaults_and_refusals() -> None:
    today = date(2026, 12, 6)
    span = date_range("", "", today)
    assert (span.first, span.last) == (date(2026, 11, 7), today)
    one = date_range("2026-12-01", "2026-12-01", today)
    assert one.first == one.last == date(2026, 12, 1)
    for first, last in (
        ("2026-12-02", "2026-12-01"),
        ("2026-13-01", ""),
        ("yesterday", ""),
        ("2025-01-01", "2026-12-01"),
        ("2026-12-01T00:00", ""),
        ("", "0001-01-05"),
        ("9999-12-31", ""),
    ):
        with pytest.raises(InvalidArgument):
            date_range(first, last, today)


def test_conversion_counts_orders_over_currencies_and_leaves_the_rate_unknown() -> None:
    rows = conversion_by_channel(
        [
            ("shopify", "USD", Figures(2, 3, 3000)),
            ("shopify", "EUR", Figures(1, 1, 100)),
            ("manual", "USD", Figures(3, 3, 10)),
            ("ebay", "USD", Figures(0, 0, 0)),
        ]
    )
    assert [(r.channel, r.orders, r.sessions, r.conversion_ppm) for r in rows] == [
        ("manual", 3, None, None),
        ("shopify", 3, None, None),
    ]


def test_sales_over_time_has_every_day_of_the_range_per_currency_sold() -> None:
    span = DateRange(date(2026, 12, 1), date(2026, 12, 4))
    rows = sales_over_time(
        span,
        [
            (date(2026, 12, 2), "USD", Figures(2, 3, 3000)),
            (date(2026, 12, 4), "EUR", Figures(1, 1, 999)),
            (date(2026, 12, 2), "USD", Figures(1, 1, 500)),  # another channel, same day: summed
            (date(2026, 12, 3), "GBP", Figures(0, 0, 0)),  # nothing: no GBP series
            (date(2026, 11, 30), "JPY", Figures(1, 1, 100)),  # outside the range
        ],
    )
    assert rows == [
        DailySales(date(2026, 12, 1), "EUR", 0, 0, 0),
        DailySales(date(2026, 12, 2), "EUR", 0, 0, 0),
        DailySales(date(2026, 12, 3), "EUR", 0, 0, 0),
        DailySales(date(2026, 12, 4), "EUR", 999, 1, 1),
        DailySales(date(2026, 12, 1), "USD", 0, 0, 0),
        DailySales(date(2026, 12, 2), "USD", 3500, 3, 4),
        DailySales(date(2026, 12, 3), "USD", 0, 0, 0),
        DailySales(date(2026, 12, 4), "USD", 0, 0, 0),
    ]
    assert sales_over_time(span, []) == []
    one_day = DateRange(date(2026, 12, 2), date(2026, 12, 2))
    assert sales_over_time(one_day, [(date(2026, 12, 2), "USD", Figures(1, 2, 30))]) == [
        DailySales(date(2026, 12, 2), "USD", 30, 1, 2)
    ]
