"""Imported sessions and the conversion rate, through the real gRPC server on SQLite and
PostgreSQL: a rate only where the sessions cover every day of the range, all-or-nothing imports,
a day imported again replaces its figure, tenants apart, viewers may not import."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from omnistock.orders.v1 import orders_service_pb2 as pb
from orders.domain import Order, OrderLine, OrderStatus
from orders.repository import UnitOfWork

TENANT = "tenant-a"
TWO_DAYS = pb.DayRange(from_date="2026-12-01", to_date="2026-12-02")


def paid_order(n: int, source: str, day: int) -> Order:
    at = datetime(2026, 12, day, 12, tzinfo=UTC)
    line = OrderLine(id=f"line-{n}", line_no=0, sku="SKU-1", quantity=1, unit_price=1000)
    return Order(
        id=f"order-{n}",
        source=source,
        connection_id="",
        external_id=f"ext-{n}",
        currency="USD",
        status=OrderStatus.PAID,
        created_at=at,
        updated_at=at,
        lines=[line],
    )


def seed_orders(uow: UnitOfWork) -> None:
    """Shopify: 3 orders on Dec 1 and 2 on Dec 2; manual: 1 on Dec 1."""
    orders = [paid_order(n, "SHOPIFY", 1) for n in range(3)]
    orders += [paid_order(n, "SHOPIFY", 2) for n in range(3, 5)]
    orders.append(paid_order(9, "MANUAL", 1))

    def insert(repo: Any) -> None:
        for order in orders:
            assert repo.insert_order_if_absent(TENANT, order)

    uow.run(insert)


def sessions(*rows: tuple[str, str, int]) -> pb.ImportChannelSessionsRequest:
    return pb.ImportChannelSessionsRequest(
        days=[pb.ChannelSessionsDay(day=day, channel=channel, sessions=n) for day, channel, n in rows]
    )


def conversion(client: Any, span: pb.DayRange = TWO_DAYS) -> dict[str, tuple[int, int | None, int | None]]:
    reply = client.GetConversionByChannel(pb.GetConversionByChannelRequest(range=span))
    return {
        c.channel: (
            c.orders,
            c.sessions if c.HasField("sessions") else None,
            c.conversion_ppm if c.HasField("conversion_ppm") else None,
        )
        for c in reply.channels
    }


def test_a_rate_only_where_sessions_cover_every_day(client: Any, uow: UnitOfWork) -> None:
    seed_orders(uow)
    assert conversion(client) == {"shopify": (5, None, None), "manual": (1, None, None)}
    # Shopify for both days, manual for one: only Shopify gets a rate over the two days.
    stored = client.ImportChannelSessions(
        sessions(("2026-12-01", "shopify", 100), ("2026-12-02", "Shopify", 150), ("2026-12-01", "manual", 10))
    ).stored
    assert stored == 3
    assert conversion(client) == {"shopify": (5, 250, 20_000), "manual": (1, None, None)}  # 5/250 = 2 %
    one_day = pb.DayRange(from_date="2026-12-01", to_date="2026-12-01")
    assert conversion(client, one_day) == {"shopify": (3, 100, 30_000), "manual": (1, 10, 100_000)}
    # Imported again: the figure is replaced, not added.
    client.ImportChannelSessions(sessions(("2026-12-02", "shopify", 50)))
    assert conversion(client)["shopify"] == (5, 150, 33_333)
    # A channel with sessions and no order shows 0 %; zero sessions give no rate.
    client.ImportChannelSessions(sessions(("2026-12-01", "ebay", 40), ("2026-12-02", "ebay", 0)))
    assert conversion(client)["ebay"] == (0, 40, 0)
    client.ImportChannelSessions(sessions(("2026-12-01", "ebay", 0)))
    assert conversion(client)["ebay"] == (0, 0, None)


def test_one_bad_row_refuses_the_import_and_names_every_bad_row(client: Any, uow: UnitOfWork) -> None:
    seed_orders(uow)
    bad = sessions(
        ("2026-12-01", "shopify", 100),
        ("01/12/2026", "shopify", 5),
        ("2026-12-02", "myspace", 5),
        ("2026-12-02", "shopify", -1),
        ("2026-12-01", "shopify", 7),
    )
    with pytest.raises(grpc.RpcError) as info:
        client.ImportChannelSessions(bad)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(info.value)
    assert status is not None
    request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(request)
    assert [v.field for v in request.field_violations] == [
        "days[1].day",
        "days[2].channel",
        "days[3].sessions",
        "days[4]",
    ]
    assert conversion(client)["shopify"] == (5, None, None)  # nothing stored
    with pytest.raises(grpc.RpcError) as empty:
        client.ImportChannelSessions(pb.ImportChannelSessionsRequest())
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_tenants_apart_and_viewers_read_only(client_for: Any, uow: UnitOfWork) -> None:
    seed_orders(uow)
    owner, other = client_for(), client_for("tenant-b")
    owner.ImportChannelSessions(sessions(("2026-12-01", "shopify", 100), ("2026-12-02", "shopify", 100)))
    assert conversion(other) == {}
    viewer = client_for(role="viewer")
    assert conversion(viewer)["shopify"] == (5, 200, 25_000)
    with pytest.raises(grpc.RpcError) as info:
        viewer.ImportChannelSessions(sessions(("2026-12-01", "shopify", 1)))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
