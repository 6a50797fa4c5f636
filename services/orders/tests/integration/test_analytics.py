"""The sales read model end to end: channel orders applied through the service layer (the
worker's path) on a real orders database and a real inventory server, figures read through the
real gRPC server, on SQLite and PostgreSQL. Two channels, a cancel, an edit, a re-delivery, a
pending order, another tenant, and the rebuild giving the same rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
import pytest
from alembic import command
from sqlalchemy import delete, inspect, select

from omnistock.orders.v1 import orders_service_pb2 as pb
from omnistock_common.migrations import alembic_config, upgrade
from orders import models, service
from orders.domain import ChannelOrderVersion, IncomingLine, OrderStatus, Policy, Totals
from orders.inventory_client import InventoryStock
from orders.rebuild_sales import main as rebuild_main
from orders.repository import UnitOfWork

TENANT = "tenant-a"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
DAY = pb.DayRange(from_date="2026-12-01", to_date="2026-12-01")


def version(
    external_id: str,
    lines: tuple[tuple[str, int, int], ...],
    *,
    status: OrderStatus = OrderStatus.PAID,
    source: str = "SHOPIFY",
    connection: str = "conn-shop",
    currency: str = "USD",
    updated: datetime = T0,
    created: datetime = T0,
) -> ChannelOrderVersion:
    """(sku, quantity, unit price) lines."""
    return ChannelOrderVersion(
        connection_id=connection,
        source=source,
        external_id=external_id,
        via="webhook",
        received_at=updated + timedelta(seconds=1),
        status=status,
        lines=tuple(
            IncomingLine(sku=sku, quantity=q, unit_price=price, external_line_id=f"{external_id}-{i}")
            for i, (sku, q, price) in enumerate(lines)
        ),
        currency=currency,
        totals=Totals(),
        updated_at=updated,
        created_at=created,
        customer_email=f"{external_id}@example.com",
        raw_json=json.dumps({"id": external_id, "updated_at": updated.isoformat(), "status": str(status)}),
    )


def revenue(client: Any, span: pb.DayRange = DAY) -> list[tuple[str, str, int, int, int, int]]:
    reply = client.GetRevenueByChannel(pb.GetRevenueByChannelRequest(range=span))
    return [
        (c.channel, c.revenue.currency, c.revenue.amount_minor, c.orders, c.units, c.share_ppm)
        for c in reply.channels
    ]


def best(client: Any, channel: str = "", limit: int = 0) -> list[tuple[str, int, int, int]]:
    reply = client.GetBestSellers(pb.GetBestSellersRequest(range=DAY, channel=channel, limit=limit))
    return [(b.sku, b.units, b.revenue.amount_minor, b.orders) for b in reply.best_sellers]


def daily(client: Any, span: pb.DayRange = DAY, channel: str = "") -> list[tuple[str, str, int, int, int]]:
    reply = client.GetSalesOverTime(pb.GetSalesOverTimeRequest(range=span, channel=channel))
    return [(d.day, d.revenue.currency, d.revenue.amount_minor, d.orders, d.units) for d in reply.days]


def read_model(uow: UnitOfWork) -> list[tuple[Any, ...]]:
    sd = models.sales_daily
    with uow.transaction() as repo:
        return sorted(tuple(row) for row in repo.conn.execute(select(sd)))


def test_figures_follow_imports_cancels_and_edits_exactly(
    client: Any,
    client_for: Callable[..., Any],
    uow: UnitOfWork,
    stock: InventoryStock,
    set_stock: Callable[[str, int], None],
    orders_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for sku in ("A", "B", "C"):
        set_stock(sku, 100)
    apply = lambda v: service.apply_channel_order(uow, stock, TENANT, v, Policy())  # noqa: E731
    apply(version("s1", (("A", 2, 1000), ("B", 1, 500))))  # shopify 2500
    apply(version("s2", (("A", 1, 1000),)))  # shopify 1000, edited below
    cancelled = apply(version("s3", (("C", 5, 100),)))  # shopify, cancelled below
    apply(version("e1", (("B", 4, 500),), source="EBAY", connection="conn-ebay"))  # ebay 2000
    apply(version("e2", (("C", 1, 300),), source="EBAY", connection="conn-ebay", status=OrderStatus.PENDING))
    apply(version("x1", (("A", 1, 900),), source="EBAY", connection="conn-ebay", currency="EUR"))
    apply(version("next-day", (("A", 9, 1000),), created=T0 + timedelta(days=1)))
    service.apply_channel_order(uow, stock, "tenant-b", version("s1", (("A", 50, 1000),)), Policy())

    assert cancelled is not None
    client.CancelOrder(pb.CancelOrderRequest(order_id=cancelled.id, reason="test", idempotency_key="k1"))
    # The channel edits s2: A 1 -> 3 units, and adds C.
    apply(version("s2", (("A", 3, 1000), ("C", 2, 100)), updated=T0 + timedelta(minutes=5)))
    # Re-delivered versions change nothing.
    apply(version("s1", (("A", 2, 1000), ("B", 1, 500))))
    apply(version("s2", (("A", 3, 1000), ("C", 2, 100)), updated=T0 + timedelta(minutes=5)))

    assert revenue(client) == [
        ("ebay", "EUR", 900, 1, 1, 1_000_000),
        ("shopify", "USD", 5700, 2, 8, 740_260),  # 2500 + 3200 of 7700
        ("ebay", "USD", 2000, 1, 4, 259_740),
    ]
    assert best(client) == [
        ("A", 5, 5000, 2),
        ("B", 5, 2500, 2),
        ("C", 2, 200, 1),
        ("A", 1, 900, 1),
    ]
    assert best(client, channel="ebay") == [("B", 4, 2000, 1), ("A", 1, 900, 1)]
    assert best(client, channel="conn-shop", limit=1) == [("A", 5, 5000, 2)]
    two_days = pb.DayRange(from_date="2026-12-01", to_date="2026-12-02")
    assert revenue(client, two_days)[1] == ("shopify", "USD", 14700, 3, 17, 880_240)
    reply = client.GetConversionByChannel(pb.GetConversionByChannelRequest(range=DAY))
    assert [(c.channel, c.orders) for c in reply.channels] == [
        ("ebay", 2),
        ("shopify", 2),
    ]  # ebay: one USD, one EUR order
    assert not any(c.HasField("sessions") or c.HasField("conversion_ppm") for c in reply.channels)
    three_days = pb.DayRange(from_date="2026-11-30", to_date="2026-12-02")
    assert daily(client, three_days) == [  # every day, zeros included, per currency
        ("2026-11-30", "EUR", 0, 0, 0),
        ("2026-12-01", "EUR", 900, 1, 1),
        ("2026-12-02", "EUR", 0, 0, 0),
        ("2026-11-30", "USD", 0, 0, 0),
        ("2026-12-01", "USD", 7700, 3, 12),
        ("2026-12-02", "USD", 9000, 1, 9),
    ]
    assert daily(client, three_days, channel="conn-ebay") == [
        ("2026-11-30", "EUR", 0, 0, 0),
        ("2026-12-01", "EUR", 900, 1, 1),
        ("2026-12-02", "EUR", 0, 0, 0),
        ("2026-11-30", "USD", 0, 0, 0),
        ("2026-12-01", "USD", 2000, 1, 4),
        ("2026-12-02", "USD", 0, 0, 0),
    ]
    assert daily(client, three_days, channel="SHOPIFY") == [
        ("2026-11-30", "USD", 0, 0, 0),
        ("2026-12-01", "USD", 5700, 2, 8),
        ("2026-12-02", "USD", 9000, 1, 9),
    ]
    assert daily(client, channel="woocommerce") == []
    reply = client.GetSalesOverTime(pb.GetSalesOverTimeRequest())  # the default 30 days up to today
    assert (date.fromisoformat(reply.range.to_date) - date.fromisoformat(reply.range.from_date)).days == 29
    assert daily(client_for("tenant-b", role="viewer"), three_days)[1] == ("2026-12-01", "USD", 50000, 1, 50)
    assert revenue(client_for("tenant-b", role="viewer")) == [("shopify", "USD", 50000, 1, 50, 1_000_000)]

    # The pending order is paid: it counts from now on.
    apply(
        version(
            "e2", (("C", 1, 300),), source="EBAY", connection="conn-ebay", updated=T0 + timedelta(hours=1)
        )
    )
    assert revenue(client)[2] == ("ebay", "USD", 2300, 2, 5, 287_500)

    kept = read_model(uow)
    assert service.rebuild_sales(uow) == 8
    assert read_model(uow) == kept
    with uow.transaction() as repo:  # a read model lost (or never filled): the command refills it
        repo.conn.execute(delete(models.sales_daily))
    assert rebuild_main([], {"ORDERS_DATABASE_URL": orders_url}) == 0
    assert "from 8 orders" in capsys.readouterr().out
    assert read_model(uow) == kept
    assert rebuild_main(["--tenant", "tenant-b"], {"ORDERS_DATABASE_URL": orders_url}) == 0
    assert read_model(uow) == kept


@pytest.mark.parametrize(
    "span",
    [
        pb.DayRange(from_date="2026-12-02", to_date="2026-12-01"),
        pb.DayRange(from_date="12/01/2026"),
        pb.DayRange(to_date="2026-02-30"),
        pb.DayRange(from_date="2025-01-01", to_date="2026-12-01"),
    ],
)
def test_a_bad_range_is_invalid_argument(client: Any, span: pb.DayRange) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        client.GetRevenueByChannel(pb.GetRevenueByChannelRequest(range=span))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as daily_range:
        client.GetSalesOverTime(pb.GetSalesOverTimeRequest(range=span))
    assert daily_range.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as limit:
        client.GetBestSellers(pb.GetBestSellersRequest(range=DAY, limit=101))
    assert limit.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_upgrade_to_0003_fills_the_read_model_from_existing_orders(
    uow: UnitOfWork, stock: InventoryStock, set_stock: Callable[[str, int], None], orders_url: str
) -> None:
    set_stock("A", 100)
    for external_id, status in (
        ("p1", OrderStatus.PAID),
        ("p2", OrderStatus.PENDING),
        ("p3", OrderStatus.SHIPPED),
    ):
        service.apply_channel_order(
            uow, stock, TENANT, version(external_id, (("A", 2, 700),), status=status), Policy()
        )
    kept = read_model(uow)
    assert [row[-3:] for row in kept] == [(2, 4, 2800), (2, 4, 2800)]  # the order row and A's

    uow.engine.dispose()
    # A deployment from before the read model, upgraded: migration 0003 backfills.
    command.downgrade(alembic_config("orders", orders_url), "0002")
    assert "sales_daily" not in inspect(uow.engine).get_table_names()
    uow.engine.dispose()
    upgrade("orders", orders_url)
    assert read_model(uow) == kept
