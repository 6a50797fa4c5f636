"""gRPC adapter: proto -> command -> service -> proto. No SQL and no rules here.

Errors are raised by the service layer as omnistock_common errors; the server interceptor
turns them into statuses with google.rpc details.
"""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from inventory import domain, service
from inventory.domain import (
    AdjustmentLine,
    AdjustmentReason,
    Alert,
    AlertStatus,
    AllocationRule,
    BundleComponent,
    Location,
    Movement,
    Policy,
    Reservation,
    ReservationLine,
    StockLevel,
)
from inventory.repository import UnitOfWork
from omnistock.common.v1 import common_pb2
from omnistock.inventory.v1 import inventory_service_pb2 as pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as pb_grpc
from omnistock_common.context import call_context
from omnistock_common.timestamps import to_optional_timestamp as _ts


def _reason_in(value: int) -> AdjustmentReason | None:
    name = pb.AdjustmentReason.Name(value).removeprefix("ADJUSTMENT_REASON_") if value else ""
    return AdjustmentReason(name) if name in AdjustmentReason.__members__ else None


def _reason_out(reason: AdjustmentReason | None) -> int:
    return pb.AdjustmentReason.Value(f"ADJUSTMENT_REASON_{reason.value}") if reason else 0


def _line_in(line: pb.AdjustmentLine) -> AdjustmentLine:
    change = line.WhichOneof("change")
    return AdjustmentLine(
        sku=line.sku,
        location_code=line.location_code,
        delta=line.delta if change == "delta" else None,
        set=line.set if change == "set" else None,
        reason=_reason_in(line.reason),
        note=line.note,
        reference=line.reference,
    )


def _location(loc: Location) -> pb.Location:
    return pb.Location(
        id=loc.id, code=loc.code, name=loc.name, is_default=loc.is_default, created_at=_ts(loc.created_at)
    )


def _level(level: StockLevel) -> pb.StockLevel:
    return pb.StockLevel(
        sku=level.sku,
        location_code=level.location_code,
        on_hand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
        version=level.version,
        updated_at=_ts(level.updated_at),
    )


def _movement(m: Movement) -> pb.Movement:
    return pb.Movement(
        id=str(m.id),
        at=_ts(m.at),
        kind=pb.MovementKind.Value(f"MOVEMENT_KIND_{m.kind.value}"),
        sku=m.sku,
        location_code=m.location_code,
        on_hand_delta=m.on_hand_delta,
        reserved_delta=m.reserved_delta,
        on_hand_after=m.on_hand_after,
        reserved_after=m.reserved_after,
        reason=_reason_out(m.reason),
        note=m.note,
        actor=m.actor,
        reference=m.reference,
    )


def _reservation_line(line: ReservationLine) -> pb.ReservationLine:
    return pb.ReservationLine(
        sku=line.sku,
        location_code=line.location_code,
        quantity=line.quantity,
        committed=line.committed,
        released=line.released,
        components=[_reservation_line(c) for c in line.components],
    )


def _reservation(r: Reservation) -> pb.Reservation:
    return pb.Reservation(
        id=r.id,
        order_ref=r.order_ref,
        status=pb.ReservationStatus.Value(f"RESERVATION_STATUS_{r.status.value}"),
        lines=[_reservation_line(line) for line in r.lines],
        expires_at=_ts(r.expires_at),
        created_at=_ts(r.created_at),
        channel_connection_id=r.channel_connection_id,
    )


def _alert(a: Alert) -> pb.LowStockAlert:
    return pb.LowStockAlert(
        id=a.id,
        sku=a.sku,
        status=pb.AlertStatus.Value(f"ALERT_STATUS_{a.status.value}"),
        threshold=a.threshold,
        available_at_open=a.available_at_open,
        opened_at=_ts(a.opened_at),
        closed_at=_ts(a.closed_at),
    )


def _rule(rule: AllocationRule) -> pb.AllocationRule:
    return pb.AllocationRule(
        connection_id=rule.connection_id,
        channel=rule.channel,
        buffer=rule.buffer,
        max_quantity=rule.max_quantity,
        percentage=rule.percentage,
        dynamic_buffer=rule.dynamic_buffer,
        measured_sync_latency_ms=rule.measured_sync_latency_ms,
    )


def _components(items: list[BundleComponent]) -> list[pb.BundleComponent]:
    return [pb.BundleComponent(sku=c.sku, quantity=c.quantity) for c in items]


def _page(cursor: str) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_cursor=cursor)


class InventoryServicer(pb_grpc.InventoryServiceServicer):
    def __init__(
        self,
        uow: UnitOfWork,
        policy: Policy,
        reserve_group: service.ReserveGroup | None = None,
        commit_group: service.CommitGroup | None = None,
    ) -> None:
        """reserve_group / commit_group: group commit of concurrent Reserve / CommitReservation
        calls (PostgreSQL; the composition root makes one of each per process), None = one
        transaction per call."""
        self.uow = uow
        self.policy = policy
        self.reserve_group = reserve_group
        self.commit_group = commit_group

    def CreateLocation(
        self, request: pb.CreateLocationRequest, context: grpc.ServicerContext
    ) -> pb.CreateLocationResponse:
        location = service.create_location(
            self.uow, call_context(context), request.code, request.name, request.is_default
        )
        return pb.CreateLocationResponse(location=_location(location))

    def ListLocations(
        self, request: pb.ListLocationsRequest, context: grpc.ServicerContext
    ) -> pb.ListLocationsResponse:
        locations = service.list_locations(self.uow, call_context(context))
        return pb.ListLocationsResponse(locations=[_location(loc) for loc in locations])

    def ListStockLevels(
        self, request: pb.ListStockLevelsRequest, context: grpc.ServicerContext
    ) -> pb.ListStockLevelsResponse:
        levels, cursor = service.list_stock_levels(
            self.uow,
            call_context(context),
            self.policy,
            sku=request.sku,
            location_code=request.location_code,
            low_stock_only=request.low_stock_only,
            limit=request.page.limit,
            cursor=request.page.cursor,
        )
        return pb.ListStockLevelsResponse(levels=[_level(level) for level in levels], page=_page(cursor))

    def GetSkuStock(
        self, request: pb.GetSkuStockRequest, context: grpc.ServicerContext
    ) -> pb.GetSkuStockResponse:
        snap, levels = service.get_sku_stock(self.uow, call_context(context), request.sku, self.policy)
        return pb.GetSkuStockResponse(
            sku=snap.sku,
            on_hand=snap.on_hand,
            reserved=snap.reserved,
            available=snap.available,
            locations=[_level(level) for level in levels],
            channels=[
                pb.ChannelAvailability(
                    connection_id=c.connection_id, channel=c.channel, available_to_sell=c.available_to_sell
                )
                for c in snap.channels
            ],
            low_stock_threshold=snap.low_stock_threshold,
            is_bundle=snap.is_bundle,
        )

    def Adjust(self, request: pb.AdjustRequest, context: grpc.ServicerContext) -> pb.AdjustResponse:
        level = service.adjust(
            self.uow,
            call_context(context),
            _line_in(request.line),
            self.policy,
            idempotency_key=request.idempotency_key,
        )
        return pb.AdjustResponse(level=_level(level))

    def BatchAdjust(
        self, request: pb.BatchAdjustRequest, context: grpc.ServicerContext
    ) -> pb.BatchAdjustResponse:
        results = service.batch_adjust(
            self.uow,
            call_context(context),
            [_line_in(line) for line in request.lines],
            self.policy,
            idempotency_key=request.idempotency_key,
        )
        out = pb.BatchAdjustResponse()
        for r in results:
            if r.level is not None:
                out.results.add(index=r.index, level=_level(r.level))
            else:
                assert r.error is not None
                out.results.add(
                    index=r.index,
                    error=pb.LineError(code=r.error.code, field=r.error.field, message=r.error.message),
                )
        out.applied = sum(1 for r in results if r.level is not None)
        out.failed = len(results) - out.applied
        return out

    def ListMovements(
        self, request: pb.ListMovementsRequest, context: grpc.ServicerContext
    ) -> pb.ListMovementsResponse:
        items, cursor = service.list_movements(
            self.uow, call_context(context), request.sku, limit=request.page.limit, cursor=request.page.cursor
        )
        return pb.ListMovementsResponse(movements=[_movement(m) for m in items], page=_page(cursor))

    def Reconcile(self, request: pb.ReconcileRequest, context: grpc.ServicerContext) -> pb.ReconcileResponse:
        report = service.reconcile(self.uow, call_context(context).tenant_id)
        return pb.ReconcileResponse(
            checked=report.checked,
            mismatches=[
                pb.LedgerMismatch(
                    sku=m.sku,
                    location_code=m.location_code,
                    on_hand=m.on_hand,
                    ledger_on_hand=m.ledger_on_hand,
                    reserved=m.reserved,
                    ledger_reserved=m.ledger_reserved,
                )
                for m in report.mismatches
            ],
        )

    def Reserve(self, request: pb.ReserveRequest, context: grpc.ServicerContext) -> pb.ReserveResponse:
        command = service.ReserveCommand(
            order_ref=request.order_ref,
            lines=[domain.ReserveLineInput(x.sku, x.quantity, x.location_code) for x in request.lines],
            ttl_seconds=request.ttl_seconds,
            idempotency_key=request.idempotency_key,
            channel_connection_id=request.channel_connection_id,
        )
        reservation = service.reserve(
            self.uow, call_context(context), command, self.policy, group=self.reserve_group
        )
        return pb.ReserveResponse(reservation=_reservation(reservation))

    def CommitReservation(
        self, request: pb.CommitReservationRequest, context: grpc.ServicerContext
    ) -> pb.CommitReservationResponse:
        reservation = service.commit_reservation(
            self.uow,
            call_context(context),
            request.reservation_id,
            [(line.sku, line.quantity) for line in request.lines],
            self.policy,
            idempotency_key=request.idempotency_key,
            group=self.commit_group,
        )
        return pb.CommitReservationResponse(reservation=_reservation(reservation))

    def ReleaseReservation(
        self, request: pb.ReleaseReservationRequest, context: grpc.ServicerContext
    ) -> pb.ReleaseReservationResponse:
        reservation = service.release_reservation(
            self.uow, call_context(context), request.reservation_id, self.policy
        )
        return pb.ReleaseReservationResponse(reservation=_reservation(reservation))

    def GetReservation(
        self, request: pb.GetReservationRequest, context: grpc.ServicerContext
    ) -> pb.GetReservationResponse:
        reservation = service.get_reservation(self.uow, call_context(context), request.reservation_id)
        return pb.GetReservationResponse(reservation=_reservation(reservation))

    def ExpireReservations(
        self, request: pb.ExpireReservationsRequest, context: grpc.ServicerContext
    ) -> pb.ExpireReservationsResponse:
        expired = service.expire_due_reservations(
            self.uow,
            datetime.now(UTC),
            request.limit or 100,
            tenant_id=call_context(context).tenant_id,
            policy=self.policy,
        )
        return pb.ExpireReservationsResponse(expired=expired)

    def SetLowStockThreshold(
        self, request: pb.SetLowStockThresholdRequest, context: grpc.ServicerContext
    ) -> pb.SetLowStockThresholdResponse:
        value = service.set_low_stock_threshold(
            self.uow, call_context(context), request.sku, request.threshold, self.policy
        )
        return pb.SetLowStockThresholdResponse(sku=request.sku, threshold=value)

    def SetDefaultLowStockThreshold(
        self, request: pb.SetDefaultLowStockThresholdRequest, context: grpc.ServicerContext
    ) -> pb.SetDefaultLowStockThresholdResponse:
        value = service.set_default_low_stock_threshold(
            self.uow, call_context(context), request.threshold, self.policy
        )
        return pb.SetDefaultLowStockThresholdResponse(threshold=value)

    def ListAlerts(
        self, request: pb.ListAlertsRequest, context: grpc.ServicerContext
    ) -> pb.ListAlertsResponse:
        status = (
            AlertStatus(pb.AlertStatus.Name(request.status).removeprefix("ALERT_STATUS_"))
            if request.status
            else None
        )
        items, cursor = service.list_alerts(
            self.uow, call_context(context), status, limit=request.page.limit, cursor=request.page.cursor
        )
        return pb.ListAlertsResponse(alerts=[_alert(a) for a in items], page=_page(cursor))

    def GetAllocationRule(
        self, request: pb.GetAllocationRuleRequest, context: grpc.ServicerContext
    ) -> pb.GetAllocationRuleResponse:
        rule = service.get_allocation_rule(self.uow, call_context(context), request.connection_id)
        return pb.GetAllocationRuleResponse(rule=_rule(rule))

    def PutAllocationRule(
        self, request: pb.PutAllocationRuleRequest, context: grpc.ServicerContext
    ) -> pb.PutAllocationRuleResponse:
        r = request.rule
        rule = AllocationRule(
            connection_id=r.connection_id,
            channel=r.channel,
            buffer=r.buffer,
            max_quantity=r.max_quantity if r.HasField("max_quantity") else None,
            percentage=r.percentage if r.HasField("percentage") else None,
            dynamic_buffer=r.dynamic_buffer,
            measured_sync_latency_ms=r.measured_sync_latency_ms,
        )
        stored = service.put_allocation_rule(self.uow, call_context(context), rule, self.policy)
        return pb.PutAllocationRuleResponse(rule=_rule(stored))

    def DeleteAllocationRule(
        self, request: pb.DeleteAllocationRuleRequest, context: grpc.ServicerContext
    ) -> pb.DeleteAllocationRuleResponse:
        service.delete_allocation_rule(self.uow, call_context(context), request.connection_id, self.policy)
        return pb.DeleteAllocationRuleResponse()

    def RecordSyncLatency(
        self, request: pb.RecordSyncLatencyRequest, context: grpc.ServicerContext
    ) -> pb.RecordSyncLatencyResponse:
        service.record_sync_latency(
            self.uow, call_context(context), request.connection_id, request.latency_ms
        )
        return pb.RecordSyncLatencyResponse()

    def GetAvailableToSell(
        self, request: pb.GetAvailableToSellRequest, context: grpc.ServicerContext
    ) -> pb.GetAvailableToSellResponse:
        value = service.get_available_to_sell(
            self.uow, call_context(context), request.sku, request.connection_id, self.policy
        )
        return pb.GetAvailableToSellResponse(
            sku=request.sku, connection_id=request.connection_id, available_to_sell=value
        )

    def PutBundle(self, request: pb.PutBundleRequest, context: grpc.ServicerContext) -> pb.PutBundleResponse:
        components = [BundleComponent(c.sku, c.quantity) for c in request.components]
        stored = service.put_bundle(self.uow, call_context(context), request.sku, components, self.policy)
        return pb.PutBundleResponse(sku=request.sku, components=_components(stored))

    def GetBundle(self, request: pb.GetBundleRequest, context: grpc.ServicerContext) -> pb.GetBundleResponse:
        components = service.get_bundle(self.uow, call_context(context), request.sku)
        return pb.GetBundleResponse(sku=request.sku, components=_components(components))

    def DeleteBundle(
        self, request: pb.DeleteBundleRequest, context: grpc.ServicerContext
    ) -> pb.DeleteBundleResponse:
        service.delete_bundle(self.uow, call_context(context), request.sku, self.policy)
        return pb.DeleteBundleResponse()
