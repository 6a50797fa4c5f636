"""Inventory REST models (API.md "Inventory"): what the inventory routes accept and answer.

Their translation to and from the inventory protobufs is gateway.mapping.inventory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from gateway.schemas import INT64_MAX, INT64_MIN, Identifier, OutModel, PageQuery, StrictModel

_SKU = Field(min_length=1, max_length=128)

ReasonName = Literal[
    "received",
    "correction",
    "damaged",
    "returned",
    "cycle_count",
    "sale",
    "transfer",
    "import",
    "lost",
    "imported",
]


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


class InventoryReportQuery(StrictModel):
    format: Literal["csv", "xlsx"] = "csv"


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
    kind: str = Field(
        description="`low_stock`: available fell below `threshold` (closes by itself once it is back); "
        "`oversold`: an order came in short of stock (`reference` = `orders:<order id>`, "
        "`quantity_short` units missing); the merchant closes it with POST /alerts/{id}/close"
    )
    reference: str
    quantity_short: int


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


class ReservationPage(OutModel):
    items: list[ReservationOut]
    next_cursor: str | None


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
