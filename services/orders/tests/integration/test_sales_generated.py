"""The sales read model against a direct computation (issue 17's acceptance): 1,000 generated
orders over 3 channels, 2 currencies and 10 days, each saved through the repository in the ways
the use cases save (inserted PENDING or PAID, then paid, shipped, cancelled, refunded, edited,
partly returned; some saves without a load in their transaction), on SQLite and PostgreSQL.
The reports must equal the figures computed here from the final orders, independently of
domain.sales."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from omnistock_common.context import CallContext
from orders import service
from orders.domain import Order, OrderLine, OrderStatus
from orders.repository import UnitOfWork

TENANT = "tenant-a"
S = OrderStatus
CHANNELS = (("SHOPIFY", "conn-shop"), ("EBAY", "conn-ebay"), ("MANUAL", ""))
SKUS = tuple(f"SKU-{i}" for i in range(12))
START = datetime(2026, 11, 20, tzinfo=UTC)
COUNTED = {S.PAID, S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED}


def lines_of(rng: random.Random) -> list[OrderLine]:
    return [
        OrderLine(
            id=f"line-{rng.getrandbits(64):016x}",
            line_no=n,
            sku=rng.choice(SKUS),
            quantity=rng.randint(1, 5),
            unit_price=rng.choice((199, 1000, 2599)),
            discount=rng.choice((0, 0, 50)),
        )
        for n in range(rng.randint(1, 3))
    ]


def generate(rng: random.Random, n: int) -> Order:
    source, connection = CHANNELS[n % 3]
    at = START + timedelta(days=rng.randrange(10), hours=rng.randrange(24))
    return Order(
        id=f"order-{n:04d}",
        source=source,
        connection_id=connection,
        external_id=f"ext-{n}",
        currency=rng.choice(("USD", "USD", "EUR")),
        status=rng.choice((S.PENDING, S.PAID)),
        created_at=at,
        updated_at=at,
        lines=lines_of(rng),
    )


def change(rng: random.Random, order: Order) -> None:
    """One of the changes the use cases make, picked at random."""
    step = rng.randrange(6)
    if step == 0 and order.status is S.PENDING:
        order.status = S.PAID
    elif step == 1 and order.status in (S.PENDING, S.PAID):
        order.status = S.CANCELLED
    elif step == 2 and order.status in COUNTED:
        order.status = rng.choice((S.SHIPPED, S.REFUNDED, S.DELIVERED))
    elif step == 3 and order.status in (S.PENDING, S.PAID):
        order.lines = lines_of(rng)
    elif step == 4 and order.lines:
        line = rng.choice(order.lines)
        line.quantity_returned = rng.randint(0, line.quantity)
    else:
        order.version += 1  # a save that changes nothing countable


def direct(orders: list[Order], first: date, last: date) -> tuple[dict, dict, dict]:
    """(channel, currency) -> [revenue, orders, units], (sku, currency) -> [units, revenue,
    order ids] and (channel, day, currency) -> [revenue, orders, units], straight from the
    orders."""
    channels: dict = defaultdict(lambda: [0, 0, 0])
    skus: dict = defaultdict(lambda: [0, 0, set()])
    days: dict = defaultdict(lambda: [0, 0, 0])
    for order in orders:
        if order.status not in COUNTED or not first <= order.created_at.date() <= last:
            continue
        figures = channels[(order.source.lower(), order.currency)]
        day = days[(order.source.lower(), order.created_at.date(), order.currency)]
        figures[1] += 1
        day[1] += 1
        for line in order.lines:
            kept = line.quantity - line.quantity_returned
            revenue = (line.quantity * line.unit_price - line.discount) * kept // line.quantity
            figures[0] += revenue
            figures[2] += kept
            day[0] += revenue
            day[2] += kept
            sku = skus[(line.sku, order.currency)]
            sku[0] += kept
            sku[1] += revenue
            sku[2].add(order.id)
    return channels, skus, days


def expected_days(days: dict, first: date, last: date, channel: str = "") -> list[tuple]:
    """(day, currency, revenue, orders, units) for every day of first..last and each currency
    sold on `channel` (or any), zeros where nothing sold; by currency, then day."""
    summed: dict = defaultdict(lambda: [0, 0, 0])
    for (source, day, currency), figures in days.items():
        if not channel or source == channel:
            summed[(day, currency)] = [a + b for a, b in zip(summed[(day, currency)], figures, strict=True)]
    currencies = sorted({currency for (_day, currency), f in summed.items() if any(f)})
    span = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [(d, c, *summed.get((d, c), [0, 0, 0])) for c in currencies for d in span]


@pytest.mark.slow
def test_reports_equal_a_direct_computation_over_1000_generated_orders(
    database_url: str, uow: UnitOfWork
) -> None:
    rng = random.Random(17)
    orders = [generate(rng, n) for n in range(1000)]
    for batch in range(0, len(orders), 100):
        chunk = orders[batch : batch + 100]

        def insert(repo, chunk=chunk) -> None:
            for order in chunk:
                assert repo.insert_order_if_absent(TENANT, order)

        uow.run(insert)
    for round_ in range(3):
        for batch in range(0, len(orders), 100):
            chunk = orders[batch : batch + 100]

            def edit(repo, chunk=chunk, loaded=round_ != 1) -> None:
                for order in chunk:
                    if loaded:  # the usual path: loaded (and locked) in this transaction
                        stored = repo.load_order(TENANT, order.id, lock=True)
                        assert stored is not None
                        stored.lines = [replace(line) for line in order.lines]
                        stored.status, stored.version = order.status, order.version
                        change(rng, stored)
                        repo.save_order(TENANT, stored)
                        order.status, order.lines, order.version = stored.status, stored.lines, stored.version
                    else:  # saved without a load here: the stored state is read back
                        change(rng, order)
                        repo.save_order(TENANT, order)

            uow.run(edit)

    ctx = CallContext(tenant_id=TENANT)
    first, last = date(2026, 11, 22), date(2026, 11, 27)
    channels, skus, days = direct(orders, first, last)
    _span, rows = service.channel_revenue(uow, ctx, first.isoformat(), last.isoformat())
    assert {(r.channel, r.currency): [r.revenue, r.orders, r.units] for r in rows} == dict(channels)
    for currency in ("USD", "EUR"):
        total = sum(v[0] for (_, c), v in channels.items() if c == currency)
        shares = [r.share_ppm for r in rows if r.currency == currency]
        assert abs(sum(shares) - 1_000_000) <= len(shares) and total > 0
    assert len(rows) == 6 and sum(r.orders for r in rows) > 200

    _span, best = service.best_sellers(uow, ctx, "", first.isoformat(), last.isoformat(), 100)
    expected = sorted(
        ((sku, cur, v[0], v[1], len(v[2])) for (sku, cur), v in skus.items() if v[0] > 0),
        key=lambda t: (-t[2], -t[3], t[0], t[1]),
    )
    assert [(b.sku, b.currency, b.units, b.revenue, b.orders) for b in best] == expected

    for channel, wanted in (("", ""), ("ebay", "ebay"), ("conn-shop", "shopify"), ("MANUAL", "manual")):
        _span, series = service.daily_sales(uow, ctx, channel, first.isoformat(), last.isoformat())
        got = [(r.day, r.currency, r.revenue, r.orders, r.units) for r in series]
        assert got == expected_days(days, first, last, wanted), channel
    assert len(got) == 12 and sum(r.orders for r in series) > 50

    kept = service.rebuild_sales(uow)
    _span, again = service.channel_revenue(uow, ctx, first.isoformat(), last.isoformat())
    assert kept == 1000 and again == rows
