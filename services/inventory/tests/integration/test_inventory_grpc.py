"""Inventory acceptance tests through the real gRPC server, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from sqlalchemy import text

from inventory import service
from inventory.repository import UnitOfWork
from inventory.server import SERVICE_NAME
from omnistock.common.v1 import common_pb2
from omnistock.inventory.v1 import inventory_service_pb2 as pb

RECEIVED = pb.ADJUSTMENT_REASON_RECEIVED


def stock(client: Any, sku: str, qty: int, location: str = "") -> pb.StockLevel:
    line = pb.AdjustmentLine(
        sku=sku, set=qty, reason=pb.ADJUSTMENT_REASON_CYCLE_COUNT, location_code=location
    )
    return client.Adjust(pb.AdjustRequest(line=line)).level


def reserve(
    client: Any, *lines: tuple[str, int], key: str = "", ttl: int = 0, conn: str = ""
) -> pb.Reservation:
    request = pb.ReserveRequest(
        order_ref="order-1",
        lines=[pb.ReservationLineInput(sku=sku, quantity=q) for sku, q in lines],
        idempotency_key=key,
        ttl_seconds=ttl,
        channel_connection_id=conn,
    )
    return client.Reserve(request).reservation


def sku_stock(client: Any, sku: str) -> pb.GetSkuStockResponse:
    return client.GetSkuStock(pb.GetSkuStockRequest(sku=sku))


def error_of(call: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def outbox_events(
    uow: UnitOfWork, tenant: str, event_type: str = service.STOCK_CHANGED
) -> list[dict[str, Any]]:
    with uow.transaction() as repo:
        return [payload for _id, kind, payload in repo.outbox_rows(tenant) if kind == event_type]


def assert_reconciled(client: Any) -> None:
    report = client.Reconcile(pb.ReconcileRequest())
    assert list(report.mismatches) == []
    assert report.checked > 0


# --------------------------------------------------------------------------- server plumbing


def test_health_serving_and_reflection(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", SERVICE_NAME):
        response = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    answer = next(iter(reflection.ServerReflectionInfo(iter([request]), timeout=5)))
    names = {s.name for s in answer.list_services_response.service}
    assert SERVICE_NAME in names
    assert SERVICE_NAME == "omnistock.inventory.v1.InventoryService"


def test_call_without_tenant_is_unauthenticated(channel: grpc.Channel) -> None:
    from omnistock.inventory.v1 import inventory_service_pb2_grpc as pb_grpc

    stub = pb_grpc.InventoryServiceStub(channel)
    err = error_of(lambda: stub.ListLocations(pb.ListLocationsRequest(), timeout=5))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


# --------------------------------------------------------------------------- locations


def test_default_location_is_created_once_and_can_move(client: Any) -> None:
    locations = client.ListLocations(pb.ListLocationsRequest()).locations
    assert [(loc.code, loc.is_default) for loc in locations] == [("default", True)]
    client.CreateLocation(pb.CreateLocationRequest(code="wh-east", name="East"))
    err = error_of(lambda: client.CreateLocation(pb.CreateLocationRequest(code="wh-east", name="again")))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    client.CreateLocation(pb.CreateLocationRequest(code="wh-west", name="West", is_default=True))
    locations = client.ListLocations(pb.ListLocationsRequest()).locations
    assert {loc.code: loc.is_default for loc in locations} == {
        "default": False,
        "wh-east": False,
        "wh-west": True,
    }
    # An adjustment without a location now lands in the new default.
    assert stock(client, "A", 3).location_code == "wh-west"
    err = error_of(lambda: stock(client, "A", 3, location="nowhere"))
    assert err.code() == grpc.StatusCode.NOT_FOUND


# --------------------------------------------------------------------------- adjustments and ledger


def test_adjust_ledger_history_and_reconcile(client: Any) -> None:
    client.Adjust(pb.AdjustRequest(line=pb.AdjustmentLine(sku="A", delta=10, reason=RECEIVED, note="po-1")))
    client.Adjust(
        pb.AdjustRequest(line=pb.AdjustmentLine(sku="A", set=7, reason=pb.ADJUSTMENT_REASON_CYCLE_COUNT))
    )
    level = client.Adjust(
        pb.AdjustRequest(
            line=pb.AdjustmentLine(sku="A", delta=-2, reason=pb.ADJUSTMENT_REASON_DAMAGED, reference="r9")
        )
    ).level
    assert (level.on_hand, level.reserved, level.available, level.version) == (5, 0, 5, 3)

    first = client.ListMovements(pb.ListMovementsRequest(sku="A", page=common_pb2.PageRequest(limit=2)))
    assert [(m.on_hand_delta, m.on_hand_after) for m in first.movements] == [(-2, 5), (-3, 7)]
    assert first.movements[0].reason == pb.ADJUSTMENT_REASON_DAMAGED
    assert first.movements[0].reference == "r9"
    assert first.movements[0].actor == "user:u1"
    assert first.movements[0].kind == pb.MOVEMENT_KIND_ADJUSTMENT
    assert first.page.next_cursor
    second = client.ListMovements(
        pb.ListMovementsRequest(sku="A", page=common_pb2.PageRequest(limit=2, cursor=first.page.next_cursor))
    )
    assert [(m.on_hand_delta, m.note) for m in second.movements] == [(10, "po-1")]
    assert second.page.next_cursor == ""
    assert_reconciled(client)


def test_reconcile_reports_a_tampered_level(client: Any, engine: Any) -> None:
    stock(client, "A", 10)
    with engine.begin() as conn:
        conn.execute(text("UPDATE stock_levels SET on_hand = 11 WHERE sku = 'A'"))
    report = client.Reconcile(pb.ReconcileRequest())
    assert [(m.sku, m.location_code, m.on_hand, m.ledger_on_hand) for m in report.mismatches] == [
        ("A", "default", 11, 10)
    ]


def test_adjust_refusals(client: Any) -> None:
    err = error_of(lambda: client.Adjust(pb.AdjustRequest(line=pb.AdjustmentLine(sku="A", delta=5))))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(err)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad_request) for d in status.details)
    assert bad_request.field_violations[0].field == "line.reason"

    err = error_of(
        lambda: client.Adjust(pb.AdjustRequest(line=pb.AdjustmentLine(sku="A", delta=-1, reason=RECEIVED)))
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    stock(client, "A", 5)
    reserve(client, ("A", 4))
    err = error_of(lambda: stock(client, "A", 3))  # set below reserved
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    err = error_of(
        lambda: client.Adjust(pb.AdjustRequest(line=pb.AdjustmentLine(sku="A", delta=-2, reason=RECEIVED)))
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    level = sku_stock(client, "A")
    assert (level.on_hand, level.reserved, level.available) == (5, 4, 1)
    assert_reconciled(client)


def test_batch_adjust_applies_good_lines_and_reports_bad_ones(client: Any, uow: UnitOfWork) -> None:
    lines = [
        pb.AdjustmentLine(sku="A", delta=10, reason=RECEIVED),
        pb.AdjustmentLine(sku="B", delta=-5, reason=RECEIVED),  # would go negative
        pb.AdjustmentLine(sku="C", delta=3),  # no reason
        pb.AdjustmentLine(sku="D", delta=3, reason=RECEIVED, location_code="nowhere"),
        pb.AdjustmentLine(sku="A", delta=-4, reason=pb.ADJUSTMENT_REASON_SALE),
        pb.AdjustmentLine(sku="E", set=2, reason=RECEIVED),
    ]
    before = len(outbox_events(uow, "tenant-a"))
    response = client.BatchAdjust(pb.BatchAdjustRequest(lines=lines))
    assert (response.applied, response.failed) == (3, 3)
    by_index = {r.index: r for r in response.results}
    assert (
        by_index[0].level.on_hand == 10 and by_index[4].level.on_hand == 6 and by_index[5].level.on_hand == 2
    )
    assert by_index[1].error.code == "FAILED_PRECONDITION" and by_index[1].error.field == "lines[1].change"
    assert by_index[2].error.code == "INVALID_ARGUMENT" and by_index[2].error.field == "lines[2].reason"
    assert by_index[3].error.code == "NOT_FOUND"
    assert sku_stock(client, "A").on_hand == 6
    assert sku_stock(client, "B").locations == []  # the refused line left no row behind
    events = outbox_events(uow, "tenant-a")
    assert len(events) == before + 1  # one outbox row for the whole batch
    assert [entry["sku"] for entry in events[-1]["skus"]] == ["A", "E"]
    assert_reconciled(client)


def test_batch_adjust_limits(client: Any) -> None:
    err = error_of(lambda: client.BatchAdjust(pb.BatchAdjustRequest()))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    too_many = [pb.AdjustmentLine(sku=f"S{i}", delta=1, reason=RECEIVED) for i in range(10_001)]
    err = error_of(lambda: client.BatchAdjust(pb.BatchAdjustRequest(lines=too_many)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_idempotent_adjust_and_batch_apply_once(client: Any) -> None:
    line = pb.AdjustmentLine(sku="A", delta=5, reason=RECEIVED)
    first = client.Adjust(pb.AdjustRequest(line=line, idempotency_key="k1"))
    again = client.Adjust(pb.AdjustRequest(line=line, idempotency_key="k1"))
    assert first == again
    batch = pb.BatchAdjustRequest(
        lines=[line, pb.AdjustmentLine(sku="B", delta=-1, reason=RECEIVED)], idempotency_key="k2"
    )
    assert client.BatchAdjust(batch) == client.BatchAdjust(batch)
    assert sku_stock(client, "A").on_hand == 10
    movements = client.ListMovements(pb.ListMovementsRequest(sku="A")).movements
    assert len(movements) == 2
    # A refused Adjust stores nothing: the same key works once the cause is fixed.
    bad = pb.AdjustRequest(line=pb.AdjustmentLine(sku="C", delta=-1, reason=RECEIVED), idempotency_key="k3")
    assert error_of(lambda: client.Adjust(bad)).code() == grpc.StatusCode.FAILED_PRECONDITION
    stock(client, "C", 1)
    assert client.Adjust(bad).level.on_hand == 0


def test_racing_identical_adjusts_apply_once(client: Any) -> None:
    request = pb.AdjustRequest(
        line=pb.AdjustmentLine(sku="A", delta=1, reason=RECEIVED), idempotency_key="race"
    )
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.Adjust(request), range(16)))
    assert {r.level.on_hand for r in results} == {1}
    assert sku_stock(client, "A").on_hand == 1


# --------------------------------------------------------------------------- reservations


def test_reserve_all_or_nothing_with_insufficient_stock_details(client: Any) -> None:
    stock(client, "A", 5)
    stock(client, "B", 1)
    err = error_of(lambda: reserve(client, ("A", 2), ("B", 2), ("C", 1)))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    status = rpc_status.from_call(err)
    assert status is not None
    short = pb.InsufficientStock()
    assert any(d.Unpack(short) for d in status.details)
    assert [(s.sku, s.location_code, s.requested, s.available) for s in short.lines] == [
        ("B", "default", 2, 1),
        ("C", "default", 1, 0),
    ]
    assert sku_stock(client, "A").reserved == 0  # nothing held
    held = reserve(client, ("A", 2), ("A", 3))  # same SKU twice: summed, exactly enough
    assert held.status == pb.RESERVATION_STATUS_HELD
    assert sku_stock(client, "A").available == 0
    assert error_of(lambda: reserve(client, ("A", 1))).code() == grpc.StatusCode.FAILED_PRECONDITION
    assert_reconciled(client)


def test_reserve_defaults_and_validation(client: Any) -> None:
    stock(client, "A", 5)
    before = datetime.now(UTC)
    held = reserve(client, ("A", 1))
    expires = held.expires_at.ToDatetime(tzinfo=UTC)
    assert before + timedelta(seconds=890) < expires < before + timedelta(seconds=960)
    assert error_of(lambda: reserve(client, ("A", 0))).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_of(lambda: reserve(client)).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_of(lambda: reserve(client, ("A", 1), ttl=-1)).code() == grpc.StatusCode.INVALID_ARGUMENT


def test_reserve_idempotency_including_racing_twins(client: Any) -> None:
    stock(client, "A", 100)
    first = reserve(client, ("A", 3), key="order-1")
    assert reserve(client, ("A", 3), key="order-1").id == first.id
    with ThreadPoolExecutor(8) as pool:
        twins = list(pool.map(lambda _: reserve(client, ("A", 5), key="order-2"), range(16)))
    assert len({r.id for r in twins}) == 1
    assert sku_stock(client, "A").reserved == 8
    # A failed attempt stores nothing: the same key succeeds once stock arrives.
    assert (
        error_of(lambda: reserve(client, ("B", 1), key="order-3")).code()
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    stock(client, "B", 1)
    assert reserve(client, ("B", 1), key="order-3").status == pb.RESERVATION_STATUS_HELD
    assert_reconciled(client)


def test_partial_commit_commit_rest_and_release(client: Any) -> None:
    stock(client, "A", 10)
    stock(client, "B", 10)
    held = reserve(client, ("A", 4), ("B", 2))
    partial = client.CommitReservation(
        pb.CommitReservationRequest(
            reservation_id=held.id, lines=[pb.CommitLine(sku="A", quantity=3)], idempotency_key="ship-1"
        )
    ).reservation
    assert partial.status == pb.RESERVATION_STATUS_PARTIALLY_COMMITTED
    assert [(line.sku, line.committed) for line in partial.lines] == [("A", 3), ("B", 0)]
    repeat = client.CommitReservation(
        pb.CommitReservationRequest(
            reservation_id=held.id, lines=[pb.CommitLine(sku="A", quantity=3)], idempotency_key="ship-1"
        )
    ).reservation
    assert repeat == partial
    a = sku_stock(client, "A")
    assert (a.on_hand, a.reserved) == (7, 1)
    over = pb.CommitReservationRequest(reservation_id=held.id, lines=[pb.CommitLine(sku="A", quantity=2)])
    assert error_of(lambda: client.CommitReservation(over)).code() == grpc.StatusCode.FAILED_PRECONDITION
    released = client.ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=held.id)).reservation
    assert released.status == pb.RESERVATION_STATUS_RELEASED
    assert [(line.sku, line.committed, line.released) for line in released.lines] == [
        ("A", 3, 1),
        ("B", 0, 2),
    ]
    a, b = sku_stock(client, "A"), sku_stock(client, "B")
    assert (a.on_hand, a.reserved, b.on_hand, b.reserved) == (7, 0, 10, 0)
    # Releasing again is a no-op; committing a released reservation is refused.
    assert (
        client.ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=held.id)).reservation
        == released
    )
    again = pb.CommitReservationRequest(reservation_id=held.id)
    assert error_of(lambda: client.CommitReservation(again)).code() == grpc.StatusCode.FAILED_PRECONDITION

    full = reserve(client, ("A", 2))
    done = client.CommitReservation(pb.CommitReservationRequest(reservation_id=full.id)).reservation
    assert done.status == pb.RESERVATION_STATUS_COMMITTED
    assert sku_stock(client, "A").on_hand == 5
    fetched = client.GetReservation(pb.GetReservationRequest(reservation_id=full.id)).reservation
    assert fetched == done
    kinds = [m.kind for m in client.ListMovements(pb.ListMovementsRequest(sku="A")).movements]
    assert kinds[:2] == [pb.MOVEMENT_KIND_COMMIT, pb.MOVEMENT_KIND_RESERVE]
    assert_reconciled(client)


def test_ttl_expiry_releases_each_hold_exactly_once(client: Any, uow: UnitOfWork) -> None:
    stock(client, "A", 50)
    stock(client, "B", 50)
    holds = [reserve(client, ("A", 2), ("B", 1), ttl=60) for _ in range(10)]
    client.CommitReservation(
        pb.CommitReservationRequest(reservation_id=holds[0].id, lines=[pb.CommitLine(sku="A", quantity=1)])
    )
    keeper = reserve(client, ("A", 1), ttl=3600)
    assert client.ExpireReservations(pb.ExpireReservationsRequest()).expired == 0  # nothing due yet

    later = datetime.now(UTC) + timedelta(seconds=120)
    with ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(lambda _: service.expire_due_reservations(uow, later, 100), range(2)))
    assert sum(counts) == 10
    assert service.expire_due_reservations(uow, later, 100) == 0
    a, b = sku_stock(client, "A"), sku_stock(client, "B")
    assert (a.on_hand, a.reserved, b.on_hand, b.reserved) == (49, 1, 50, 0)
    first = client.GetReservation(pb.GetReservationRequest(reservation_id=holds[0].id)).reservation
    assert first.status == pb.RESERVATION_STATUS_EXPIRED
    assert [(line.committed, line.released) for line in first.lines] == [(1, 1), (0, 1)]
    assert client.GetReservation(pb.GetReservationRequest(reservation_id=keeper.id)).reservation.status == (
        pb.RESERVATION_STATUS_HELD
    )
    expiries = [
        m
        for m in client.ListMovements(pb.ListMovementsRequest(sku="B")).movements
        if m.kind == pb.MOVEMENT_KIND_EXPIRE
    ]
    assert len(expiries) == 10 and {m.actor for m in expiries} == {"worker:expiry"}
    assert_reconciled(client)


# --------------------------------------------------------------------------- bundles


def test_bundle_reservation_locks_components_against_combined_demand(client: Any, uow: UnitOfWork) -> None:
    stock(client, "CUP", 10)
    stock(client, "LID", 10)
    kit = [pb.BundleComponent(sku="CUP", quantity=2), pb.BundleComponent(sku="LID", quantity=1)]
    client.PutBundle(pb.PutBundleRequest(sku="KIT", components=kit))
    kit_stock = sku_stock(client, "KIT")
    assert kit_stock.is_bundle and kit_stock.available == 5
    # A nested bundle, a self reference and a zero quantity are refused.
    nested = pb.PutBundleRequest(sku="BIG", components=[pb.BundleComponent(sku="KIT", quantity=1)])
    assert error_of(lambda: client.PutBundle(nested)).code() == grpc.StatusCode.INVALID_ARGUMENT
    selfref = pb.PutBundleRequest(sku="X", components=[pb.BundleComponent(sku="X", quantity=1)])
    assert error_of(lambda: client.PutBundle(selfref)).code() == grpc.StatusCode.INVALID_ARGUMENT
    zero = pb.PutBundleRequest(sku="Y", components=[pb.BundleComponent(sku="CUP", quantity=0)])
    assert error_of(lambda: client.PutBundle(zero)).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_of(lambda: stock(client, "KIT", 3)).code() == grpc.StatusCode.FAILED_PRECONDITION

    # KIT x3 needs 6 CUP; with 5 more CUP the combined 11 > 10: refused as a whole.
    err = error_of(lambda: reserve(client, ("KIT", 3), ("CUP", 5)))
    short = pb.InsufficientStock()
    status = rpc_status.from_call(err)
    assert status is not None and any(d.Unpack(short) for d in status.details)
    assert [(s.sku, s.requested, s.available) for s in short.lines] == [("CUP", 11, 10)]
    assert sku_stock(client, "CUP").reserved == 0

    held = reserve(client, ("KIT", 3), ("CUP", 4))
    assert [(c.sku, c.quantity) for c in held.lines[0].components] == [("CUP", 6), ("LID", 3)]
    cup, lid = sku_stock(client, "CUP"), sku_stock(client, "LID")
    assert (cup.reserved, lid.reserved) == (10, 3)
    assert sku_stock(client, "KIT").available == 0
    last = outbox_events(uow, "tenant-a")[-1]
    assert {e["sku"]: e["available"] for e in last["skus"]} == {"CUP": 0, "KIT": 0, "LID": 7}

    committed = client.CommitReservation(
        pb.CommitReservationRequest(reservation_id=held.id, lines=[pb.CommitLine(sku="KIT", quantity=1)])
    ).reservation
    assert [(c.sku, c.committed) for c in committed.lines[0].components] == [("CUP", 2), ("LID", 1)]
    client.ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=held.id))
    cup, lid = sku_stock(client, "CUP"), sku_stock(client, "LID")
    assert (cup.on_hand, cup.reserved, lid.on_hand, lid.reserved) == (8, 0, 9, 0)
    assert sku_stock(client, "KIT").available == 4

    # A component change alone also sends the bundle's new figure.
    stock(client, "LID", 2)
    last = outbox_events(uow, "tenant-a")[-1]
    assert {e["sku"]: e["available"] for e in last["skus"]} == {"KIT": 2, "LID": 2}
    assert client.GetBundle(pb.GetBundleRequest(sku="KIT")).components == kit
    client.DeleteBundle(pb.DeleteBundleRequest(sku="KIT"))
    assert (
        error_of(lambda: client.GetBundle(pb.GetBundleRequest(sku="KIT"))).code() == grpc.StatusCode.NOT_FOUND
    )
    assert_reconciled(client)


# --------------------------------------------------------------------------- alerts and events


def test_low_stock_crossing_opens_one_alert_and_recovery_closes_it(client: Any, uow: UnitOfWork) -> None:
    stock(client, "A", 20)  # from nothing to 20: never crossed downwards, no alert
    client.SetLowStockThreshold(pb.SetLowStockThresholdRequest(sku="A", threshold=8))
    assert sku_stock(client, "A").low_stock_threshold == 8
    held = reserve(client, ("A", 13))  # 20 -> 7: crosses below 8
    reserve(client, ("A", 2))  # 7 -> 5: still below, no new alert
    stock(client, "A", 19)  # 19 - 15 = 4: still below
    alerts = client.ListAlerts(pb.ListAlertsRequest(status=pb.ALERT_STATUS_OPEN)).alerts
    assert [(a.sku, a.threshold, a.available_at_open) for a in alerts] == [("A", 8, 7)]
    low = outbox_events(uow, "tenant-a", service.LOW_STOCK)
    assert [(e["sku"], e["available"], e["threshold"]) for e in low] == [("A", 7, 8)]

    client.ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=held.id))  # back to 17
    assert client.ListAlerts(pb.ListAlertsRequest(status=pb.ALERT_STATUS_OPEN)).alerts == []
    closed = client.ListAlerts(pb.ListAlertsRequest(status=pb.ALERT_STATUS_CLOSED)).alerts
    assert len(closed) == 1 and closed[0].closed_at.seconds > 0
    # A second dip opens a second alert; the tenant default applies to SKUs without their own.
    reserve(client, ("A", 10))
    assert len(client.ListAlerts(pb.ListAlertsRequest(status=pb.ALERT_STATUS_OPEN)).alerts) == 1
    client.SetDefaultLowStockThreshold(pb.SetDefaultLowStockThresholdRequest(threshold=3))
    stock(client, "B", 5)
    assert sku_stock(client, "B").low_stock_threshold == 3
    reserve(client, ("B", 3))
    everything = client.ListAlerts(pb.ListAlertsRequest(page=common_pb2.PageRequest(limit=2)))
    assert len(everything.alerts) == 2 and everything.page.next_cursor
    rest = client.ListAlerts(
        pb.ListAlertsRequest(page=common_pb2.PageRequest(limit=2, cursor=everything.page.next_cursor))
    )
    assert sorted(a.sku for a in [*everything.alerts, *rest.alerts]) == ["A", "A", "B"]
    low_levels = client.ListStockLevels(pb.ListStockLevelsRequest(low_stock_only=True)).levels
    assert [lv.sku for lv in low_levels] == ["A", "B"]


def test_outbox_rows_carry_increasing_versions_and_channel_figures(client: Any, uow: UnitOfWork) -> None:
    client.PutAllocationRule(
        pb.PutAllocationRuleRequest(
            rule=pb.AllocationRule(
                connection_id="shop-1", channel="shopify", buffer=2, percentage=50, max_quantity=30
            )
        )
    )
    stock(client, "A", 100)
    held = reserve(client, ("A", 10), conn="shop-1")
    client.CommitReservation(pb.CommitReservationRequest(reservation_id=held.id))
    client.BatchAdjust(
        pb.BatchAdjustRequest(
            lines=[
                pb.AdjustmentLine(sku="A", delta=1, reason=RECEIVED),
                pb.AdjustmentLine(sku="B", delta=4, reason=RECEIVED),
            ]
        )
    )
    events = outbox_events(uow, "tenant-a")
    versions = [entry["version"] for event in events for entry in event["skus"] if entry["sku"] == "A"]
    assert versions == sorted(versions) and len(set(versions)) == len(versions) == 4
    last = events[-1]
    assert last["tenant_id"] == "tenant-a"
    entry = next(e for e in last["skus"] if e["sku"] == "A")
    assert (entry["on_hand"], entry["reserved"], entry["available"]) == (91, 0, 91)
    # floor(91 * 50%) - 2 = 43, capped at 30
    assert entry["channels"] == [{"connection_id": "shop-1", "channel": "shopify", "available_to_sell": 30}]
    assert sku_stock(client, "A").channels[0].available_to_sell == 30
    with uow.transaction() as repo:
        raw = repo.conn.execute(text("SELECT payload FROM outbox ORDER BY id DESC LIMIT 1")).scalar()
    assert json.loads(raw) == last


def test_dynamic_buffer_follows_channel_sales_and_latency(client: Any) -> None:
    client.PutAllocationRule(
        pb.PutAllocationRuleRequest(
            rule=pb.AllocationRule(connection_id="tiktok-1", channel="tiktok", dynamic_buffer=True)
        )
    )
    stock(client, "A", 10_000)
    held = reserve(client, ("A", 3600), conn="tiktok-1")
    client.CommitReservation(pb.CommitReservationRequest(reservation_id=held.id))  # 1 unit/s over the hour
    ats = lambda conn: client.GetAvailableToSell(pb.GetAvailableToSellRequest(sku="A", connection_id=conn))  # noqa: E731
    assert ats("tiktok-1").available_to_sell == 6400  # no latency measured yet
    client.RecordSyncLatency(pb.RecordSyncLatencyRequest(connection_id="tiktok-1", latency_ms=2500))
    assert ats("tiktok-1").available_to_sell == 6400 - 3  # ceil(1/s x 2.5 s)
    assert ats("no-rule").available_to_sell == 6400  # a connection without a rule: no buffer
    rule = client.GetAllocationRule(pb.GetAllocationRuleRequest(connection_id="tiktok-1")).rule
    assert rule.measured_sync_latency_ms == 2500 and not rule.HasField("max_quantity")
    client.DeleteAllocationRule(pb.DeleteAllocationRuleRequest(connection_id="tiktok-1"))
    err = error_of(lambda: client.GetAllocationRule(pb.GetAllocationRuleRequest(connection_id="tiktok-1")))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    bad = pb.PutAllocationRuleRequest(rule=pb.AllocationRule(connection_id="x", percentage=101))
    assert error_of(lambda: client.PutAllocationRule(bad)).code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_stock_levels_pages_and_filters(client: Any) -> None:
    client.CreateLocation(pb.CreateLocationRequest(code="wh-2", name="Second"))
    for sku in ("A", "B", "C"):
        stock(client, sku, 50)
        stock(client, sku, 5, location="wh-2")
    page = client.ListStockLevels(pb.ListStockLevelsRequest(page=common_pb2.PageRequest(limit=4)))
    rest = client.ListStockLevels(
        pb.ListStockLevelsRequest(page=common_pb2.PageRequest(limit=4, cursor=page.page.next_cursor))
    )
    keys = [(lv.sku, lv.location_code) for lv in [*page.levels, *rest.levels]]
    assert keys == [(s, loc) for s in ("A", "B", "C") for loc in ("default", "wh-2")]
    assert rest.page.next_cursor == ""
    only = client.ListStockLevels(pb.ListStockLevelsRequest(location_code="wh-2", sku="B")).levels
    assert [(lv.sku, lv.on_hand) for lv in only] == [("B", 5)]
    a = sku_stock(client, "A")
    assert (a.on_hand, [lv.location_code for lv in a.locations]) == (55, ["default", "wh-2"])
    bad_cursor = pb.ListStockLevelsRequest(page=common_pb2.PageRequest(cursor="not-a-cursor"))
    assert error_of(lambda: client.ListStockLevels(bad_cursor)).code() == grpc.StatusCode.INVALID_ARGUMENT


def test_tenants_are_isolated(client_for: Any, uow: UnitOfWork) -> None:
    a, b = client_for("tenant-a"), client_for("tenant-b")
    stock(a, "SHARED", 10)
    held = reserve(a, ("SHARED", 4), key="same-key")
    assert sku_stock(b, "SHARED").on_hand == 0
    assert error_of(lambda: reserve(b, ("SHARED", 1))).code() == grpc.StatusCode.FAILED_PRECONDITION
    for call in (
        lambda: b.GetReservation(pb.GetReservationRequest(reservation_id=held.id)),
        lambda: b.CommitReservation(pb.CommitReservationRequest(reservation_id=held.id)),
        lambda: b.ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=held.id)),
    ):
        assert error_of(call).code() == grpc.StatusCode.NOT_FOUND
    stock(b, "SHARED", 2)
    other = reserve(b, ("SHARED", 1), key="same-key")  # same key, other tenant: its own hold
    assert other.id != held.id
    assert b.ListMovements(pb.ListMovementsRequest(sku="SHARED")).movements[0].reserved_delta == 1
    assert sku_stock(a, "SHARED").reserved == 4
    assert all(e["tenant_id"] == "tenant-b" for e in outbox_events(uow, "tenant-b"))
    assert b.ListAlerts(pb.ListAlertsRequest()).alerts == []
    assert len(a.ListAlerts(pb.ListAlertsRequest()).alerts) == 1  # 10 -> 6 crossed the default 10
    assert_reconciled(a)
    assert_reconciled(b)


def test_the_server_groups_concurrent_reserves_on_every_database(client: Any, engine: Any) -> None:
    """build() wires group commit on SQLite too (decision 0008): 160 concurrent holds of one SKU
    share transactions, so they write fewer stock_changed events than calls (one per group)."""
    stock(client, "HOT", 1000)

    def events() -> int:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM outbox WHERE event_type = 'inventory.stock_changed'"
            return int(conn.execute(text(query)).scalar_one())

    before = events()

    def buyer(_index: int) -> None:
        for _ in range(10):
            reserve(client, ("HOT", 1))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(buyer, range(16)))
    snapshot = client.GetSkuStock(pb.GetSkuStockRequest(sku="HOT"))
    assert snapshot.reserved == 160
    assert 0 < events() - before < 160


def test_the_merchant_closes_an_oversold_alert_but_not_a_low_stock_one(client: Any, uow: UnitOfWork) -> None:
    service.open_oversold_alerts(uow, "tenant-a", "orders:o-9", [("A", 2)])
    stock(client, "B", 20)
    client.SetLowStockThreshold(pb.SetLowStockThresholdRequest(sku="B", threshold=8))
    reserve(client, ("B", 15))
    open_alerts = client.ListAlerts(pb.ListAlertsRequest(status=pb.ALERT_STATUS_OPEN)).alerts
    by_kind = {a.kind: a for a in open_alerts}
    oversold, low = by_kind[pb.ALERT_KIND_OVERSOLD], by_kind[pb.ALERT_KIND_LOW_STOCK]
    assert (oversold.sku, oversold.reference, oversold.quantity_short) == ("A", "orders:o-9", 2)

    closed = client.CloseAlert(pb.CloseAlertRequest(alert_id=oversold.id)).alert
    assert closed.status == pb.ALERT_STATUS_CLOSED and closed.closed_at.seconds > 0
    assert client.CloseAlert(pb.CloseAlertRequest(alert_id=oversold.id)).alert.closed_at == closed.closed_at
    with pytest.raises(grpc.RpcError) as refused:
        client.CloseAlert(pb.CloseAlertRequest(alert_id=low.id))
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as missing:
        client.CloseAlert(pb.CloseAlertRequest(alert_id="no-such-alert"))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    assert [a.kind for a in client.ListAlerts(pb.ListAlertsRequest(status=pb.ALERT_STATUS_OPEN)).alerts] == [
        pb.ALERT_KIND_LOW_STOCK
    ]
