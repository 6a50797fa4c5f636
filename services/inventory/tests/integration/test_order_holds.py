"""Holds for orders (issue 13): `no_expiry` and `allow_shortfall` on Reserve, through the real
gRPC server, on SQLite and on PostgreSQL (the one grouped implementation of Reserve)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from inventory import service
from inventory.repository import UnitOfWork
from omnistock.inventory.v1 import inventory_service_pb2 as pb


def stock(client: Any, sku: str, qty: int) -> None:
    line = pb.AdjustmentLine(sku=sku, set=qty, reason=pb.ADJUSTMENT_REASON_CYCLE_COUNT)
    client.Adjust(pb.AdjustRequest(line=line))


def order_hold(
    client: Any, *lines: tuple[str, int], key: str = "", shortfall: bool = True
) -> pb.ReserveResponse:
    return client.Reserve(
        pb.ReserveRequest(
            order_ref="conn-1:1001",
            lines=[pb.ReservationLineInput(sku=sku, quantity=q) for sku, q in lines],
            idempotency_key=key,
            channel_connection_id="conn-1",
            ttl_seconds=5,  # ignored with no_expiry
            no_expiry=True,
            allow_shortfall=shortfall,
        )
    )


def figures(client: Any, sku: str) -> tuple[int, int, int]:
    level = client.GetSkuStock(pb.GetSkuStockRequest(sku=sku))
    return level.on_hand, level.reserved, level.available


def assert_reconciled(client: Any) -> None:
    assert list(client.Reconcile(pb.ReconcileRequest()).mismatches) == []


def test_a_hold_without_expiry_is_never_reaped(client: Any, uow: UnitOfWork) -> None:
    stock(client, "A", 10)
    kept = order_hold(client, ("A", 2), shortfall=False).reservation
    timed = client.Reserve(
        pb.ReserveRequest(
            order_ref="cart", lines=[pb.ReservationLineInput(sku="A", quantity=3)], ttl_seconds=60
        )
    ).reservation
    assert not kept.HasField("expires_at") and timed.HasField("expires_at")

    years_later = datetime.now(UTC) + timedelta(days=3650)
    assert service.expire_due_reservations(uow, years_later, 100) == 1  # the cart's hold only
    fetched = client.GetReservation(pb.GetReservationRequest(reservation_id=kept.id)).reservation
    assert fetched.status == pb.RESERVATION_STATUS_HELD and not fetched.HasField("expires_at")
    assert figures(client, "A") == (10, 2, 8)

    done = client.CommitReservation(pb.CommitReservationRequest(reservation_id=kept.id)).reservation
    assert done.status == pb.RESERVATION_STATUS_COMMITTED and not done.HasField("expires_at")
    assert figures(client, "A") == (8, 0, 8)
    assert_reconciled(client)


def test_shortfall_holds_what_is_there_and_names_every_short_line(client: Any, uow: UnitOfWork) -> None:
    client.SetLowStockThreshold(pb.SetLowStockThresholdRequest(sku="A", threshold=2))
    stock(client, "A", 3)
    stock(client, "B", 0)  # known, sold out
    stock(client, "CUP", 5)
    client.PutBundle(pb.PutBundleRequest(sku="KIT", components=[pb.BundleComponent(sku="CUP", quantity=2)]))
    lines = [("A", 5), ("B", 2), ("GHOST", 1), ("KIT", 3), ("A", 1), ("CUP", 1)]

    answer = order_hold(client, *lines, key="conn-1:1001")
    held = answer.reservation
    assert [line.quantity for line in held.lines] == [3, 0, 0, 2, 0, 1]
    assert [(c.sku, c.quantity) for c in held.lines[3].components] == [("CUP", 4)]
    assert [(s.sku, s.requested, s.available, s.unknown_sku) for s in answer.short_lines] == [
        ("A", 5, 3, False),
        ("B", 2, 0, False),
        ("GHOST", 1, 0, True),
        ("KIT", 3, 2, False),
        ("A", 1, 0, False),
    ]
    assert figures(client, "A") == (3, 3, 0)
    assert figures(client, "CUP") == (5, 5, 0)
    assert client.GetSkuStock(pb.GetSkuStockRequest(sku="KIT")).available == 0

    # The event that reaches the channels says 0 for A (so every channel is pushed 0), and the
    # low-stock alert opened.
    with uow.transaction() as repo:
        events = [p for _id, kind, p in repo.outbox_rows("tenant-a") if kind == service.STOCK_CHANGED]
    assert {e["sku"]: e["available"] for e in events[-1]["skus"]}["A"] == 0
    alerts = client.ListAlerts(pb.ListAlertsRequest(status=pb.ALERT_STATUS_OPEN)).alerts
    assert [(a.sku, a.available_at_open) for a in alerts if a.sku == "A"] == [("A", 0)]

    # A repeat of the key returns the first reservation and the same short lines.
    again = order_hold(client, *lines, key="conn-1:1001")
    assert again.reservation.id == held.id and list(again.short_lines) == list(answer.short_lines)
    assert figures(client, "A") == (3, 3, 0)

    # Commit what is held; the lines held at 0 commit nothing and are not over-committed.
    done = client.CommitReservation(pb.CommitReservationRequest(reservation_id=held.id)).reservation
    assert [line.committed for line in done.lines] == [3, 0, 0, 2, 0, 1]
    assert figures(client, "A") == (0, 0, 0)
    assert_reconciled(client)


def test_without_the_flag_a_short_line_still_refuses_everything(client: Any) -> None:
    stock(client, "A", 1)
    stock(client, "B", 5)
    with pytest.raises(grpc.RpcError) as info:
        order_hold(client, ("A", 2), ("B", 1), shortfall=False)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert figures(client, "B") == (5, 0, 5)


def test_a_hold_of_nothing_is_kept_and_settles_cleanly(client: Any) -> None:
    stock(client, "A", 0)
    answer = order_hold(client, ("A", 4), key="k-empty")
    assert answer.reservation.status == pb.RESERVATION_STATUS_HELD
    assert [line.quantity for line in answer.reservation.lines] == [0]
    assert [(s.requested, s.available) for s in answer.short_lines] == [(4, 0)]
    released = client.ReleaseReservation(
        pb.ReleaseReservationRequest(reservation_id=answer.reservation.id)
    ).reservation
    assert released.status == pb.RESERVATION_STATUS_RELEASED
    assert figures(client, "A") == (0, 0, 0)
    assert_reconciled(client)


def test_racing_shortfall_holds_never_hold_more_than_there_is(client: Any) -> None:
    """40 orders of 1 unit for 25 units, all at once: exactly 25 units held, the other orders
    hold 0 and say so, whatever the grouping of the calls."""
    stock(client, "HOT", 25)

    def buy(index: int) -> tuple[int, int]:
        answer = order_hold(client, ("HOT", 1), key=f"order-{index}")
        return answer.reservation.lines[0].quantity, len(answer.short_lines)

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(buy, range(40)))
    assert sorted(results) == [(0, 1)] * 15 + [(1, 0)] * 25
    assert figures(client, "HOT") == (25, 25, 0)
    assert_reconciled(client)
