"""Inventory REST endpoints (API.md "Inventory") ↔ the inventory gRPC service.

Locations, stock levels, adjustments (single and batch), the movement ledger, low-stock
thresholds and alerts, reservations, per-channel allocation rules and bundles. Views translate
JSON to protobuf and back and call one RPC each; every rule lives in the inventory service.
A short reservation comes back as FAILED_PRECONDITION with an InsufficientStock detail, which the
gateway's error mapper (gateway.errors) turns into a 409 problem with `lines: [{sku, requested,
available}]`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import Flask, request
from flask.blueprints import BlueprintSetupState
from pydantic import Field, model_validator

from gateway.api import ApiModule, call_context, deps, parse_body
from gateway.domain import Permission
from gateway.errors import ApiProblem
from gateway.schemas import INT64_MAX, INT64_MIN, Identifier, OutModel, StrictModel
from omnistock.catalog.v1 import catalog_service_pb2 as catalog_pb
from omnistock.channels.v1 import channels_service_pb2 as channels_pb
from omnistock.common.v1 import common_pb2
from omnistock.inventory.v1 import inventory_service_pb2 as pb
from omnistock.inventory.v1 import inventory_service_pb2_grpc as pb_grpc
from omnistock_common.clients import DeadlineStub, make_channel
from omnistock_common.identifiers import IdentifierError, clean_identifier
from omnistock_common.timestamps import from_timestamp

api = ApiModule("inventory", tag="Inventory")

_CLIENT_KEY = "omnistock.inventory"
_IDEMPOTENCY_HEADER = "Idempotency-Key"
_SKU = Field(min_length=1, max_length=128)

ReasonName = Literal[
    "received", "correction", "damaged", "returned", "cycle_count", "sale", "transfer", "import", "lost"
]
_REASON_TO_PB: dict[str, int] = {
    name: pb.AdjustmentReason.Value(f"ADJUSTMENT_REASON_{name.upper()}") for name in ReasonName.__args__
}
_REASON_FROM_PB: dict[int, str] = {value: name for name, value in _REASON_TO_PB.items()}
_ALERT_STATUS_TO_PB = {"open": pb.ALERT_STATUS_OPEN, "closed": pb.ALERT_STATUS_CLOSED}


# ------------------------------------------------------------------------------ wiring
class InventoryClient:
    """The inventory stub twice: the API's usual deadline, and a long one for batch adjustments."""

    def __init__(self, address: str, timeout: float, bulk_timeout: float) -> None:
        self.channel = make_channel(address)
        stub = pb_grpc.InventoryServiceStub(self.channel)
        self.rpc: DeadlineStub[pb_grpc.InventoryServiceStub] = DeadlineStub(stub, timeout)
        self.bulk: DeadlineStub[pb_grpc.InventoryServiceStub] = DeadlineStub(stub, bulk_timeout)


@api.blueprint.record
def _setup(state: BlueprintSetupState) -> None:
    """Per app (tests build several): one inventory channel, closed with the app's other deps."""
    app: Flask = state.app
    deps = app.extensions["omnistock"]
    client = InventoryClient(
        deps.settings.inventory_addr, deps.settings.grpc_timeout_seconds, deps.settings.bulk_timeout_seconds
    )
    app.extensions[_CLIENT_KEY] = client
    deps.closers.append(client.channel.close)


def _client() -> InventoryClient:
    from flask import current_app

    return current_app.extensions[_CLIENT_KEY]


def _inventory() -> pb_grpc.InventoryServiceStub:
    return _client().rpc.call(call_context())


def _idempotency_key() -> str:
    """The Idempotency-Key header: an identifier of at most 256 characters (400 otherwise)."""
    key = request.headers.get(_IDEMPOTENCY_HEADER, "").strip()
    try:
        key = clean_identifier(key)
    except IdentifierError as exc:
        raise ApiProblem(
            400, "invalid Idempotency-Key", errors=[{"field": _IDEMPOTENCY_HEADER, "message": str(exc)}]
        ) from None
    if len(key) > 256:
        raise ApiProblem(
            400,
            "invalid Idempotency-Key",
            errors=[{"field": _IDEMPOTENCY_HEADER, "message": "at most 256 characters"}],
        )
    return key


def _page(limit: int, cursor: str | None) -> common_pb2.PageRequest:
    return common_pb2.PageRequest(limit=limit, cursor=cursor or "")


# ------------------------------------------------------------------------------ models
class LocationIn(StrictModel):
    code: Identifier = Field(min_length=1, max_length=64, examples=["WH-EAST"])
    name: str = Field(min_length=1, max_length=200)
    is_default: bool = False


class LocationOut(OutModel):
    id: str
    code: str
    name: str
    is_default: bool
    created_at: datetime | None


class LocationList(OutModel):
    items: list[LocationOut]
    next_cursor: str | None = None


class LevelOut(OutModel):
    sku: str
    location: str
    on_hand: int
    reserved: int
    available: int
    version: int
    updated_at: datetime | None


class LevelPage(OutModel):
    items: list[LevelOut]
    next_cursor: str | None


class LevelQuery(StrictModel):
    sku: Identifier | None = Field(None, max_length=128)
    location: Identifier | None = Field(None, max_length=64, description="location code")
    low_stock: bool = Field(False, description="only SKUs below their low-stock threshold")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2048)


class ChannelAvailabilityOut(OutModel):
    connection_id: str
    channel: str
    available_to_sell: int


class SkuStockOut(OutModel):
    sku: str
    on_hand: int
    reserved: int
    available: int
    locations: list[LevelOut]
    channels: list[ChannelAvailabilityOut]
    low_stock_threshold: int
    is_bundle: bool


class AdjustmentIn(StrictModel):
    """Exactly one of `delta` (relative) or `set` (absolute on-hand count)."""

    sku: Identifier = _SKU
    location: Identifier | None = Field(
        None, max_length=64, description="location code; default location if absent"
    )
    delta: int | None = Field(None, ge=INT64_MIN, le=INT64_MAX)
    set: int | None = Field(None, ge=0, le=INT64_MAX)
    reason: ReasonName
    note: str = Field("", max_length=2000)
    reference: Identifier = Field("", max_length=256)

    @model_validator(mode="after")
    def _one_change(self) -> AdjustmentIn:
        if (self.delta is None) == (self.set is None):
            raise ValueError("give exactly one of delta or set")
        return self

    def to_pb(self) -> pb.AdjustmentLine:
        line = pb.AdjustmentLine(
            sku=self.sku,
            location_code=self.location or "",
            reason=_REASON_TO_PB[self.reason],
            note=self.note,
            reference=self.reference,
        )
        if self.delta is not None:
            line.delta = self.delta
        else:
            line.set = self.set or 0
        return line


class BatchAdjustmentIn(StrictModel):
    items: list[AdjustmentIn] = Field(min_length=1, max_length=10_000)


class LineErrorOut(OutModel):
    code: str
    field: str
    message: str


class BatchLineOut(OutModel):
    index: int
    level: LevelOut | None = None
    error: LineErrorOut | None = None


class BatchAdjustmentOut(OutModel):
    results: list[BatchLineOut]
    applied: int
    failed: int


class MovementOut(OutModel):
    id: str
    at: datetime | None
    kind: str
    location: str
    delta: int = Field(description="change of on_hand")
    reserved_delta: int
    on_hand_after: int
    reserved_after: int
    reason: str | None
    note: str
    actor: str
    reference: str


class MovementPage(OutModel):
    items: list[MovementOut]
    next_cursor: str | None


class PageQuery(StrictModel):
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2048)


class ThresholdIn(StrictModel):
    low_stock_threshold: int = Field(ge=0, le=INT64_MAX)


class ThresholdOut(OutModel):
    sku: str
    low_stock_threshold: int


class AlertQuery(PageQuery):
    status: Literal["open", "closed"] | None = None


class AlertOut(OutModel):
    id: str
    sku: str
    status: str
    threshold: int
    available_at_open: int
    opened_at: datetime | None
    closed_at: datetime | None


class AlertPage(OutModel):
    items: list[AlertOut]
    next_cursor: str | None


class ReservationLineIn(StrictModel):
    sku: Identifier = _SKU
    quantity: int = Field(ge=1, le=INT64_MAX)
    location: Identifier | None = Field(None, max_length=64)


class ReservationIn(StrictModel):
    order_ref: Identifier = Field(min_length=1, max_length=256)
    lines: list[ReservationLineIn] = Field(min_length=1, max_length=10_000)
    ttl_seconds: int | None = Field(None, ge=1, le=INT64_MAX)
    channel_connection_id: Identifier | None = Field(None, max_length=64)


class ReservationLineOut(OutModel):
    sku: str
    location: str
    quantity: int
    committed: int
    released: int
    components: list[ReservationLineOut] = Field(default_factory=list)


class ReservationOut(OutModel):
    id: str
    order_ref: str
    status: str
    expires_at: datetime | None
    created_at: datetime | None
    channel_connection_id: str
    lines: list[ReservationLineOut]


class CommitLineIn(StrictModel):
    sku: Identifier = _SKU
    quantity: int = Field(ge=1, le=INT64_MAX)


class CommitIn(StrictModel):
    """Partial commit (partial shipment); no body or no lines commits everything still held."""

    lines: list[CommitLineIn] = Field(default_factory=list, max_length=10_000)


class AllocationIn(StrictModel):
    buffer: int = Field(0, ge=0, le=INT64_MAX, description="units held back from this channel")
    max_quantity: int | None = Field(None, ge=0, le=INT64_MAX, description="most units ever listed")
    percentage: int | None = Field(None, ge=0, le=100, description="share of the pool offered")
    channel: Identifier = Field("", max_length=64)
    dynamic_buffer: bool = False


class AllocationOut(OutModel):
    connection_id: str
    channel: str
    buffer: int
    max_quantity: int | None
    percentage: int | None
    dynamic_buffer: bool
    measured_sync_latency_ms: int


class ComponentIn(StrictModel):
    sku: Identifier = _SKU
    quantity: int = Field(ge=1, le=INT64_MAX)


class BundleIn(StrictModel):
    components: list[ComponentIn] = Field(min_length=1, max_length=100)


class ComponentOut(OutModel):
    sku: str
    quantity: int


class BundleOut(OutModel):
    sku: str
    components: list[ComponentOut]


# ------------------------------------------------------------------------------ pb → JSON
def _location_out(loc: pb.Location) -> LocationOut:
    return LocationOut(
        id=loc.id,
        code=loc.code,
        name=loc.name,
        is_default=loc.is_default,
        created_at=from_timestamp(loc.created_at),
    )


def _level_out(level: pb.StockLevel) -> LevelOut:
    return LevelOut(
        sku=level.sku,
        location=level.location_code,
        on_hand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
        version=level.version,
        updated_at=from_timestamp(level.updated_at),
    )


def _reservation_line_out(line: pb.ReservationLine) -> ReservationLineOut:
    return ReservationLineOut(
        sku=line.sku,
        location=line.location_code,
        quantity=line.quantity,
        committed=line.committed,
        released=line.released,
        components=[_reservation_line_out(c) for c in line.components],
    )


def _reservation_out(r: pb.Reservation) -> ReservationOut:
    return ReservationOut(
        id=r.id,
        order_ref=r.order_ref,
        status=pb.ReservationStatus.Name(r.status).removeprefix("RESERVATION_STATUS_"),
        expires_at=from_timestamp(r.expires_at),
        created_at=from_timestamp(r.created_at),
        channel_connection_id=r.channel_connection_id,
        lines=[_reservation_line_out(line) for line in r.lines],
    )


def _alert_out(a: pb.LowStockAlert) -> AlertOut:
    return AlertOut(
        id=a.id,
        sku=a.sku,
        status=pb.AlertStatus.Name(a.status).removeprefix("ALERT_STATUS_").lower(),
        threshold=a.threshold,
        available_at_open=a.available_at_open,
        opened_at=from_timestamp(a.opened_at),
        closed_at=from_timestamp(a.closed_at),
    )


def _movement_out(m: pb.Movement) -> MovementOut:
    return MovementOut(
        id=m.id,
        at=from_timestamp(m.at),
        kind=pb.MovementKind.Name(m.kind).removeprefix("MOVEMENT_KIND_").lower(),
        location=m.location_code,
        delta=m.on_hand_delta,
        reserved_delta=m.reserved_delta,
        on_hand_after=m.on_hand_after,
        reserved_after=m.reserved_after,
        reason=_REASON_FROM_PB.get(m.reason),
        note=m.note,
        actor=m.actor,
        reference=m.reference,
    )


def _allocation_out(rule: pb.AllocationRule) -> AllocationOut:
    return AllocationOut(
        connection_id=rule.connection_id,
        channel=rule.channel,
        buffer=rule.buffer,
        max_quantity=rule.max_quantity if rule.HasField("max_quantity") else None,
        percentage=rule.percentage if rule.HasField("percentage") else None,
        dynamic_buffer=rule.dynamic_buffer,
        measured_sync_latency_ms=rule.measured_sync_latency_ms,
    )


# ------------------------------------------------------------------------------ locations
@api.route(
    "GET", "/locations", summary="List locations", permission=Permission.INVENTORY_READ, response=LocationList
)
def list_locations() -> LocationList:
    response = _inventory().ListLocations(pb.ListLocationsRequest())
    return LocationList(items=[_location_out(loc) for loc in response.locations])


@api.route(
    "POST",
    "/locations",
    summary="Create a location",
    permission=Permission.INVENTORY_WRITE,
    body=LocationIn,
    response=LocationOut,
    status=201,
    problems=(400, 409),
)
def create_location(body: LocationIn) -> LocationOut:
    request_pb = pb.CreateLocationRequest(code=body.code, name=body.name, is_default=body.is_default)
    return _location_out(_inventory().CreateLocation(request_pb).location)


# ------------------------------------------------------------------------------ stock levels
@api.route(
    "GET",
    "/inventory",
    summary="List stock levels",
    permission=Permission.INVENTORY_READ,
    query=LevelQuery,
    response=LevelPage,
    problems=(400, 404),
)
def list_levels(query: LevelQuery) -> LevelPage:
    """One item per (SKU, location). Filters: sku, location (code), low_stock. Keyset-paginated."""
    response = _inventory().ListStockLevels(
        pb.ListStockLevelsRequest(
            sku=query.sku or "",
            location_code=query.location or "",
            low_stock_only=query.low_stock,
            page=_page(query.limit, query.cursor),
        )
    )
    return LevelPage(
        items=[_level_out(level) for level in response.levels], next_cursor=response.page.next_cursor or None
    )


@api.route(
    "GET",
    "/inventory/<sku>",
    summary="Stock of one SKU",
    permission=Permission.INVENTORY_READ,
    response=SkuStockOut,
    problems=(400,),
)
def get_sku_stock(sku: str) -> SkuStockOut:
    """Totals over all locations, per-location rows and available-to-sell per channel connection."""
    r = _inventory().GetSkuStock(pb.GetSkuStockRequest(sku=sku))
    return SkuStockOut(
        sku=r.sku,
        on_hand=r.on_hand,
        reserved=r.reserved,
        available=r.available,
        locations=[_level_out(level) for level in r.locations],
        channels=[
            ChannelAvailabilityOut(
                connection_id=c.connection_id, channel=c.channel, available_to_sell=c.available_to_sell
            )
            for c in r.channels
        ],
        low_stock_threshold=r.low_stock_threshold,
        is_bundle=r.is_bundle,
    )


@api.route(
    "POST",
    "/inventory/adjustments",
    summary="Adjust stock",
    permission=Permission.INVENTORY_WRITE,
    body=AdjustmentIn,
    response=LevelOut,
    problems=(400, 404, 409),
)
def adjust(body: AdjustmentIn) -> LevelOut:
    """`delta` or `set` with a reason. An `Idempotency-Key` header makes a repeat return the first result."""
    response = _inventory().Adjust(pb.AdjustRequest(line=body.to_pb(), idempotency_key=_idempotency_key()))
    return _level_out(response.level)


@api.route(
    "POST",
    "/inventory/adjustments/batch",
    summary="Adjust stock in bulk",
    permission=Permission.INVENTORY_WRITE,
    body=BatchAdjustmentIn,
    response=BatchAdjustmentOut,
    problems=(400,),
)
def batch_adjust(body: BatchAdjustmentIn) -> BatchAdjustmentOut:
    """Up to 10,000 lines; each is applied or refused on its own, with a result per line."""
    request_pb = pb.BatchAdjustRequest(
        lines=[item.to_pb() for item in body.items], idempotency_key=_idempotency_key()
    )
    response = _client().bulk.call(call_context()).BatchAdjust(request_pb)
    results = []
    for result in response.results:
        if result.WhichOneof("result") == "level":
            results.append(BatchLineOut(index=result.index, level=_level_out(result.level)))
        else:
            e = result.error
            results.append(
                BatchLineOut(
                    index=result.index, error=LineErrorOut(code=e.code, field=e.field, message=e.message)
                )
            )
    return BatchAdjustmentOut(results=results, applied=response.applied, failed=response.failed)


@api.route(
    "GET",
    "/inventory/<sku>/history",
    summary="Movement ledger of a SKU",
    permission=Permission.INVENTORY_READ,
    query=PageQuery,
    response=MovementPage,
    problems=(400,),
)
def history(sku: str, query: PageQuery) -> MovementPage:
    """Newest first; `delta` is the change of on_hand, `reserved_delta` the change of reserved."""
    response = _inventory().ListMovements(
        pb.ListMovementsRequest(sku=sku, page=_page(query.limit, query.cursor))
    )
    return MovementPage(
        items=[_movement_out(m) for m in response.movements], next_cursor=response.page.next_cursor or None
    )


@api.route(
    "PUT",
    "/inventory/<sku>/threshold",
    summary="Set a SKU's low-stock threshold",
    permission=Permission.INVENTORY_WRITE,
    body=ThresholdIn,
    response=ThresholdOut,
    problems=(400,),
)
def set_threshold(sku: str, body: ThresholdIn) -> ThresholdOut:
    response = _inventory().SetLowStockThreshold(
        pb.SetLowStockThresholdRequest(sku=sku, threshold=body.low_stock_threshold)
    )
    return ThresholdOut(sku=response.sku, low_stock_threshold=response.threshold)


@api.route(
    "GET",
    "/alerts",
    summary="List low-stock alerts",
    permission=Permission.INVENTORY_READ,
    query=AlertQuery,
    response=AlertPage,
    problems=(400,),
)
def list_alerts(query: AlertQuery) -> AlertPage:
    """Newest first; `status=open` for the ones still below threshold."""
    response = _inventory().ListAlerts(
        pb.ListAlertsRequest(
            status=_ALERT_STATUS_TO_PB.get(query.status or "", pb.ALERT_STATUS_UNSPECIFIED),
            page=_page(query.limit, query.cursor),
        )
    )
    return AlertPage(
        items=[_alert_out(a) for a in response.alerts], next_cursor=response.page.next_cursor or None
    )


# ------------------------------------------------------------------------------ reservations
@api.route(
    "POST",
    "/reservations",
    summary="Reserve stock",
    permission=Permission.INVENTORY_WRITE,
    body=ReservationIn,
    response=ReservationOut,
    status=201,
    problems=(400, 404, 409),
)
def reserve(body: ReservationIn) -> ReservationOut:
    """All lines or none. 409 with `lines: [{sku, requested, available}]` when any line is short.
    An `Idempotency-Key` header makes a repeat return the first reservation and never hold twice."""
    response = _inventory().Reserve(
        pb.ReserveRequest(
            order_ref=body.order_ref,
            lines=[
                pb.ReservationLineInput(
                    sku=line.sku, quantity=line.quantity, location_code=line.location or ""
                )
                for line in body.lines
            ],
            ttl_seconds=body.ttl_seconds or 0,
            idempotency_key=_idempotency_key(),
            channel_connection_id=body.channel_connection_id or "",
        )
    )
    return _reservation_out(response.reservation)


_COMMIT_BODY = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {
                "lines": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "sku": {"type": "string", "minLength": 1, "maxLength": 128},
                            "quantity": {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
                        },
                        "required": ["sku", "quantity"],
                    },
                }
            },
        }
    }
}


@api.route(
    "POST",
    "/reservations/<reservation_id>/commit",
    summary="Commit a reservation",
    permission=Permission.INVENTORY_WRITE,
    response=ReservationOut,
    problems=(400, 404, 409),
    request_content=_COMMIT_BODY,
)
def commit_reservation(reservation_id: str) -> ReservationOut:
    """Deducts on_hand and frees the hold. Optional body `{lines: [{sku, quantity}]}` commits part
    of it (partial shipment); without it everything still held is committed."""
    body = parse_body(CommitIn) if request.get_data() else CommitIn()
    response = _inventory().CommitReservation(
        pb.CommitReservationRequest(
            reservation_id=reservation_id,
            lines=[pb.CommitLine(sku=line.sku, quantity=line.quantity) for line in body.lines],
            idempotency_key=_idempotency_key(),
        )
    )
    return _reservation_out(response.reservation)


@api.route(
    "POST",
    "/reservations/<reservation_id>/release",
    summary="Release a reservation",
    permission=Permission.INVENTORY_WRITE,
    response=ReservationOut,
    problems=(404, 409),
)
def release_reservation(reservation_id: str) -> ReservationOut:
    response = _inventory().ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=reservation_id))
    return _reservation_out(response.reservation)


@api.route(
    "GET",
    "/reservations/<reservation_id>",
    summary="Get a reservation",
    permission=Permission.INVENTORY_READ,
    response=ReservationOut,
    problems=(404,),
)
def get_reservation(reservation_id: str) -> ReservationOut:
    response = _inventory().GetReservation(pb.GetReservationRequest(reservation_id=reservation_id))
    return _reservation_out(response.reservation)


# ------------------------------------------------------------------------------ channels, bundles
def _require_connection(connection_id: str) -> None:
    """The connection exists and is the caller's tenant's (the channels service scopes by tenant):
    its NOT_FOUND becomes this request's 404 before inventory stores anything."""
    channels = deps().channels
    if channels is None:
        raise ApiProblem(503, "the channels service is not configured")
    channels.rpc.call(call_context()).GetConnection(
        channels_pb.GetConnectionRequest(connection_id=connection_id)
    )


def _require_catalog_skus(skus: list[str], field_format: str) -> None:
    """400 naming every SKU the tenant's catalog does not have."""
    reply = (
        deps()
        .catalog.rpc.call(call_context())
        .GetVariantsBySku(catalog_pb.GetVariantsBySkuRequest(skus=skus))
    )
    missing = set(reply.missing_skus)
    if missing:
        raise ApiProblem(
            400,
            "unknown SKU(s): " + ", ".join(sorted(missing)),
            errors=[
                {"field": field_format.format(i), "message": f"SKU {sku!r} is not in the catalog"}
                for i, sku in enumerate(skus)
                if sku in missing
            ],
        )


@api.route(
    "GET",
    "/channels/<connection_id>/allocation",
    summary="Get a channel's allocation rule",
    permission=Permission.INVENTORY_READ,
    response=AllocationOut,
    problems=(404,),
)
def get_allocation(connection_id: str) -> AllocationOut:
    response = _inventory().GetAllocationRule(pb.GetAllocationRuleRequest(connection_id=connection_id))
    return _allocation_out(response.rule)


@api.route(
    "PUT",
    "/channels/<connection_id>/allocation",
    summary="Set a channel's allocation rule",
    permission=Permission.INVENTORY_WRITE,
    body=AllocationIn,
    response=AllocationOut,
    problems=(400, 404),
)
def put_allocation(connection_id: str, body: AllocationIn) -> AllocationOut:
    """Safety `buffer`, `max_quantity` cap, `percentage` of the pool, optional dynamic buffer.
    Only for one of the tenant's own connections: an unknown id is a 404 and nothing is stored."""
    _require_connection(connection_id)
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
    return _allocation_out(_inventory().PutAllocationRule(pb.PutAllocationRuleRequest(rule=rule)).rule)


@api.route(
    "PUT",
    "/bundles/<sku>",
    summary="Define a bundle",
    permission=Permission.INVENTORY_WRITE,
    body=BundleIn,
    response=BundleOut,
    problems=(400, 409),
)
def put_bundle(sku: str, body: BundleIn) -> BundleOut:
    """The bundle's availability is min(component available ÷ quantity); reserving it holds the components.
    Every component must be a SKU of the catalog: unknown ones are a 400 naming each of them."""
    _require_catalog_skus([c.sku for c in body.components], "components[{}].sku")
    response = _inventory().PutBundle(
        pb.PutBundleRequest(
            sku=sku, components=[pb.BundleComponent(sku=c.sku, quantity=c.quantity) for c in body.components]
        )
    )
    return BundleOut(
        sku=response.sku,
        components=[ComponentOut(sku=c.sku, quantity=c.quantity) for c in response.components],
    )
