"""Stock: levels per SKU and location, adjustments (single and batch), the movement ledger,
low-stock thresholds and alerts."""

from __future__ import annotations

from gateway import inventory_schemas as s
from gateway.api import RouteGroup
from gateway.domain import Permission
from gateway.inputs import idempotency_key
from gateway.mapping import inventory as m
from gateway.routes.inventory.client import inventory, inventory_bulk
from gateway.schemas import PageQuery
from omnistock.inventory.v1 import inventory_service_pb2 as pb

routes = RouteGroup()


@routes.route(
    "GET",
    "/inventory",
    summary="List stock levels",
    permission=Permission.INVENTORY_READ,
    query=s.LevelQuery,
    response=s.LevelPage,
    problems=(404,),
)
def list_levels(query: s.LevelQuery) -> s.LevelPage:
    """One item per (SKU, location). Filters: sku, location (code), low_stock. Keyset-paginated."""
    return m.level_page(inventory().ListStockLevels(m.levels_request(query)))


@routes.route(
    "GET",
    "/inventory/<sku>",
    summary="Stock of one SKU",
    permission=Permission.INVENTORY_READ,
    response=s.SkuStockOut,
    problems=(400,),
)
def get_sku_stock(sku: str) -> s.SkuStockOut:
    """Totals over all locations, per-location rows and available-to-sell per channel connection."""
    return m.sku_stock_out(inventory().GetSkuStock(pb.GetSkuStockRequest(sku=sku)))


@routes.route(
    "POST",
    "/inventory/adjustments",
    summary="Adjust stock",
    permission=Permission.INVENTORY_WRITE,
    body=s.AdjustmentIn,
    response=s.LevelOut,
    problems=(404, 409),
    idempotency_key=True,
)
def adjust(body: s.AdjustmentIn) -> s.LevelOut:
    """`delta` or `set` with a reason. An `Idempotency-Key` header makes a repeat return the first result."""
    request_pb = pb.AdjustRequest(line=m.adjustment_line(body), idempotency_key=idempotency_key())
    return m.level_out(inventory().Adjust(request_pb).level)


@routes.route(
    "POST",
    "/inventory/adjustments/batch",
    summary="Adjust stock in bulk",
    permission=Permission.INVENTORY_WRITE,
    body=s.BatchAdjustmentIn,
    response=s.BatchAdjustmentOut,
    idempotency_key=True,
)
def batch_adjust(body: s.BatchAdjustmentIn) -> s.BatchAdjustmentOut:
    """Up to 10,000 lines; each is applied or refused on its own, with a result per line."""
    lines = [m.adjustment_line(item) for item in body.items]
    request_pb = pb.BatchAdjustRequest(lines=lines, idempotency_key=idempotency_key())
    return m.batch_out(inventory_bulk().BatchAdjust(request_pb))


@routes.route(
    "GET",
    "/inventory/<sku>/history",
    summary="Movement ledger of a SKU",
    permission=Permission.INVENTORY_READ,
    query=PageQuery,
    response=s.MovementPage,
)
def history(sku: str, query: PageQuery) -> s.MovementPage:
    """Newest first; `delta` is the change of on_hand, `reserved_delta` the change of reserved."""
    return m.movement_page(inventory().ListMovements(m.movements_request(sku, query)))


@routes.route(
    "GET",
    "/inventory/<sku>/reservations",
    summary="Open reservations holding a SKU",
    permission=Permission.INVENTORY_READ,
    query=PageQuery,
    response=s.ReservationPage,
)
def holds(sku: str, query: PageQuery) -> s.ReservationPage:
    """Who holds the SKU's `reserved` units: reservations still HELD or PARTIALLY_COMMITTED with
    units of it not yet committed or released, newest first. `order_ref` names the order (an
    order's hold uses the order id); each entry carries all its lines."""
    return m.reservation_page(inventory().ListReservations(m.holds_request(sku, query)))


@routes.route(
    "PUT",
    "/inventory/<sku>/threshold",
    summary="Set a SKU's low-stock threshold",
    permission=Permission.INVENTORY_WRITE,
    body=s.ThresholdIn,
    response=s.ThresholdOut,
)
def set_threshold(sku: str, body: s.ThresholdIn) -> s.ThresholdOut:
    request_pb = pb.SetLowStockThresholdRequest(sku=sku, threshold=body.low_stock_threshold)
    response = inventory().SetLowStockThreshold(request_pb)
    return s.ThresholdOut(sku=response.sku, low_stock_threshold=response.threshold)


@routes.route(
    "GET",
    "/alerts",
    summary="List alerts (low stock, oversold orders)",
    permission=Permission.INVENTORY_READ,
    query=s.AlertQuery,
    response=s.AlertPage,
)
def list_alerts(query: s.AlertQuery) -> s.AlertPage:
    """Newest first; `status=open` for the ones still to deal with: low-stock alerts while the SKU
    is below its threshold, oversold alerts until the merchant closes them."""
    return m.alert_page(inventory().ListAlerts(m.alerts_request(query)))


@routes.route(
    "POST",
    "/alerts/<alert_id>/close",
    summary="Close an oversold alert",
    permission=Permission.INVENTORY_WRITE,
    response=s.AlertOut,
    problems=(404, 409),
)
def close_alert(alert_id: str) -> s.AlertOut:
    """For an `oversold` alert the merchant dealt with (restocked, cancelled or split the order).
    A `low_stock` alert answers 409: it closes by itself once available is back."""
    return m.alert_out(inventory().CloseAlert(pb.CloseAlertRequest(alert_id=alert_id)).alert)
