"""Inventory value objects, enums and limits: plain data, no database, no gRPC."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

DEFAULT_LOCATION_CODE = "default"
MAX_QUANTITY = 10**12  # far above any real stock; keeps int64 sums safe
MAX_SKU_LENGTH = 128
MAX_TEXT_LENGTH = 256
SALES_WINDOW_SECONDS = 3600
EXPIRY_ACTOR = "worker:expiry"


@dataclass(frozen=True)
class Policy:
    """Business defaults the use cases need (built from Settings in config.py)."""

    default_reservation_ttl_seconds: int = 900
    max_reservation_ttl_seconds: int = 30 * 86400
    default_low_stock_threshold: int = 10
    max_batch_lines: int = 10_000


class MovementKind(StrEnum):
    ADJUSTMENT = "ADJUSTMENT"
    RESERVE = "RESERVE"
    COMMIT = "COMMIT"
    RELEASE = "RELEASE"
    EXPIRE = "EXPIRE"


class AdjustmentReason(StrEnum):
    RECEIVED = "RECEIVED"
    CORRECTION = "CORRECTION"
    DAMAGED = "DAMAGED"
    RETURNED = "RETURNED"
    CYCLE_COUNT = "CYCLE_COUNT"
    SALE = "SALE"
    TRANSFER = "TRANSFER"
    IMPORT = "IMPORT"
    LOST = "LOST"
    IMPORTED = "IMPORTED"


class ReservationStatus(StrEnum):
    HELD = "HELD"
    PARTIALLY_COMMITTED = "PARTIALLY_COMMITTED"
    COMMITTED = "COMMITTED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"


# Statuses that still hold stock: the only ones commit, release and expiry act on.
HOLDING_STATUSES = (ReservationStatus.HELD, ReservationStatus.PARTIALLY_COMMITTED)


class AlertStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class AlertKind(StrEnum):
    LOW_STOCK = "LOW_STOCK"
    OVERSOLD = "OVERSOLD"


class AlertTransition(StrEnum):
    OPEN = "OPEN"
    CLOSE = "CLOSE"


# --------------------------------------------------------------------------- value objects


@dataclass(frozen=True)
class Location:
    id: str
    code: str
    name: str
    is_default: bool
    created_at: datetime


@dataclass(frozen=True)
class StockLevel:
    sku: str
    location_code: str
    on_hand: int
    reserved: int
    version: int
    updated_at: datetime

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["updated_at"] = self.updated_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StockLevel:
        return cls(**{**data, "updated_at": datetime.fromisoformat(data["updated_at"])})


@dataclass(frozen=True)
class AdjustmentLine:
    """One requested change: exactly one of delta / set."""

    sku: str
    location_code: str
    delta: int | None
    set: int | None
    reason: AdjustmentReason | None
    note: str = ""
    reference: str = ""


@dataclass(frozen=True)
class LineError:
    """Why one batch line was refused (code is a google.rpc.Code name)."""

    code: str
    field: str
    message: str


@dataclass(frozen=True)
class LineResult:
    index: int
    level: StockLevel | None = None
    error: LineError | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "level": self.level.to_dict() if self.level else None,
            "error": asdict(self.error) if self.error else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LineResult:
        return cls(
            index=data["index"],
            level=StockLevel.from_dict(data["level"]) if data["level"] else None,
            error=LineError(**data["error"]) if data["error"] else None,
        )


@dataclass(frozen=True)
class Movement:
    id: int
    at: datetime
    kind: MovementKind
    sku: str
    location_code: str
    on_hand_delta: int
    reserved_delta: int
    on_hand_after: int
    reserved_after: int
    reason: AdjustmentReason | None
    note: str
    actor: str
    reference: str


@dataclass(frozen=True)
class LedgerMismatch:
    sku: str
    location_code: str
    on_hand: int
    ledger_on_hand: int
    reserved: int
    ledger_reserved: int


@dataclass(frozen=True)
class ReconcileReport:
    checked: int
    mismatches: list[LedgerMismatch]


@dataclass(frozen=True)
class BundleComponent:
    sku: str
    quantity: int


@dataclass(frozen=True)
class AllocationRule:
    connection_id: str
    channel: str = ""
    buffer: int = 0
    max_quantity: int | None = None
    percentage: int | None = None
    dynamic_buffer: bool = False
    measured_sync_latency_ms: int = 0


@dataclass(frozen=True)
class ChannelAvailability:
    connection_id: str
    channel: str
    available_to_sell: int


@dataclass(frozen=True)
class SkuSnapshot:
    """What the world should know about one SKU right now (event entry and GetSkuStock)."""

    sku: str
    on_hand: int
    reserved: int
    available: int
    version: int
    is_bundle: bool
    low_stock_threshold: int
    channels: list[ChannelAvailability] = field(default_factory=list)

    def event_entry(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "available": self.available,
            "on_hand": self.on_hand,
            "reserved": self.reserved,
            "version": self.version,
            "channels": [
                {
                    "connection_id": c.connection_id,
                    "channel": c.channel,
                    "available_to_sell": c.available_to_sell,
                }
                for c in self.channels
            ],
        }


@dataclass(frozen=True)
class Alert:
    id: str
    sku: str
    status: AlertStatus
    threshold: int
    available_at_open: int
    opened_at: datetime
    closed_at: datetime | None
    kind: AlertKind = AlertKind.LOW_STOCK
    # OVERSOLD: `orders:<order id>` and the units the order is short of.
    reference: str = ""
    quantity_short: int = 0


@dataclass
class ReservationLine:
    """A requested line (components set for a bundle) or one component of a bundle line.

    Quantities of a component are in component units: quantity = bundle quantity x per_unit.
    """

    line_no: int
    sku: str
    location_id: str
    location_code: str
    quantity: int
    committed: int = 0
    released: int = 0
    per_unit: int = 1
    parent_line_no: int | None = None
    components: list[ReservationLine] = field(default_factory=list)

    @property
    def held(self) -> int:
        return self.quantity - self.committed - self.released

    @property
    def is_bundle(self) -> bool:
        return bool(self.components)


@dataclass
class Reservation:
    id: str
    order_ref: str
    status: ReservationStatus
    lines: list[ReservationLine]
    # None: reserved with no_expiry (an order's hold): the expiry job never reaps it.
    expires_at: datetime | None
    created_at: datetime
    channel_connection_id: str = ""

    @property
    def held(self) -> int:
        return sum(line.held for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["expires_at"] = self.expires_at.isoformat() if self.expires_at else None
        data["created_at"] = self.created_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reservation:
        def line(raw: Mapping[str, Any]) -> ReservationLine:
            return ReservationLine(**{**raw, "components": [line(c) for c in raw["components"]]})

        return cls(
            id=data["id"],
            order_ref=data["order_ref"],
            status=ReservationStatus(data["status"]),
            lines=[line(raw) for raw in data["lines"]],
            expires_at=datetime.fromisoformat(data["expires_at"]) if data["expires_at"] else None,
            created_at=datetime.fromisoformat(data["created_at"]),
            channel_connection_id=data["channel_connection_id"],
        )


@dataclass(frozen=True)
class LineShortfall:
    """A line of a reservation made with allow_shortfall that holds less than was requested.

    `unknown_sku`: inventory has no stock row for the SKU anywhere and it is not a bundle."""

    sku: str
    location_code: str
    requested: int
    held: int
    unknown_sku: bool = False


@dataclass(frozen=True)
class ReserveLineInput:
    sku: str
    quantity: int
    location_code: str = ""


@dataclass(frozen=True)
class StockDemand:
    """A quantity to act on for one physical stock row (sku, location)."""

    sku: str
    location_id: str
    location_code: str
    quantity: int
