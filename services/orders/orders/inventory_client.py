"""The stock port over inventory's gRPC API (the outbound adapter; like catalog's, it may import
generated code). One channel and stub per OS thread (`local_factory`): the worker calls it from
eventlet's tpool threads, where a shared channel deadlocks (docs/architecture.md, Events)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import grpc

from omnistock.inventory.v1 import inventory_service_pb2 as inv
from omnistock.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.context import CallContext
from omnistock_common.errors import DomainError, InvalidArgument
from orders.domain import HoldOutcome
from orders.service.ports import HoldRequest, StockRefused, StockUnavailable

# Inventory refused the request as such: asking again unchanged gets the same answer.
_REFUSALS = {grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND}


def _error(exc: grpc.RpcError, call: str) -> DomainError:
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    message = f"inventory {call}: {code.name} {details}"
    if code in _REFUSALS:
        return StockRefused(message)
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(message)
    return StockUnavailable(message)


class _Shared:
    """Where the stub lives when every thread may share one channel (a plain grpcio process)."""

    stub: Any = None


class InventoryStock:
    """StockPort: Reserve (no_expiry, allow_shortfall), CommitReservation, ReleaseReservation and
    Adjust (RETURNED), each with the caller's signed identity and a deadline. The server shares
    one channel between its threads; the worker keeps one per OS thread (`use_thread_local`)."""

    def __init__(self, address: str, timeout: float) -> None:
        self.address = address
        self.timeout = timeout
        self._local: Any = _Shared()
        self._lock = threading.Lock()
        self._channels: list[grpc.Channel] = []

    def use_os_threads(self, threads: ModuleType) -> None:
        """Keep one stub per thread in `threads.local()`, guarded by a `threads.Lock()`: the worker
        passes eventlet's original threading, whose calls run on tpool OS threads. The lock must
        be an OS lock too: a green one (what `threading.Lock()` is once nameko run has patched
        the process), contended by two tpool threads making their first call at once, parks the
        loser on its own thread's hub for good, and with every tpool thread parked the worker
        stopped importing orders. Call it before the first call."""
        self._local = threads.local()
        self._lock = threads.Lock()

    def _stub(self, ctx: CallContext) -> Any:
        stub = getattr(self._local, "stub", None)
        if stub is None:
            with self._lock:
                stub = getattr(self._local, "stub", None)
                if stub is None:
                    channel = make_channel(self.address)
                    self._channels.append(channel)
                    stub = DeadlineStub(inv_grpc.InventoryServiceStub(channel), self.timeout)
                    self._local.stub = stub
        return stub.call(ctx)

    def hold(self, ctx: CallContext, request: HoldRequest) -> HoldOutcome:
        message = inv.ReserveRequest(
            order_ref=request.order_ref,
            lines=[inv.ReservationLineInput(sku=sku, quantity=quantity) for sku, quantity in request.lines],
            idempotency_key=request.key,
            channel_connection_id=request.connection_id,
            no_expiry=True,
            allow_shortfall=request.allow_shortfall,
        )
        try:
            reply = self._stub(ctx).Reserve(message)
        except grpc.RpcError as exc:
            raise _error(exc, "Reserve") from None
        held: dict[str, int] = defaultdict(int)
        for line in reply.reservation.lines:
            held[line.sku] += line.quantity
        unknown = {short.sku for short in reply.short_lines if short.unknown_sku}
        return HoldOutcome(reply.reservation.id, dict(held), unknown)

    def commit(
        self, ctx: CallContext, reservation_id: str, lines: Sequence[tuple[str, int]], key: str
    ) -> None:
        message = inv.CommitReservationRequest(
            reservation_id=reservation_id,
            lines=[inv.CommitLine(sku=sku, quantity=quantity) for sku, quantity in lines],
            idempotency_key=key,
        )
        try:
            self._stub(ctx).CommitReservation(message)
        except grpc.RpcError as exc:
            raise _error(exc, "CommitReservation") from None

    def release(self, ctx: CallContext, reservation_id: str) -> None:
        try:
            self._stub(ctx).ReleaseReservation(inv.ReleaseReservationRequest(reservation_id=reservation_id))
        except grpc.RpcError as exc:
            raise _error(exc, "ReleaseReservation") from None

    def restock(self, ctx: CallContext, sku: str, quantity: int, key: str, reference: str) -> None:
        line = inv.AdjustmentLine(
            sku=sku,
            delta=quantity,
            reason=inv.ADJUSTMENT_REASON_RETURNED,
            note="returned items of an order",
            reference=reference,
        )
        try:
            self._stub(ctx).Adjust(inv.AdjustRequest(line=line, idempotency_key=key))
        except grpc.RpcError as exc:
            raise _error(exc, "Adjust") from None

    def close(self) -> None:
        with self._lock:
            for channel in self._channels:
                channel.close()
            self._channels.clear()
