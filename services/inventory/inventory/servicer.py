"""gRPC adapter: proto -> domain (mapping.py) -> service -> proto. No SQL and no rules here.

Errors are raised by the service layer as omnistock_common errors; the server interceptor
turns them into statuses with google.rpc details.
"""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from inventory import domain, mapping, service
from inventory.domain import Policy
from inventory.repository import UnitOfWork
from omnistock.inventory.v1 import inventory_service_pb2 as pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as pb_grpc
from omnistock_common.context import call_context


class InventoryServicer(pb_grpc.InventoryServiceServicer):
    def __init__(
        self,
        uow: UnitOfWork,
        policy: Policy,
        reserve_group: service.ReserveGroup | None = None,
        commit_group: service.CommitGroup | None = None,
    ) -> None:
        """reserve_group / commit_group: group commit of concurrent Reserve / CommitReservation
        calls (the composition root makes one of each per process); None = each call is a group
        of one (tests and tools)."""
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
        return pb.CreateLocationResponse(location=mapping.location_out(location))

    def ListLocations(
        self, request: pb.ListLocationsRequest, context: grpc.ServicerContext
    ) -> pb.ListLocationsResponse:
        locations = service.list_locations(self.uow, call_context(context))
        return pb.ListLocationsResponse(locations=[mapping.location_out(loc) for loc in locations])

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
        return pb.ListStockLevelsResponse(
            levels=[mapping.level_out(level) for level in levels], page=mapping.page_out(cursor)
        )

    def GetSkuStock(
        self, request: pb.GetSkuStockRequest, context: grpc.ServicerContext
    ) -> pb.GetSkuStockResponse:
        snap, levels = service.get_sku_stock(self.uow, call_context(context), request.sku, self.policy)
        return mapping.sku_stock_out(snap, levels)

    def Adjust(self, request: pb.AdjustRequest, context: grpc.ServicerContext) -> pb.AdjustResponse:
        level = service.adjust(
            self.uow,
            call_context(context),
            mapping.adjustment_line_in(request.line),
            self.policy,
            idempotency_key=request.idempotency_key,
        )
        return pb.AdjustResponse(level=mapping.level_out(level))

    def BatchAdjust(
        self, request: pb.BatchAdjustRequest, context: grpc.ServicerContext
    ) -> pb.BatchAdjustResponse:
        results = service.batch_adjust(
            self.uow,
            call_context(context),
            [mapping.adjustment_line_in(line) for line in request.lines],
            self.policy,
            idempotency_key=request.idempotency_key,
        )
        return mapping.batch_results_out(results)

    def ListMovements(
        self, request: pb.ListMovementsRequest, context: grpc.ServicerContext
    ) -> pb.ListMovementsResponse:
        items, cursor = service.list_movements(
            self.uow, call_context(context), request.sku, limit=request.page.limit, cursor=request.page.cursor
        )
        return pb.ListMovementsResponse(
            movements=[mapping.movement_out(m) for m in items], page=mapping.page_out(cursor)
        )

    def Reconcile(self, request: pb.ReconcileRequest, context: grpc.ServicerContext) -> pb.ReconcileResponse:
        report = service.reconcile(self.uow, call_context(context).tenant_id)
        return mapping.reconcile_out(report)

    def GetInventoryTurnover(
        self, request: pb.GetInventoryTurnoverRequest, context: grpc.ServicerContext
    ) -> pb.GetInventoryTurnoverResponse:
        span, items, overall = service.inventory_turnover(
            self.uow, call_context(context), request.from_date, request.to_date, request.limit
        )
        return mapping.turnover_out(span, items, overall)

    def Reserve(self, request: pb.ReserveRequest, context: grpc.ServicerContext) -> pb.ReserveResponse:
        command = mapping.reserve_command_in(request)
        ctx = call_context(context)
        try:
            reservation = service.reserve(self.uow, ctx, command, self.policy, group=self.reserve_group)
        except domain.InsufficientStock as exc:
            raise mapping.insufficient_stock_detail(exc) from None
        shorts = service.short_lines(self.uow, ctx, command, reservation) if command.allow_shortfall else []
        return mapping.reserve_response_out(reservation, shorts)

    def CommitReservation(
        self, request: pb.CommitReservationRequest, context: grpc.ServicerContext
    ) -> pb.CommitReservationResponse:
        reservation = service.commit_reservation(
            self.uow,
            call_context(context),
            request.reservation_id,
            mapping.commit_lines_in(request),
            self.policy,
            idempotency_key=request.idempotency_key,
            group=self.commit_group,
        )
        return pb.CommitReservationResponse(reservation=mapping.reservation_out(reservation))

    def ReleaseReservation(
        self, request: pb.ReleaseReservationRequest, context: grpc.ServicerContext
    ) -> pb.ReleaseReservationResponse:
        reservation = service.release_reservation(
            self.uow, call_context(context), request.reservation_id, self.policy
        )
        return pb.ReleaseReservationResponse(reservation=mapping.reservation_out(reservation))

    def GetReservation(
        self, request: pb.GetReservationRequest, context: grpc.ServicerContext
    ) -> pb.GetReservationResponse:
        reservation = service.get_reservation(self.uow, call_context(context), request.reservation_id)
        return pb.GetReservationResponse(reservation=mapping.reservation_out(reservation))

    def ListReservations(
        self, request: pb.ListReservationsRequest, context: grpc.ServicerContext
    ) -> pb.ListReservationsResponse:
        items, cursor = service.list_holding_reservations(
            self.uow, call_context(context), request.sku, limit=request.page.limit, cursor=request.page.cursor
        )
        return pb.ListReservationsResponse(
            reservations=[mapping.reservation_out(r) for r in items], page=mapping.page_out(cursor)
        )

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
        status = mapping.alert_status_in(request.status)
        items, cursor = service.list_alerts(
            self.uow, call_context(context), status, limit=request.page.limit, cursor=request.page.cursor
        )
        return pb.ListAlertsResponse(
            alerts=[mapping.alert_out(a) for a in items], page=mapping.page_out(cursor)
        )

    def CloseAlert(
        self, request: pb.CloseAlertRequest, context: grpc.ServicerContext
    ) -> pb.CloseAlertResponse:
        alert = service.close_alert(self.uow, call_context(context), request.alert_id)
        return pb.CloseAlertResponse(alert=mapping.alert_out(alert))

    def GetAllocationRule(
        self, request: pb.GetAllocationRuleRequest, context: grpc.ServicerContext
    ) -> pb.GetAllocationRuleResponse:
        rule = service.get_allocation_rule(self.uow, call_context(context), request.connection_id)
        return pb.GetAllocationRuleResponse(rule=mapping.rule_out(rule))

    def PutAllocationRule(
        self, request: pb.PutAllocationRuleRequest, context: grpc.ServicerContext
    ) -> pb.PutAllocationRuleResponse:
        rule = mapping.rule_in(request.rule)
        stored = service.put_allocation_rule(self.uow, call_context(context), rule, self.policy)
        return pb.PutAllocationRuleResponse(rule=mapping.rule_out(stored))

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
        components = mapping.components_in(request.components)
        stored = service.put_bundle(self.uow, call_context(context), request.sku, components, self.policy)
        return pb.PutBundleResponse(sku=request.sku, components=mapping.components_out(stored))

    def GetBundle(self, request: pb.GetBundleRequest, context: grpc.ServicerContext) -> pb.GetBundleResponse:
        components = service.get_bundle(self.uow, call_context(context), request.sku)
        return pb.GetBundleResponse(sku=request.sku, components=mapping.components_out(components))

    def DeleteBundle(
        self, request: pb.DeleteBundleRequest, context: grpc.ServicerContext
    ) -> pb.DeleteBundleResponse:
        service.delete_bundle(self.uow, call_context(context), request.sku, self.policy)
        return pb.DeleteBundleResponse()
