"""An idempotency key reused with a different request is refused (INVALID_ARGUMENT, reason
IDEMPOTENCY_KEY_REUSED, a violation on idempotency_key); the same request gets the first answer.

Every keyed RPC (Reserve, CommitReservation, Adjust, BatchAdjust) through the real gRPC server,
whose Reserve and CommitReservation run in groups, on SQLite and on PostgreSQL; concurrent twins
with different bodies in one group; and a key stored before migration 0002 (no fingerprint)."""

from __future__ import annotations

import threading
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import text

from inventory import service
from inventory.domain import (
    IDEMPOTENCY_KEY_REUSED,
    AdjustmentLine,
    AdjustmentReason,
    Policy,
    ReserveLineInput,
)
from inventory.repository import UnitOfWork
from omnistock.inventory.v1 import inventory_service_pb2 as pb
from omnistock_common.context import CallContext

RECEIVED = pb.ADJUSTMENT_REASON_RECEIVED


def _stock(client: Any, sku: str, qty: int) -> None:
    client.Adjust(pb.AdjustRequest(line=pb.AdjustmentLine(sku=sku, set=qty, reason=RECEIVED)))


def _reserve(client: Any, key: str, qty: int, order: str = "o-1", sku: str = "A") -> pb.Reservation:
    request = pb.ReserveRequest(
        order_ref=order, lines=[pb.ReservationLineInput(sku=sku, quantity=qty)], idempotency_key=key
    )
    return client.Reserve(request).reservation


def _reserved(client: Any, sku: str = "A") -> int:
    return int(client.GetSkuStock(pb.GetSkuStockRequest(sku=sku)).reserved)


def _assert_key_reused(call: Any) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(info.value)
    assert status is not None
    reasons, fields = [], []
    for detail in status.details:
        info_detail, bad_request = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if detail.Unpack(info_detail):
            reasons.append(info_detail.reason)
        elif detail.Unpack(bad_request):
            fields += [(v.field, v.description) for v in bad_request.field_violations]
    assert reasons == [IDEMPOTENCY_KEY_REUSED]
    assert fields == [("idempotency_key", "reused with a different request")]


def test_reserve_same_key_same_request_first_answer_different_request_refused(client_for: Any) -> None:
    client = client_for()
    _stock(client, "A", 10)
    first = _reserve(client, "k-res", 2)
    assert _reserve(client, "k-res", 2).id == first.id
    _assert_key_reused(lambda: _reserve(client, "k-res", 3))  # another quantity
    _assert_key_reused(lambda: _reserve(client, "k-res", 2, order="o-2"))  # another order
    ttl = pb.ReserveRequest(
        order_ref="o-1",
        lines=[pb.ReservationLineInput(sku="A", quantity=2)],
        idempotency_key="k-res",
        ttl_seconds=60,
    )
    _assert_key_reused(lambda: client.Reserve(ttl))
    assert _reserved(client) == 2  # only the first request held anything
    # Keys are per tenant: another tenant's identical key is a new request.
    other_tenant = client_for("tenant-b")
    _stock(other_tenant, "A", 10)
    assert _reserve(other_tenant, "k-res", 5).id != first.id


def test_twins_with_different_requests_in_one_group(client_for: Any) -> None:
    """Concurrent calls with one key: the first to insert wins; the others get its reservation
    when they asked for the same thing and the refusal otherwise, never a second hold."""
    client = client_for()
    _stock(client, "A", 100)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def call(qty: int) -> None:
        start.wait()
        try:
            outcome = _reserve(client, "k-twins", qty).id
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err
            outcome = "refused"
        with lock:
            answers.append((qty, outcome))

    threads = [threading.Thread(target=call, args=(1 + i % 2,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    held = {outcome for _qty, outcome in answers if outcome != "refused"}
    assert len(held) == 1
    winner_qty = {qty for qty, outcome in answers if outcome != "refused"}
    assert len(winner_qty) == 1  # every call that got the reservation asked for its quantity
    assert all(outcome == "refused" for qty, outcome in answers if qty not in winner_qty)
    assert _reserved(client) == winner_qty.pop()


def test_commit_key_reused_with_other_lines_or_another_reservation(client: Any) -> None:
    _stock(client, "A", 10)
    one, two = _reserve(client, "", 4), _reserve(client, "", 1)

    def commit(reservation_id: str, qty: int) -> pb.Reservation:
        request = pb.CommitReservationRequest(
            reservation_id=reservation_id,
            lines=[pb.CommitLine(sku="A", quantity=qty)],
            idempotency_key="k-commit",
        )
        return client.CommitReservation(request).reservation

    first = commit(one.id, 1)
    assert commit(one.id, 1) == first  # the stored first answer
    _assert_key_reused(lambda: commit(one.id, 2))
    _assert_key_reused(lambda: commit(two.id, 1))
    levels = client.GetSkuStock(pb.GetSkuStockRequest(sku="A"))
    assert (levels.on_hand, levels.reserved) == (9, 4)  # one unit committed, once


def test_adjust_and_batch_adjust_keys(client: Any) -> None:
    line = pb.AdjustmentLine(sku="B", delta=5, reason=RECEIVED)
    first = client.Adjust(pb.AdjustRequest(line=line, idempotency_key="k-adj")).level
    assert client.Adjust(pb.AdjustRequest(line=line, idempotency_key="k-adj")).level == first
    other = pb.AdjustmentLine(sku="B", delta=6, reason=RECEIVED)
    _assert_key_reused(lambda: client.Adjust(pb.AdjustRequest(line=other, idempotency_key="k-adj")))

    lines = [
        pb.AdjustmentLine(sku="B", delta=1, reason=RECEIVED),
        pb.AdjustmentLine(sku="C", set=3, reason=RECEIVED),
    ]
    batch = client.BatchAdjust(pb.BatchAdjustRequest(lines=lines, idempotency_key="k-batch"))
    assert client.BatchAdjust(pb.BatchAdjustRequest(lines=lines, idempotency_key="k-batch")) == batch
    _assert_key_reused(
        lambda: client.BatchAdjust(
            pb.BatchAdjustRequest(lines=list(reversed(lines)), idempotency_key="k-batch")
        )
    )
    assert client.GetSkuStock(pb.GetSkuStockRequest(sku="B")).on_hand == 6  # 5, then the batch's 1


def test_a_key_stored_before_fingerprints_keeps_answering_with_its_first_result(uow: UnitOfWork) -> None:
    """Rows written before migration 0002 have no fingerprint: they cannot be compared, so the old
    rule (the first answer) holds for them; keys used since are compared."""
    ctx, policy = CallContext(tenant_id="t-legacy", user_id="u1"), Policy()
    service.adjust(uow, ctx, AdjustmentLine("A", "", None, 10, AdjustmentReason.RECEIVED), policy)
    first = service.reserve(
        uow, ctx, service.ReserveCommand("o-1", [ReserveLineInput("A", 2)], 0, "k-old"), policy
    )
    with uow.engine.begin() as conn:  # as a row written before revision 0002 looks
        conn.execute(text("UPDATE reservations SET request_fingerprint = NULL"))
    other = service.ReserveCommand("o-1", [ReserveLineInput("A", 3)], 0, "k-old")
    assert service.reserve(uow, ctx, other, policy).id == first.id
