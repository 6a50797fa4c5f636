"""Inventory REST models ↔ the inventory protobufs: request messages built, replies converted.

Enum names cross here (reasons, alert status, reservation status, movement kind), and optional
protobuf fields (`max_quantity`, `percentage`) become JSON null when unset.
"""

from __future__ import annotations

from gateway import inventory_schemas as s
from gateway.mapping import next_cursor, page_request
from gateway.schemas import PageQuery
from omnistock.inventory.v1 import inventory_service_pb2 as pb
from omnistock_common.timestamps import from_timestamp

REASON_TO_PB: dict[str, int] = {
    name: pb.AdjustmentReason.Value(f"ADJUSTMENT_REASON_{name.upper()}") for name in s.ReasonName.__args__
}
REASON_FROM_PB: dict[int, str] = {value: name for name, value in REASON_TO_PB.items()}
ALERT_STATUS_TO_PB = {"open": pb.ALERT_STATUS_OPEN, "closed": pb.ALERT_STATUS_CLOSED}


# ------------------------------------------------------------------------------ JSON → pb
def adjustment_line(body: s.AdjustmentIn) -> pb.AdjustmentLine:
    """Exactly one of `delta` / `set` is present (AdjustmentIn checks it): the oneof follows it."""
    line = pb.AdjustmentLine(
        sku=body.sku,
        location_code=body.location or "",
        reason=REASON_TO_PB[body.reason],
        note=body.note,
        reference=body.reference,
    )
    if body.delta is not None:
        line.delta = body.delta
    else:
        line.set = body.set or 0
    return line


def levels_request(query: s.LevelQuery) -> pb.ListStockLevelsRequest:
    return pb.ListStockLevelsRequest(
        sku=query.sku or "",
        location_code=query.location or "",
        low_stock_only=query.low_stock,
        page=page_request(query.limit, query.cursor),
    )


def movements_request(sku: str, query: PageQuery) -> pb.ListMovementsRequest:
    return pb.ListMovementsRequest(sku=sku, page=page_request(query.limit, query.cursor))


def holds_request(sku: str, query: PageQuery) -> pb.ListReservationsRequest:
    return pb.ListReservationsRequest(sku=sku, page=page_request(query.limit, query.cursor))


def alerts_request(query: s.AlertQuery) -> pb.ListAlertsRequest:
    return pb.ListAlertsRequest(
        status=ALERT_STATUS_TO_PB.get(query.status or "", pb.ALERT_STATUS_UNSPECIFIED),
        page=page_request(query.limit, query.cursor),
    )


def reserve_request(body: s.ReservationIn, idempotency_key: str) -> pb.ReserveRequest:
    return pb.ReserveRequest(
        order_ref=body.order_ref,
        lines=[
            pb.ReservationLineInput(sku=line.sku, quantity=line.quantity, location_code=line.location or "")
            for line in body.lines
        ],
        ttl_seconds=body.ttl_seconds or 0,
        idempotency_key=idempotency_key,
        channel_connection_id=body.channel_connection_id or "",
    )


def commit_request(
    reservation_id: str, body: s.CommitIn, idempotency_key: str
) -> pb.CommitReservationRequest:
    return pb.CommitReservationRequest(
        reservation_id=reservation_id,
        lines=[pb.CommitLine(sku=line.sku, quantity=line.quantity) for line in body.lines],
        idempotency_key=idempotency_key,
    )


def allocation_rule(connection_id: str, body: s.AllocationIn) -> pb.AllocationRule:
    """Absent `max_quantity` / `percentage` stay unset (no cap), never 0."""
    rule = pb.AllocationRule(
        connection_id=connection_id,
        channel=body.channel,
        buffer=body.buffer,
        dynamic_buffer=body.dynamic_buffer,
    )
    if body.max_quantity is not None:
        rule.max_quantity = body.max_quantity
    if body.percentage is not None:
        rule.percentage = body.percentage
    return rule


def bundle_request(sku: str, body: s.BundleIn) -> pb.PutBundleRequest:
    return pb.PutBundleRequest(
        sku=sku, components=[pb.BundleComponent(sku=c.sku, quantity=c.quantity) for c in body.components]
    )


# ------------------------------------------------------------------------------ pb → JSON
def location_out(loc: pb.Location) -> s.LocationOut:
    return s.LocationOut(
        id=loc.id,
        code=loc.code,
        name=loc.name,
        is_default=loc.is_default,
        created_at=from_timestamp(loc.created_at),
    )


def level_out(level: pb.StockLevel) -> s.LevelOut:
    return s.LevelOut(
        sku=level.sku,
        location=level.location_code,
        on_hand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
        version=level.version,
        updated_at=from_timestamp(level.updated_at),
    )


def level_page(reply: pb.ListStockLevelsResponse) -> s.LevelPage:
    return s.LevelPage(
        items=[level_out(level) for level in reply.levels], next_cursor=next_cursor(reply.page)
    )


def sku_stock_out(r: pb.GetSkuStockResponse) -> s.SkuStockOut:
    return s.SkuStockOut(
        sku=r.sku,
        on_hand=r.on_hand,
        reserved=r.reserved,
        available=r.available,
        locations=[level_out(level) for level in r.locations],
        channels=[
            s.ChannelAvailabilityOut(
                connection_id=c.connection_id, channel=c.channel, available_to_sell=c.available_to_sell
            )
            for c in r.channels
        ],
        low_stock_threshold=r.low_stock_threshold,
        is_bundle=r.is_bundle,
    )


def batch_out(reply: pb.BatchAdjustResponse) -> s.BatchAdjustmentOut:
    """One result per line, in line order: the new level, or why the line was refused."""
    results = []
    for result in reply.results:
        if result.WhichOneof("result") == "level":
            results.append(s.BatchLineOut(index=result.index, level=level_out(result.level)))
        else:
            e = result.error
            error = s.LineErrorOut(code=e.code, field=e.field, message=e.message)
            results.append(s.BatchLineOut(index=result.index, error=error))
    return s.BatchAdjustmentOut(results=results, applied=reply.applied, failed=reply.failed)


def movement_out(m: pb.Movement) -> s.MovementOut:
    return s.MovementOut(
        id=m.id,
        at=from_timestamp(m.at),
        kind=pb.MovementKind.Name(m.kind).removeprefix("MOVEMENT_KIND_").lower(),
        location=m.location_code,
        delta=m.on_hand_delta,
        reserved_delta=m.reserved_delta,
        on_hand_after=m.on_hand_after,
        reserved_after=m.reserved_after,
        reason=REASON_FROM_PB.get(m.reason),
        note=m.note,
        actor=m.actor,
        reference=m.reference,
    )


def movement_page(reply: pb.ListMovementsResponse) -> s.MovementPage:
    return s.MovementPage(
        items=[movement_out(m) for m in reply.movements], next_cursor=next_cursor(reply.page)
    )


def alert_out(a: pb.LowStockAlert) -> s.AlertOut:
    return s.AlertOut(
        id=a.id,
        sku=a.sku,
        status=pb.AlertStatus.Name(a.status).removeprefix("ALERT_STATUS_").lower(),
        threshold=a.threshold,
        available_at_open=a.available_at_open,
        opened_at=from_timestamp(a.opened_at),
        closed_at=from_timestamp(a.closed_at),
        kind=pb.AlertKind.Name(a.kind).removeprefix("ALERT_KIND_").lower(),
        reference=a.reference,
        quantity_short=a.quantity_short,
    )


def alert_page(reply: pb.ListAlertsResponse) -> s.AlertPage:
    return s.AlertPage(items=[alert_out(a) for a in reply.alerts], next_cursor=next_cursor(reply.page))


def reservation_line_out(line: pb.ReservationLine) -> s.ReservationLineOut:
    return s.ReservationLineOut(
        sku=line.sku,
        location=line.location_code,
        quantity=line.quantity,
        committed=line.committed,
        released=line.released,
        components=[reservation_line_out(c) for c in line.components],
    )


def reservation_out(r: pb.Reservation) -> s.ReservationOut:
    return s.ReservationOut(
        id=r.id,
        order_ref=r.order_ref,
        status=pb.ReservationStatus.Name(r.status).removeprefix("RESERVATION_STATUS_"),
        expires_at=from_timestamp(r.expires_at),
        created_at=from_timestamp(r.created_at),
        channel_connection_id=r.channel_connection_id,
        lines=[reservation_line_out(line) for line in r.lines],
    )


def reservation_page(reply: pb.ListReservationsResponse) -> s.ReservationPage:
    return s.ReservationPage(
        items=[reservation_out(r) for r in reply.reservations], next_cursor=next_cursor(reply.page)
    )


def allocation_out(rule: pb.AllocationRule) -> s.AllocationOut:
    return s.AllocationOut(
        connection_id=rule.connection_id,
        channel=rule.channel,
        buffer=rule.buffer,
        max_quantity=rule.max_quantity if rule.HasField("max_quantity") else None,
        percentage=rule.percentage if rule.HasField("percentage") else None,
        dynamic_buffer=rule.dynamic_buffer,
        measured_sync_latency_ms=rule.measured_sync_latency_ms,
    )


def bundle_out(reply: pb.PutBundleResponse) -> s.BundleOut:
    return s.BundleOut(
        sku=reply.sku, components=[s.ComponentOut(sku=c.sku, quantity=c.quantity) for c in reply.components]
    )
