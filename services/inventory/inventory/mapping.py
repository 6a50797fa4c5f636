"""Conversions between the generated protobuf messages and the domain: the only module besides
servicer.py and server.py that imports generated code (the service layer and domain never do)."""

from __future__ import annotations

from inventory import domain
from inventory.domain import (
    AdjustmentLine,
    AdjustmentReason,
    Alert,
    AlertStatus,
    AllocationRule,
    BundleComponent,
    LineResult,
    Location,
    Movement,
    ReconcileReport,
    Reservation,
    ReservationLine,
    SkuSnapshot,
    StockLevel,
    Turnover,
)
from inventory.service import ReserveCommand
from omnistock.common.v1 import common_pb2
from omnistock.inventory.v1 import inventory_service_pb2 as pb
from omnistock_common.day_range import DateRange
from omnistock_common.timestamps import to_optional_timestamp

# Exact to the microsecond by integer arithmetic (Timestamp.FromDatetime showed in the Reserve profile).
timestamp = to_optional_timestamp


def reason_in(value: int) -> AdjustmentReason | None:
    name = pb.AdjustmentReason.Name(value).removeprefix("ADJUSTMENT_REASON_") if value else ""
    return AdjustmentReason(name) if name in AdjustmentReason.__members__ else None


def reason_out(reason: AdjustmentReason | None) -> int:
    return pb.AdjustmentReason.Value(f"ADJUSTMENT_REASON_{reason.value}") if reason else 0


def adjustment_line_in(line: pb.AdjustmentLine) -> AdjustmentLine:
    change = line.WhichOneof("change")
    return AdjustmentLine(
        sku=line.sku,
        location_code=line.location_code,
        delta=line.delta if change == "delta" else None,
        set=line.set if change == "set" else None,
        reason=reason_in(line.reason),
        note=line.note,
        reference=line.reference,
    )


def location_out(loc: Location) -> pb.Location:
    return pb.Location(
        id=loc.id,
        code=loc.code,
        name=loc.name,
        is_default=loc.is_default,
        created_at=timestamp(loc.created_at),
    )


def level_out(level: StockLevel) -> pb.StockLevel:
    return pb.StockLevel(
        sku=level.sku,
        location_code=level.location_code,
        on_hand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
        version=level.version,
        updated_at=timestamp(level.updated_at),
    )


def movement_out(m: Movement) -> pb.Movement:
    return pb.Movement(
        id=str(m.id),
        at=timestamp(m.at),
        kind=pb.MovementKind.Value(f"MOVEMENT_KIND_{m.kind.value}"),
        sku=m.sku,
        location_code=m.location_code,
        on_hand_delta=m.on_hand_delta,
        reserved_delta=m.reserved_delta,
        on_hand_after=m.on_hand_after,
        reserved_after=m.reserved_after,
        reason=reason_out(m.reason),
        note=m.note,
        actor=m.actor,
        reference=m.reference,
    )


def reservation_line_out(line: ReservationLine) -> pb.ReservationLine:
    return pb.ReservationLine(
        sku=line.sku,
        location_code=line.location_code,
        quantity=line.quantity,
        committed=line.committed,
        released=line.released,
        components=[reservation_line_out(c) for c in line.components],
    )


def reservation_out(r: Reservation) -> pb.Reservation:
    return pb.Reservation(
        id=r.id,
        order_ref=r.order_ref,
        status=pb.ReservationStatus.Value(f"RESERVATION_STATUS_{r.status.value}"),
        lines=[reservation_line_out(line) for line in r.lines],
        expires_at=timestamp(r.expires_at),
        created_at=timestamp(r.created_at),
        channel_connection_id=r.channel_connection_id,
    )


def alert_out(a: Alert) -> pb.LowStockAlert:
    return pb.LowStockAlert(
        id=a.id,
        sku=a.sku,
        status=pb.AlertStatus.Value(f"ALERT_STATUS_{a.status.value}"),
        threshold=a.threshold,
        available_at_open=a.available_at_open,
        opened_at=timestamp(a.opened_at),
        closed_at=timestamp(a.closed_at),
        kind=pb.AlertKind.Value(f"ALERT_KIND_{a.kind.value}"),
        reference=a.reference,
        quantity_short=a.quantity_short,
    )


def rule_out(rule: AllocationRule) -> pb.AllocationRule:
    return pb.AllocationRule(
        connection_id=rule.connection_id,
        channel=rule.channel,
        buffer=rule.buffer,
        max_quantity=rule.max_quantity,
        percentage=rule.percentage,
        dynamic_buffer=rule.dynamic_buffer,
        measured_sync_latency_ms=rule.measured_sync_latency_ms,
    )


def components_out(items: list[BundleComponent]) -> list[pb.BundleComponent]:
    return [pb.BundleComponent(sku=c.sku, quantity=c.quantity) for c in items]


def page_out(cursor: str) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_cursor=cursor)


def components_in(items: list[pb.BundleComponent]) -> list[BundleComponent]:
    return [BundleComponent(c.sku, c.quantity) for c in items]


def sku_stock_out(snap: SkuSnapshot, levels: list[StockLevel]) -> pb.GetSkuStockResponse:
    return pb.GetSkuStockResponse(
        sku=snap.sku,
        on_hand=snap.on_hand,
        reserved=snap.reserved,
        available=snap.available,
        locations=[level_out(level) for level in levels],
        channels=[
            pb.ChannelAvailability(
                connection_id=c.connection_id, channel=c.channel, available_to_sell=c.available_to_sell
            )
            for c in snap.channels
        ],
        low_stock_threshold=snap.low_stock_threshold,
        is_bundle=snap.is_bundle,
    )


def batch_results_out(results: list[LineResult]) -> pb.BatchAdjustResponse:
    out = pb.BatchAdjustResponse()
    for r in results:
        if r.level is not None:
            out.results.add(index=r.index, level=level_out(r.level))
        else:
            assert r.error is not None
            out.results.add(
                index=r.index,
                error=pb.LineError(code=r.error.code, field=r.error.field, message=r.error.message),
            )
    out.applied = sum(1 for r in results if r.level is not None)
    out.failed = len(results) - out.applied
    return out


def reconcile_out(report: ReconcileReport) -> pb.ReconcileResponse:
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


def reserve_command_in(request: pb.ReserveRequest) -> ReserveCommand:
    return ReserveCommand(
        order_ref=request.order_ref,
        lines=[domain.ReserveLineInput(x.sku, x.quantity, x.location_code) for x in request.lines],
        ttl_seconds=request.ttl_seconds,
        idempotency_key=request.idempotency_key,
        channel_connection_id=request.channel_connection_id,
        no_expiry=request.no_expiry,
        allow_shortfall=request.allow_shortfall,
    )


def reserve_response_out(reservation: Reservation, shorts: list[domain.LineShortfall]) -> pb.ReserveResponse:
    return pb.ReserveResponse(
        reservation=reservation_out(reservation),
        short_lines=[
            pb.ShortLine(
                sku=s.sku,
                location_code=s.location_code,
                requested=s.requested,
                available=s.held,
                unknown_sku=s.unknown_sku,
            )
            for s in shorts
        ],
    )


def commit_lines_in(request: pb.CommitReservationRequest) -> list[tuple[str, int]]:
    return [(line.sku, line.quantity) for line in request.lines]


def insufficient_stock_detail(error: domain.InsufficientStock) -> domain.InsufficientStock:
    """Add the InsufficientStock status detail (the short lines callers act on) to the error."""
    error.details.append(
        pb.InsufficientStock(
            lines=[
                pb.ShortLine(
                    sku=d.sku, location_code=d.location_code, requested=d.quantity, available=available
                )
                for d, available in error.shorts
            ]
        )
    )
    return error


def alert_status_in(value: int) -> AlertStatus | None:
    return AlertStatus(pb.AlertStatus.Name(value).removeprefix("ALERT_STATUS_")) if value else None


def rule_in(r: pb.AllocationRule) -> AllocationRule:
    return AllocationRule(
        connection_id=r.connection_id,
        channel=r.channel,
        buffer=r.buffer,
        max_quantity=r.max_quantity if r.HasField("max_quantity") else None,
        percentage=r.percentage if r.HasField("percentage") else None,
        dynamic_buffer=r.dynamic_buffer,
        measured_sync_latency_ms=r.measured_sync_latency_ms,
    )


def sku_turnover_out(t: Turnover) -> pb.SkuTurnover:
    out = pb.SkuTurnover(sku=t.sku, units_sold=t.units_sold, average_on_hand_centi=t.average_on_hand_centi)
    if t.turnover_ppm is not None:
        out.turnover_ppm = t.turnover_ppm
    return out


def turnover_out(
    span: DateRange, items: list[Turnover], overall: Turnover
) -> pb.GetInventoryTurnoverResponse:
    return pb.GetInventoryTurnoverResponse(
        from_date=span.first.isoformat(),
        to_date=span.last.isoformat(),
        skus=[sku_turnover_out(t) for t in items],
        overall=sku_turnover_out(overall),
    )
