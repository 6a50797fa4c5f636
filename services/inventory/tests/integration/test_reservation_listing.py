"""ListReservations: who holds a SKU's reserved units, through the real gRPC server on SQLite and
PostgreSQL (the `client` fixtures of conftest.py)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from omnistock.common.v1 import common_pb2
from omnistock.inventory.v1 import inventory_service_pb2 as pb


def stock(client: Any, sku: str, qty: int) -> None:
    line = pb.AdjustmentLine(sku=sku, set=qty, reason=pb.ADJUSTMENT_REASON_CYCLE_COUNT)
    client.Adjust(pb.AdjustRequest(line=line))


def reserve(client: Any, ref: str, *lines: tuple[str, int]) -> pb.Reservation:
    request = pb.ReserveRequest(
        order_ref=ref, lines=[pb.ReservationLineInput(sku=sku, quantity=q) for sku, q in lines]
    )
    return client.Reserve(request).reservation


def holders(client: Any, sku: str, limit: int = 0, cursor: str = "") -> tuple[list[str], str]:
    page = common_pb2.PageRequest(limit=limit, cursor=cursor)
    response = client.ListReservations(pb.ListReservationsRequest(sku=sku, page=page))
    return [r.order_ref for r in response.reservations], response.page.next_cursor


def test_lists_the_holds_that_still_reserve_the_sku_newest_first(client: Any) -> None:
    stock(client, "A", 20)
    stock(client, "B", 20)
    committed = reserve(client, "order-committed", ("A", 2))
    client.CommitReservation(pb.CommitReservationRequest(reservation_id=committed.id))
    released = reserve(client, "order-released", ("A", 1))
    client.ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=released.id))
    partly = reserve(client, "order-partly", ("A", 3), ("B", 1))
    client.CommitReservation(
        pb.CommitReservationRequest(reservation_id=partly.id, lines=[pb.CommitLine(sku="A", quantity=1)])
    )
    # A's line fully shipped, B's still held: the hold is open but no longer holds A.
    shipped_a = reserve(client, "order-shipped-a", ("A", 1), ("B", 2))
    client.CommitReservation(
        pb.CommitReservationRequest(reservation_id=shipped_a.id, lines=[pb.CommitLine(sku="A", quantity=1)])
    )
    reserve(client, "order-b-only", ("B", 1))
    reserve(client, "order-new", ("A", 4))

    assert holders(client, "A") == (["order-new", "order-partly"], "")
    assert holders(client, "B") == (["order-b-only", "order-shipped-a", "order-partly"], "")
    # Every listed hold carries its lines, so a client shows how much of the SKU each holds.
    listed = client.ListReservations(pb.ListReservationsRequest(sku="A")).reservations
    assert [(line.sku, line.quantity, line.committed) for line in listed[1].lines] == [
        ("A", 3, 1),
        ("B", 1, 0),
    ]
    # The held units add up to the SKU's reserved figure.
    held = sum(x.quantity - x.committed - x.released for r in listed for x in r.lines if x.sku == "A")
    assert held == client.GetSkuStock(pb.GetSkuStockRequest(sku="A")).reserved == 6


def test_pages_by_keyset_and_refuses_bad_input(client: Any) -> None:
    stock(client, "P", 50)
    refs = [reserve(client, f"order-{n}", ("P", 1)).order_ref for n in range(5)]
    seen: list[str] = []
    cursor = ""
    while True:
        page, cursor = holders(client, "P", limit=2, cursor=cursor)
        seen += page
        if not cursor:
            break
    assert seen == list(reversed(refs))
    for request in (
        pb.ListReservationsRequest(sku=""),
        pb.ListReservationsRequest(sku="P", page=common_pb2.PageRequest(cursor="not-a-cursor")),
    ):
        with pytest.raises(grpc.RpcError) as info:
            client.ListReservations(request)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_another_tenant_sees_none_of_the_holds(client_for: Any) -> None:
    a, b = client_for("tenant-a"), client_for("tenant-b")
    stock(a, "SHARED", 5)
    reserve(a, "order-a", ("SHARED", 2))
    assert holders(b, "SHARED") == ([], "")
    assert holders(a, "SHARED") == (["order-a"], "")
