"""The consolidated list (filters, keyset paging) and the streamed export, through the real
server on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from omnistock.common.v1 import common_pb2
from omnistock.orders.v1 import orders_service_pb2 as pb
from omnistock_common.timestamps import to_timestamp
from orders import domain
from orders.domain import ChannelOrderVersion, IncomingLine, OrderFlag, OrderStatus, Totals
from orders.repository import UnitOfWork

TENANT = "tenant-a"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def store(
    uow: UnitOfWork,
    count: int,
    *,
    start: int = 0,
    source: str = "SHOPIFY",
    connection: str = "conn-shop",
    status: OrderStatus = OrderStatus.PAID,
    sku: str = "A",
    flags: frozenset[OrderFlag] = frozenset(),
) -> None:
    """`count` orders written straight through the repository in one transaction (the list and
    the export are what is tested here, not the intake)."""

    def work(repo: Any) -> None:
        for i in range(start, start + count):
            version = ChannelOrderVersion(
                connection_id=connection,
                source=source,
                external_id=f"{connection}-{i}",
                via="poll",
                received_at=T0,
                status=status,
                lines=(IncomingLine(sku, 1 + i % 3, external_line_id=str(i)),),
                currency="USD",
                totals=Totals(total=1000 + i),
                updated_at=T0,
                created_at=T0 + timedelta(minutes=i),
                external_name=f"#{i}",
                customer_email=f"buyer{i}@example.com",
                raw_json="{}",
            )
            order = domain.new_channel_order(version, str(uuid.uuid4()), lambda: str(uuid.uuid4()), T0)
            order.flags = set(flags)
            assert repo.insert_order_if_absent(TENANT, order)

    uow.run(work)


def page(client: Any, limit: int = 0, cursor: str = "", **filters: Any) -> pb.ListOrdersResponse:
    return client.ListOrders(
        pb.ListOrdersRequest(
            filter=pb.OrderFilter(**filters), page=common_pb2.PageRequest(limit=limit, cursor=cursor)
        )
    )


def test_pages_are_newest_first_and_stable_while_orders_arrive(client: Any, uow: UnitOfWork) -> None:
    store(uow, 25)
    first = page(client, limit=10)
    assert [o.external_name for o in first.orders] == [f"#{i}" for i in range(24, 14, -1)]
    store(uow, 5, start=100)  # newer orders arrive between two pages
    second = page(client, limit=10, cursor=first.page.next_cursor)
    assert [o.external_name for o in second.orders] == [f"#{i}" for i in range(14, 4, -1)]
    third = page(client, limit=10, cursor=second.page.next_cursor)
    assert [o.external_name for o in third.orders] == [f"#{i}" for i in range(4, -1, -1)]
    assert third.page.next_cursor == ""
    assert len(page(client).orders) == 30  # default page of 50
    with pytest.raises(grpc.RpcError) as info:
        page(client, cursor="not-a-cursor")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_filters(client: Any, uow: UnitOfWork) -> None:
    store(uow, 4, sku="RED-SHIRT")
    store(
        uow,
        3,
        start=10,
        source="WOOCOMMERCE",
        connection="conn-woo",
        status=OrderStatus.SHIPPED,
        sku="BLUE-CAP",
    )
    store(uow, 2, start=20, connection="conn-shop-2", flags=frozenset({OrderFlag.OVERSOLD}))

    def names(**filters: Any) -> list[str]:
        return sorted(o.external_name for o in page(client, **filters).orders)

    assert names(channel="woocommerce") == ["#10", "#11", "#12"]
    assert names(channel="conn-shop-2") == ["#20", "#21"]
    assert names(channel="shopify") == ["#0", "#1", "#2", "#20", "#21", "#3"]
    assert names(statuses=[pb.ORDER_STATUS_SHIPPED]) == ["#10", "#11", "#12"]
    assert names(flags=[pb.ORDER_FLAG_OVERSOLD]) == ["#20", "#21"]
    assert names(query="blue-") == ["#10", "#11", "#12"]  # a line SKU
    assert names(query="BUYER3@") == ["#3"]  # the email, any case
    assert names(query="#21") == ["#21"]  # the order name
    assert names(query="100%_") == []  # LIKE wildcards are literal
    window = {
        "created_from": to_timestamp(T0 + timedelta(minutes=10)),
        "created_to": to_timestamp(T0 + timedelta(minutes=12)),
    }
    assert names(**window) == ["#10", "#11"]
    with pytest.raises(grpc.RpcError) as info:
        page(client, created_from=window["created_to"], created_to=window["created_from"])
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.slow
def test_the_export_streams_every_matching_order_in_pages(client: Any, uow: UnitOfWork) -> None:
    store(uow, 1100)
    store(uow, 50, start=5000, source="WOOCOMMERCE", connection="conn-woo")
    messages = list(client.ExportOrders(pb.ExportOrdersRequest(filter=pb.OrderFilter(channel="shopify"))))
    assert [len(m.orders) for m in messages] == [200] * 5 + [100]
    exported = [o for m in messages for o in m.orders]
    assert len({o.id for o in exported}) == 1100
    assert [o.external_name for o in exported[:3]] == ["#1099", "#1098", "#1097"]
    assert all(o.lines and not o.raw_versions for o in exported)
    assert sum(o.totals.total.amount_minor for o in exported) == sum(1000 + i for i in range(1100))
